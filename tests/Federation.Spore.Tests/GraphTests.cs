using Federation.Canaries.Spore;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class GraphTests
{
    private static readonly NodeKey A = TestKeys.Seeded(1);
    private static readonly NodeKey B = TestKeys.Seeded(2);
    private const string T = "task-1";

    private static ExperimentRecord Rec(NodeKey k, string? parent, double v, string status = "keep", long ts = 100, string task = T, long depth = 0) =>
        ExperimentRecord.Create(new RecordFields { Parent = parent, ValBpb = v, Status = status, Timestamp = ts, TaskId = task, Depth = depth, Description = $"{v}" }, k);

    [Fact]
    public void Second_root_and_cross_task_child_are_refused_but_orphans_are_kept()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0);
        Assert.Null(g.ReceiveExperiment(root.Json).Rejection);
        Assert.Equal(SporeReason.SecondRoot, g.ReceiveExperiment(Rec(B, null, 0.9).Json).Rejection!.Reason);
        Assert.Equal(SporeReason.ParentTaskMismatch, g.ReceiveExperiment(Rec(B, root.Id, 0.9, task: "other").Json).Rejection!.Reason);
        var orphan = Rec(B, new string('0', 64), 0.8, task: "task-2");
        Assert.Null(g.ReceiveExperiment(orphan.Json).Rejection);
        // The root of task-2 now arrives after its child: refused for good (§3.4).
        Assert.Equal(SporeReason.SecondRoot, g.ReceiveExperiment(Rec(A, null, 1.0, task: "task-2").Json).Rejection!.Reason);
        Assert.Equal(2, g.Records.Count);
    }

    [Fact]
    public void Lineage_rejection_is_still_regossiped_and_duplicates_are_silently_ignored()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0);
        g.ReceiveExperiment(root.Json);
        var second = g.ReceiveExperiment(Rec(B, null, 0.9).Json);
        Assert.True(second.Regossip);
        Assert.False(second.Stored);
        var dup = g.ReceiveExperiment(root.Json);
        Assert.Same(ReceiveOutcome.Ignored, dup);
    }

    [Fact]
    public void Forged_record_reusing_a_known_id_is_ignored_before_validation()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0);
        g.ReceiveExperiment(root.Json);
        var forged = TestKeys.Clone(root.Json);
        forged["val_bpb"] = 0.1;
        Assert.Same(ReceiveOutcome.Ignored, g.ReceiveExperiment(forged));
        Assert.Equal(1.0, g.GetRecord(root.Id)!.ValBpb);
    }

    [Fact]
    public void Legacy_v1_root_defines_its_task_and_children_inherit_it()
    {
        var g = new SporeGraph();
        var root = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, Version = 1, Timestamp = 1 }, A);
        Assert.Null(g.ReceiveExperiment(root.Json).Rejection);
        var child = ExperimentRecord.Create(new RecordFields { Parent = root.Id, Depth = 1, ValBpb = 0.9, Version = 1, Timestamp = 2 }, B);
        Assert.Null(g.ReceiveExperiment(child.Json).Rejection);
        Assert.Equal(root.Id, g.GetRecord(child.Id)!.TaskId);
        Assert.Equal($"legacy-{root.Id[..8]}", g.Tasks[root.Id].Name);
        Assert.Null(g.GetRecord(child.Id)!.Verify()); // re-served with task_id filled, still verifies (v1)
        Assert.Empty(g.TasksSince(0)); // legacy rows are never synced
    }

    [Fact]
    public void Frontier_follows_the_reference_rule_and_the_goal_aware_view_flips_for_maximize()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0, ts: 1);
        var better = Rec(B, root.Id, 0.9, ts: 2, depth: 1);
        var worseKeep = Rec(B, root.Id, 1.1, ts: 3, depth: 1);
        var discardLower = Rec(A, better.Id, 0.5, status: "discard", ts: 4, depth: 2);
        foreach (var r in new[] { root, better, worseKeep, discardLower }) Assert.Null(g.ReceiveExperiment(r.Json).Rejection);
        // root is beaten by 'better'; worseKeep stays (a higher keep child does not beat); discard never beats.
        Assert.Equal([better.Id, worseKeep.Id], g.Frontier(T).Select(r => r.Id));

        var key = TestKeys.Seeded(5);
        var task = TaskManifest.Create("m", "", "t", "a", "accuracy", "maximize", "", "", "", 30, 1, key);
        var g2 = new SporeGraph();
        Assert.Null(g2.ReceiveTask(task.Json).Rejection);
        var r0 = Rec(A, null, 0.5, task: task.TaskId, ts: 1);
        var r1 = Rec(B, r0.Id, 0.7, task: task.TaskId, ts: 2, depth: 1);
        g2.ReceiveExperiment(r0.Json);
        g2.ReceiveExperiment(r1.Json);
        Assert.Equal([r0.Id, r1.Id], g2.Frontier(task.TaskId).Select(r => r.Id)); // goal ignored: both stay, ascending
        Assert.Equal([r1.Id], g2.GoalAwareFrontier(task.TaskId).Select(r => r.Id)); // 0.7 beats 0.5 when maximizing
    }

    [Fact]
    public void Sync_selection_is_inclusive_for_records_and_strict_for_events_and_tasks()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0, ts: 100);
        var child = Rec(B, root.Id, 0.9, ts: 50, depth: 1);
        g.ReceiveExperiment(root.Json);
        g.ReceiveExperiment(child.Json);
        Assert.Equal([root.Id, child.Id], g.RecordsSince(0).Select(r => r.Id)); // depth first, then timestamp
        Assert.Equal([root.Id], g.RecordsSince(100).Select(r => r.Id));
        var ev = FrameTests.SampleEvent(ControlTypes.Challenge, A);
        g.ReceiveControl(ControlTypes.Challenge, ev.Json);
        Assert.Single(g.ControlSince(ev.Timestamp - 1));
        Assert.Empty(g.ControlSince(ev.Timestamp));
        var t = TestKeys.ExampleTask();
        g.ReceiveTask(t.Json);
        Assert.Single(g.TasksSince(t.Timestamp - 1));
        Assert.Empty(g.TasksSince(t.Timestamp));
    }

    [Fact]
    public void Reputation_follows_section_9()
    {
        var g = new SporeGraph();
        var root = Rec(A, null, 1.0, ts: 1);
        var child = Rec(A, root.Id, 0.9, ts: 2, depth: 1);
        g.ReceiveExperiment(root.Json);
        g.ReceiveExperiment(child.Json);
        var v = TestKeys.Seeded(11);
        var c = TestKeys.Seeded(12);
        var w = TestKeys.Seeded(13);

        var ver = ControlEvent.Create(ControlTypes.Verification, new JsonObject
        {
            ["experiment_id"] = child.Id, ["task_id"] = T, ["verified_node_id"] = A.NodeId.ToString(), ["verifier_id"] = v.NodeId.ToString(),
            ["verifier_gpu"] = "CPU", ["verifier_bpb"] = 0.9, ["is_frontier"] = true,
        }, 10, v);
        Assert.Null(g.ReceiveControl(ControlTypes.Verification, ver.Json).Rejection);
        Assert.Equal(2.0, g.Reputation[A.NodeId.ToString()].Score);
        Assert.Equal(1, g.Reputation[v.NodeId.ToString()].VerificationsPerformed);
        Assert.Same(ReceiveOutcome.Ignored, g.ReceiveControl(ControlTypes.Verification, ver.Json)); // applied once

        var dispute = ControlEvent.Create(ControlTypes.Dispute, new JsonObject
        {
            ["experiment_id"] = root.Id, ["task_id"] = T, ["original_node_id"] = A.NodeId.ToString(), ["challenger_id"] = c.NodeId.ToString(),
            ["challenger_bpb"] = 1.5, ["outcome"] = "rejected", ["ground_truth_bpb"] = 1.5, ["verifier_count"] = 2,
            ["winner_verifier_ids"] = new JsonArray(w.NodeId.ToString()), ["loser_verifier_ids"] = new JsonArray(v.NodeId.ToString()),
        }, 20, c);
        Assert.Null(g.ReceiveControl(ControlTypes.Dispute, dispute.Json).Rejection);
        Assert.Equal(-3.0, g.Reputation[A.NodeId.ToString()].Score);
        Assert.Equal(1.0, g.Reputation[c.NodeId.ToString()].Score);
        Assert.Equal(0.5, g.Reputation[w.NodeId.ToString()].Score);
        Assert.Equal(-1.0, g.Reputation[v.NodeId.ToString()].Score);
        Assert.Equal(2, g.Reputation[A.NodeId.ToString()].ExperimentsPublished);
    }

    [Fact]
    public void Caps_bound_what_one_publisher_can_store()
    {
        var g = new SporeGraph(new SporeLimits { MaxRecordsPerNode = 2 });
        var root = Rec(A, null, 1.0, ts: 1);
        g.ReceiveExperiment(root.Json);
        g.ReceiveExperiment(Rec(A, root.Id, 0.9, ts: 2, depth: 1).Json);
        Assert.Equal(SporeReason.CapReached, g.ReceiveExperiment(Rec(A, root.Id, 0.8, ts: 3, depth: 1).Json).Rejection!.Reason);
        Assert.Null(g.ReceiveExperiment(Rec(B, root.Id, 0.8, ts: 3, depth: 1).Json).Rejection);
    }

    [Fact]
    public void Store_replays_to_the_same_state_and_skips_a_torn_tail()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spore-store-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new SporeStore(dir);
            var root = Rec(A, null, 1.0, ts: 1);
            store.Append(Messages.Experiment(root));
            store.Append(Messages.Task(TestKeys.ExampleTask()));
            File.AppendAllText(Path.Combine(dir, "log.jsonl"), "{\"type\":\"experiment\",\"payl");
            var g = new SporeGraph();
            Assert.Equal(2, new SporeStore(dir).LoadInto(g));
            Assert.NotNull(g.GetRecord(root.Id));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("NVIDIA GeForce RTX 4090", "RTX_4090")]
    [InlineData("H100-SXM5-80GB", "H100")]
    [InlineData("Apple M2 (MPS)", "APPLE_MPS")]
    [InlineData("", "UNKNOWN")]
    [InlineData(" cpu ", "CPU")]
    public void Gpu_models_normalise_to_their_class(string model, string cls) => Assert.Equal(cls, GpuClass.Normalize(model));
}
