using Federation.Canaries.Spore;
using Federation.Node.Answering;
using Federation.Node.Api;
using Federation.Node.Cli;
using Federation.Node.Hosting;
using Federation.Registry.Json;
using Federation.Router;

namespace Federation.Node.Spore;

/// <summary>A request the Spore service cannot carry out (unknown task, peer not running, route refused): code and what to do.</summary>
public sealed class SporeServiceException(int status, string code, string message, string? param = null) : Exception(message)
{
    /// <summary>HTTP status for the endpoint layer.</summary>
    public int Status { get; } = status;
    /// <summary>Machine-readable code (<c>spore.*</c>).</summary>
    public string Code { get; } = code;
    /// <summary>The request field at fault, if any.</summary>
    public string? Param { get; } = param;
}

/// <summary>
/// What one proposal did: the task and topic, the specialist asked and its answer (text and ledger index), the parsed
/// edit, the record published (keep / discard / crash) and its parent, the run, and, if the task had no root yet, the
/// baseline record published first.
/// </summary>
public sealed record SporeProposalResult(string TaskId, string TaskName, string Topic, string? Specialist, string Answer, long? AnswerLedgerIndex,
    ProposalEdit Edit, ExperimentRecord Record, ExperimentRecord Parent, RunResult? Run, ExperimentRecord? Baseline, SporeFeedResult Reputation)
{
    /// <summary>keep, discard or crash.</summary>
    public string Outcome => Record.Status;

    /// <summary>The result as JSON (the endpoint's and <c>fed spore propose --output json</c>'s shape).</summary>
    public JsonObject ToJson() => new()
    {
        ["task_id"] = TaskId,
        ["task"] = TaskName,
        ["topic"] = Topic,
        ["specialist"] = Specialist,
        ["answer"] = Answer,
        ["answer_ledger_index"] = AnswerLedgerIndex is { } i ? i : (JsonValue)(string?)null,
        ["changes"] = new JsonArray(Edit.Changes.Select(c => (JsonValue)new JsonObject { ["name"] = c.Name, ["from"] = c.From, ["to"] = c.To })),
        ["error"] = Edit.Error,
        ["outcome"] = Outcome,
        ["record_id"] = Record.Id,
        ["parent_id"] = Parent.Id,
        ["metric"] = Run?.Metric is { } m ? new JsonFloat(m) : (JsonValue)(string?)null,
        ["parent_metric"] = new JsonFloat(Parent.ValBpb),
        ["baseline_id"] = Baseline?.Id,
        ["record"] = Record.Json,
        ["reputation_added"] = Reputation.Added,
    };
}

