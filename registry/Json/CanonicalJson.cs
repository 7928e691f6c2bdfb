using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Federation.Registry.Json;

/// <summary>
/// Canonical JSON: the exact bytes of Python's
/// <c>json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()</c> (Spore notes §2),
/// the form every hash and signature in the federation is computed over. See docs/formats.md.
/// </summary>
/// <remarks>
/// Invariants: the output is pure ASCII; object keys are sorted by Unicode code point at every depth; integers are
/// plain decimal; floats are Python <c>repr(float)</c>; parsing any JSON text and serializing it gives the same bytes
/// Python would give for the same text.
/// </remarks>
public static class CanonicalJson
{
    /// <summary>The deepest nesting the reader and writer accept. Python 3.11 stops at about 993 levels (its recursion limit is 1000), so values between 994 and 1000 levels deep are canonical here but not loadable there.</summary>
    public const int MaxDepth = 1000;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>The canonical bytes of <paramref name="value"/>.</summary>
    public static byte[] Serialize(JsonValue value)
    {
        var w = RentScratch();
        try
        {
            Write(w, value);
            return w.WrittenSpan.ToArray();
        }
        finally
        {
            ReturnScratch(w);
        }
    }

    /// <summary>SHA-256 of the canonical bytes of <paramref name="value"/>, without materialising them as an array.</summary>
    internal static void HashSha256(JsonValue value, Span<byte> destination)
    {
        var w = RentScratch();
        try
        {
            Write(w, value);
            System.Security.Cryptography.SHA256.HashData(w.WrittenSpan, destination);
        }
        finally
        {
            ReturnScratch(w);
        }
    }

    // One reusable buffer per thread (the writer never calls out, so it is never re-entered); a buffer that grew past
    // 1 MiB is dropped rather than kept alive.
    private static ArrayBufferWriter<byte> RentScratch()
    {
        var w = t_scratch ?? new ArrayBufferWriter<byte>(1024);
        t_scratch = null;
        return w;
    }

    private static void ReturnScratch(ArrayBufferWriter<byte> w)
    {
        if (w.Capacity > 1 << 20) return;
        w.ResetWrittenCount();
        t_scratch = w;
    }

    /// <summary>The canonical text of <paramref name="value"/> (ASCII, so identical to the bytes).</summary>
    public static string SerializeToString(JsonValue value)
    {
        var w = new ArrayBufferWriter<byte>(256);
        Write(w, value);
        return Encoding.ASCII.GetString(w.WrittenSpan);
    }

