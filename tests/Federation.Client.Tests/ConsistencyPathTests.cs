using Federation.Registry.Merkle;

namespace Federation.Client.Tests;

/// <summary>The consistency proof the client derives from an inclusion proof equals the registry's RFC 9162 proof.</summary>
public sealed class ConsistencyPathTests
{
    [Fact]
    public void Derived_consistency_paths_equal_the_registry_proofs_for_every_size_pair_up_to_40()
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        for (var i = 0; i < 40; i++) tree.Append([(byte)i, (byte)(i * 7)]);
        var failures = new List<string>();
        for (long n2 = 2; n2 <= 40; n2++)
            for (long n1 = 1; n1 < n2; n1++)
            {
                var inclusion = tree.ProveInclusion(n1 - 1, n2);
                var derived = FederationClient.ConsistencyPathFromInclusion(n1, tree.LeafHash(n1 - 1), inclusion.Path)!;
                var expected = tree.ProveConsistency(n1, n2).Path;
                if (derived.Count != expected.Count || !derived.Zip(expected).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
                    failures.Add($"{n1}->{n2}");
                else if (!MerkleVerifier.VerifyConsistency(n1, n2, derived, tree.Root(n1), tree.Root(n2)).IsValid)
                    failures.Add($"{n1}->{n2} does not verify");
            }
        Assert.Empty(failures);
    }

    [Fact]
    public void A_derived_path_with_a_flipped_bit_does_not_verify()
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        for (var i = 0; i < 13; i++) tree.Append([(byte)i]);
        var inclusion = tree.ProveInclusion(5, 13);
        var path = inclusion.Path.Select(p => (byte[])p.Clone()).ToList();
        path[^1][3] ^= 0x10;
        var derived = FederationClient.ConsistencyPathFromInclusion(6, tree.LeafHash(5), path)!;
        Assert.False(MerkleVerifier.VerifyConsistency(6, 13, derived, tree.Root(6), tree.Root(13)).IsValid);
    }
}
