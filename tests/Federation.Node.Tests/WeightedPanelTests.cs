using Federation.Node.Verification;

namespace Federation.Node.Tests;

/// <summary>The live path's panel math (pure): support, weighted agreement, independence, n_eff, cosine.</summary>
public sealed class WeightedPanelTests
{
    private static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++) m[i, i] = 1;
        return m;
    }

    private static readonly double[,] Sim = { { 1, 0.9, 0.1 }, { 0.9, 1, 0.2 }, { 0.1, 0.2, 1 } };

    [Fact]
    public void Independent_voters_are_combined_by_reputation_weight()
    {
        var r = WeightedPanel.Combine(Sim, [0.6, 0.3, 0.1], Identity(3));
        Assert.Equal([0.6, 0.3, 0.1], r.Consensus.Select(x => Math.Round(x, 12)));
        Assert.Equal(0.88, r.Support[0], 12);
        Assert.Equal(0.86, r.Support[1], 12);
        Assert.Equal(0.22, r.Support[2], 12);
        Assert.Equal(0, r.Chosen);
        Assert.Equal(0.174 / 0.27, r.Agreement, 12);
        Assert.Equal(1 / (0.36 + 0.09 + 0.01), r.EffectiveVoters, 12);
    }

    [Fact]
    public void A_pair_that_always_agrees_counts_as_about_one_voter()
    {
        var rho = Identity(3);
        rho[0, 1] = rho[1, 0] = 1;
        var r = WeightedPanel.Combine(Sim, [0, 0, 0], rho); // no evidence: equal weights
        Assert.Equal([0.25, 0.25, 0.5], r.Consensus.Select(x => Math.Round(x, 12)));
        Assert.Equal([0.5, 0.5, 1.0], r.Independence);
        Assert.Equal(1.8, r.EffectiveVoters, 12);
    }

    [Fact]
    public void One_member_with_all_the_weight_falls_back_to_the_plain_mean()
    {
        var r = WeightedPanel.Combine(Sim, [1, 0, 0], Identity(3));
        Assert.Equal(0, r.Chosen);
        Assert.Equal((0.9 + 0.1 + 0.2) / 3, r.Agreement, 12);
    }

    [Fact]
    public void Cosines_are_clipped_to_zero_and_lexical_similarity_is_jaccard()
    {
        var c = WeightedPanel.Cosines([[1f, 0f], [2f, 0f], [-1f, 0f], [0f, 3f]]);
        Assert.Equal(1, c[0, 1], 6);
        Assert.Equal(0, c[0, 2]);
        Assert.Equal(0, c[0, 3], 6);
        var j = WeightedPanel.Jaccards(["take two tablets", "take two tablets daily", "rest"]);
        Assert.Equal(0.75, j[0, 1], 12);
        Assert.Equal(0, j[0, 2]);
        Assert.Throws<ArgumentException>(() => WeightedPanel.Cosines([[1f], [1f, 2f]]));
    }
}
