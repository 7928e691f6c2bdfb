using System.Buffers.Binary;

namespace Federation.Registry;

/// <summary>
/// 32 bytes held as four big-endian words: value equality, ordering by bytes, no allocation. The storage behind
/// <see cref="Cid"/> and <see cref="Crypto.NodeId"/> (the ledger handles many of both).
/// </summary>
internal readonly record struct Bytes32 : IComparable<Bytes32>
{
    public const int Length = 32;

    private readonly ulong _w0, _w1, _w2, _w3;

    /// <summary>Caller checks the length first (with its own message); this only reads 32 bytes.</summary>
    public Bytes32(ReadOnlySpan<byte> bytes)
    {
        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
            throw new ArgumentException($"need {Length} bytes, got {destination.Length}.", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    public byte[] ToArray()
    {
        var b = new byte[Length];
        WriteTo(b);
        return b;
    }

    public string ToHex()
    {
        Span<byte> b = stackalloc byte[Length];
        WriteTo(b);
        return Convert.ToHexStringLower(b);
    }

    public int CompareTo(Bytes32 other)
    {
        var c = _w0.CompareTo(other._w0);
        if (c == 0) c = _w1.CompareTo(other._w1);
        if (c == 0) c = _w2.CompareTo(other._w2);
        if (c == 0) c = _w3.CompareTo(other._w3);
        return c;
    }
}
