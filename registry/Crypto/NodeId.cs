using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federation.Registry.Crypto;

/// <summary>
/// A node's identity: its 32-byte Ed25519 public key, written as 64 lowercase hex characters (Spore §1 <c>node_id</c>).
/// Holding a NodeId says nothing about the key's validity; <see cref="Ed25519Verifier"/> checks that per signature.
/// </summary>
[JsonConverter(typeof(NodeIdJsonConverter))]
public readonly record struct NodeId
{
    /// <summary>Length of a public key in bytes.</summary>
    public const int ByteLength = 32;

    private readonly Bytes32 _bytes;

    /// <summary>A NodeId from a 32-byte public key.</summary>
    public NodeId(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != ByteLength)
            throw new ArgumentException($"an Ed25519 public key is {ByteLength} bytes, found {publicKey.Length}.", nameof(publicKey));
        _bytes = new Bytes32(publicKey);
    }

    /// <summary>Parses 64 lowercase hex characters.</summary>
    /// <exception cref="FormatException">Wrong length, upper case or non-hex; the message says which.</exception>
    public static NodeId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Parses 64 lowercase hex characters; false for anything else.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out NodeId id) => TryParse(text, out id, out _);

    /// <summary>Parses 64 lowercase hex characters; on failure <paramref name="error"/> says what was wrong.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out NodeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        Span<byte> b = stackalloc byte[ByteLength];
        if (!Hex.TryDecodeLower(text, b, "node id (Ed25519 public key)", out error)) return false;
        id = new NodeId(b);
        return true;
    }

    /// <summary>Writes the 32 public-key bytes to <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
        => _bytes.WriteTo(destination);

    /// <summary>The 32 public-key bytes (a new array).</summary>
    public byte[] ToArray()
        => _bytes.ToArray();

    /// <summary>64 lowercase hex characters.</summary>
    public override string ToString()
        => _bytes.ToHex();
}

/// <summary>Writes a <see cref="NodeId"/> as its hex string in System.Text.Json (a record struct would otherwise serialize as <c>{}</c>).</summary>
public sealed class NodeIdJsonConverter : JsonConverter<NodeId>
{
    /// <inheritdoc/>
    public override NodeId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        NodeId.TryParse(reader.GetString(), out var id, out var error) ? id : throw new JsonException(error);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, NodeId value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
