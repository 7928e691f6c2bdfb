namespace Federation.Governance.Tests;

public sealed class VoteWeightsTests
{
    [Fact]
    public void Nothing_is_clipped_when_every_share_is_already_within_w_max()
    {
        var c = VoteWeights.Clip([1, 2, 3, 4], 0.5);
        Assert.Null(c.Theta);
        Assert.Equal([0.1, 0.2, 0.3, 0.4], c.Weights.Select(w => Math.Round(w, 15)));
    }

    [Fact]
    public void One_dominant_node_is_clipped_to_exactly_w_max()
    {
        var c = VoteWeights.Clip([1, 1, 1, 1, 10], 0.25);
        // θ = w·S₁/(1 − w) = 0.25·4/0.75 = 4/3.
        Assert.Equal(4.0 / 3, c.Theta!.Value, 14);
        Assert.Equal(0.25, c.Weights[4], 14);
        Assert.Equal(0.1875, c.Weights[0], 14);
    }

    [Fact]
    public void Clipping_cascades_to_the_second_node_when_the_first_clip_is_not_enough()
    {
        var c = VoteWeights.Clip([100, 90, 1, 1, 1, 1, 1, 1], 0.2);
        // k = 1 gives θ = 0.2·96/0.8 = 24 < 90, so k = 2: θ = 0.2·6/0.6 = 2.
        Assert.Equal(2.0, c.Theta!.Value, 14);
        Assert.Equal(0.2, c.Weights[0], 14);
        Assert.Equal(0.2, c.Weights[1], 14);
        Assert.Equal(0.1, c.Weights[2], 14);
    }

    [Fact]
    public void When_w_max_times_n_is_exactly_1_everyone_is_clipped_to_the_smallest_R()
    {
        var c = VoteWeights.Clip([5, 1, 3, 2], 0.25);
        Assert.Equal(1.0, c.Theta!.Value);
        Assert.All(c.Weights, w => Assert.Equal(0.25, w, 15));
    }

    [Fact]
    public void Zero_reputation_gets_zero_weight_and_does_not_count_toward_n()
    {
        var c = VoteWeights.Clip([0, 3, 0, 1], 0.75);
        Assert.Equal(0.0, c.Weights[0]);
        Assert.Equal(0.0, c.Weights[2]);
        Assert.Equal(0.75, c.Weights[1], 14);
        Assert.Equal("w_max", Assert.Throws<ReputationInputException>(() => VoteWeights.Clip([0, 3, 0, 1], 0.4)).Field);
        Assert.Equal("w_max", Assert.Throws<ReputationInputException>(() => VoteWeights.Clip([], 1)).Field);
    }

    [Fact]
    public void Random_tables_never_exceed_w_max_sum_to_1_and_theta_is_the_largest_clip_that_works()
    {
        var rng = new Random(1202);
        for (int trial = 0; trial < 2000; trial++)
        {
            int n = rng.Next(1, 40);
            var r = Enumerable.Range(0, n).Select(_ => rng.Next(6) == 0 ? 0 : Math.Pow(10, rng.NextDouble() * 6 - 3)).ToArray();
            int pos = r.Count(x => x > 0);
            if (pos == 0) continue;
            double wMax = Math.Min(1, 1.0 / pos + rng.NextDouble() * 0.5 * (rng.Next(3) == 0 ? 0 : 1));
            if (wMax * pos < 1) continue;
            var c = VoteWeights.Clip(r, wMax);
            Assert.Equal(1.0, c.Weights.Sum(), 12);
            Assert.All(c.Weights, w => Assert.True(w <= wMax + 1e-12, $"trial {trial}: {w} > {wMax}"));
            if (c.Theta is not { } theta)
            {
                Assert.True(r.Max() / r.Sum() <= wMax);
                continue;
            }
            // θ works with equality for the clipped nodes, and any larger θ breaks the cap (or changes nothing when all are clipped).
            Assert.Equal(wMax, MaxShare(r, theta), 9);
            if (theta < r.Where(x => x > 0).Min() * (1 - 1e-12)) Assert.Fail($"trial {trial}: θ {theta} clips below the smallest R");
            if (theta < r.Max() && !(wMax * pos == 1 && theta == r.Where(x => x > 0).Min()))
                Assert.True(MaxShare(r, theta * (1 + 1e-6)) > wMax, $"trial {trial}: θ is not the largest clip");
        }
    }

    private static double MaxShare(double[] r, double theta)
    {
        var clipped = r.Select(x => Math.Min(x, theta)).ToArray();
        return clipped.Max() / clipped.Sum();
    }

    [Fact]
    public void The_table_is_the_same_bit_for_bit_whatever_order_nodes_and_audits_arrive_in()
    {
        var rng = new Random(3);
        var nodes = Enumerable.Range(0, 12).Select(i => new NodeEvidence($"node-{i:00}", rng.NextDouble(), rng.NextDouble() * 5000,
            Enumerable.Range(0, 30).Select(_ => new Audit(-rng.NextDouble() * 100, 0.05 + 0.95 * rng.NextDouble(), rng.NextDouble())).ToArray())).ToArray();
        var k = ReputationKnobs.Default;
        var first = ReputationScenario.ToJson(ReputationMath.Compute(nodes, 0, k));
        for (int shuffle = 0; shuffle < 5; shuffle++)
        {
            var shuffled = nodes.OrderBy(_ => rng.Next()).Select(n => n with { Audits = n.Audits.OrderBy(_ => rng.Next()).ToArray() }).ToArray();
            Assert.Equal(first, ReputationScenario.ToJson(ReputationMath.Compute(shuffled, 0, k)));
        }
        Assert.Equal(first, ReputationScenario.ToJson(ReputationMath.Compute(nodes, 0, k)));
    }
}