/// <summary>
/// The node's side of the Spore loop (docs/spore.md, "A specialist as the proposer"): asks the routed specialist of a
/// task's topic for a change through the ordinary answer path (<see cref="AnswerService"/>: route → engine → gate →
/// ledger), parses the answer (<see cref="ProposalFormat"/>), runs it, keeps or discards it against the parent, signs it
/// with the node key and gossips it through the running Spore peer; verifies, answers challenges and settles disputes; and
/// feeds the result into the reputation book (<see cref="SporeReputationFeed"/>). Registered with the Spore peer
/// (<c>fed serve --spore-listen</c>). One operation at a time.
/// </summary>
public sealed class SporeProposalService(RuntimeHolder holder, AnswerService answers, SporeHostedService hosted, NodeOptions options, TimeProvider time) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => _one.Dispose();

    /// <summary>Most tokens a proposal answer may use.</summary>
    public const int MaxAnswerTokens = 64;

    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly TaskRunner _runner = new();

    private NodeRuntime Runtime => holder.Runtime
        ?? throw new SporeServiceException(503, "spore.not_ready", "The node is still starting (or failed to start); retry when /health says ready.");

    private SporeNode Peer => hosted.Node
        ?? throw new SporeServiceException(503, "spore.not_running", "The Spore peer is not running on this node; start it with 'fed serve --spore-listen 127.0.0.1:7470'.");

    private SporeWorker Worker(NodeRuntime rt) => new(Peer, rt.Key, _runner);

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>The task with this id or name (a name must be unique), publishing the shipped task when it is named and not yet known.</summary>
    public TaskManifest ResolveTask(string idOrName)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrName);
        var peer = Peer;
        var rows = peer.Read(g => g.Tasks.Values.Where(t => t.TaskId == idOrName || t.Name == idOrName).ToList());
        if (rows.Count > 1 && rows.All(r => r.TaskId != idOrName))
            throw new SporeServiceException(400, "spore.ambiguous_task", $"{rows.Count} tasks are named '{idOrName}'; give the task id ({string.Join(", ", rows.Select(r => r.TaskId))}).", "task");
        var row = rows.FirstOrDefault(r => r.TaskId == idOrName) ?? rows.FirstOrDefault();
        if (row is not null)
            return row.Manifest ?? throw new SporeServiceException(400, "spore.legacy_task", $"task {row.TaskId} is a legacy (v1) task without a manifest; it names no artifact or metric to run.", "task");
        if (idOrName == ShippedName)
        {
            var m = ShippedTasks.RosenbrockManifest(Runtime.Key, Now);
            if (peer.Publish(Messages.Task(m)) is { } bad) throw new InvalidOperationException($"own task refused: {bad}");
            peer.AddArtifact(ShippedTasks.RosenbrockArtifact());
            return m;
        }
        throw new SporeServiceException(404, "spore.unknown_task", $"No task '{idOrName}' on this node (by id or name); sync it from a peer, or use the shipped task '{ShippedName}'.", "task");
    }

    /// <summary>The shipped task's name.</summary>
    public const string ShippedName = "rosenbrock-10d";

    /// <summary>
    /// One proposal for <paramref name="task"/> (id or name): the parent is the best record of the goal-aware frontier
    /// (a baseline root is run and published first if the task has none). The specialist of <paramref name="topic"/>
    /// (default <see cref="FederationMapping.TopicOf"/> of the task name) is asked through the answer path, unless
    /// <paramref name="answer"/> is given (an answer obtained elsewhere, e.g. from an operator; <c>agent_model</c> then
    /// says <c>operator</c>). An unusable answer ends as a published crash record that says why.
    /// </summary>
    public async Task<SporeProposalResult> ProposeAsync(string task, string? topic = null, string? answer = null, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var rt = Runtime;
            var peer = Peer;
            var manifest = ResolveTask(task);
            topic ??= FederationMapping.TopicOf(manifest.Name);
            var worker = Worker(rt);
            ExperimentRecord? baseline = null;
            var parent = Parent(peer, manifest);
            if (parent is null)
            {
                // Refuse an unroutable topic before anything is published (the baseline below is a signed record).
                if (answer is null) _ = Plan(rt, topic, ProposalFormat.Prompt(manifest.Name, manifest.Metric, manifest.Goal, null, []));
                var code = await peer.FetchArtifactAsync(manifest.BaseCodeCid)
                    ?? throw new SporeServiceException(409, "spore.no_artifact", $"task {manifest.TaskId} has no root record and its base artifact {manifest.BaseCodeCid} could not be fetched from any peer.", "task");
                (baseline, _) = await worker.ProposeAsync(manifest, null, code, "baseline", Now, agentModel: "baseline", ct: ct);
                parent = baseline;
            }
            var parentCode = await peer.FetchArtifactAsync(parent.CodeCid)
                ?? throw new SporeServiceException(409, "spore.no_artifact", $"the artifact {parent.CodeCid} of the parent {parent.Id} could not be fetched from any peer.", "task");

            string? specialist = null;
            long? ledgerIndex = null;
            string text;
            string? notReleased = null;
            if (answer is not null) text = answer;
            else
            {
                var prompt = ProposalFormat.Prompt(manifest.Name, manifest.Metric, manifest.Goal, parent.ValBpb, parentCode);
                var (req, decision) = Plan(rt, topic, prompt);
                ContextLimits.CheckPrompt(rt, req, "messages");
                specialist = decision.Specialists[0];
                var outcome = await answers.CompleteAsync(rt, req, decision, ct);
                ledgerIndex = outcome.LedgerIndex;
                text = outcome.Answer?.Text ?? "";
                if (outcome.Status != AnswerStatus.Released) notReleased = $"the answer was not released ({outcome.Status}: {outcome.Detail})";
            }
            var agent = specialist ?? "operator";
            var edit = notReleased is null ? ProposalFormat.Parse(text, parentCode) : new ProposalEdit([], null, notReleased);
            var via = specialist is null ? "operator answer" : $"{specialist} via {RoutePlanner.TopicModelPrefix}{topic}" + (ledgerIndex is { } li ? $", answer ledger #{li}" : "");
            ExperimentRecord record;
            RunResult? run = null;
            if (!edit.Ok)
                record = worker.PublishCrash(manifest, parent, Clip($"unusable proposal ({via}): {edit.Error}"), agent, Now);
            else
                (record, run) = await worker.ProposeAsync(manifest, parent, edit.Code!, Clip($"{edit.Summary} ({via})"), Now, agentModel: agent, ct: ct);
            var feed = await SyncCoreAsync(rt, peer, ct);
            return new SporeProposalResult(manifest.TaskId, manifest.Name, topic, specialist, text, ledgerIndex, edit, record, parent, run, baseline, feed);
        }
        finally
        {
            _one.Release();
        }
    }

    private (CompletionRequestIn Request, RouteDecision Decision) Plan(NodeRuntime rt, string topic, string prompt)
    {
        var model = RoutePlanner.TopicModelPrefix + topic;
        var req = new CompletionRequestIn(model, [new ChatMessageIn("user", prompt, [prompt])], null, MaxAnswerTokens, 0f, 1f, 0, 0, [], false, false,
            new RequestedRoute(model)) { Memory = new MemoryUse(false, null) };
        var plan = answers.Plan(rt, req.Query, req.Route);
        var decision = plan.Decision ?? throw new SporeServiceException(400, "spore.route_refused",
            $"topic '{topic}' cannot be asked: {plan.Rejection?.Message} (add the topic to the routing policy, or pass another --topic).", "topic");
        return (req, decision);
    }

    /// <summary>Re-runs a record held by the peer: publishes a verification, or a challenge (see <see cref="SporeWorker.VerifyAsync"/>).</summary>
    public async Task<ControlEvent?> VerifyAsync(string experimentId, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var rt = Runtime;
            var peer = Peer;
            var (record, manifest) = Held(peer, experimentId);
            var e = await Worker(rt).VerifyAsync(record, manifest, Now, ct);
            await SyncCoreAsync(rt, peer, ct);
            return e;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Answers a challenge held by the peer by re-running (null when this node may not help, §8).</summary>
    public async Task<ControlEvent?> RespondAsync(string challengeId, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var rt = Runtime;
            var peer = Peer;
            var challenge = peer.Read(g => g.ControlEvents.Values.FirstOrDefault(e => e.Id == challengeId && e.Type == ControlTypes.Challenge))
                ?? throw new SporeServiceException(404, "spore.unknown_challenge", $"No challenge {challengeId} on this node; wait for gossip or sync.", "challenge_id");
            var (_, manifest) = Held(peer, challenge.ExperimentId);
            return await Worker(rt).RespondAsync(challenge, manifest, Now, ct);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Settles this node's challenge of an experiment with the responses held (median rule); null when none answered yet.</summary>
    public async Task<ControlEvent?> ResolveAsync(string experimentId, CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var rt = Runtime;
            var peer = Peer;
            var (record, _) = Held(peer, experimentId);
            var me = rt.Key.NodeId.ToString();
            var challenge = peer.Read(g => g.ControlEvents.Values.Where(e => e.Type == ControlTypes.Challenge && e.ExperimentId == experimentId && e.NodeId == me)
                .OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).FirstOrDefault())
                ?? throw new SporeServiceException(409, "spore.no_challenge", $"This node has not challenged {experimentId}; verify it first (a challenge follows a mismatch).", "experiment_id");
            var e = Worker(rt).Resolve(record, challenge, Now);
            await SyncCoreAsync(rt, peer, ct);
            return e;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>An auto-verifier (spot-checks, responses, challenger polling) acting with this node's key; its draw key is derived from the key (secret, deterministic).</summary>
    public SporeAutoVerifier CreateAutoVerifier(AutoVerifyOptions? autoOptions = null)
    {
        var rt = Runtime;
        var drawKey = System.Security.Cryptography.SHA256.HashData(rt.Key.Sign("federation spore spot-check draw key v1"u8));
        return new SporeAutoVerifier(Peer, Worker(rt), drawKey, autoOptions, time);
    }

    /// <summary>One step of <paramref name="verifier"/> under this service's lock (never beside a proposal), then the reputation feed.</summary>
    public async Task<IReadOnlyList<ControlEvent>> AutoStepAsync(SporeAutoVerifier verifier, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        await _one.WaitAsync(ct);
        try
        {
            var events = await verifier.StepAsync(ct);
            if (events.Count > 0) await SyncCoreAsync(Runtime, Peer, ct);
            return events;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>Feeds the Spore events held into the reputation book now (idempotent).</summary>
    public async Task<SporeFeedResult> SyncReputationAsync(CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            return await SyncCoreAsync(Runtime, Peer, ct);
        }
        finally
        {
            _one.Release();
        }
    }

    private Task<SporeFeedResult> SyncCoreAsync(NodeRuntime rt, SporeNode peer, CancellationToken ct)
    {
        // The graph is read under the peer's lock; signing and the book's file I/O happen outside it.
        var envelopes = peer.Read(g => SporeReputationFeed.Envelopes(g, rt.Key));
        return SporeReputationFeed.AppendAsync(envelopes, options.DataDir, rt.Ledger, ct);
    }

    private static ExperimentRecord? Parent(SporeNode peer, TaskManifest m) => peer.Read(g =>
        g.GoalAwareFrontier(m.TaskId) is { Count: > 0 } f ? f[0] : g.Records.FirstOrDefault(r => r.TaskId == m.TaskId && r.Parent is null));

    private static (ExperimentRecord Record, TaskManifest Manifest) Held(SporeNode peer, string experimentId)
    {
        var record = peer.Read(g => g.GetRecord(experimentId))
            ?? throw new SporeServiceException(404, "spore.unknown_experiment", $"No experiment {experimentId} on this node; wait for gossip or sync from a peer.", "experiment_id");
        var manifest = peer.Read(g => g.Tasks.GetValueOrDefault(record.TaskId)?.Manifest)
            ?? throw new SporeServiceException(409, "spore.unknown_task", $"The task {record.TaskId} of {experimentId} is not held (or is legacy); its metric and budget are unknown.", "experiment_id");
        return (record, manifest);
    }

    private static string Clip(string s) => s.Length <= 500 ? s : s[..497] + "...";
}
