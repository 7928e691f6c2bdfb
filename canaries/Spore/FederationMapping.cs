namespace Federation.Canaries.Spore;

/// <summary>Class-A evidence earned by a Spore publisher (docs/spore.md, "Federation mapping"): outcome o = 1.</summary>
/// <remarks><see cref="Subject"/> is the publisher's node id, <see cref="AgentModel"/> the record's <c>agent_model</c> (the specialist
/// that proposed it, for our records), <see cref="EventId"/>/<see cref="Time"/> the control event that earned it.</remarks>
public sealed record ClassAEvidence(string Subject, string Topic, string TaskId, string ExperimentId, int Outcome, double Difficulty, string Source,
    string AgentModel = "", string EventId = "", long Time = 0);

/// <summary>A slashing event: a dispute rejected the subject's claim.</summary>
public sealed record SlashingEvent(string Subject, string Topic, string TaskId, string ExperimentId, string DisputeId, double Claimed, double GroundTruth,
    string AgentModel = "", string ChallengerId = "", long Time = 0);

/// <summary>
/// Maps what a Spore node holds into federation reputation inputs, separate from Spore's own ±points (§9):
/// a record verified (verification event) or upheld by a dispute gives its publisher class-A evidence (o = 1) in the
/// task's topic; a rejected dispute gives a slashing event. Each experiment counts once.
/// </summary>
public static class FederationMapping
{
    /// <summary>
    /// Difficulty of a verified record: a keep on the task's reference frontier scores 1 + ln(1 + k), k = the number of
    /// other keep records of the task it is strictly better than (the harder the frontier was to beat, the more it
    /// counts); another keep scores 1; a discard or crash (an honest negative result) 0.5.
    /// </summary>
    public static double Difficulty(SporeGraph g, ExperimentRecord r)
    {
        if (r.Status != RecordStatus.Keep) return 0.5;
        if (!g.IsOnFrontier(r)) return 1.0;
        var k = g.Records.Count(x => x.TaskId == r.TaskId && x.Status == RecordStatus.Keep && x.Id != r.Id && x.ValBpb > r.ValBpb);
        return 1.0 + Math.Log(1.0 + k);
    }

    /// <summary>
    /// The evidence weight as the reputation book takes it (d ∈ (0, 1], docs/reputation.md): D / (1 + D) of
    /// <see cref="Difficulty"/>, so a discard/crash weighs 1/3, a keep off the frontier 1/2, and a frontier keep tends to 1
    /// as the number of keeps it beats grows. Monotone in D: the ordering of the Spore difficulty is kept.
    /// </summary>
    public static double BookDifficulty(double difficulty) => difficulty / (1.0 + difficulty);

    /// <summary>
    /// The federation topic of a task: <c>spore-&lt;task name&gt;</c>, lower-cased, every character outside
    /// <c>[a-z0-9._-]</c> replaced by <c>-</c> (a valid routing topic id, so the topic can name Spore tasks as its class-A
    /// canaries and appear in a URL unescaped).
    /// </summary>
    public static string TopicOf(string taskName)
    {
        var sb = new System.Text.StringBuilder("spore-");
        foreach (var ch in taskName.ToLowerInvariant()) sb.Append(ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-' ? ch : '-');
        return sb.ToString();
    }

    /// <summary>Derives evidence and slashing events from the control events held, in (timestamp, id) order.</summary>
    public static (IReadOnlyList<ClassAEvidence> Evidence, IReadOnlyList<SlashingEvent> Slashing) Derive(SporeGraph g, Func<string, string>? topicOf = null)
    {
        topicOf ??= taskId => TopicOf(g.Tasks.TryGetValue(taskId, out var t) ? t.Name : taskId);
        var evidence = new List<ClassAEvidence>();
        var slashing = new List<SlashingEvent>();
        var credited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in g.ControlSince(long.MinValue))
        {
            var r = g.GetRecord(e.ExperimentId);
            if (r is null) continue;
            var p = e.Payload;
            switch (e.Type)
            {
                case ControlTypes.Verification when credited.Add(r.Id):
                    evidence.Add(new ClassAEvidence(p["verified_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, 1, Difficulty(g, r), "verification", r.AgentModel, e.Id, e.Timestamp));
                    break;
                case ControlTypes.Dispute when p["outcome"].AsString() == "upheld" && credited.Add(r.Id):
                    evidence.Add(new ClassAEvidence(p["original_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, 1, Difficulty(g, r), "dispute_upheld", r.AgentModel, e.Id, e.Timestamp));
                    break;
                case ControlTypes.Dispute when p["outcome"].AsString() == "rejected":
                    slashing.Add(new SlashingEvent(p["original_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, e.Id, r.ValBpb, p["ground_truth_bpb"].AsDouble(),
                        r.AgentModel, p["challenger_id"].AsString(), e.Timestamp));
                    break;
            }
        }
        return (evidence, slashing);
    }
}
