namespace Federation.Governance.Tests;

public sealed class ReputationMathTests
{
    private static readonly ReputationKnobs K = ReputationKnobs.Default;

    [Fact]
    public void An_audit_one_half_life_old_counts_half_its_difficulty()
    {
        var (n, c) = ReputationMath.Evidence([new Audit(70, 0.8, 1)], 100, 30);
        Assert.Equal(0.4, n, 14);
        Assert.Equal(1.0, c, 14);
    }

    [Fact]
    public void Pass_rate_is_weighted_by_difficulty_and_age()
    {
        // Two audits at τ: d 1 passed, d 0.25 failed → C = 1/1.25.
        var (n, c) = ReputationMath.Evidence([new Audit(5, 1, 1), new Audit(5, 0.25, 0)], 5, 10);
        Assert.Equal(1.25, n, 14);
        Assert.Equal(0.8, c, 14);
    }

    [Fact]
    public void Audits_after_tau_are_not_evidence_yet()
    {
        var (n, _) = ReputationMath.Evidence([new Audit(10, 1, 1), new Audit(11, 1, 1)], 10, 30);
        Assert.Equal(1.0, n, 15);
    }

    [Fact]
    public void No_evidence_gives_N_0_C_0_and_C_hat_C0()
    {
        var (n, c) = ReputationMath.Evidence([], 10, 30);
        Assert.Equal(0.0, n);
        Assert.Equal(0.0, c);
        Assert.Equal(0.7, ReputationMath.Shrunk(n, c, 10, 0.7));
        Assert.Equal(0.7, ReputationMath.Shrunk(0, 0, 0, 0.7));
    }

    [Fact]
    public void Shrinkage_moves_from_the_prior_to_the_observed_rate_as_evidence_grows()
    {
        double prev = ReputationMath.Shrunk(0, 1, 10, 0.5);
        Assert.Equal(0.5, prev);
        foreach (var n in new[] { 1.0, 10, 100, 1000, 1e6 })
        {
            var c = ReputationMath.Shrunk(n, 1, 10, 0.5);
            Assert.True(c > prev);
            prev = c;
        }
        Assert.Equal(1.0, prev, 5);
        Assert.Equal(0.75, ReputationMath.Shrunk(10, 1, 10, 0.5), 15);
    }

    [Fact]
    public void Stake_factor_starts_at_1_is_concave_and_capped_at_g_max()
    {
        Assert.Equal(1.0, ReputationMath.StakeFactor(0, 0.5, 1000, 2));
        Assert.Equal(1 + 0.5 * Math.Log(2), ReputationMath.StakeFactor(1000, 0.5, 1000, 2), 15);
        Assert.Equal(2.0, ReputationMath.StakeFactor(1e12, 0.5, 1000, 2));
        double g1 = ReputationMath.StakeFactor(1000, 0.5, 1000, 100), g2 = ReputationMath.StakeFactor(2000, 0.5, 1000, 100), g3 = ReputationMath.StakeFactor(3000, 0.5, 1000, 100);
        Assert.True(g2 - g1 > g3 - g2);
    }

    [Fact]
    public void Raw_reputation_is_the_product_of_the_four_factors()
    {
        Assert.Equal(0.8 * Math.Sqrt(16) * 0.5 * 1.5, ReputationMath.Raw(0.8, 16, 0.5, 0.5, 1.5), 15);
        Assert.Equal(0.0, ReputationMath.Raw(0.8, 0, 0.5, 1, 1));
    }

    [Fact]
    public void Volume_is_sub_linear_doubling_evidence_raises_R_by_at_most_2_to_the_gamma_times_the_C_hat_gain()
    {
        var one = Enumerable.Range(0, 50).Select(i => new Audit(0, 0.9, 1)).ToArray();
        var two = one.Concat(one).ToArray();
        var (n1, c1) = ReputationMath.Evidence(one, 0, 30);
        var (n2, c2) = ReputationMath.Evidence(two, 0, 30);
        double ch1 = ReputationMath.Shrunk(n1, c1, K.Kappa, K.C0), ch2 = ReputationMath.Shrunk(n2, c2, K.Kappa, K.C0);
        double r1 = ReputationMath.Raw(ch1, n1, K.Gamma, 1, 1), r2 = ReputationMath.Raw(ch2, n2, K.Gamma, 1, 1);
        Assert.Equal(Math.Pow(2, K.Gamma) * ch2 / ch1, r2 / r1, 12);
        Assert.True(r2 / r1 < 1.5);
    }

    [Fact]
    public void Shifting_every_time_and_tau_by_the_same_amount_changes_nothing_but_rounding()
    {
        var rng = new Random(7);
        var audits = Enumerable.Range(0, 40).Select(_ => new Audit(-rng.NextDouble() * 200, 0.01 + 0.99 * rng.NextDouble(), rng.NextDouble())).ToArray();
        var (n0, c0) = ReputationMath.Evidence(audits, 0, 25);
        var (n1, c1) = ReputationMath.Evidence(audits.Select(a => a with { Time = a.Time + 10_000 }), 10_000, 25);
        Assert.Equal(n0, n1, 9);
        Assert.Equal(c0, c1, 9);
    }

    [Fact]
    public void Evidence_mass_only_shrinks_as_tau_advances_without_new_audits()
    {
        var audits = new[] { new Audit(0, 1, 1), new Audit(5, 0.5, 0) };
        double prev = double.MaxValue;
        for (double tau = 5; tau < 500; tau += 7)
        {
            var (n, c) = ReputationMath.Evidence(audits, tau, 30);
            Assert.True(n < prev);
            Assert.Equal(1 / 1.5 * 1.5 * (1 / (1 + 0.5 * Math.Pow(2, 5 / 30.0))), c, 12);
            prev = n;
        }
    }

    [Fact]
    public void Out_of_range_knobs_and_records_are_rejected_naming_the_field()
    {
        var node = new NodeEvidence("a", 1, 0, [new Audit(0, 1, 1)]);
        Assert.Equal("gamma", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node], 0, K with { Gamma = 1 })).Field);
        Assert.Equal("half_life", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node], 0, K with { HalfLife = 0 })).Field);
        Assert.Equal("tau", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node], double.NaN, K)).Field);
        Assert.Equal("nodes.a.S", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node with { S = 2 }], 0, K with { WMax = 1 })).Field);
        Assert.Equal("nodes.a.audits[0][1]", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node with { Audits = [new Audit(0, 0, 1)] }], 0, K with { WMax = 1 })).Field);
        Assert.Equal("nodes.a", Assert.Throws<ReputationInputException>(() => ReputationMath.Compute([node, node], 0, K with { WMax = 1 })).Field);
    }

    [Fact]
    public void Too_few_nodes_for_w_max_is_an_error_that_says_how_many_are_needed()
    {
        var nodes = Enumerable.Range(0, 4).Select(i => new NodeEvidence($"n{i}", 1, 0, [new Audit(0, 1, 1)])).ToArray();
        var e = Assert.Throws<ReputationInputException>(() => ReputationMath.Compute(nodes, 0, K with { WMax = 0.2 }));
        Assert.Equal("w_max", e.Field);
        Assert.Contains("at least 5 nodes", e.Message, StringComparison.Ordinal);
        Assert.Contains("0.8", e.Message, StringComparison.Ordinal);
    }
}
