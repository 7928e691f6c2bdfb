using System.Text;
using Federation.Canaries.Spore;

namespace Federation.Spore.Tests;

/// <summary>Spot-checks and the challenger's polling loop (notes §8; difference 10 in docs/spore.md).</summary>
public class AutoVerifierTests
{
    private sealed class Clock(long unix) : TimeProvider
    {
        public long Now { get; set; } = unix;
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(Now);
    }

    private static byte[] Variant(string from, string to) =>
        Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ShippedTasks.RosenbrockArtifact()).Replace(from, to, StringComparison.Ordinal));

    [Fact]
    public void The_draw_is_keyed_deterministic_and_hits_about_p()
    {
        var key = Encoding.UTF8.GetBytes("node secret");
        var ids = Enumerable.Range(0, 20000).Select(i => SporeJson.Sha256Hex(BitConverter.GetBytes(i))).ToArray();
        var hits = ids.Count(id => SporeAutoVerifier.Draw(key, id, 0.05));
        Assert.InRange(hits, 850, 1150); // 5 % of 20 000 = 1 000, ± ~5σ
        Assert.Equal(hits, ids.Count(id => SporeAutoVerifier.Draw(key, id, 0.05)));
        Assert.NotEqual(ids.Select(id => SporeAutoVerifier.Draw(key, id, 0.05)), ids.Select(id => SporeAutoVerifier.Draw("other"u8.ToArray(), id, 0.05)));
        Assert.All(ids.Take(100), id => Assert.True(SporeAutoVerifier.Draw(key, id, 1.0)));
        Assert.All(ids.Take(100), id => Assert.False(SporeAutoVerifier.Draw(key, id, 0.0)));
    }

    [Fact]
    public async Task Probability_follows_section_8_multipliers()
    {
        await using var node = new SporeNode(new SporeNodeOptions { ResyncInterval = Timeout.InfiniteTimeSpan });
        var wa = new SporeWorker(node, TestKeys.Seeded(51), new TaskRunner());
        var task = ShippedTasks.RosenbrockManifest(TestKeys.Seeded(51), 1_800_000_000);
        Assert.Null(node.Publish(Messages.Task(task)));
        var (root, _) = await wa.ProposeAsync(task, null, ShippedTasks.RosenbrockArtifact(), "baseline", 1_800_000_001);
        // score 0 (< 5) → ×2; loss 0.065 < 0.9 → ×2: 0.05 → 0.2; capped at 1.
        Assert.Equal(0.2, node.Read(g => SporeAutoVerifier.Probability(g, root, 0.05)), 12);
        Assert.Equal(1.0, node.Read(g => SporeAutoVerifier.Probability(g, root, 0.5)), 12);
    }

    [Fact]
    public async Task The_loop_spot_checks_answers_challenges_and_settles_a_dispute_once()
    {
        await using var node = new SporeNode(new SporeNodeOptions { ResyncInterval = Timeout.InfiniteTimeSpan });
        var runner = new TaskRunner();
        var wa = new SporeWorker(node, TestKeys.Seeded(61), runner);
        var wb = new SporeWorker(node, TestKeys.Seeded(62), runner);
        var wc = new SporeWorker(node, TestKeys.Seeded(63), runner);
        var task = ShippedTasks.RosenbrockManifest(TestKeys.Seeded(61), 1_800_000_000);
        Assert.Null(node.Publish(Messages.Task(task)));
        var (root, _) = await wa.ProposeAsync(task, null, ShippedTasks.RosenbrockArtifact(), "baseline", 1_800_000_001);
        var (honest, _) = await wc.ProposeAsync(task, root, Variant("MOMENTUM = 0.5", "MOMENTUM = 0.9"), "more momentum", 1_800_000_002);
        var (liar, liarRun) = await wa.ProposeAsync(task, root, Variant("LR = 0.0005", "LR = 0.0008"), "bigger step", 1_800_000_003, claimOverride: 1e-9);

        var clock = new Clock(1_800_000_100);
        var always = new AutoVerifyOptions { SpotCheckProbability = 1.0 };
        var never = new AutoVerifyOptions { SpotCheckProbability = 0.0 };
        var b = new SporeAutoVerifier(node, wb, "b"u8.ToArray(), always, clock);
        var c = new SporeAutoVerifier(node, wc, "c"u8.ToArray(), never, clock);

        // B checks every record of others: root and C's record verify; the false claim is challenged (C is independent).
        var first = await b.StepAsync();
        Assert.Equal([ControlTypes.Verification, ControlTypes.Verification, ControlTypes.Challenge], first.Select(e => e.Type).ToArray());
        Assert.Equal([root.Id, honest.Id, liar.Id], first.Select(e => e.ExperimentId).ToArray());
        // No response yet: B waits (no dispute), and re-checks nothing.
        Assert.Empty(await b.StepAsync());
        // C answers the challenge (and spot-checks nothing: p = 0).
        var answer = Assert.Single(await c.StepAsync());
        Assert.Equal(ControlTypes.ChallengeResponse, answer.Type);
        Assert.Empty(await c.StepAsync());
        // B has min(3, 1) = 1 response: it settles with the median rule, once.
        var dispute = Assert.Single(await b.StepAsync());
        Assert.Equal((ControlTypes.Dispute, "rejected"), (dispute.Type, dispute.Payload["outcome"].AsString()));
        Assert.Equal(liarRun.Metric!.Value, dispute.Payload["ground_truth_bpb"].AsDouble());
        Assert.Empty(await b.StepAsync());
        Assert.Equal(1, node.Read(g => g.ControlEvents.Values.Count(e => e.Type == ControlTypes.Dispute)));
        Assert.Equal(1.0 - 5.0, node.Read(g => g.Reputation[wa.NodeId].Score)); // +1 verified root (off the frontier), −5 rejected claim

        // The explicit calls are idempotent with the loop: no second verification, response or dispute.
        Assert.Equal(first[1].Id, (await wb.VerifyAsync(honest, task, 1_800_000_200))!.Id);
        Assert.Equal(answer.Id, (await wc.RespondAsync(first[2], task, 1_800_000_200))!.Id);
        Assert.Equal(dispute.Id, wb.Resolve(liar, first[2], 1_800_000_200)!.Id);
    }

    [Fact]
    public async Task A_challenge_nobody_answers_is_given_up_at_the_timeout_without_a_dispute()
    {
        await using var node = new SporeNode(new SporeNodeOptions { ResyncInterval = Timeout.InfiniteTimeSpan });
        var runner = new TaskRunner();
        var wa = new SporeWorker(node, TestKeys.Seeded(71), runner);
        var wb = new SporeWorker(node, TestKeys.Seeded(72), runner);
        var wc = new SporeWorker(node, TestKeys.Seeded(73), runner);
        var task = ShippedTasks.RosenbrockManifest(TestKeys.Seeded(71), 1_800_000_000);
        Assert.Null(node.Publish(Messages.Task(task)));
        var (root, _) = await wc.ProposeAsync(task, null, ShippedTasks.RosenbrockArtifact(), "baseline by C", 1_800_000_001);
        var (liar, _) = await wa.ProposeAsync(task, root, Variant("LR = 0.0005", "LR = 0.0008"), "bigger step", 1_800_000_003, claimOverride: 1e-9);
        var clock = new Clock(1_800_000_100);
        var b = new SporeAutoVerifier(node, wb, "b"u8.ToArray(), new AutoVerifyOptions { SpotCheckProbability = 1.0, ChallengeTimeout = TimeSpan.FromSeconds(60) }, clock);
        var first = await b.StepAsync();
        Assert.Contains(first, e => e.Type == ControlTypes.Challenge && e.ExperimentId == liar.Id);
        clock.Now += 61;
        Assert.Empty(await b.StepAsync()); // C never answered: no dispute
        Assert.Empty(await b.StepAsync());
        Assert.DoesNotContain(node.Read(g => g.ControlEvents.Values.ToList()), e => e.Type == ControlTypes.Dispute);
    }
}
