using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>
/// JSON helpers for Spore: the wire writer (Python <c>json.dumps(obj, separators=(",",":"))</c> with ensure_ascii, keys in
/// the object's insertion order), canonical bytes (the registry's <see cref="CanonicalJson"/>, byte-exact with Spore's
/// notes §2), SHA-256 ids and Python's <c>bytes.fromhex</c>.
/// </summary>
public static class SporeJson
{
    /// <summary>Canonical bytes of <paramref name="obj"/> without the keys in <paramref name="exclude"/> (notes §3.2, §4.2, §5.1).</summary>
    public static byte[] CanonicalWithout(JsonObject obj, params string[] exclude)
    {
        var copy = new JsonObject();
        foreach (var (k, v) in obj)
            if (Array.IndexOf(exclude, k) < 0) copy[k] = v;
        return CanonicalJson.Serialize(copy);
    }

    /// <summary>Lowercase hex SHA-256 of <paramref name="bytes"/>.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// Python's <c>bytes.fromhex</c>: two hex digits per byte, either case, ASCII whitespace allowed before each pair.
    /// The reference decodes node ids and signatures this way (notes §1).
    /// </summary>
    public static bool TryFromHexPython(string s, out byte[] bytes)
    {
        var list = new List<byte>(s.Length / 2);
        var i = 0;
        bytes = [];
        while (true)
        {
            while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r' or '\v' or '\f') i++;
            if (i >= s.Length) break;
            if (i + 1 >= s.Length) return false;
            var hi = HexVal(s[i]);
            var lo = HexVal(s[i + 1]);
            if (hi < 0 || lo < 0) return false;
            list.Add((byte)((hi << 4) | lo));
            i += 2;
        }
        bytes = [.. list];
        return true;
    }

    private static int HexVal(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Wire text of <paramref name="value"/>: compact, ensure_ascii, object keys in insertion order (notes §6.1, §10.12).</summary>
    public static string ToWireString(JsonValue value)
    {
        var sb = new StringBuilder();
        Write(sb, value, 0);
        return sb.ToString();
    }

    /// <summary>UTF-8 (pure ASCII) bytes of <see cref="ToWireString"/>.</summary>
    public static byte[] ToWireBytes(JsonValue value) => Encoding.ASCII.GetBytes(ToWireString(value));

    /// <summary>Indented text for people (keys in insertion order, ensure_ascii off is not needed: stays ASCII).</summary>
    public static string ToIndentedString(JsonValue value)
    {
        var sb = new StringBuilder();
        WriteIndented(sb, value, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonValue v, int depth)
    {
        if (depth > CanonicalJson.MaxDepth) throw new InvalidOperationException("JSON nested too deeply to write.");
        switch (v)
        {
            case JsonNull: sb.Append("null"); break;
            case JsonBool b: sb.Append(b.Value ? "true" : "false"); break;
            case JsonInt i: sb.Append(i.Value.ToString(CultureInfo.InvariantCulture)); break;
            case JsonFloat f: sb.Append(CanonicalJson.FormatFloat(f.Value)); break;
            case JsonString s: WriteString(sb, s.Value); break;
            case JsonArray a:
                sb.Append('[');
                for (var k = 0; k < a.Count; k++)
                {
                    if (k > 0) sb.Append(',');
                    Write(sb, a[k], depth + 1);
                }
                sb.Append(']');
                break;
            case JsonObject o:
                sb.Append('{');
                var first = true;
                foreach (var (key, val) in o)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, key);
                    sb.Append(':');
                    Write(sb, val, depth + 1);
                }
                sb.Append('}');
                break;
            default: throw new InvalidOperationException($"unknown JSON value {v.GetType().Name}.");
        }
    }

    private static void WriteIndented(StringBuilder sb, JsonValue v, int indent)
    {
        switch (v)
        {
            case JsonArray a when a.Count > 0:
                sb.Append("[\n");
                for (var k = 0; k < a.Count; k++)
                {
                    sb.Append(' ', indent + 2);
                    WriteIndented(sb, a[k], indent + 2);
                    sb.Append(k + 1 < a.Count ? ",\n" : "\n");
                }
                sb.Append(' ', indent).Append(']');
                break;
            case JsonObject o when o.Count > 0:
                sb.Append("{\n");
                var n = 0;
                foreach (var (key, val) in o)
                {
                    sb.Append(' ', indent + 2);
                    WriteString(sb, key);
                    sb.Append(": ");
                    WriteIndented(sb, val, indent + 2);
                    sb.Append(++n < o.Count ? ",\n" : "\n");
                }
                sb.Append(' ', indent).Append('}');
                break;
            default:
                Write(sb, v, 0);
                break;
        }
    }

    /// <summary>Python ensure_ascii string escaping (notes §2.2): lowercase \u hex, DEL escaped, surrogate pairs for astral characters.</summary>
    public static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c >= 0x20 && c <= 0x7e) sb.Append(c);
                    else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
            }
        }
        sb.Append('"');
    }
}
