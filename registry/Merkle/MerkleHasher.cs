using System.Buffers;
using System.Security.Cryptography;

namespace Federation.Registry.Merkle;

/// <summary>
/// RFC 9162 §2.1.1 hashing: a leaf hash is SHA-256(0x00 ‖ data), an interior node is SHA-256(0x01 ‖ left ‖ right),
/// and the hash of the empty tree is SHA-256 of the empty string. Every hash is <see cref="HashSize"/> bytes.
/// </summary>
public static class MerkleHasher
{
    /// <summary>Length in bytes of every Merkle hash (SHA-256).</summary>
    public const int HashSize = 32;

    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;

    // Leaves up to this size are hashed from a stack buffer; larger ones from a pooled array.
    private const int StackLimit = 1024;

    /// <summary>The root of the empty tree: SHA-256("") (RFC 9162 §2.1.1, MTH({})).</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>Hashes leaf data: SHA-256(0x00 ‖ <paramref name="data"/>).</summary>
    public static byte[] HashLeaf(ReadOnlySpan<byte> data)
    {
        var result = new byte[HashSize];
        HashLeaf(data, result);
        return result;
    }

    /// <summary>Hashes leaf data into <paramref name="destination"/> (at least <see cref="HashSize"/> bytes).</summary>
    public static void HashLeaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        int total = data.Length + 1;
        byte[]? rented = null;
        Span<byte> buffer = total <= StackLimit ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        buffer[0] = LeafPrefix;
        data.CopyTo(buffer[1..]);
        SHA256.HashData(buffer, destination);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    /// <summary>Hashes two children: SHA-256(0x01 ‖ <paramref name="left"/> ‖ <paramref name="right"/>).</summary>
    public static byte[] HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[HashSize];
        HashChildren(left, right, result);
        return result;
    }

    /// <summary>Hashes two children into <paramref name="destination"/>; it may alias either input.</summary>
    public static void HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        if (left.Length != HashSize || right.Length != HashSize)
            throw new ArgumentException($"child hashes must be {HashSize} bytes; got {left.Length} and {right.Length}.");
        Span<byte> buffer = stackalloc byte[1 + 2 * HashSize];
        buffer[0] = NodePrefix;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        SHA256.HashData(buffer, destination);
    }
}
