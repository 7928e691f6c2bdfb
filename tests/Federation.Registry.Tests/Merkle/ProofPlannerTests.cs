using Federation.Registry.Merkle;

namespace Federation.Registry.Tests.Merkle;

public class ProofPlannerTests
{
    private static MerkleNodeId N(int level, long index) => new(level, index);

    // The 7-leaf tree of RFC 6962 §2.1.3: leaves a..f = d0..d5, j = d6; g = (1,0), h = (1,1), i = (1,2), k = (2,0),
    // l = MTH(d4..d6) = H(i, j). An output hash lists its stored nodes from the rightmost one, so l is [(0,6), (1,2)].
    public static TheoryData<long, MerkleNodeId[][]> Rfc6962InclusionPaths => new()
    {
        { 0, [[N(0, 1)], [N(1, 1)], [N(0, 6), N(1, 2)]] }, // d0: [b, h, l]
        { 3, [[N(0, 2)], [N(1, 0)], [N(0, 6), N(1, 2)]] }, // d3: [c, g, l]
        { 4, [[N(0, 5)], [N(0, 6)], [N(2, 0)]] },          // d4: [f, j, k]
        { 6, [[N(1, 2)], [N(2, 0)]] },                     // d6: [i, k]
    };

    [Theory]
    [MemberData(nameof(Rfc6962InclusionPaths))]
    public void Inclusion_plan_names_the_nodes_of_the_rfc6962_audit_paths(long leaf, MerkleNodeId[][] want) =>
        AssertPlan(want, ProofPlanner.Inclusion(leaf, 7));

    // RFC 6962 §2.1.3 consistency examples in the same tree: 3 -> 7 is [c, d, g, l], 4 -> 7 is [l], 6 -> 7 is [i, j, k].
    public static TheoryData<long, MerkleNodeId[][]> Rfc6962ConsistencyProofs => new()
    {
        { 3, [[N(0, 2)], [N(0, 3)], [N(1, 0)], [N(0, 6), N(1, 2)]] },
        { 4, [[N(0, 6), N(1, 2)]] },
        { 6, [[N(1, 2)], [N(0, 6)], [N(2, 0)]] },
    };

    [Theory]
    [MemberData(nameof(Rfc6962ConsistencyProofs))]
    public void Consistency_plan_names_the_nodes_of_the_rfc6962_examples(long size1, MerkleNodeId[][] want) =>
        AssertPlan(want, ProofPlanner.Consistency(size1, 7));

    [Fact]
    public void Every_planned_node_is_a_distinct_complete_subtree_and_plans_fold_to_the_reference_proofs()
    {
        var leaves = MerkleReference.Leaves(64);
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        foreach (var l in leaves) tree.Append(l);
        for (int n = 1; n <= 64; n++)
        {
            var root = ProofPlanner.Root(n);
            AssertWellFormed(root, n);
            Assert.Equal(MerkleReference.Mth(leaves[..n]), root.Execute(tree.Store)[0]);
            for (int i = 0; i < n; i++)
            {
                var plan = ProofPlanner.Inclusion(i, n);
                AssertWellFormed(plan, n);
                Assert.Equal(MerkleVerifier.InclusionPathLength(i, n), plan.HashCount);
                Assert.Equal(MerkleReference.Path(i, leaves[..n]), plan.Execute(tree.Store));
            }
            for (int m = 0; m <= n; m++)
            {
                var plan = ProofPlanner.Consistency(m, n);
                AssertWellFormed(plan, n);
                Assert.Equal(MerkleVerifier.ConsistencyPathLength(m, n), plan.HashCount);
                Assert.Equal(MerkleReference.Proof(m, leaves[..n]), plan.Execute(tree.Store));
            }
        }
    }

    [Fact]
    public void Plans_stay_logarithmic_at_a_million_leaves()
    {
        foreach (var (i, n) in new[] { (0L, 1_000_000L), (999_999L, 1_000_000L), (54_321L, 777_777L), (524_287L, 524_289L) })
        {
            Assert.InRange(ProofPlanner.Inclusion(i, n).Nodes.Count, 1, 2 * 20);
            Assert.InRange(ProofPlanner.Consistency(i + 1, n).Nodes.Count, 0, 2 * 20 + 1);
            Assert.InRange(ProofPlanner.Root(n).Nodes.Count, 1, 20);
        }
    }

    [Fact]
    public void Out_of_range_requests_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ProofPlanner.Inclusion(7, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProofPlanner.Inclusion(-1, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProofPlanner.Consistency(8, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProofPlanner.Root(0));
    }

    private static void AssertPlan(MerkleNodeId[][] want, ProofPlan plan)
    {
        Assert.Equal(want.Length, plan.HashCount);
        Assert.Equal(want.SelectMany(x => x), plan.Nodes);
        for (int j = 0; j < want.Length; j++) Assert.Equal(want[j].Length, plan.CountOf(j));
    }

    private static void AssertWellFormed(ProofPlan plan, long size)
    {
        Assert.Equal(plan.Nodes.Count, plan.Nodes.Distinct().Count());
        foreach (var node in plan.Nodes) Assert.True((node.Index + 1) << node.Level <= size, $"{node} is not a complete subtree of {size} leaves");
        Assert.Equal(plan.Nodes.Count, Enumerable.Range(0, plan.HashCount).Sum(plan.CountOf));
    }
}
