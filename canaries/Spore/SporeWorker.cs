using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>
/// The experiment loop of one node (notes §8): propose a change and run it, keep or discard against the parent, sign
/// and publish; verify others by re-running within the GPU-class tolerance; challenge, respond, and settle a dispute
/// with the median rule. Time is passed in (unix seconds) so runs are reproducible.
/// </summary>
public sealed class SporeWorker(SporeNode node, NodeKey key, TaskRunner runner, string gpuModel = "CPU")
{
    /// <summary>This worker's node id.</summary>
    public string NodeId => key.NodeId.ToString();

    /// <summary>
    /// Runs <paramref name="childCode"/>, decides keep/discard against <paramref name="parent"/>, stores the artifact and
    /// publishes the signed record. <paramref name="claimOverride"/> publishes a different metric than measured (a
    /// deliberately false claim, for tests of the dispute path only).
    /// </summary>
    public async Task<(ExperimentRecord Record, RunResult Run)> ProposeAsync(TaskManifest task, ExperimentRecord? parent, byte[] childCode,
        string description, long timestamp, double? claimOverride = null, string agentModel = "federation", CancellationToken ct = default)
    {
        var run = await runner.RunAsync(childCode, task.Metric, TimeSpan.FromSeconds(task.TimeBudget), ct);
        var status = TaskRunner.Decide(run, parent?.ValBpb, task.Goal);
        var cid = node.AddArtifact(childCode);
        var parentCode = parent is null ? null : node.Read(g => g.GetArtifact(parent.CodeCid));
        var record = ExperimentRecord.Create(new RecordFields
        {
            Parent = parent?.Id,
            Depth = parent is null ? 0 : parent.Depth + 1,
            CodeCid = cid,
            Diff = parentCode is null ? "" : TaskRunner.WholeFileDiff(System.Text.Encoding.UTF8.GetString(parentCode), System.Text.Encoding.UTF8.GetString(childCode)),
            TimeBudget = task.TimeBudget,
            ValBpb = claimOverride ?? run.Metric ?? 0.0,
            Status = claimOverride is null ? status : RecordStatus.Keep,
            Description = description,
            AgentModel = agentModel,
            GpuModel = gpuModel,
            TaskId = task.TaskId,
            Timestamp = timestamp,
            NumSteps = 1,
        }, key);
        var bad = node.Publish(Messages.Experiment(record));
        if (bad is not null) throw new InvalidOperationException($"own record refused: {bad}");
        return (record, run);
    }

    /// <summary>
    /// Publishes an honest negative result without running anything: a <c>crash</c> record (metric 0.0) on the parent's
    /// artifact (empty diff) whose description says why no change could be run, e.g. an unparseable proposal.
    /// </summary>
    public ExperimentRecord PublishCrash(TaskManifest task, ExperimentRecord parent, string description, string agentModel, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(parent);
        var record = ExperimentRecord.Create(new RecordFields
        {
            Parent = parent.Id,
            Depth = parent.Depth + 1,
            CodeCid = parent.CodeCid,
            Diff = "",
            TimeBudget = task.TimeBudget,
            ValBpb = 0.0,
            Status = RecordStatus.Crash,
            Description = description,
            AgentModel = agentModel,
            GpuModel = gpuModel,
            TaskId = task.TaskId,
            Timestamp = timestamp,
            NumSteps = 0,
        }, key);
        var bad = node.Publish(Messages.Experiment(record));
        return bad is null ? record : throw new InvalidOperationException($"own record refused: {bad}");
    }

    /// <summary>
    /// Re-runs <paramref name="record"/>: within tolerance publishes a <c>verification</c>; outside, a <c>challenge</c>
    /// when an independent node of the same GPU class exists (else nothing). Returns the published event, if any.
    /// </summary>
    public async Task<ControlEvent?> VerifyAsync(ExperimentRecord record, TaskManifest task, long timestamp, CancellationToken ct = default)
    {
        if (record.Status == RecordStatus.Crash) return null; // crash records are never checked (§8)
        // Idempotent: a record this node already verified or challenged is not re-run (a second event would count twice).
        if (Own(record.Id, ControlTypes.Verification, ControlTypes.Challenge) is { } done) return done;
        var code = await node.FetchArtifactAsync(record.CodeCid) ?? throw new InvalidOperationException($"artifact {record.CodeCid} of {record.Id} could not be fetched from any peer");
        var run = await runner.RunAsync(code, task.Metric, TimeSpan.FromSeconds(task.TimeBudget), ct);
        var cls = GpuClass.Normalize(gpuModel);
        var measured = run.Metric ?? double.NaN;
        ControlEvent e;
        if (run.Metric is not null && GpuClass.WithinTolerance(record.ValBpb, measured, cls))
        {
            e = ControlEvent.Create(ControlTypes.Verification, new JsonObject
            {
                ["experiment_id"] = record.Id, ["task_id"] = record.TaskId, ["verified_node_id"] = record.NodeId, ["verifier_id"] = NodeId,
                ["verifier_gpu"] = gpuModel, ["verifier_bpb"] = new JsonFloat(measured), ["is_frontier"] = node.Read(g => g.IsOnFrontier(record)),
            }, timestamp, key);
        }
        else
        {
            if (IndependentNodes(record).Count == 0) return null;
            e = ControlEvent.Create(ControlTypes.Challenge, new JsonObject
            {
                ["experiment_id"] = record.Id, ["task_id"] = record.TaskId, ["challenger_id"] = NodeId,
                ["challenger_bpb"] = new JsonFloat(run.Metric ?? 0.0), ["challenger_gpu"] = gpuModel,
            }, timestamp, key);
        }
        var bad = node.Publish(Messages.Control(e));
        return bad is null ? e : throw new InvalidOperationException($"own event refused: {bad}");
    }

