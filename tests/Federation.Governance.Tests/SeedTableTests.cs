namespace Federation.Governance.Tests;

/// <summary>The table of seed §9.9: A (200 hard audits, 96%, recent), B (same, 3 half-lives older), C (1000 trivial, 100%), D (caught colluding).</summary>
public sealed class SeedTableTests
{
    private const double Tau = 400, HalfLife = 30;
    private static readonly ReputationKnobs Knobs = ReputationKnobs.Default with { HalfLife = HalfLife };

    // A: 200 audits d = 0.9 over the last 100 days, every 25th failed (96%).
    private static Audit[] AHistory(double shift = 0) =>
        Enumerable.Range(0, 200).Select(i => new Audit(Tau - 0.5 * i - shift, 0.9, i % 25 == 0 ? 0 : 1)).ToArray();

    private static Audit[] Trivial(int count, double spacing) =>
        Enumerable.Range(0, count).Select(i => new Audit(Tau - spacing * i, 0.05, 1)).ToArray();

    private static Dictionary<string, NodeReputation> Table(params NodeEvidence[] extra)
    {
        var nodes = new List<NodeEvidence>
        {
            new("A", 1, 1000, AHistory()),
            new("B", 1, 1000, AHistory(3 * HalfLife)),
            new("C", 1, 1000, Trivial(1000, 0.1)),
            new("D", Slashing.Factor([Tau], Tau, 120), 0, AHistory()),
        };
        // Six ordinary peers so that w_max 0.15 is satisfiable (w_max·n ≥ 1).
        for (int i = 0; i < 6; i++)
            nodes.Add(new($"peer-{i}", 1, 500 * (i + 1), Enumerable.Range(0, 60).Select(j => new Audit(Tau - 2 * j, 0.7, (j + i) % 5 == 0 ? 0 : 1)).ToArray()));
        nodes.AddRange(extra);
        return ReputationMath.Compute(nodes, Tau, Knobs).Nodes.ToDictionary(n => n.Name);
    }

    [Fact]
    public void B_with_the_same_history_three_half_lives_older_has_one_eighth_of_As_evidence_mass()
    {
        var t = Table();
        Assert.Equal(1.0 / 8, t["B"].N / t["A"].N, 12);
        // Same pass rate, but Ĉ moves toward the prior C₀ and the weight is small.
        Assert.Equal(t["A"].C, t["B"].C, 12);
        Assert.True(Math.Abs(t["B"].CHat - Knobs.C0) < Math.Abs(t["A"].CHat - Knobs.C0));
        Assert.True(t["B"].Weight < t["A"].Weight / 1.5, $"B {t["B"].Weight} vs A {t["A"].Weight}");
    }

    [Fact]
    public void C_with_1000_trivial_audits_cannot_outweigh_A()
    {
        var t = Table();
        Assert.True(t["C"].N < t["A"].N / 2, $"N_C {t["C"].N} vs N_A {t["A"].N}");
        Assert.True(t["C"].R < t["A"].R, $"R_C {t["C"].R} vs R_A {t["A"].R}");
        Assert.True(t["C"].Weight < t["A"].Weight);
    }

    [Fact]
    public void Ten_times_more_trivial_audits_at_the_same_rate_still_cannot_outweigh_A()
    {
        // Decay bounds farmed mass by the geometric series d/(1 − 2^(−spacing/T½)) ≈ 21.7, however long the farming goes on.
        var farmer = new NodeEvidence("farmer", 1, 1000, Trivial(10_000, 0.1));
        var t = Table(farmer);
        Assert.True(t["farmer"].N < 0.05 / (1 - Math.Pow(2, -0.1 / HalfLife)));
        Assert.True(t["farmer"].R < t["A"].R, $"R_farmer {t["farmer"].R} vs R_A {t["A"].R}");
    }

    [Fact]
    public void D_caught_colluding_falls_to_about_zero()
    {
        var t = Table();
        Assert.Equal(0.1, Slashing.Factor([Tau], Tau, 120), 15);
        // Same history as A, but S = 0.1 and stake burned (g = 1 instead of g(1000) ≈ 1.35).
        Assert.True(t["D"].R <= 0.1 * t["A"].R, $"R_D {t["D"].R} vs R_A {t["A"].R}");
        Assert.True(t["D"].Weight < 0.025, $"w_D {t["D"].Weight}");
        Assert.True(t["D"].Weight < t["A"].Weight / 5);
    }

    [Fact]
    public void No_node_of_the_table_is_above_w_max_and_A_is_clipped_to_it()
    {
        var t = Table();
        Assert.All(t.Values, n => Assert.True(n.Weight <= Knobs.WMax + 1e-12, $"{n.Name} {n.Weight}"));
        Assert.Equal(Knobs.WMax, t["A"].Weight, 12);
        Assert.Equal(1.0, t.Values.Sum(n => n.Weight), 12);
    }
}
