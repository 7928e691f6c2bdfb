namespace Federation.Registry.Merkle;

/// <summary>
/// An append-only RFC 9162 Merkle tree over an <see cref="IMerkleNodeStore"/>. Appending leaf n stores its hash and
/// every subtree it completes (amortised O(1) writes, no reads: the right border lives in memory). Roots and proofs for
/// any size up to <see cref="Size"/> read the O(log n) stored complete-subtree nodes that <see cref="ProofPlanner"/>
/// names; a subtree that is incomplete at the requested size is folded from its complete children — the tree is never
/// rebuilt.
/// </summary>
/// <remarks>Not thread-safe for appends. Reads of sizes already appended only touch immutable nodes.</remarks>
public sealed class MerkleTree
{
    private const int H = MerkleHasher.HashSize;
    private readonly IMerkleNodeStore _store;
    // _border[l] = node (l, (Size >> l) - 1) when bit l of Size is set: the complete subtrees on the right edge.
    private readonly byte[][] _border = new byte[64][];

    /// <summary>Opens a tree of <paramref name="size"/> leaves whose nodes are already in <paramref name="store"/>.</summary>
    public MerkleTree(IMerkleNodeStore store, long size = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        _store = store;
        Size = size;
        for (int l = 0; l < 63; l++)
            if (((size >> l) & 1) == 1)
            {
                _border[l] = new byte[H];
                store.ReadNode(l, (size >> l) - 1, _border[l]);
            }
    }

    /// <summary>The number of leaves.</summary>
    public long Size { get; private set; }

    /// <summary>The store the tree reads and writes.</summary>
    public IMerkleNodeStore Store => _store;

    /// <summary>Appends leaf data; returns its leaf hash.</summary>
    public byte[] Append(ReadOnlySpan<byte> leafData)
    {
        var h = MerkleHasher.HashLeaf(leafData);
        AppendLeafHash(h);
        return h;
    }

    /// <summary>Appends a leaf by its (already computed) leaf hash; returns the new leaf's index.</summary>
    public long AppendLeafHash(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != H) throw new ArgumentException($"a leaf hash must be {H} bytes; got {leafHash.Length}.", nameof(leafHash));
        long index = Size;
        Span<byte> cur = stackalloc byte[H];
        leafHash.CopyTo(cur);
        _store.WriteNode(0, index, cur);
        int level = 0;
        long i = index;
        while ((i & 1) == 1)
        {
            MerkleHasher.HashChildren(_border[level], cur, cur);
            i >>= 1;
            level++;
            _store.WriteNode(level, i, cur);
        }
        cur.CopyTo(_border[level] ??= new byte[H]);
        Size = index + 1;
        return index;
    }

    /// <summary>The root of the current tree, from the in-memory border (no reads).</summary>
    public byte[] Root()
    {
        if (Size == 0) return MerkleHasher.EmptyRoot();
        byte[]? acc = null;
        for (int l = 0; l < 63; l++)
        {
            if (((Size >> l) & 1) == 0) continue;
            acc = acc is null ? (byte[])_border[l].Clone() : MerkleHasher.HashChildren(_border[l], acc);
        }
        return acc!;
    }

    /// <summary>The root of the first <paramref name="size"/> leaves (MTH(D[0:size])), 0 &lt;= size &lt;= <see cref="Size"/>.</summary>
    public byte[] Root(long size)
    {
        CheckSize(size, nameof(size));
        return size == Size ? Root() : RootOf(_store, size);
    }

    /// <summary>RFC 9162 §2.1.3.1 PATH(m, D[0:n]): the inclusion proof of <paramref name="leafIndex"/> in the first <paramref name="treeSize"/> leaves.</summary>
    public InclusionProof ProveInclusion(long leafIndex, long treeSize)
    {
        CheckSize(treeSize, nameof(treeSize));
        if (leafIndex < 0 || leafIndex >= treeSize)
            throw new ArgumentOutOfRangeException(nameof(leafIndex), $"leaf index {leafIndex} must be in [0, {treeSize}).");
        return ProveInclusion(_store, leafIndex, treeSize);
    }

    /// <summary>
    /// PATH(m, D[0:n]) read from <paramref name="store"/>, which must hold every complete subtree of the first
    /// <paramref name="treeSize"/> leaves: the nodes <see cref="ProofPlanner.Inclusion"/> names, folded.
    /// </summary>
    public static InclusionProof ProveInclusion(IMerkleNodeStore store, long leafIndex, long treeSize) =>
        new(leafIndex, treeSize, ProofPlanner.Inclusion(leafIndex, treeSize).Execute(store));

    /// <summary>RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from <paramref name="size1"/> to <paramref name="size2"/> leaves.</summary>
    public ConsistencyProof ProveConsistency(long size1, long size2)
    {
        CheckSize(size2, nameof(size2));
        if (size1 < 0 || size1 > size2)
            throw new ArgumentOutOfRangeException(nameof(size1), $"size1 {size1} must be in [0, size2 = {size2}].");
        return ProveConsistency(_store, size1, size2);
    }

    /// <summary>PROOF(m, D[n]) read from <paramref name="store"/>, which must hold every complete subtree of the first <paramref name="size2"/> leaves.</summary>
    public static ConsistencyProof ProveConsistency(IMerkleNodeStore store, long size1, long size2) =>
        new(size1, size2, ProofPlanner.Consistency(size1, size2).Execute(store));

    /// <summary>MTH(D[0:size]) read from <paramref name="store"/> (O(log size) node reads).</summary>
    public static byte[] RootOf(IMerkleNodeStore store, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return size == 0 ? MerkleHasher.EmptyRoot() : ProofPlanner.Root(size).Execute(store)[0];
    }

    /// <summary>The leaf hash at <paramref name="index"/>.</summary>
    public byte[] LeafHash(long index)
    {
        if (index < 0 || index >= Size) throw new ArgumentOutOfRangeException(nameof(index), $"leaf index {index} must be in [0, {Size}).");
        var h = new byte[H];
        _store.ReadNode(0, index, h);
        return h;
    }

    private void CheckSize(long size, string name)
    {
        if (size < 0 || size > Size)
            throw new ArgumentOutOfRangeException(name, $"tree size {size} must be in [0, {Size}]; the log holds {Size} leaves.");
    }
}
