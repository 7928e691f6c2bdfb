using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>What receiving one item did: the refusal (if any), whether it was stored, and whether to re-gossip it.</summary>
public sealed record ReceiveOutcome(SporeRejection? Rejection, bool Stored, bool Regossip)
{
    /// <summary>Silently ignored (already seen).</summary>
    public static readonly ReceiveOutcome Ignored = new(new SporeRejection(SporeReason.Duplicate, "already seen"), false, false);
}

/// <summary>One row of Spore's own reputation table (notes §9).</summary>
public sealed class ReputationRow
{
    /// <summary>Score, clamped to [−100, +100].</summary>
    public double Score { get; internal set; }
    /// <summary>Records inserted.</summary>
    public long ExperimentsPublished { get; internal set; }
    /// <summary>Own records verified.</summary>
    public long ExperimentsVerified { get; internal set; }
    /// <summary>Verifications and challenge responses performed.</summary>
    public long VerificationsPerformed { get; internal set; }
    /// <summary>Disputes won.</summary>
    public long DisputesWon { get; internal set; }
    /// <summary>Disputes lost.</summary>
    public long DisputesLost { get; internal set; }

    internal void Add(double d) => Score = Math.Clamp(Score + d, -100.0, 100.0);
}

/// <summary>A task row: a signed manifest, or a legacy bookkeeping row (§4.4).</summary>
public sealed record TaskRow(string TaskId, string Name, string Goal, string Metric, TaskManifest? Manifest);

/// <summary>
/// The node's state and the reference's receive rules, with no I/O and no clock (notes §3.4, §4.2, §5, §7, §9). Not
/// thread-safe: the peer serialises access.
/// </summary>
public sealed class SporeGraph(SporeLimits? limits = null, TimeProvider? time = null)
{
    private readonly SporeLimits _limits = limits ?? new SporeLimits();
    private readonly Dictionary<string, ExperimentRecord> _records = new(StringComparer.Ordinal);
    private readonly List<ExperimentRecord> _recordOrder = [];
    private readonly Dictionary<string, List<ExperimentRecord>> _children = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _taskRecordCount = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perNodeRecords = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskRow> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perCreatorTasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ControlEvent> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perSignerEvents = new(StringComparer.Ordinal);
    private readonly HashSet<string> _appliedEventKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProfile> _profiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _verified = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReputationRow> _reputation = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _artifacts = new(StringComparer.Ordinal);
    private long _artifactBytes;
    private readonly HashSet<string> _seenRecords = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenEvents = new(StringComparer.Ordinal);

    /// <summary>Records in insertion order (task_id resolved).</summary>
    public IReadOnlyList<ExperimentRecord> Records => _recordOrder;
    /// <summary>Task rows by id.</summary>
    public IReadOnlyDictionary<string, TaskRow> Tasks => _tasks;
    /// <summary>Control events by id.</summary>
    public IReadOnlyDictionary<string, ControlEvent> ControlEvents => _events;
    /// <summary>Newest profile per node.</summary>
    public IReadOnlyDictionary<string, NodeProfile> Profiles => _profiles;
    /// <summary>Spore's reputation table.</summary>
    public IReadOnlyDictionary<string, ReputationRow> Reputation => _reputation;
    /// <summary>Records marked verified.</summary>
    public IReadOnlySet<string> Verified => _verified;

    /// <summary>A record by id.</summary>
    public ExperimentRecord? GetRecord(string id) => _records.GetValueOrDefault(id);

    /// <summary>An artifact by its SHA-256.</summary>
    public byte[]? GetArtifact(string cid) => _artifacts.GetValueOrDefault(cid);

    /// <summary>Whether the artifact is held.</summary>
    public bool HasArtifact(string cid) => _artifacts.ContainsKey(cid);

    /// <summary>Stores an artifact if <c>sha256(bytes) == cid</c> (§6.6) and the cap allows; returns whether it is held now.</summary>
    public bool AddArtifact(string cid, byte[] bytes)
    {
        if (_artifacts.ContainsKey(cid)) return true;
        if (SporeJson.Sha256Hex(bytes) != cid) return false;
        if (_artifactBytes + bytes.Length > _limits.MaxArtifactBytes) return false;
        _artifacts[cid] = bytes;
        _artifactBytes += bytes.Length;
        return true;
    }

    private static void Remember(HashSet<string> set, string key, int max)
    {
        if (set.Count >= max) set.Clear(); // bounded; the store still deduplicates by id
        set.Add(key);
    }