    /// <summary>This node's earliest event of one of <paramref name="types"/> about an experiment, if any.</summary>
    public ControlEvent? Own(string experimentId, params string[] types) => node.Read(g => g.ControlEvents.Values
        .Where(e => e.NodeId == NodeId && e.ExperimentId == experimentId && types.Contains(e.Type))
        .OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).FirstOrDefault());

    /// <summary>Nodes of the record's GPU class in the graph, other than this node and the publisher (§8).</summary>
    public IReadOnlyList<string> IndependentNodes(ExperimentRecord record)
    {
        var cls = GpuClass.Normalize(record.GpuModel);
        return node.Read(g => g.Records.Where(r => GpuClass.Normalize(r.GpuModel) == cls && r.NodeId != NodeId && r.NodeId != record.NodeId)
            .Select(r => r.NodeId).Distinct().ToList());
    }

    /// <summary>Answers a challenge by re-running and publishing a <c>challenge_response</c> (null when this node may not help).</summary>
    public async Task<ControlEvent?> RespondAsync(ControlEvent challenge, TaskManifest task, long timestamp, CancellationToken ct = default)
    {
        var record = node.Read(g => g.GetRecord(challenge.ExperimentId));
        var challenger = challenge.Payload["challenger_id"].AsString();
        if (record is null || record.Status == RecordStatus.Crash || challenger == NodeId || record.NodeId == NodeId) return null;
        var answered = node.Read(g => g.ControlEvents.Values.Where(e => e.Type == ControlTypes.ChallengeResponse && e.NodeId == NodeId
            && e.ExperimentId == record.Id && e.Payload["challenger_id"].AsString() == challenger).OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).FirstOrDefault());
        if (answered is not null) return answered; // one response per challenger: a second would skew the median
        var cls = GpuClass.Normalize(gpuModel);
        if (cls != GpuClass.Normalize(record.GpuModel) || cls != GpuClass.Normalize(challenge.Payload["challenger_gpu"].AsString())) return null;
        var code = await node.FetchArtifactAsync(record.CodeCid);
        if (code is null) return null;
        var run = await runner.RunAsync(code, task.Metric, TimeSpan.FromSeconds(task.TimeBudget), ct);
        var e = ControlEvent.Create(ControlTypes.ChallengeResponse, new JsonObject
        {
            ["experiment_id"] = record.Id, ["task_id"] = record.TaskId, ["challenger_id"] = challenger, ["verifier_id"] = NodeId,
            ["verifier_bpb"] = new JsonFloat(run.Metric ?? 0.0), ["verifier_gpu"] = gpuModel,
        }, timestamp, key);
        var bad = node.Publish(Messages.Control(e));
        return bad is null ? e : throw new InvalidOperationException($"own event refused: {bad}");
    }

    /// <summary>Settles this node's challenge of <paramref name="record"/> with the responses held (median rule) and publishes the dispute.</summary>
    public ControlEvent? Resolve(ExperimentRecord record, ControlEvent challenge, long timestamp)
    {
        if (Own(record.Id, ControlTypes.Dispute) is { } settled) return settled; // settled once
        var responses = node.Read(g => g.ControlEvents.Values
            .Where(e => e.Type == ControlTypes.ChallengeResponse && e.ExperimentId == record.Id && e.Payload["challenger_id"].AsString() == NodeId)
            .Select(e => (e.NodeId, e.Payload["verifier_bpb"].AsDouble())).ToList());
        if (responses.Count == 0) return null; // no responses: no dispute (§8)
        var v = DisputeMath.Resolve(record.ValBpb, challenge.Payload["challenger_bpb"].AsDouble(), responses, GpuClass.Tolerance(GpuClass.Normalize(record.GpuModel)));
        var e = ControlEvent.Create(ControlTypes.Dispute, new JsonObject
        {
            ["experiment_id"] = record.Id, ["task_id"] = record.TaskId, ["original_node_id"] = record.NodeId, ["challenger_id"] = NodeId,
            ["challenger_bpb"] = challenge.Payload["challenger_bpb"], ["outcome"] = v.Outcome, ["ground_truth_bpb"] = new JsonFloat(v.GroundTruth),
            ["verifier_count"] = responses.Count,
            ["winner_verifier_ids"] = new JsonArray(v.Winners.Select(w => (JsonValue)w)), ["loser_verifier_ids"] = new JsonArray(v.Losers.Select(l => (JsonValue)l)),
        }, timestamp, key);
        var bad = node.Publish(Messages.Control(e));
        return bad is null ? e : throw new InvalidOperationException($"own event refused: {bad}");
    }
}
