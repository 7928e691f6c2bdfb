using Federation.Canaries.Checkers;
using Federation.Canaries.Lifecycle;
using Federation.Registry.Crypto;

namespace Federation.Canaries.Tests;

public sealed class LifecycleTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Fact]
    public void A_canary_expires_after_its_lifespan_of_scored_reveals_and_its_weight_drops_to_zero()
    {
        var c = TestCanaries.Exact(d: 0.8, lifespan: 2);
        Assert.Equal(0.8, CanaryLifecycle.Weight(c, new CanaryUsage(0, 0, 0, false)), 12);
        Assert.True(CanaryLifecycle.Weight(c, new CanaryUsage(1, 1, 0, false)) > 0);
        Assert.Equal(0, CanaryLifecycle.Weight(c, new CanaryUsage(2, 2, 0, false)));
        Assert.Equal(0, CanaryLifecycle.Weight(c, new CanaryUsage(0, 0, 0, Retired: true)));
        Assert.False(CanaryLifecycle.IsAuditable(c, new CanaryUsage(2, 2, 0, false)));
    }

    [Fact]
    public void Secret_reserve_is_never_reward_bearing_but_is_auditable()
    {
        var s = TestCanaries.Exact(v: CanaryVisibility.Secret);
        var fresh = new CanaryUsage(0, 0, 0, false);
        Assert.Equal(0, CanaryLifecycle.RewardWeight(s, fresh));
        Assert.True(CanaryLifecycle.IsAuditable(s, fresh));
        Assert.Equal(0.5, CanaryLifecycle.RewardWeight(TestCanaries.Exact(), fresh), 12);
    }

    [Fact]
    public void Difficulty_weight_decays_as_the_pass_rate_rises_and_never_exceeds_the_authored_difficulty()
    {
        var c = TestCanaries.Exact(d: 0.9, lifespan: 1000);
        double W(int n, double passes) => CanaryLifecycle.EffectiveDifficulty(c, new CanaryUsage(0, n, passes, false));
        Assert.Equal(0.9, W(0, 0), 12);
        // p̃ = (8+1)/(10+2) = 0.75 → d·2·0.25 = 0.45
        Assert.Equal(0.45, W(10, 8), 12);
        Assert.True(W(100, 99) < W(10, 8));
        Assert.Equal(0.9, W(10, 0), 12);
        Assert.Equal(0.01, W(100000, 100000), 12);
        double prev = double.MaxValue;
        for (var k = 0; k <= 50; k++)
        {
            var w = W(50, k);
            Assert.InRange(w, 0.01, 0.9);
            Assert.True(w <= prev + 1e-15);
            prev = w;
        }
    }

    [Fact]
    public void Goodhart_detector_flags_a_large_significant_public_secret_gap_only()
    {
        var over = CanaryLifecycle.Goodhart(95, 100, 50, 100);
        Assert.True(over.Overfit, over.Detail);
        Assert.Equal(0.45, over.Gap, 12);
        // z = 0.45 / sqrt(0.725·0.275·0.02) ≈ 7.13
        Assert.Equal(0.45 / Math.Sqrt(0.725 * 0.275 * 0.02), over.Z, 9);
        Assert.False(CanaryLifecycle.Goodhart(80, 100, 75, 100).Overfit);       // gap 0.05 below the threshold
        Assert.False(CanaryLifecycle.Goodhart(9, 10, 6, 10).Overfit);           // gap 0.3 but z ≈ 1.55 < 2.326
        Assert.False(CanaryLifecycle.Goodhart(9, 9, 0, 9).Overfit);             // too few samples
        Assert.Contains("not enough evidence", CanaryLifecycle.Goodhart(9, 9, 0, 9).Detail, StringComparison.Ordinal);
        Assert.False(CanaryLifecycle.Goodhart(40, 100, 90, 100).Overfit);       // better on secret is not overfitting
    }

    [Fact]
    public void Verified_class_a_outcome_becomes_a_secret_candidate_canary_and_unverified_ones_are_refused()
    {
        var checker = TestCanaries.Checker("""{"kind":"numeric","expected":12.5,"abs_tol":0.01}""");
        var c = CanaryLifecycle.FromReality(new RealityCase("finance", "What is 2.5·5?", checker, CheckOutcome.Pass("ok"), "ledger:17", T0));
        Assert.Equal(CanaryVisibility.Secret, c.Visibility);
        Assert.Equal(CanarySource.Reality, c.Source!.Kind);
        Assert.Equal("ledger:17@1800000000", c.Source.Ref);
        Assert.Throws<ArgumentException>(() => CanaryLifecycle.FromReality(new RealityCase("finance", "q", checker, CheckOutcome.Fail("no"), "ledger:18", T0)));
        Assert.Throws<ArgumentException>(() => CanaryLifecycle.FromReality(new RealityCase("finance", "q", TestCanaries.Checker("""{"kind":"panel"}"""), CheckOutcome.Pass("ok"), "ledger:19", T0)));
    }

    [Fact]
    public void Bounty_canary_that_all_incumbents_fail_is_accepted_and_credited_to_the_submitter()
    {
        using var submitter = NodeKey.FromSeed(Enumerable.Repeat((byte)7, 32).ToArray());
        var c = TestCanaries.Exact(topic: "code", expected: "17");
        var fail = new[] { ("s1", CheckOutcome.Fail("x")), ("s2", new CheckOutcome(0.2, "partial")) };
        var ok = CanaryLifecycle.EvaluateBounty(c, submitter.NodeId, CheckOutcome.Pass("ref"), fail, T0);
        Assert.True(ok.Accepted, ok.Reason);
        Assert.Equal(CanarySource.Bounty, ok.Canary!.Source!.Kind);
        Assert.Equal(submitter.NodeId.ToString(), ok.Canary.Source.By);
        Assert.Equal(submitter.NodeId.ToString(), ok.Credit!["submitter"].AsString());
        Assert.Equal(ok.Canary.Cid.ToString(), ok.Credit["canary"].AsString());
        Assert.Equal(1_800_000_000, ok.Credit["time"].AsInt64());

        var onePasses = new[] { ("s1", CheckOutcome.Fail("x")), ("s2", CheckOutcome.Pass("y")) };
        Assert.False(CanaryLifecycle.EvaluateBounty(c, submitter.NodeId, CheckOutcome.Pass("ref"), onePasses, T0).Accepted);
        var unsolvable = CanaryLifecycle.EvaluateBounty(c, submitter.NodeId, CheckOutcome.Fail("ref fails"), fail, T0);
        Assert.False(unsolvable.Accepted);
        Assert.Contains("unsolvable", unsolvable.Reason, StringComparison.Ordinal);
        Assert.False(CanaryLifecycle.EvaluateBounty(c, submitter.NodeId, CheckOutcome.Pass("ref"), [], T0).Accepted);
    }
}
