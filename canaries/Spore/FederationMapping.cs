namespace Federation.Canaries.Spore;

/// <summary>Class-A evidence earned by a Spore publisher (docs/spore.md, "Federation mapping"): outcome o = 1.</summary>
public sealed record ClassAEvidence(string Subject, string Topic, string TaskId, string ExperimentId, int Outcome, double Difficulty, string Source);

/// <summary>A slashing event: a dispute rejected the subject's claim.</summary>
public sealed record SlashingEvent(string Subject, string Topic, string TaskId, string ExperimentId, string DisputeId, double Claimed, double GroundTruth);

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

    /// <summary>Derives evidence and slashing events from the control events held, in (timestamp, id) order.</summary>
    public static (IReadOnlyList<ClassAEvidence> Evidence, IReadOnlyList<SlashingEvent> Slashing) Derive(SporeGraph g, Func<string, string>? topicOf = null)
    {
        topicOf ??= taskId => g.Tasks.TryGetValue(taskId, out var t) ? $"spore/{t.Name}" : $"spore/{taskId}";
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
                    evidence.Add(new ClassAEvidence(p["verified_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, 1, Difficulty(g, r), "verification"));
                    break;
                case ControlTypes.Dispute when p["outcome"].AsString() == "upheld" && credited.Add(r.Id):
                    evidence.Add(new ClassAEvidence(p["original_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, 1, Difficulty(g, r), "dispute_upheld"));
                    break;
                case ControlTypes.Dispute when p["outcome"].AsString() == "rejected":
                    slashing.Add(new SlashingEvent(p["original_node_id"].AsString(), topicOf(r.TaskId), r.TaskId, r.Id, e.Id, r.ValBpb, p["ground_truth_bpb"].AsDouble()));
                    break;
            }
        }
        return (evidence, slashing);
    }
}