    /// <summary>
    /// Receives an <c>experiment</c> payload in the reference's order (§3.4): parse (throws a closing
    /// <see cref="SporeFormatException"/> for schema errors), seen set, CID, signature, lineage, insert.
    /// </summary>
    public ReceiveOutcome ReceiveExperiment(JsonValue payload)
    {
        ExperimentRecord r;
        try
        {
            r = ExperimentRecord.Parse(payload, time);
        }
        catch (SporeFormatException e) when (!e.Rejection.ClosesConnection)
        {
            return new ReceiveOutcome(e.Rejection, false, false);
        }
        if (_seenRecords.Contains(r.Id)) return ReceiveOutcome.Ignored;
        var bad = r.Verify();
        if (bad is not null) return new ReceiveOutcome(bad, false, false);
        Remember(_seenRecords, r.Id, _limits.MaxSeenEntries);
        var lineage = Insert(r);
        return lineage is null ? new ReceiveOutcome(null, true, true) : new ReceiveOutcome(lineage, false, lineage.Reason != SporeReason.Duplicate);
    }

    /// <summary>Works out the task, checks lineage, and inserts an already verified record (§3.4 step 5). Null when stored.</summary>
    public SporeRejection? Insert(ExperimentRecord r)
    {
        if (_records.ContainsKey(r.Id)) return new SporeRejection(SporeReason.Duplicate, $"record {r.Id} is already held");
        var parent = r.Parent is null ? null : _records.GetValueOrDefault(r.Parent);
        var task = r.TaskId.Length > 0 ? r.TaskId : parent is not null ? parent.TaskId : r.Parent is null ? r.Id : "";
        if (task.Length == 0)
            return new SporeRejection(SporeReason.NoTask, $"record {r.Id} has no task_id and its parent {r.Parent} is unknown, so no task can be worked out");
        if (parent is not null && parent.TaskId != task)
            return new SporeRejection(SporeReason.ParentTaskMismatch, $"record {r.Id} is in task {task} but its parent {parent.Id} is in task {parent.TaskId}");
        if (r.Parent is null && _taskRecordCount.GetValueOrDefault(task) > 0)
            return new SporeRejection(SporeReason.SecondRoot, $"record {r.Id} is a second root for task {task}, which already has records (roots must arrive first)");
        if (_records.Count >= _limits.MaxRecords || _perNodeRecords.GetValueOrDefault(r.NodeId) >= _limits.MaxRecordsPerNode)
            return new SporeRejection(SporeReason.CapReached, $"record cap reached ({_limits.MaxRecords} total, {_limits.MaxRecordsPerNode} per node)");
        if (r.TaskId != task) r = r.WithTaskId(task); // v1 records re-served with the derived task_id (§4.4)
        _records[r.Id] = r;
        _recordOrder.Add(r);
        if (r.Parent is not null)
        {
            if (!_children.TryGetValue(r.Parent, out var list)) _children[r.Parent] = list = [];
            list.Add(r);
        }
        _taskRecordCount[task] = _taskRecordCount.GetValueOrDefault(task) + 1;
        _perNodeRecords[r.NodeId] = _perNodeRecords.GetValueOrDefault(r.NodeId) + 1;
        Rep(r.NodeId).ExperimentsPublished++;
        if (r.Parent is null && !_tasks.ContainsKey(task))
            _tasks[task] = new TaskRow(task, $"legacy-{task[..Math.Min(8, task.Length)]}", "minimize", "val_bpb", null);
        return null;
    }

    /// <summary>Receives a <c>task</c> payload (§4.2): schema (closing), seen set, id, signature, upsert.</summary>
    public ReceiveOutcome ReceiveTask(JsonValue payload)
    {
        TaskManifest t;
        try
        {
            t = TaskManifest.Parse(payload, time);
        }
        catch (SporeFormatException e) when (!e.Rejection.ClosesConnection)
        {
            return new ReceiveOutcome(e.Rejection, false, false);
        }
        if (_seenTasks.Contains(t.TaskId)) return ReceiveOutcome.Ignored;
        var bad = t.Verify();
        if (bad is not null) return new ReceiveOutcome(bad, false, false);
        Remember(_seenTasks, t.TaskId, _limits.MaxSeenEntries);
        var isNew = !_tasks.TryGetValue(t.TaskId, out var existing) || existing.Manifest is null;
        if (isNew && (_tasks.Count(kv => kv.Value.Manifest is not null) >= _limits.MaxTasks || _perCreatorTasks.GetValueOrDefault(t.CreatedBy) >= _limits.MaxTasksPerCreator))
            return new ReceiveOutcome(new SporeRejection(SporeReason.CapReached, $"task cap reached ({_limits.MaxTasks} total, {_limits.MaxTasksPerCreator} per creator)"), false, false);
        if (existing?.Manifest is null) _perCreatorTasks[t.CreatedBy] = _perCreatorTasks.GetValueOrDefault(t.CreatedBy) + 1;
        _tasks[t.TaskId] = new TaskRow(t.TaskId, t.Name, t.Goal, t.Metric, t);
        return new ReceiveOutcome(null, true, true);
    }

