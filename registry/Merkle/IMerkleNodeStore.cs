namespace Federation.Registry.Merkle;

/// <summary>
/// Storage of complete-subtree hashes. Node (level, index) is the hash of leaves
/// [index·2^level, (index+1)·2^level); level 0 holds leaf hashes. A node is written once, when its subtree becomes
/// complete, and never changes afterwards, so readers of a committed prefix need no locking against appends.
/// </summary>
public interface IMerkleNodeStore
{
    /// <summary>Reads node (<paramref name="level"/>, <paramref name="index"/>) into <paramref name="destination"/> (32 bytes).</summary>
    /// <exception cref="InvalidDataException">The node is missing: the store is corrupt or the caller asked beyond its size.</exception>
    void ReadNode(int level, long index, Span<byte> destination);

    /// <summary>Stores node (<paramref name="level"/>, <paramref name="index"/>).</summary>
    void WriteNode(int level, long index, ReadOnlySpan<byte> hash);
}

/// <summary>An <see cref="IMerkleNodeStore"/> in memory: one contiguous array per level.</summary>
public sealed class InMemoryMerkleNodeStore : IMerkleNodeStore
{
    private const int H = MerkleHasher.HashSize;
    private readonly byte[][] _levels = new byte[64][];
    private readonly long[] _counts = new long[64];

    /// <summary>The number of nodes stored at <paramref name="level"/> (they are contiguous from index 0).</summary>
    public long CountAt(int level) => _counts[level];

    /// <inheritdoc/>
    public void ReadNode(int level, long index, Span<byte> destination)
    {
        if ((uint)level >= 64 || index < 0 || index >= _counts[level])
            throw new InvalidDataException($"merkle node ({level}, {index}) is not stored; this level holds {((uint)level < 64 ? _counts[level] : 0)} nodes.");
        _levels[level].AsSpan(checked((int)(index * H)), H).CopyTo(destination);
    }

    /// <inheritdoc/>
    public void WriteNode(int level, long index, ReadOnlySpan<byte> hash)
    {
        if (hash.Length != H) throw new ArgumentException($"a node hash must be {H} bytes; got {hash.Length}.", nameof(hash));
        if (index > _counts[level])
            throw new InvalidOperationException($"nodes are written in order: level {level} holds {_counts[level]}, cannot write index {index}.");
        var arr = _levels[level] ??= new byte[H * 16];
        long need = (index + 1) * H;
        if (need > arr.Length)
        {
            Array.Resize(ref arr, (int)Math.Min(Math.Max(need, (long)arr.Length * 2), Array.MaxLength));
            _levels[level] = arr;
        }
        hash.CopyTo(arr.AsSpan((int)(index * H), H));
        if (index == _counts[level]) _counts[level]++;
    }

    /// <summary>Forgets every node from <paramref name="treeSize"/> leaves on (used to roll back an aborted batch).</summary>
    public void Truncate(long treeSize)
    {
        for (int l = 0; l < 64; l++)
            _counts[l] = Math.Min(_counts[l], treeSize >> l);
    }
}
