using System.Numerics;

namespace Federation.Registry.Merkle;

/// <summary>The coordinates of a stored Merkle node: the hash of leaves [Index·2^Level, (Index+1)·2^Level).</summary>
public readonly record struct MerkleNodeId(int Level, long Index)
{
    /// <inheritdoc/>
    public override string ToString() => $"({Level}, {Index})";
}

/// <summary>
/// What a root or proof needs from an <see cref="IMerkleNodeStore"/>: every stored node it reads (<see cref="Nodes"/>,
/// each once) and how they fold into the output hashes. Output hash j folds nodes
/// [<c>Start(j)</c>, <c>Start(j)</c> + <see cref="CountOf"/>(j)) from right to left: h = first; h = H(next, h); …
/// </summary>
/// <remarks>
/// The nodes of one output hash are the complete subtrees of a leaf range, listed from the rightmost (lowest level)
/// to the leftmost. Ranges of one proof are disjoint, so no node appears twice.
/// </remarks>
public sealed class ProofPlan
{
    private readonly MerkleNodeId[] _nodes;
    private readonly int[] _counts;

    internal ProofPlan(MerkleNodeId[] nodes, int[] counts)
    {
        _nodes = nodes;
        _counts = counts;
    }

    /// <summary>Every node to read, in fold order.</summary>
    public IReadOnlyList<MerkleNodeId> Nodes => _nodes;

    internal ReadOnlySpan<MerkleNodeId> NodeSpan => _nodes;

    /// <summary>The plan that reads one node as it is (e.g. a leaf hash).</summary>
    public static ProofPlan Single(MerkleNodeId node) => new([node], [1]);

    /// <summary>The number of output hashes (the proof's path length, or 1 for a root).</summary>
    public int HashCount => _counts.Length;

    /// <summary>How many nodes fold into output hash <paramref name="hash"/>.</summary>
    public int CountOf(int hash) => _counts[hash];

    /// <summary>Reads <see cref="Nodes"/> from <paramref name="store"/> one by one (in-memory stores) and folds them.</summary>
    public byte[][] Execute(IMerkleNodeStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var hashes = new byte[_nodes.Length * MerkleHasher.HashSize];
        for (int i = 0; i < _nodes.Length; i++)
            store.ReadNode(_nodes[i].Level, _nodes[i].Index, hashes.AsSpan(i * MerkleHasher.HashSize, MerkleHasher.HashSize));
        return Fold(hashes);
    }

    /// <summary>Folds the node hashes (32 bytes each, in <see cref="Nodes"/> order) into the output hashes.</summary>
    public byte[][] Fold(ReadOnlySpan<byte> nodeHashes)
    {
        const int H = MerkleHasher.HashSize;
        if (nodeHashes.Length != _nodes.Length * H)
            throw new ArgumentException($"expected {_nodes.Length} node hashes ({_nodes.Length * H} bytes), got {nodeHashes.Length} bytes.", nameof(nodeHashes));
        var result = new byte[_counts.Length][];
        int at = 0;
        for (int j = 0; j < _counts.Length; j++)
        {
            var h = nodeHashes.Slice(at * H, H).ToArray();
            for (int k = 1; k < _counts[j]; k++) MerkleHasher.HashChildren(nodeHashes.Slice((at + k) * H, H), h, h);
            at += _counts[j];
            result[j] = h;
        }
        return result;
    }
}

/// <summary>
/// Names the stored nodes that a root, an inclusion proof (RFC 9162 §2.1.3.1 PATH) or a consistency proof
/// (§2.1.4.1 PROOF) needs, without reading any: a store can then fetch them all at once (one SQLite query) and
/// <see cref="ProofPlan.Fold"/> builds the result. Pure; arguments are range-checked.
/// </summary>
/// <remarks>
/// Every range that arises in the RFC recursion starts at a multiple of the largest power of two not above its length,
/// so it is a sequence of complete stored subtrees, one per set bit of its length: O(log n) nodes per proof.
/// </remarks>
public static class ProofPlanner
{
    /// <summary>The nodes of MTH(D[0:<paramref name="size"/>]) (one output hash); <paramref name="size"/> must be positive.</summary>
    public static ProofPlan Root(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var b = new Builder();
        b.Range(0, size);
        return b.Build();
    }

    /// <summary>The nodes of PATH(<paramref name="leafIndex"/>, D[0:<paramref name="treeSize"/>]).</summary>
    public static ProofPlan Inclusion(long leafIndex, long treeSize)
    {
        if (leafIndex < 0 || leafIndex >= treeSize)
            throw new ArgumentOutOfRangeException(nameof(leafIndex), $"leaf index {leafIndex} must be in [0, {treeSize}).");
        var b = new Builder();
        Path(b, leafIndex, 0, treeSize);
        return b.Build();
    }

    /// <summary>The nodes of PROOF(<paramref name="size1"/>, D[0:<paramref name="size2"/>]); empty when size1 is 0 or size2.</summary>
    public static ProofPlan Consistency(long size1, long size2)
    {
        if (size1 < 0 || size1 > size2)
            throw new ArgumentOutOfRangeException(nameof(size1), $"size1 {size1} must be in [0, size2 = {size2}].");
        var b = new Builder();
        if (size1 > 0 && size1 < size2) SubProof(b, size1, 0, size2, true);
        return b.Build();
    }

    private static long LargestPowerOfTwoBelow(long n) => 1L << (63 - BitOperations.LeadingZeroCount((ulong)(n - 1)));

    // PATH: the sibling ranges from the leaf up, so the recursion adds its range after the inner call.
    private static void Path(Builder b, long m, long start, long end)
    {
        long n = end - start;
        if (n <= 1) return;
        long k = LargestPowerOfTwoBelow(n);
        if (m < start + k)
        {
            Path(b, m, start, start + k);
            b.Range(start + k, end);
        }
        else
        {
            Path(b, m, start + k, end);
            b.Range(start, start + k);
        }
    }

    private static void SubProof(Builder b, long m, long start, long end, bool complete)
    {
        if (m == end)
        {
            if (!complete) b.Range(start, end);
            return;
        }
        long k = LargestPowerOfTwoBelow(end - start);
        if (m <= start + k)
        {
            SubProof(b, m, start, start + k, complete);
            b.Range(start + k, end);
        }
        else
        {
            SubProof(b, m, start + k, end, false);
            b.Range(start, start + k);
        }
    }

    private sealed class Builder
    {
        private readonly List<MerkleNodeId> _nodes = new(48);
        private readonly List<int> _counts = new(24);

        // The complete subtrees of [start, end), rightmost (lowest level) first.
        public void Range(long start, long end)
        {
            long len = end - start;
            int count = 0;
            for (int level = 0; level < 63; level++)
            {
                if (((len >> level) & 1) == 0) continue;
                long subStart = start + ((len >> (level + 1)) << (level + 1));
                _nodes.Add(new MerkleNodeId(level, subStart >> level));
                count++;
            }
            _counts.Add(count);
        }

        public ProofPlan Build() => new([.. _nodes], [.. _counts]);
    }
}