    /// <summary>Receives a control event of <paramref name="messageType"/> (§5.1): every failure drops, none closes.</summary>
    public ReceiveOutcome ReceiveControl(string messageType, JsonValue payload)
    {
        ControlEvent e;
        try
        {
            e = ControlEvent.Parse(messageType, payload, time);
        }
        catch (SporeFormatException ex)
        {
            return new ReceiveOutcome(ex.Rejection with { ClosesConnection = false }, false, false);
        }
        var bad = e.Verify();
        if (bad is not null) return new ReceiveOutcome(bad, false, false);
        if (_seenEvents.Contains(e.DedupeKey) || _appliedEventKeys.Contains(e.DedupeKey)) return ReceiveOutcome.Ignored;
        Remember(_seenEvents, e.DedupeKey, _limits.MaxSeenEntries);
        if (_events.Count >= _limits.MaxControlEvents || _perSignerEvents.GetValueOrDefault(e.NodeId) >= _limits.MaxControlEventsPerSigner)
            return new ReceiveOutcome(new SporeRejection(SporeReason.CapReached, $"control event cap reached ({_limits.MaxControlEvents} total, {_limits.MaxControlEventsPerSigner} per signer)"), false, false);
        _events[e.Id] = e; // stored before it is applied (§5.1)
        _perSignerEvents[e.NodeId] = _perSignerEvents.GetValueOrDefault(e.NodeId) + 1;
        Apply(e);
        return new ReceiveOutcome(null, true, true);
    }

    /// <summary>Receives a profile (§5.3): schema (closing), id, signature, newest per node wins.</summary>
    public ReceiveOutcome ReceiveProfile(JsonValue payload)
    {
        NodeProfile p;
        try
        {
            p = NodeProfile.Parse(payload, time);
        }
        catch (SporeFormatException e) when (!e.Rejection.ClosesConnection)
        {
            return new ReceiveOutcome(e.Rejection, false, false);
        }
        var bad = p.Verify();
        if (bad is not null) return new ReceiveOutcome(bad, false, false);
        if (_profiles.TryGetValue(p.NodeId, out var old) && (old.Timestamp > p.Timestamp || old.Id == p.Id))
            return new ReceiveOutcome(new SporeRejection(SporeReason.StaleProfile, $"profile {p.Id} is not newer than the held one"), false, false);
        if (old is null && _profiles.Count >= _limits.MaxProfiles)
            return new ReceiveOutcome(new SporeRejection(SporeReason.CapReached, $"profile cap reached ({_limits.MaxProfiles})"), false, false);
        _profiles[p.NodeId] = p;
        return new ReceiveOutcome(null, true, true);
    }

    private ReputationRow Rep(string nodeId)
    {
        if (!_reputation.TryGetValue(nodeId, out var row)) _reputation[nodeId] = row = new ReputationRow();
        return row;
    }

    /// <summary>Applies an event to the reputation table once per type:event_id (§9).</summary>
    private void Apply(ControlEvent e)
    {
        var p = e.Payload;
        // The reference records a verification as applied only once its record is known (challenge_state.py).
        if (e.Type == ControlTypes.Verification && GetRecord(e.ExperimentId) is null) return;
        if (!_appliedEventKeys.Add(e.DedupeKey)) return;
        switch (e.Type)
        {
            case ControlTypes.Verification:
            {
                var r = GetRecord(e.ExperimentId)!;
                Rep(p["verifier_id"].AsString()).VerificationsPerformed++;
                if (_verified.Add(r.Id))
                {
                    var pub = Rep(p["verified_node_id"].AsString());
                    if (r.Status == RecordStatus.Keep) pub.Add(p["is_frontier"].AsBool() ? 2.0 : 1.0);
                    pub.ExperimentsVerified++;
                }
                break;
            }
            case ControlTypes.ChallengeResponse:
                Rep(p["verifier_id"].AsString()).VerificationsPerformed++;
                break;
            case ControlTypes.Dispute:
            {
                var challenger = Rep(p["challenger_id"].AsString());
                if (p["outcome"].AsString() == "upheld")
                {
                    // The publisher named by the dispute is rewarded, frontier taken in the dispute's task; the
                    // experiment is marked verified even when the record is not held (as the reference does).
                    var r = GetRecord(e.ExperimentId);
                    if (r is not null && !_verified.Contains(r.Id))
                    {
                        var pub = Rep(p["original_node_id"].AsString());
                        if (r.Status == RecordStatus.Keep) pub.Add(Frontier(p["task_id"].AsString()).Any(x => x.Id == r.Id) ? 2.0 : 1.0);
                        pub.ExperimentsVerified++;
                    }
                    _verified.Add(e.ExperimentId);
                    challenger.Add(-1.0);
                    challenger.DisputesLost++;
                }
                else
                {
                    challenger.Add(1.0);
                    challenger.DisputesWon++;
                    var orig = Rep(p["original_node_id"].AsString());
                    orig.Add(-5.0);
                    orig.DisputesLost++;
                }
                foreach (var w in p["winner_verifier_ids"].AsArray()) { var row = Rep(w.AsString()); row.Add(0.5); row.DisputesWon++; }
                foreach (var l in p["loser_verifier_ids"].AsArray()) { var row = Rep(l.AsString()); row.Add(-1.0); row.DisputesLost++; }
                break;
            }
        }
    }

