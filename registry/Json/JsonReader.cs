using System.Globalization;
using System.Numerics;
using System.Text;

namespace Federation.Registry.Json;

/// <summary>Malformed JSON text. <see cref="Offset"/> is 0-based (characters, or bytes for invalid UTF-8); line and column are 1-based.</summary>
public sealed class JsonParseException : FormatException
{
    /// <summary>Creates the exception; the message already contains the position.</summary>
    public JsonParseException(string message, int offset, int line, int column) : base(message)
    {
        Offset = offset;
        Line = line;
        Column = column;
    }

    /// <summary>0-based offset of the error.</summary>
    public int Offset { get; }

    /// <summary>1-based line of the error.</summary>
    public int Line { get; }

    /// <summary>1-based column of the error.</summary>
    public int Column { get; }
}

/// <summary>
/// Parses JSON text into <see cref="JsonValue"/> following Python's <c>json.loads</c>: whitespace is space, tab, CR, LF;
/// a duplicate key keeps the last value; a number with <c>.</c>, <c>e</c> or <c>E</c> is a float (a literal too large,
/// such as <c>1E400</c>, is infinity), any other number an integer (<c>-0</c> is 0; more than 4300 digits is refused, as
/// Python 3.11 refuses it); <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> are accepted; raw control characters inside
/// strings are refused; <c>\u</c> escapes that form a surrogate pair are combined, lone surrogates are kept.
/// </summary>
public static class JsonReader
{
    /// <summary>The most digits an integer may have (Python 3.11's default int_max_str_digits).</summary>
    public const int MaxIntegerDigits = 4300;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses UTF-8 bytes. As Python's <c>json.loads(bytes)</c> does, a leading UTF-8 byte-order mark is skipped and
    /// UTF-8-encoded surrogates are accepted as surrogates ('surrogatepass').
    /// </summary>
    public static JsonValue Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8 = utf8[3..];
        string text;
        try
        {
            text = StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            text = DecodeSurrogatePass(utf8);
        }
        return Parse(text);
    }

    /// <summary>
    /// Python decodes JSON bytes with the 'surrogatepass' handler: a UTF-8-style encoding of a surrogate (ED A0..BF xx)
    /// becomes that surrogate. Anything else that is not UTF-8 is an error at its byte offset.
    /// </summary>
    private static string DecodeSurrogatePass(ReadOnlySpan<byte> utf8)
    {
        var sb = new StringBuilder(utf8.Length);
        var i = 0;
        while (i < utf8.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(utf8[i..], out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done)
            {
                if (rune.IsBmp) sb.Append((char)rune.Value);
                else sb.Append(rune.ToString());
                i += consumed;
                continue;
            }
            if (i + 2 < utf8.Length && utf8[i] == 0xED && utf8[i + 1] is >= 0xA0 and <= 0xBF && utf8[i + 2] is >= 0x80 and <= 0xBF)
            {
                sb.Append((char)(0xD000 | ((utf8[i + 1] & 0x3F) << 6) | (utf8[i + 2] & 0x3F)));
                i += 3;
                continue;
            }
            throw new JsonParseException($"invalid UTF-8 at byte {i}: JSON bytes must be UTF-8; re-encode the input.", i, 1, i + 1);
        }
        return sb.ToString();
    }

    /// <summary>Parses a string of JSON text.</summary>
    public static JsonValue Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Parser(text);
        p.SkipWhitespace();
        var v = p.ParseValue(0);
        p.SkipWhitespace();
        if (p.Pos < text.Length) throw p.Error("expected the end of the JSON text", p.Pos);
        return v;
    }

    /// <summary>Converts one number token (already known to be valid JSON) to an int or float by its spelling.</summary>
    internal static JsonValue ParseNumberToken(string token)
    {
        var p = new Parser(token);
        var v = p.ParseValue(0);
        if (p.Pos != token.Length) throw p.Error("expected a single number token", p.Pos);
        return v;
    }

    private ref struct Parser(string text)
    {
        private readonly string _s = text;
        public int Pos;

        public void SkipWhitespace()
        {
            while (Pos < _s.Length)
            {
                var c = _s[Pos];
                if (c is ' ' or '\t' or '\n' or '\r') Pos++;
                else break;
            }
        }

        public readonly JsonParseException Error(string what, int at)
        {
            var found = at >= _s.Length ? "the end of the input" : Describe(_s[at]);
            return ErrorAt($"{what}, found {found}.", at);
        }

        public readonly JsonParseException ErrorAt(string message, int at)
        {
            var line = 1;
            var col = 1;
            for (var i = 0; i < at && i < _s.Length; i++)
            {
                if (_s[i] == '\n')
                {
                    line++;
                    col = 1;
                }
                else col++;
            }
            return new JsonParseException($"line {line}, column {col} (offset {at}): {message}", at, line, col);
        }

        private static string Describe(char c) =>
            c >= 0x20 && c < 0x7F ? $"'{c}'" : $"U+{(int)c:X4}";

        public JsonValue ParseValue(int depth)
        {
            if (Pos >= _s.Length) throw Error("expected a JSON value", Pos);
            var c = _s[Pos];
            switch (c)
            {
                case '{': return ParseObject(depth);
                case '[': return ParseArray(depth);
                case '"': return new JsonString(ParseString());
                case 't': return Literal("true", JsonValue.True);
                case 'f': return Literal("false", JsonValue.False);
                case 'n': return Literal("null", JsonValue.Null);
                case 'N': return Literal("NaN", new JsonFloat(double.NaN));
                case 'I': return Literal("Infinity", new JsonFloat(double.PositiveInfinity));
                case '-':
                    if (string.CompareOrdinal(_s, Pos, "-Infinity", 0, 9) == 0)
                    {
                        Pos += 9;
                        return new JsonFloat(double.NegativeInfinity);
                    }
                    return ParseNumber();
                default:
                    if (c is >= '0' and <= '9') return ParseNumber();
                    throw Error("expected a JSON value", Pos);
            }
        }

        private JsonValue Literal(string word, JsonValue value)
        {
            if (string.CompareOrdinal(_s, Pos, word, 0, word.Length) != 0) throw Error("expected a JSON value", Pos);
            Pos += word.Length;
            return value;
        }

        private JsonValue ParseNumber()
        {
            // Python's NUMBER_RE: (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?
            var start = Pos;
            if (_s[Pos] == '-') Pos++;
            var intStart = Pos;
            if (Pos < _s.Length && _s[Pos] == '0') Pos++;
            else if (Pos < _s.Length && _s[Pos] is >= '1' and <= '9')
                while (Pos < _s.Length && char.IsAsciiDigit(_s[Pos])) Pos++;
            else throw Error("expected a digit after '-'", Pos);
            var intEnd = Pos;
            var isFloat = false;
            if (Pos + 1 < _s.Length && _s[Pos] == '.' && char.IsAsciiDigit(_s[Pos + 1]))
            {
                isFloat = true;
                Pos++;
                while (Pos < _s.Length && char.IsAsciiDigit(_s[Pos])) Pos++;
            }
            if (Pos < _s.Length && _s[Pos] is 'e' or 'E')
            {
                var save = Pos;
                var q = Pos + 1;
                if (q < _s.Length && _s[q] is '+' or '-') q++;
                if (q < _s.Length && char.IsAsciiDigit(_s[q]))
                {
                    while (q < _s.Length && char.IsAsciiDigit(_s[q])) q++;
                    Pos = q;
                    isFloat = true;
                }
                else Pos = save; // like Python: the number ends before the 'e' and the 'e' is then unexpected
            }
            var token = _s.AsSpan(start, Pos - start);
            if (isFloat)
            {
                // .NET Core 3.0+ parsing is correctly rounded and gives ±Infinity on overflow, like Python's float().
                return new JsonFloat(double.Parse(token, NumberStyles.Float, CultureInfo.InvariantCulture));
            }
            if (intEnd - intStart > MaxIntegerDigits)
                throw ErrorAt($"integer with {intEnd - intStart} digits exceeds the limit of {MaxIntegerDigits} digits (Python's default); send it as a string.", start);
            if (token.Length <= 18) return new JsonInt(long.Parse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            return new JsonInt(BigInteger.Parse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        }

        private string ParseString()
        {
            var quote = Pos;
            Pos++; // opening quote
            var runStart = Pos;
            // Fast path: no escapes.
            while (Pos < _s.Length)
            {
                var c = _s[Pos];
                if (c == '"')
                {
                    var r = _s.Substring(runStart, Pos - runStart);
                    Pos++;
                    return r;
                }
                if (c == '\\') break;
                if (c < 0x20) throw Error("invalid control character in a string (escape it as \\u00XX)", Pos);
                Pos++;
            }
            var sb = new StringBuilder();
            sb.Append(_s, runStart, Pos - runStart);
            while (true)
            {
                if (Pos >= _s.Length) throw Error($"unterminated string starting at offset {quote}: expected '\"'", Pos);
                var c = _s[Pos];
                if (c == '"')
                {
                    Pos++;
                    return sb.ToString();
                }
                if (c < 0x20) throw Error("invalid control character in a string (escape it as \\u00XX)", Pos);
                if (c != '\\')
                {
                    sb.Append(c);
                    Pos++;
                    continue;
                }
                var escAt = Pos;
                Pos++;
                if (Pos >= _s.Length) throw Error($"unterminated string starting at offset {quote}: expected an escape character", Pos);
                var e = _s[Pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        // Surrogate pairs given as two escapes combine naturally in UTF-16; lone ones stay, as in Python.
                        sb.Append((char)Hex4(escAt));
                        break;
                    default:
                        throw Error("invalid escape (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", escAt);
                }
            }
        }

        private int Hex4(int escAt)
        {
            if (Pos + 4 > _s.Length) throw Error("invalid \\u escape: expected 4 hex digits", escAt);
            var v = 0;
            for (var k = 0; k < 4; k++)
            {
                var h = _s[Pos + k];
                int d = h switch
                {
                    >= '0' and <= '9' => h - '0',
                    >= 'a' and <= 'f' => h - 'a' + 10,
                    >= 'A' and <= 'F' => h - 'A' + 10,
                    _ => -1,
                };
                if (d < 0) throw Error("invalid \\u escape: expected 4 hex digits", escAt);
                v = (v << 4) | d;
            }
            Pos += 4;
            return v;
        }

        private JsonValue ParseArray(int depth)
        {
            if (depth >= CanonicalJson.MaxDepth) throw Error($"JSON nested deeper than {CanonicalJson.MaxDepth} levels", Pos);
            Pos++;
            var a = new JsonArray();
            SkipWhitespace();
            if (Pos < _s.Length && _s[Pos] == ']')
            {
                Pos++;
                return a;
            }
            while (true)
            {
                SkipWhitespace();
                a.Add(ParseValue(depth + 1));
                SkipWhitespace();
                if (Pos < _s.Length && _s[Pos] == ',')
                {
                    Pos++;
                    continue;
                }
                if (Pos < _s.Length && _s[Pos] == ']')
                {
                    Pos++;
                    return a;
                }
                throw Error("expected ',' or ']' in an array", Pos);
            }
        }

        private JsonValue ParseObject(int depth)
        {
            if (depth >= CanonicalJson.MaxDepth) throw Error($"JSON nested deeper than {CanonicalJson.MaxDepth} levels", Pos);
            Pos++;
            var o = new JsonObject();
            SkipWhitespace();
            if (Pos < _s.Length && _s[Pos] == '}')
            {
                Pos++;
                return o;
            }
            while (true)
            {
                SkipWhitespace();
                if (Pos >= _s.Length || _s[Pos] != '"') throw Error("expected a property name in double quotes", Pos);
                var key = ParseString();
                SkipWhitespace();
                if (Pos >= _s.Length || _s[Pos] != ':') throw Error("expected ':' after a property name", Pos);
                Pos++;
                SkipWhitespace();
                o[key] = ParseValue(depth + 1); // duplicate key: last wins, as in Python
                SkipWhitespace();
                if (Pos < _s.Length && _s[Pos] == ',')
                {
                    Pos++;
                    continue;
                }
                if (Pos < _s.Length && _s[Pos] == '}')
                {
                    Pos++;
                    return o;
                }
                throw Error("expected ',' or '}' in an object", Pos);
            }
        }
    }
}
