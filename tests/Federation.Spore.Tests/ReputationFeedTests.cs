using System.Text;
using Federation.Canaries.Spore;
using Federation.Governance;
using Federation.Node.Spore;

namespace Federation.Spore.Tests;

/// <summary>The mapping wired into the governance reputation book (node/Spore/SporeReputationFeed.cs).</summary>
public class ReputationFeedTests
{
    private static readonly TopicReputationKnobs Knobs = new(ReputationKnobs.Default, Slashing.DefaultFactor, 120, 0.1, 5, IndependenceKnobs.Default);

    private static byte[] Variant(string from, string to) =>
        Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ShippedTasks.RosenbrockArtifact()).Replace(from, to, StringComparison.Ordinal));

    /// <summary>One graph (one unstarted node, three workers): A's baseline, C's verified keep, A's false claim rejected by B's dispute.</summary>
    private static async Task<(SporeNode Node, SporeWorker A, SporeWorker B, SporeWorker C, ExperimentRecord Honest, ExperimentRecord Liar, ControlEvent Dispute)> Scenario()
    {
        var node = new SporeNode(new SporeNodeOptions { ResyncInterval = Timeout.InfiniteTimeSpan });
        var runner = new TaskRunner();
        var wa = new SporeWorker(node, TestKeys.Seeded(41), runner);
        var wb = new SporeWorker(node, TestKeys.Seeded(42), runner);
        var wc = new SporeWorker(node, TestKeys.Seeded(43), runner);
        var task = ShippedTasks.RosenbrockManifest(TestKeys.Seeded(41), 1_800_000_000);
        Assert.Null(node.Publish(Messages.Task(task)));
        var (root, _) = await wa.ProposeAsync(task, null, ShippedTasks.RosenbrockArtifact(), "baseline", 1_800_000_001);
        var (honest, _) = await wc.ProposeAsync(task, root, Variant("MOMENTUM = 0.5", "MOMENTUM = 0.9"), "more momentum", 1_800_000_002, agentModel: "code-qwen");
        var (liar, _) = await wa.ProposeAsync(task, root, Variant("LR = 0.0005", "LR = 0.0008"), "bigger step", 1_800_000_003, claimOverride: 1e-9);
        Assert.Equal(ControlTypes.Verification, (await wb.VerifyAsync(honest, task, 1_800_000_010))!.Type);
        var challenge = await wb.VerifyAsync(liar, task, 1_800_000_011);
        Assert.Equal(ControlTypes.Challenge, challenge!.Type);
        Assert.NotNull(await wc.RespondAsync(challenge, task, 1_800_000_012));
        var dispute = wb.Resolve(liar, challenge, 1_800_000_013)!;
        Assert.Equal("rejected", dispute.Payload["outcome"].AsString());
        return (node, wa, wb, wc, honest, liar, dispute);
    }

    [Fact]
    public async Task Verified_work_becomes_class_A_audit_evidence_and_a_rejected_claim_a_signed_slash_in_the_book()
    {
        var (node, wa, wb, wc, honest, liar, dispute) = await Scenario();
        await using var disposeNode = node;
        using var key = TestKeys.Seeded(42);
        var envs = node.Read(g => SporeReputationFeed.Envelopes(g, key));
        Assert.Equal([ReputationBook.AuditRecordType, ReputationBook.SlashType], envs.Select(e => e.Type).ToArray());
        Assert.All(envs, e => Assert.True(e.Verify().IsValid));

        var audit = envs[0].Payload.AsObject();
        Assert.Equal("spore-rosenbrock-10d", audit["topic"].AsString());
        Assert.Equal(wc.NodeId, audit["target_node"].AsString());
        Assert.Equal(honest.Id, audit["experiment_id"].AsString());
        var item = audit["items"].AsArray()[0].AsObject();
        Assert.Equal(("A", "scored", "code-qwen", 1.0), (item["class"].AsString(), item["status"].AsString(), item["specialist"].AsString(), item["o"].AsDouble()));
        var d = 1.0 + Math.Log(2.0); // the frontier keep beat one other keep (the root)
        Assert.Equal(d, item["spore_difficulty"].AsDouble(), 12);
        Assert.Equal(d / (1 + d), item["difficulty"].AsDouble(), 12);
        Assert.Equal(1_800_000_010, item["time"].AsInt64());

        var slash = envs[1].Payload.AsObject();
        Assert.Equal((wa.NodeId, "federation", 1_800_000_013L), (slash["node"].AsString(), slash["specialist"].AsString(), slash["time"].AsInt64()));
        Assert.Equal([dispute.Id, liar.Id], slash["evidence"].AsArray().Select(x => x.AsString()).ToArray());

        // The book reads them: C's row has one audit with o = 1; A's row is slashed (S = 0.1 at the dispute).
        var book = new ReputationBook();
        foreach (var e in envs) Assert.True(book.Ingest(e).Added);
        var table = book.Table("spore-rosenbrock-10d", 1_800_000_013 / ReputationBook.SecondsPerDay, Knobs);
        var c = table.Nodes.Single(n => n.Name == ReputationBook.Target(wc.NodeId, "code-qwen"));
        Assert.Equal(1.0, c.C, 12);
        Assert.True(c.R > 0);
        var json = System.Text.Json.JsonDocument.Parse(book.TableJson("spore-rosenbrock-10d", 1_800_000_013 / ReputationBook.SecondsPerDay, Knobs));
        var nodes = json.RootElement.GetProperty("nodes");
        Assert.Equal(0.1, nodes.GetProperty(ReputationBook.Target(wa.NodeId, "federation")).GetProperty("S").GetDouble(), 12);
        Assert.Equal(1.0, nodes.GetProperty(ReputationBook.Target(wc.NodeId, "code-qwen")).GetProperty("S").GetDouble(), 12);
        // Spore's own points stay as Spore computes them (not read by the feed).
        Assert.Equal(-5.0, node.Read(g => g.Reputation[wa.NodeId].Score));
        Assert.NotEqual(wb.NodeId, wa.NodeId);
    }

    [Fact]
    public async Task The_feed_is_deterministic_and_a_replay_adds_nothing()
    {
        var (node, _, _, _, _, _, _) = await Scenario();
        await using var __ = node;
        using var key = TestKeys.Seeded(42);
        var first = node.Read(g => SporeReputationFeed.Envelopes(g, key)).Select(e => Convert.ToHexString(e.ToCanonicalBytes())).ToArray();
        var again = node.Read(g => SporeReputationFeed.Envelopes(g, key)).Select(e => Convert.ToHexString(e.ToCanonicalBytes())).ToArray();
        Assert.Equal(first, again);

        // A second graph built from the first one's items in another order derives the same bytes.
        var copy = new SporeGraph();
        var items = node.Read(g => g.TasksSince(long.MinValue).Select(Messages.Task)
            .Concat(g.RecordsSince(long.MinValue).Select(Messages.Experiment))
            .Concat(g.ControlSince(long.MinValue).Reverse().Select(Messages.Control)).ToList());
        foreach (var m in items)
            _ = m.Type switch
            {
                MessageTypes.Experiment => copy.ReceiveExperiment(m.Payload),
                MessageTypes.Task => copy.ReceiveTask(m.Payload),
                _ => copy.ReceiveControl(m.Type!, m.Payload),
            };
        Assert.Equal(first, SporeReputationFeed.Envelopes(copy, key).Select(e => Convert.ToHexString(e.ToCanonicalBytes())).ToArray());

        var dir = Path.Combine(Path.GetTempPath(), "spore-feed-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var envs = node.Read(g => SporeReputationFeed.Envelopes(g, key));
            var r1 = await SporeReputationFeed.AppendAsync(envs, dir, null);
            Assert.Equal((1, 1, 2), (r1.Evidence, r1.Slashes, r1.Added));
            var r2 = await SporeReputationFeed.AppendAsync(node.Read(g => SporeReputationFeed.Envelopes(g, key)), dir, null);
            Assert.Equal(0, r2.Added);
            Assert.Equal(2, File.ReadAllLines(ReputationBookLog.PathIn(dir)).Length);
            Assert.Equal(2, ReputationBookLog.Load(dir).Records.Count);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
