using Federation.Registry.Merkle;

namespace Federation.Registry.Tests.Merkle;

public class MerkleTreeTests
{
    private static readonly byte[][] Leaves = MerkleReference.Leaves(64);

    private static MerkleTree Build(int n)
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        for (int i = 0; i < n; i++) tree.Append(Leaves[i]);
        return tree;
    }

    [Fact]
    public void Empty_tree_root_is_sha256_of_the_empty_string()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(Build(0).Root()));
    }

    [Fact]
    public void Root_of_every_size_1_to_64_matches_the_recursive_reference()
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        for (int n = 1; n <= 64; n++)
        {
            tree.Append(Leaves[n - 1]);
            var want = MerkleReference.Mth(Leaves[..n]);
            Assert.Equal(want, tree.Root());
            // Historic roots are recomputed from stored nodes, for every earlier size.
            for (int m = 0; m <= n; m++)
                Assert.Equal(MerkleReference.Mth(Leaves[..m]), tree.Root(m));
        }
    }

    [Fact]
    public void Inclusion_proofs_for_every_index_and_size_up_to_64_match_the_reference_and_verify()
    {
        var tree = Build(64);
        for (int n = 1; n <= 64; n++)
        {
            var root = MerkleReference.Mth(Leaves[..n]);
            for (int i = 0; i < n; i++)
            {
                var proof = tree.ProveInclusion(i, n);
                var want = MerkleReference.Path(i, Leaves[..n]);
                Assert.Equal(want.Count, proof.Path.Count);
                Assert.Equal(want.Count, MerkleVerifier.InclusionPathLength(i, n));
                for (int j = 0; j < want.Count; j++) Assert.Equal(want[j], proof.Path[j]);
                var check = MerkleVerifier.VerifyInclusion(MerkleReference.Leaf(Leaves[i]), proof, root);
                Assert.True(check.IsValid, $"i={i} n={n}: {check}");
            }
        }
    }

    [Fact]
    public void Consistency_proofs_for_every_pair_of_sizes_up_to_64_match_the_reference_and_verify()
    {
        var tree = Build(64);
        for (int n = 0; n <= 64; n++)
        {
            var root2 = MerkleReference.Mth(Leaves[..n]);
            for (int m = 0; m <= n; m++)
            {
                var proof = tree.ProveConsistency(m, n);
                var want = MerkleReference.Proof(m, Leaves[..n]);
                Assert.Equal(want.Count, proof.Path.Count);
                Assert.Equal(want.Count, MerkleVerifier.ConsistencyPathLength(m, n));
                for (int j = 0; j < want.Count; j++) Assert.Equal(want[j], proof.Path[j]);
                var check = MerkleVerifier.VerifyConsistency(proof, MerkleReference.Mth(Leaves[..m]), root2);
                Assert.True(check.IsValid, $"m={m} n={n}: {check}");
            }
        }
    }

    [Fact]
    public void Reopening_a_tree_from_its_store_restores_root_and_appends()
    {
        var store = new InMemoryMerkleNodeStore();
        var tree = new MerkleTree(store);
        for (int i = 0; i < 37; i++) tree.Append(Leaves[i]);
        var reopened = new MerkleTree(store, 37);
        Assert.Equal(tree.Root(), reopened.Root());
        for (int i = 37; i < 64; i++) reopened.Append(Leaves[i]);
        Assert.Equal(MerkleReference.Mth(Leaves), reopened.Root());
    }

    [Fact]
    public void Proof_for_a_size_beyond_the_tree_is_refused()
    {
        var tree = Build(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.ProveInclusion(3, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.ProveInclusion(10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.ProveConsistency(6, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Root(11));
    }

    [Fact]
    public void Proofs_read_only_logarithmically_many_nodes()
    {
        var store = new CountingStore();
        var tree = new MerkleTree(store);
        for (int i = 0; i < 100_000; i++) tree.AppendLeafHash(MerkleReference.Leaf(BitConverter.GetBytes(i)));
        Assert.Equal(0, store.Reads); // appends never read
        foreach (var (i, n) in new[] { (0L, 100_000L), (99_999L, 100_000L), (54_321L, 77_777L), (65_535L, 65_537L) })
        {
            store.Reads = 0;
            tree.ProveInclusion(i, n);
            Assert.InRange(store.Reads, 1, 2 * 17 + 2);
            store.Reads = 0;
            tree.ProveConsistency(i + 1, n);
            Assert.InRange(store.Reads, 0, 2 * 17 + 2);
            store.Reads = 0;
            tree.Root(n - 1);
            Assert.InRange(store.Reads, 1, 17);
        }
    }

    private sealed class CountingStore : IMerkleNodeStore
    {
        private readonly InMemoryMerkleNodeStore _inner = new();
        public int Reads;
        public void ReadNode(int level, long index, Span<byte> destination) { Reads++; _inner.ReadNode(level, index, destination); }
        public void WriteNode(int level, long index, ReadOnlySpan<byte> hash) => _inner.WriteNode(level, index, hash);
    }
}
