namespace Federation.Governance.Tests;

public sealed class IndependenceTests
{
    private static readonly IndependenceKnobs Knobs = new(0.5, 10);

    /// <summary>Labels for 200 canaries: a cartel answers as one; independent voters err on their own.</summary>
    private static Dictionary<string, string> Voter(int seed, double passRate, bool cartel)
    {
        var rng = new Random(cartel ? 999 : seed);
        var d = new Dictionary<string, string>();
        for (int c = 0; c < 200; c++)
            d[$"c{c}"] = rng.NextDouble() < passRate ? "ok" : (cartel ? $"cartel-{c % 3}" : $"err-{seed}-{c}");
        return d;
    }

    [Fact]
    public void Voters_that_always_agree_are_almost_fully_correlated()
    {
        var rho = Independence.Correlation(Voter(1, 0.5, true), Voter(2, 0.5, true), Knobs);
        Assert.True(rho > 0.97, $"ρ {rho}");
    }

    [Fact]
    public void Voters_that_err_independently_are_nearly_uncorrelated()
    {
        var rho = Independence.Correlation(Voter(1, 0.8, false), Voter(2, 0.8, false), Knobs);
        Assert.True(rho < 0.15, $"ρ {rho}");
    }

    [Fact]
    public void Without_shared_canaries_or_with_constant_labels_the_prior_holds()
    {
        var a = new Dictionary<string, string> { ["x"] = "ok" };
        var b = new Dictionary<string, string> { ["y"] = "ok" };
        Assert.Equal(0.5, Independence.Correlation(a, b, Knobs));
        var all = Enumerable.Range(0, 50).ToDictionary(i => $"c{i}", _ => "ok");
        Assert.Equal(0.5, Independence.Correlation(all, all, Knobs), 15);
    }

    [Fact]
    public void A_group_that_always_agrees_counts_as_about_one_voter()
    {
        var voters = new List<IReadOnlyDictionary<string, string>>
        {
            Voter(1, 0.5, true), Voter(2, 0.5, true), Voter(3, 0.5, true), Voter(4, 0.5, true),
            Voter(10, 0.8, false), Voter(11, 0.8, false),
        };
        var rho = Independence.CorrelationMatrix(voters, Knobs);
        var u = Independence.Factors(rho);
        Assert.InRange(u.Take(4).Sum(), 0.9, 1.2);
        Assert.All(u.Skip(4), x => Assert.InRange(x, 0.6, 1));
        // Equal reputation: the cartel's four votes together weigh about as much as one independent voter.
        var w = Independence.ConsensusWeights([1, 1, 1, 1, 1, 1], rho);
        Assert.Equal(1.0, w.Sum(), 12);
        Assert.True(w.Take(4).Sum() < 1.6 * w[4], $"cartel {w.Take(4).Sum()} vs independent {w[4]}");
    }

    [Fact]
    public void Effective_number_of_voters_is_k_for_independent_and_1_for_identical()
    {
        int k = 5;
        var identity = new double[k, k];
        var ones = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) { identity[i, j] = i == j ? 1 : 0; ones[i, j] = 1; }
        var w = Enumerable.Repeat(0.2, k).ToArray();
        Assert.Equal(5.0, Independence.EffectiveVoters(w, identity), 12);
        Assert.Equal(1.0, Independence.EffectiveVoters(w, ones), 12);
        Assert.Equal(0.0, Independence.EffectiveVoters(new double[k], identity));
    }

    [Fact]
    public void Measured_cartel_of_four_plus_two_independents_gives_about_three_effective_voters()
    {
        var voters = new List<IReadOnlyDictionary<string, string>>
        {
            Voter(1, 0.5, true), Voter(2, 0.5, true), Voter(3, 0.5, true), Voter(4, 0.5, true),
            Voter(10, 0.8, false), Voter(11, 0.8, false),
        };
        var rho = Independence.CorrelationMatrix(voters, Knobs);
        var neff = Independence.EffectiveVoters([1, 1, 1, 1, 1, 1], rho);
        Assert.InRange(neff, 1.8, 3.2);
    }
}
