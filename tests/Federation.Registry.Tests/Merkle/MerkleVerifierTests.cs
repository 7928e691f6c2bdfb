using Federation.Registry.Merkle;

namespace Federation.Registry.Tests.Merkle;

public class MerkleVerifierTests
{
    private static readonly byte[][] Leaves = MerkleReference.Leaves(64);

    private static MerkleTree Build(int n)
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        for (int i = 0; i < n; i++) tree.Append(Leaves[i]);
        return tree;
    }

    private static List<byte[]> Clone(IReadOnlyList<byte[]> p) => [.. p.Select(x => (byte[])x.Clone())];

    [Fact]
    public void Inclusion_proof_with_any_flipped_bit_is_rejected()
    {
        var tree = Build(45);
        foreach (var (i, n) in new[] { (0, 45), (44, 45), (17, 33), (31, 32), (5, 8) })
        {
            var proof = tree.ProveInclusion(i, n);
            var leaf = MerkleReference.Leaf(Leaves[i]);
            var root = tree.Root(n);
            for (int e = 0; e < proof.Path.Count; e++)
                for (int bit = 0; bit < 256; bit += 7)
                {
                    var path = Clone(proof.Path);
                    path[e][bit / 8] ^= (byte)(1 << (bit % 8));
                    var check = MerkleVerifier.VerifyInclusion(i, n, leaf, path, root);
                    Assert.Equal(MerkleFailure.RootMismatch, check.Failure);
                }
        }
    }

    [Fact]
    public void Inclusion_failures_carry_the_reason()
    {
        var tree = Build(20);
        var proof = tree.ProveInclusion(7, 20);
        var leaf = MerkleReference.Leaf(Leaves[7]);
        var root = tree.Root(20);
        Assert.True(MerkleVerifier.VerifyInclusion(leaf, proof, root).IsValid);
        Assert.Equal(MerkleFailure.IndexOutOfRange, MerkleVerifier.VerifyInclusion(20, 20, leaf, proof.Path, root).Failure);
        Assert.Equal(MerkleFailure.IndexOutOfRange, MerkleVerifier.VerifyInclusion(-1, 20, leaf, proof.Path, root).Failure);
        Assert.Equal(MerkleFailure.WrongPathLength, MerkleVerifier.VerifyInclusion(7, 20, leaf, proof.Path.Take(proof.Path.Count - 1).ToList(), root).Failure);
        Assert.Equal(MerkleFailure.WrongPathLength, MerkleVerifier.VerifyInclusion(7, 20, leaf, [.. proof.Path, root], root).Failure);
        Assert.Equal(MerkleFailure.MalformedHash, MerkleVerifier.VerifyInclusion(7, 20, leaf, [.. proof.Path.Take(proof.Path.Count - 1), new byte[31]], root).Failure);
        Assert.Equal(MerkleFailure.RootMismatch, MerkleVerifier.VerifyInclusion(7, 20, MerkleReference.Leaf(Leaves[8]), proof.Path, root).Failure);
        Assert.Equal(MerkleFailure.RootMismatch, MerkleVerifier.VerifyInclusion(6, 20, leaf, proof.Path, root).Failure);
        var check = MerkleVerifier.VerifyInclusion(7, 20, leaf, proof.Path, tree.Root(19));
        Assert.Contains("differs from the expected root", check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Consistency_proof_with_any_flipped_bit_is_rejected()
    {
        var tree = Build(64);
        foreach (var (m, n) in new[] { (3, 7), (4, 8), (1, 64), (33, 64), (63, 64), (13, 29) })
        {
            var proof = tree.ProveConsistency(m, n);
            for (int e = 0; e < proof.Path.Count; e++)
                for (int bit = 0; bit < 256; bit += 11)
                {
                    var path = Clone(proof.Path);
                    path[e][bit / 8] ^= (byte)(1 << (bit % 8));
                    var check = MerkleVerifier.VerifyConsistency(m, n, path, tree.Root(m), tree.Root(n));
                    Assert.False(check.IsValid, $"m={m} n={n} e={e} bit={bit}");
                    Assert.True(check.Failure is MerkleFailure.Root1Mismatch or MerkleFailure.Root2Mismatch, check.ToString());
                }
        }
    }

    [Fact]
    public void Consistency_failures_carry_the_reason()
    {
        var tree = Build(30);
        var p = tree.ProveConsistency(11, 30);
        byte[] r1 = tree.Root(11), r2 = tree.Root(30);
        Assert.True(MerkleVerifier.VerifyConsistency(p, r1, r2).IsValid);
        Assert.Equal(MerkleFailure.Size1GreaterThanSize2, MerkleVerifier.VerifyConsistency(30, 11, p.Path, r2, r1).Failure);
        Assert.Equal(MerkleFailure.WrongPathLength, MerkleVerifier.VerifyConsistency(11, 30, [], r1, r2).Failure);
        Assert.Equal(MerkleFailure.WrongPathLength, MerkleVerifier.VerifyConsistency(11, 11, p.Path, r1, r1).Failure);
        Assert.Equal(MerkleFailure.Root1Mismatch, MerkleVerifier.VerifyConsistency(11, 30, p.Path, tree.Root(12), r2).Failure);
        Assert.Equal(MerkleFailure.Root2Mismatch, MerkleVerifier.VerifyConsistency(11, 30, p.Path, r1, tree.Root(29)).Failure);
        Assert.Equal(MerkleFailure.Root2Mismatch, MerkleVerifier.VerifyConsistency(11, 11, [], r1, r2).Failure);
        Assert.True(MerkleVerifier.VerifyConsistency(0, 30, [], tree.Root(0), r2).IsValid);
        Assert.True(MerkleVerifier.VerifyConsistency(30, 30, [], r2, r2).IsValid);
    }
}