    /// <summary>Writes the canonical bytes of <paramref name="value"/> to <paramref name="output"/> (no intermediate copies).</summary>
    public static void Write(IBufferWriter<byte> output, JsonValue value)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(value);
        WriteValue(output, value, 0);
    }

    /// <summary>Parses JSON text (Python <c>json.loads</c> rules; see <see cref="JsonReader"/>).</summary>
    /// <exception cref="JsonParseException">The text is not JSON; the message gives line, column and what was expected.</exception>
    public static JsonValue Parse(string text) => JsonReader.Parse(text);

    /// <summary>Parses UTF-8 JSON bytes (invalid UTF-8 is an error, reported at its byte offset).</summary>
    /// <exception cref="JsonParseException">The bytes are not UTF-8 JSON.</exception>
    public static JsonValue Parse(ReadOnlySpan<byte> utf8) => JsonReader.Parse(utf8);

    /// <summary>Parses <paramref name="text"/> and returns its canonical bytes.</summary>
    public static byte[] Canonicalize(string text) => Serialize(Parse(text));

    /// <summary>Python <c>repr(float)</c> of <paramref name="value"/>: <c>1.0</c>, <c>1e-05</c>, <c>1e+16</c>, <c>-0.0</c>, <c>NaN</c>, <c>Infinity</c>.</summary>
    public static string FormatFloat(double value)
    {
        Span<byte> buf = stackalloc byte[32];
        var n = FormatFloat(value, buf);
        return Encoding.ASCII.GetString(buf[..n]);
    }

    /// <summary>
    /// Converts a System.Text.Json element. A number is an integer when its raw token has no <c>.</c>, <c>e</c> or
    /// <c>E</c>, and a float otherwise, so the int/float distinction of the original text survives.
    /// </summary>
    public static JsonValue FromElement(JsonElement element) => FromElement(element, 0);

    private static JsonValue FromElement(JsonElement element, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException($"JSON nesting deeper than {MaxDepth} levels.");
        try
        {
            return FromElementCore(element, depth);
        }
        catch (InvalidOperationException) when (element.ValueKind is JsonValueKind.String or JsonValueKind.Object)
        {
            // System.Text.Json refuses to materialise lone surrogates (\ud800) that Python and our reader keep:
            // read that string or object from its raw text instead.
            return JsonReader.Parse(element.GetRawText());
        }
    }

    private static JsonValue FromElementCore(JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null: return JsonValue.Null;
            case JsonValueKind.True: return JsonValue.True;
            case JsonValueKind.False: return JsonValue.False;
            case JsonValueKind.String: return new JsonString(element.GetString()!);
            case JsonValueKind.Number: return JsonReader.ParseNumberToken(element.GetRawText());
            case JsonValueKind.Array:
                var a = new JsonArray();
                foreach (var item in element.EnumerateArray()) a.Add(FromElement(item, depth + 1));
                return a;
            case JsonValueKind.Object:
                var o = new JsonObject();
                foreach (var p in element.EnumerateObject()) o[p.Name] = FromElement(p.Value, depth + 1);
                return o;
            default:
                throw new ArgumentException($"cannot convert a JsonElement of kind {element.ValueKind}.", nameof(element));
        }
    }

    /// <summary>
    /// Converts a System.Text.Json node. Numbers parsed from text keep their token's int/float kind; numbers set from
    /// CLR values are floats for <c>double</c>/<c>float</c>/<c>Half</c>/<c>decimal</c> and integers for integral types.
    /// </summary>
    public static JsonValue FromNode(System.Text.Json.Nodes.JsonNode? node) => FromNode(node, 0);

    private static JsonValue FromNode(System.Text.Json.Nodes.JsonNode? node, int depth)
    {
        if (depth > MaxDepth) throw new InvalidOperationException($"JSON nesting deeper than {MaxDepth} levels.");
        switch (node)
        {
            case null: return JsonValue.Null;
            case System.Text.Json.Nodes.JsonArray arr:
                var a = new JsonArray();
                foreach (var item in arr) a.Add(FromNode(item, depth + 1));
                return a;
            case System.Text.Json.Nodes.JsonObject obj:
                var o = new JsonObject();
                foreach (var (k, v) in obj) o[k] = FromNode(v, depth + 1);
                return o;
            case System.Text.Json.Nodes.JsonValue v:
                if (v.TryGetValue<JsonElement>(out var el)) return FromElement(el, depth);
                if (v.TryGetValue<double>(out var d)) return new JsonFloat(d);
                if (v.TryGetValue<float>(out var f)) return new JsonFloat(f);
                if (v.TryGetValue<Half>(out var h)) return new JsonFloat((double)h);
                if (v.TryGetValue<decimal>(out var m)) return new JsonFloat((double)m);
                if (v.TryGetValue<long>(out var l)) return new JsonInt(l);
                if (v.TryGetValue<ulong>(out var ul)) return new JsonInt(ul);
                if (v.TryGetValue<int>(out var i)) return new JsonInt(i);
                if (v.TryGetValue<uint>(out var ui)) return new JsonInt(ui);
                if (v.TryGetValue<short>(out var s)) return new JsonInt(s);
                if (v.TryGetValue<ushort>(out var us)) return new JsonInt(us);
                if (v.TryGetValue<byte>(out var b)) return new JsonInt(b);
                if (v.TryGetValue<sbyte>(out var sb)) return new JsonInt(sb);
                if (v.TryGetValue<bool>(out var bo)) return bo;
                if (v.TryGetValue<string>(out var str)) return new JsonString(str);
                // Anything else (char, Guid, DateTime, ...): take System.Text.Json's rendering of it.
                return JsonReader.Parse(v.ToJsonString());
            default:
                throw new ArgumentException($"cannot convert a JsonNode of type {node.GetType().Name}.", nameof(node));
        }
    }

    private static readonly JsonSerializerOptions ObjectOptions = CreateObjectOptions();

    private static JsonSerializerOptions CreateObjectOptions()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.General);
        o.Converters.Add(new PythonDoubleConverter());
        o.Converters.Add(new PythonSingleConverter());
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>
    /// Converts a CLR object through System.Text.Json, with <c>double</c>/<c>float</c> members written as floats
    /// (<c>1.0</c>, not <c>1</c>) so their kind survives. Property names follow <paramref name="options"/> when given
    /// (its number converters are replaced by the float-preserving ones). <c>decimal</c> members are written as
    /// System.Text.Json writes them (<c>1.5</c> is a float, <c>1</c> an integer): use double or a <see cref="JsonValue"/> instead.
    /// </summary>
    public static JsonValue FromObject<T>(T value, JsonSerializerOptions? options = null)
    {
        var opts = ObjectOptions;
        if (options is not null)
        {
            opts = new JsonSerializerOptions(options);
            opts.Converters.Insert(0, new PythonDoubleConverter());
            opts.Converters.Insert(1, new PythonSingleConverter());
        }
        if (value is JsonValue jv) return jv;
        return JsonReader.Parse(JsonSerializer.SerializeToUtf8Bytes(value, opts));
    }

    private sealed class PythonDoubleConverter : System.Text.Json.Serialization.JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            Span<byte> buf = stackalloc byte[32];
            var n = FormatFloat(value, buf);
            // NaN/Infinity are not JSON to System.Text.Json, but our reader accepts them as Python does.
            writer.WriteRawValue(buf[..n], skipInputValidation: !double.IsFinite(value));
        }
    }

    private sealed class PythonSingleConverter : System.Text.Json.Serialization.JsonConverter<float>
    {
        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetSingle();

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            Span<byte> buf = stackalloc byte[32];
            var n = FormatFloat(value, buf);
            writer.WriteRawValue(buf[..n], skipInputValidation: !float.IsFinite(value));
        }
    }

    private static void WriteValue(IBufferWriter<byte> w, JsonValue value, int depth)
    {
        switch (value)
        {
            case JsonString s:
                WriteString(w, s.Value);
                break;
            case JsonInt i:
                if (i.TryGetInt64(out var small))
                {
                    var span64 = w.GetSpan(20);
                    small.TryFormat(span64, out var written, default, CultureInfo.InvariantCulture);
                    w.Advance(written);
                }
                else WriteAscii(w, Encoding.ASCII.GetBytes(i.Value.ToString(CultureInfo.InvariantCulture)));
                break;
            case JsonObject o:
                if (depth >= MaxDepth) throw TooDeep();
                WriteByte(w, (byte)'{');
                var members = o.GetSortedMembers();
                for (var k = 0; k < members.Length; k++)
                {
                    if (k > 0) WriteByte(w, (byte)',');
                    WriteString(w, members[k].Key);
                    WriteByte(w, (byte)':');
                    WriteValue(w, members[k].Value, depth + 1);
                }
                WriteByte(w, (byte)'}');
                break;
            case JsonArray a:
                if (depth >= MaxDepth) throw TooDeep();
                WriteByte(w, (byte)'[');
                for (var k = 0; k < a.Count; k++)
                {
                    if (k > 0) WriteByte(w, (byte)',');
                    WriteValue(w, a[k], depth + 1);
                }
                WriteByte(w, (byte)']');
                break;
            case JsonFloat f:
                var span = w.GetSpan(32);
                w.Advance(FormatFloat(f.Value, span));
                break;
            case JsonBool b:
                WriteAscii(w, b.Value ? "true"u8 : "false"u8);
                break;
            case JsonNull:
                WriteAscii(w, "null"u8);
                break;
            default:
                throw new ArgumentException($"unknown JsonValue type {value.GetType().Name}.", nameof(value));
        }
    }

    private static InvalidOperationException TooDeep() =>
        new($"JSON value nested deeper than {MaxDepth} levels (or a container that contains itself); flatten it.");

    private static void WriteByte(IBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    private static void WriteAscii(IBufferWriter<byte> w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(w.GetSpan(bytes.Length));
        w.Advance(bytes.Length);
    }

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    // Characters written as themselves: printable ASCII except '"' and '\\'.
    private static readonly SearchValues<char> Unescaped = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>Writes a quoted string with Python's ensure_ascii escaping (one UTF-16 unit at a time, so pairs become two escapes).</summary>
    private static void WriteString(IBufferWriter<byte> w, string s)
    {
        // Chunks bound the buffer request (worst case 6 bytes per UTF-16 unit, plus both quotes) for very long strings;
        // a short string is written with a single GetSpan/Advance, quotes included.
        const int Chunk = 4096;
        var start = 0;
        var span = w.GetSpan(Math.Min(Chunk, s.Length) * 6 + 2);
        span[0] = (byte)'"';
        var n = 1;
        while (true)
        {
            var part = s.AsSpan(start, Math.Min(Chunk, s.Length - start));
            var i = 0;
            while (i < part.Length)
            {
                // Vectorised fast path: copy the longest run that needs no escaping (hex ids, ASCII text) in one go.
                var run = part[i..].IndexOfAnyExcept(Unescaped);
                if (run < 0) run = part.Length - i;
                if (run > 0)
                {
                    System.Text.Ascii.FromUtf16(part.Slice(i, run), span[n..], out var copied);
                    n += copied;
                    i += run;
                    if (i == part.Length) break;
                }
                var c = part[i++];
                span[n++] = (byte)'\\';
                switch (c)
                {
                    case '"': span[n++] = (byte)'"'; break;
                    case '\\': span[n++] = (byte)'\\'; break;
                    case '\n': span[n++] = (byte)'n'; break;
                    case '\r': span[n++] = (byte)'r'; break;
                    case '\t': span[n++] = (byte)'t'; break;
                    case '\b': span[n++] = (byte)'b'; break;
                    case '\f': span[n++] = (byte)'f'; break;
                    default:
                        span[n++] = (byte)'u';
                        span[n++] = Hex[(c >> 12) & 0xF];
                        span[n++] = Hex[(c >> 8) & 0xF];
                        span[n++] = Hex[(c >> 4) & 0xF];
                        span[n++] = Hex[c & 0xF];
                        break;
                }
            }
            start += part.Length;
            if (start >= s.Length) break;
            w.Advance(n);
            span = w.GetSpan(Math.Min(Chunk, s.Length - start) * 6 + 1);
            n = 0;
        }
        span[n++] = (byte)'"';
        w.Advance(n);
    }

    /// <summary>
    /// Python <c>repr(float)</c> into <paramref name="dest"/> (at least 32 bytes); returns the byte count.
    /// Digits and exponent come from .NET's shortest round-trip formatting ("R", ties to even since .NET Core 3.0);
    /// the layout is Python's: positional when -4 &lt;= exponent &lt; 16, otherwise <c>d[.ddd]e±XX</c>.
    /// </summary>
    internal static int FormatFloat(double value, Span<byte> dest)
    {
        if (double.IsNaN(value)) return Copy("NaN"u8, dest);
        if (double.IsPositiveInfinity(value)) return Copy("Infinity"u8, dest);
        if (double.IsNegativeInfinity(value)) return Copy("-Infinity"u8, dest);
        if (value == 0) return Copy(double.IsNegative(value) ? "-0.0"u8 : "0.0"u8, dest);

        Span<byte> r = stackalloc byte[40];
        if (!value.TryFormat(r, out var rn, "R", CultureInfo.InvariantCulture))
            throw new InvalidOperationException("double formatting needed more than 40 bytes.");
        r = r[..rn];

        // Split "R" output ("-1.2345E-05", "123.45", "1E+16") into sign, significant digits and decimal exponent.
        var n = 0;
        var pos = 0;
        if (r[0] == '-')
        {
            dest[n++] = (byte)'-';
            pos = 1;
        }
        Span<byte> digits = stackalloc byte[24];
        var nd = 0;
        var pointAt = -1; // digits before the '.'
        var exp10 = 0;
        for (; pos < r.Length; pos++)
        {
            var c = r[pos];
            if (c == '.') pointAt = nd;
            else if (c == 'E')
            {
                exp10 = int.Parse(r[(pos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                break;
            }
            else digits[nd++] = c;
        }
        if (pointAt < 0) pointAt = nd;
        // Strip leading zeros ("0.0001" -> digits "00001", point after 1).
        var lead = 0;
        while (lead < nd - 1 && digits[lead] == '0') lead++;
        var sig = digits[lead..nd];
        var e = pointAt - lead - 1 + exp10; // exponent of the first significant digit
        // Strip trailing zeros ("1000" -> "1", e=3).
        var len = sig.Length;
        while (len > 1 && sig[len - 1] == '0') len--;
        sig = sig[..len];

        if (e >= -4 && e < 16)
        {
            if (e < 0)
            {
                dest[n++] = (byte)'0';
                dest[n++] = (byte)'.';
                for (var z = 0; z < -e - 1; z++) dest[n++] = (byte)'0';
                sig.CopyTo(dest[n..]);
                n += sig.Length;
            }
            else
            {
                var intDigits = e + 1;
                for (var k = 0; k < intDigits; k++) dest[n++] = k < sig.Length ? sig[k] : (byte)'0';
                dest[n++] = (byte)'.';
                if (sig.Length > intDigits)
                {
                    sig[intDigits..].CopyTo(dest[n..]);
                    n += sig.Length - intDigits;
                }
                else dest[n++] = (byte)'0';
            }
            return n;
        }

        dest[n++] = sig[0];
        if (sig.Length > 1)
        {
            dest[n++] = (byte)'.';
            sig[1..].CopyTo(dest[n..]);
            n += sig.Length - 1;
        }
        dest[n++] = (byte)'e';
        dest[n++] = e < 0 ? (byte)'-' : (byte)'+';
        var ae = Math.Abs(e);
        if (ae < 10) dest[n++] = (byte)'0';
        ae.TryFormat(dest[n..], out var en, default, CultureInfo.InvariantCulture);
        return n + en;
    }

    private static int Copy(ReadOnlySpan<byte> s, Span<byte> dest)
    {
        s.CopyTo(dest);
        return s.Length;
    }
}
