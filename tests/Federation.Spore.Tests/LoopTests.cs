using System.Text;
using Federation.Canaries.Spore;

namespace Federation.Spore.Tests;

public class LoopTests
{
    private static byte[] Variant(string from, string to)
    {
        var s = Encoding.UTF8.GetString(ShippedTasks.RosenbrockArtifact());
        Assert.Contains(from, s, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(s.Replace(from, to, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Runner_parses_the_metric_enforces_the_budget_and_reports_crashes()
    {
        var runner = new TaskRunner();
        var ok = await runner.RunAsync(ShippedTasks.RosenbrockArtifact(), "loss", TimeSpan.FromSeconds(30));
        Assert.NotNull(ok.Metric);
        Assert.InRange(ok.Metric!.Value, 0.01, 1.0);
        var again = await runner.RunAsync(ShippedTasks.RosenbrockArtifact(), "loss", TimeSpan.FromSeconds(30));
        Assert.Equal(ok.Metric, again.Metric); // deterministic: re-execution gives the same bits

        var slow = await runner.RunAsync("import time\ntime.sleep(30)\nprint('loss: 1.0')\n"u8.ToArray(), "loss", TimeSpan.FromSeconds(1));
        Assert.True(slow.TimedOut);
        Assert.True(slow.Crashed);
        Assert.True(slow.Elapsed < TimeSpan.FromSeconds(10));

        var crash = await runner.RunAsync("raise SystemExit(3)\n"u8.ToArray(), "loss", TimeSpan.FromSeconds(10));
        Assert.Equal(3, crash.ExitCode);
        Assert.Equal(RecordStatus.Crash, TaskRunner.Decide(crash, 1.0, "minimize"));
    }

    [Fact]
    public void Median_rule_and_sides_follow_section_8()
    {
        var v = DisputeMath.Resolve(0.0001, 0.0052, [("c", 0.0052)], 0.002);
        Assert.Equal("rejected", v.Outcome);
        Assert.Equal(0.0052, v.GroundTruth);
        Assert.Equal(["c"], v.Winners);
        // Even count: the mean of the two middle values, [1.0, 1.0, 1.0005, 1.5] → 1.00025, within tol of the claim.
        var up = DisputeMath.Resolve(1.0, 1.5, [("x", 1.0005), ("y", 1.0)], 0.002);
        Assert.Equal("upheld", up.Outcome);
        Assert.Equal((1.0 + 1.0005) / 2, up.GroundTruth);
        Assert.Equal(["x", "y"], up.Winners);
        var rej = DisputeMath.Resolve(1.0, 1.5, [("x", 1.0005), ("y", 1.5)], 0.002);
        Assert.Equal("rejected", rej.Outcome); // median 1.25
        Assert.Equal(["y"], rej.Winners);
        Assert.Equal(["x"], rej.Losers);
    }

    [Fact]
    public void Metric_parser_takes_the_last_matching_line_and_refuses_non_finite()
    {
        Assert.Equal(0.5, TaskRunner.ParseMetric("loss: 1.0\nnoise\nloss: 0.5\n", "loss"));
        Assert.Equal(0.9, TaskRunner.ParseMetric("val_bpb: 0.9\n", "loss"));
        Assert.Null(TaskRunner.ParseMetric("loss: nan\n", "loss"));
        Assert.Null(TaskRunner.ParseMetric("loss = 1\n", "loss"));
    }

    [Fact]
    public async Task Propose_run_publish_verify_challenge_and_dispute_across_three_nodes_move_reputation()
    {
        var keyA = TestKeys.Seeded(31);
        var keyB = TestKeys.Seeded(32);
        var keyC = TestKeys.Seeded(33);
        await using var a = new SporeNode(NodeTests.Loopback());
        await a.StartAsync();
        await using var b = new SporeNode(NodeTests.Loopback(NodeTests.Addr(a)));
        await b.StartAsync();
        await using var c = new SporeNode(NodeTests.Loopback(NodeTests.Addr(a)));
        await c.StartAsync();
        var runner = new TaskRunner();
        var wa = new SporeWorker(a, keyA, runner);
        var wb = new SporeWorker(b, keyB, runner);
        var wc = new SporeWorker(c, keyC, runner);

        var task = ShippedTasks.RosenbrockManifest(keyA, 2000);
        Assert.Null(a.Publish(Messages.Task(task)));
        var (root, _) = await wa.ProposeAsync(task, null, ShippedTasks.RosenbrockArtifact(), "baseline", 2001);
        Assert.Equal(RecordStatus.Keep, root.Status);
        await NodeTests.Eventually(() => c.Read(g => g.GetRecord(root.Id)) is not null, "root reaches C");
        // C proposes an honest improvement (more momentum); A publishes a false claim (a change it says is far better).
        var (honest, run) = await wc.ProposeAsync(task, root, Variant("MOMENTUM = 0.5", "MOMENTUM = 0.9"), "more momentum", 2002);
        Assert.Equal(RecordStatus.Keep, honest.Status);
        Assert.True(run.Metric < root.ValBpb);
        var (liar, liarRun) = await wa.ProposeAsync(task, root, Variant("LR = 0.0005", "LR = 0.0008"), "bigger step", 2003, claimOverride: 1e-9);
        Assert.True(liarRun.Metric > 0.002);
        await NodeTests.Eventually(() => b.Read(g => g.GetRecord(honest.Id) is not null && g.GetRecord(liar.Id) is not null), "records gossip to B");

        // B verifies the honest record by re-running it (artifact fetched by code_request) ...
        var ver = await wb.VerifyAsync(b.Read(g => g.GetRecord(honest.Id))!, task, 2010);
        Assert.Equal(ControlTypes.Verification, ver!.Type);
        // ... and challenges the false claim; C is an independent CPU node and answers.
        var challenge = await wb.VerifyAsync(b.Read(g => g.GetRecord(liar.Id))!, task, 2011);
        Assert.Equal(ControlTypes.Challenge, challenge!.Type);
        await NodeTests.Eventually(() => c.Read(g => g.ControlEvents.ContainsKey(challenge.Id)), "challenge reaches C");
        var response = await wc.RespondAsync(challenge, task, 2012);
        Assert.NotNull(response);
        await NodeTests.Eventually(() => b.Read(g => g.ControlEvents.ContainsKey(response!.Id)), "response reaches B");
        var dispute = wb.Resolve(liar, challenge, 2013);
        Assert.Equal("rejected", dispute!.Payload["outcome"].AsString());
        await NodeTests.Eventually(() => a.Read(g => g.ControlEvents.ContainsKey(dispute.Id)), "dispute reaches A");

        // Spore's own reputation, identical on every node.
        foreach (var n in new[] { a, b, c })
        {
            var rep = n.Read(g => g.Reputation.ToDictionary(kv => kv.Key, kv => kv.Value.Score));
            Assert.Equal(-5.0, rep[wa.NodeId]);   // rejected claim
            Assert.Equal(2.5, rep[wc.NodeId]);    // verified frontier keep (+2) and winning verifier (+0.5)
            Assert.Equal(1.0, rep[wb.NodeId]);    // successful challenger
        }

        // The federation mapping: class-A evidence for C in the task's topic, a slashing event for A.
        var (evidence, slashing) = b.Read(g => FederationMapping.Derive(g));
        var ev = Assert.Single(evidence);
        Assert.Equal((wc.NodeId, "spore-rosenbrock-10d", 1, "verification"), (ev.Subject, ev.Topic, ev.Outcome, ev.Source));
        Assert.Equal(1.0 + Math.Log(2.0), ev.Difficulty, 12); // beat the root on the frontier
        var sl = Assert.Single(slashing);
        Assert.Equal((wa.NodeId, liar.Id), (sl.Subject, sl.ExperimentId));
        Assert.Equal(liarRun.Metric!.Value, sl.GroundTruth);
    }
}