    /// <summary>Whether <paramref name="r"/> is on its task's reference frontier.</summary>
    public bool IsOnFrontier(ExperimentRecord r) => Frontier(r.TaskId).Any(x => x.Id == r.Id);

    /// <summary>
    /// The reference frontier (§7): keep records of the task with no direct keep child (same task) whose val_bpb is
    /// strictly lower; ascending by val_bpb (ties in insertion order). The task's goal is ignored, as in the reference.
    /// </summary>
    public IReadOnlyList<ExperimentRecord> Frontier(string taskId, string? gpuModel = null) => FrontierCore(taskId, gpuModel, maximize: false);

    /// <summary>
    /// Our goal-aware view: for a <c>maximize</c> task a keep child beats its parent when strictly higher and the list is
    /// descending; for any other goal it equals <see cref="Frontier"/>.
    /// </summary>
    public IReadOnlyList<ExperimentRecord> GoalAwareFrontier(string taskId) =>
        FrontierCore(taskId, null, maximize: _tasks.TryGetValue(taskId, out var t) && t.Goal == "maximize");

    private List<ExperimentRecord> FrontierCore(string taskId, string? gpuModel, bool maximize)
    {
        var list = new List<ExperimentRecord>();
        foreach (var r in _recordOrder)
        {
            if (r.Status != RecordStatus.Keep || r.TaskId != taskId) continue;
            if (gpuModel is not null && r.GpuModel != gpuModel) continue;
            var beaten = _children.TryGetValue(r.Id, out var kids) && kids.Any(c =>
                c.Status == RecordStatus.Keep && c.TaskId == taskId && (maximize ? c.ValBpb > r.ValBpb : c.ValBpb < r.ValBpb));
            if (!beaten) list.Add(r);
        }
        // List.Sort is unstable; OrderBy is stable, so ties keep insertion order.
        return maximize ? [.. list.OrderByDescending(r => r.ValBpb)] : [.. list.OrderBy(r => r.ValBpb)];
    }

    /// <summary>Records for <c>sync_request</c>: timestamp &gt;= since, by depth then timestamp (§6.3).</summary>
    public IEnumerable<ExperimentRecord> RecordsSince(long since) =>
        _recordOrder.Where(r => r.Timestamp >= since).OrderBy(r => r.Depth).ThenBy(r => r.Timestamp);

    /// <summary>Events for <c>control_sync_request</c>: timestamp &gt; since, by timestamp then id.</summary>
    public IEnumerable<ControlEvent> ControlSince(long since) =>
        _events.Values.Where(e => e.Timestamp > since).OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal);

    /// <summary>Signed manifests for <c>task_sync_request</c>: timestamp &gt; since (legacy rows are never sent).</summary>
    public IEnumerable<TaskManifest> TasksSince(long since) =>
        _tasks.Values.Select(t => t.Manifest).OfType<TaskManifest>().Where(t => t.Timestamp > since)
            .OrderBy(t => t.Timestamp).ThenBy(t => t.TaskId, StringComparer.Ordinal);

    /// <summary>Newest record timestamp (0 when none).</summary>
    public long NewestRecordTimestamp => _recordOrder.Count == 0 ? 0 : _recordOrder.Max(r => r.Timestamp);
    /// <summary>Newest control event timestamp (0 when none).</summary>
    public long NewestControlTimestamp => _events.Count == 0 ? 0 : _events.Values.Max(e => e.Timestamp);
    /// <summary>Newest signed manifest timestamp (0 when none).</summary>
    public long NewestTaskTimestamp => TasksSince(long.MinValue).Select(t => t.Timestamp).DefaultIfEmpty(0).Max();
}
