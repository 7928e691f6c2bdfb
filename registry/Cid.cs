using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Federation.Registry.Json;

namespace Federation.Registry;

/// <summary>
/// A content identifier: the SHA-256 of some bytes, written as 64 lowercase hex characters (Spore-compatible).
/// For structured data the bytes are the canonical JSON (<see cref="CanonicalJson"/>). Equality is by value.
/// </summary>
[JsonConverter(typeof(CidJsonConverter))]
public readonly record struct Cid : IComparable<Cid>
{
    /// <summary>Length of a CID in bytes.</summary>
    public const int ByteLength = 32;

    /// <summary>Length of a CID in hex characters.</summary>
    public const int HexLength = 64;

    private readonly Bytes32 _bytes;

    /// <summary>A CID from its 32 digest bytes.</summary>
    public Cid(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != ByteLength)
            throw new ArgumentException($"a CID is {ByteLength} bytes (SHA-256), found {digest.Length}.", nameof(digest));
        _bytes = new Bytes32(digest);
    }

    /// <summary>The CID of <paramref name="data"/>: SHA-256.</summary>
    public static Cid Of(ReadOnlySpan<byte> data)
    {
        Span<byte> h = stackalloc byte[ByteLength];
        SHA256.HashData(data, h);
        return new Cid(h);
    }

    /// <summary>The CID of the canonical JSON of <paramref name="value"/>.</summary>
    public static Cid Of(JsonValue value)
    {
        Span<byte> h = stackalloc byte[ByteLength];
        CanonicalJson.HashSha256(value, h);
        return new Cid(h);
    }

    /// <summary>Parses 64 lowercase hex characters.</summary>
    /// <exception cref="FormatException">Wrong length, upper-case or non-hex characters; the message says which.</exception>
    public static Cid Parse(string text) =>
        TryParse(text, out var cid, out var error) ? cid : throw new FormatException(error);

    /// <summary>Parses 64 lowercase hex characters; false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Cid cid) => TryParse(text, out cid, out _);

    /// <summary>Parses 64 lowercase hex characters; on failure <paramref name="error"/> says what was wrong.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Cid cid, [NotNullWhen(false)] out string? error)
    {
        cid = default;
        Span<byte> b = stackalloc byte[ByteLength];
        if (!Hex.TryDecodeLower(text, b, "CID (SHA-256)", out error)) return false;
        cid = new Cid(b);
        return true;
    }

    /// <summary>Writes the 32 digest bytes to <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
        => _bytes.WriteTo(destination);

    /// <summary>The 32 digest bytes (a new array).</summary>
    public byte[] ToArray()
        => _bytes.ToArray();

    /// <summary>64 lowercase hex characters.</summary>
    public override string ToString()
        => _bytes.ToHex();

    /// <summary>Orders CIDs by their bytes (the same order as their hex strings).</summary>
    public int CompareTo(Cid other)
        => _bytes.CompareTo(other._bytes);

    public static bool operator <(Cid left, Cid right) => left.CompareTo(right) < 0;

    public static bool operator <=(Cid left, Cid right) => left.CompareTo(right) <= 0;

    public static bool operator >(Cid left, Cid right) => left.CompareTo(right) > 0;

    public static bool operator >=(Cid left, Cid right) => left.CompareTo(right) >= 0;
}

/// <summary>Writes a <see cref="Cid"/> as its hex string in System.Text.Json (a record struct would otherwise serialize as <c>{}</c>).</summary>
public sealed class CidJsonConverter : JsonConverter<Cid>
{
    /// <inheritdoc/>
    public override Cid Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Cid.TryParse(reader.GetString(), out var cid, out var error) ? cid : throw new JsonException(error);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Cid value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

/// <summary>Strict lowercase hex decoding shared by ids (Spore ids are lowercase; upper case is refused, not normalised).</summary>
internal static class Hex
{
    public static bool TryDecodeLower(string? text, Span<byte> dest, string what, [NotNullWhen(false)] out string? error)
    {
        var want = dest.Length * 2;
        if (text is null)
        {
            error = $"expected a {what} of {want} lowercase hex characters, found nothing.";
            return false;
        }
        if (text.Length != want)
        {
            error = $"expected a {what} of {want} lowercase hex characters, found {text.Length} characters.";
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is (>= '0' and <= '9') or (>= 'a' and <= 'f')) continue;
            error = c is >= 'A' and <= 'F'
                ? $"expected a {what} in lowercase hex, found upper-case '{c}' at position {i}; ids are compared as lowercase strings, so write it in lowercase."
                : $"expected a {what} of lowercase hex characters, found '{(c >= 0x20 && c < 0x7F ? c.ToString() : $"U+{(int)c:X4}")}' at position {i}.";
            return false;
        }
        Convert.FromHexString(text, dest, out _, out _);
        error = null;
        return true;
    }
}
