using Federation.Specialists.Production.Acceptance;
using Xunit;

namespace Federation.Specialists.Tests;

public sealed class ProductionAcceptanceTests
{
    private static bool[] Results(int n, int right, int offset = 0) => Enumerable.Range(0, n).Select(i => ((i + offset) % n) < right).ToArray();

    [Fact]
    public void Exact_mcnemar_p_value_matches_the_binomial_tail()
    {
        // b = 8, c = 2: P(X >= 8 | Bin(10, 1/2)) = (45 + 10 + 1) / 1024.
        Assert.Equal(56.0 / 1024, AcceptanceGate.McNemarOneSided(8, 2), 12);
        Assert.Equal(1.0, AcceptanceGate.McNemarOneSided(0, 5));
        Assert.Equal(1.0 / 1024, AcceptanceGate.McNemarOneSided(10, 0), 12);
    }

    [Fact]
    public void A_clearly_better_candidate_is_admitted_with_its_numbers()
    {
        var candidate = Results(60, 57);
        var baseline = Results(60, 6);
        var current = Results(60, 30);
        var r = AcceptanceGate.Evaluate(candidate, baseline, current, [true, true, true], [new TopicRegression("elements", 0.9, 0.88)]);
        Assert.True(r.Admitted, string.Join("; ", r.Reasons));
        Assert.Equal(2, r.Comparisons.Count);
        Assert.True(r.Comparisons[0].PValue < 1e-9);
        Assert.Equal(0.95, r.Comparisons[0].CandidateAccuracy, 6);
        Assert.Equal("true", r.ToJson()["admitted"].ToString());
    }

    [Fact]
    public void A_worse_candidate_is_refused_with_the_numbers()
    {
        var candidate = Results(60, 20);
        var current = Results(60, 45);
        var r = AcceptanceGate.Evaluate(candidate, Results(60, 3), current, [true], []);
        Assert.False(r.Admitted);
        Assert.Contains(r.Reasons, x => x.Contains("does not beat the current (75.0%)", StringComparison.Ordinal) && x.Contains("33.3%", StringComparison.Ordinal));
        Assert.Contains(r.Reasons, x => x.Contains("not significant: exact McNemar p = 1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_small_improvement_that_is_not_significant_is_refused()
    {
        // 12/20 vs 10/20 with 2 discordant pairs in the candidate's favour: p = 0.25.
        var candidate = Results(20, 12);
        var current = Results(20, 10);
        var r = AcceptanceGate.Evaluate(candidate, Results(20, 0), current, [], [], new AcceptanceOptions { Margin = 0.05 });
        Assert.False(r.Admitted);
        var reason = Assert.Single(r.Reasons);
        Assert.Contains("p = 0.25", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Failing_bias_probes_or_degrading_another_topic_refuses_a_better_candidate()
    {
        var candidate = Results(60, 57);
        var baseline = Results(60, 6);
        var biased = AcceptanceGate.Evaluate(candidate, baseline, null, [true, false, true], []);
        Assert.False(biased.Admitted);
        Assert.Contains("known-bias probes: 2/3 passed", Assert.Single(biased.Reasons), StringComparison.Ordinal);
        var regress = AcceptanceGate.Evaluate(candidate, baseline, null, [true], [new TopicRegression("elements", 0.92, 0.70)]);
        Assert.False(regress.Admitted);
        Assert.Contains("topic 'elements' of the same base drops from 92.0% to 70.0%", Assert.Single(regress.Reasons), StringComparison.Ordinal);
    }

    [Fact]
    public void Wilson_interval_matches_the_textbook_value()
    {
        var (lo, hi) = QualityStats.Wilson95(95, 100);
        Assert.Equal(0.8882, lo, 3);
        Assert.Equal(0.9785, hi, 3);
        Assert.Equal((0.0, 1.0), QualityStats.Wilson95(0, 0));
        Assert.Equal(0.0, QualityStats.Wilson95(0, 3).Low);
        Assert.Equal(1.0, QualityStats.Wilson95(3, 3).High);
    }
}
