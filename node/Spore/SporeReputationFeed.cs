using Federation.Canaries.Spore;
using Federation.Governance;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Node.Spore;

/// <summary>What one <see cref="SporeReputationFeed.Sync"/> did.</summary>
public sealed record SporeFeedResult(int Evidence, int Slashes, int Added, IReadOnlyList<string> AddedIds);

/// <summary>
/// Feeds what a Spore node holds into the federation's reputation book (docs/spore.md, "Federation mapping"):
/// <see cref="FederationMapping.Derive"/>'s class-A evidence becomes a signed <c>audit.record</c> (one item, class A,
/// status scored, o = 1, d = <see cref="FederationMapping.BookDifficulty"/>, time = the control event's timestamp) and
/// each slashing event a signed <c>reputation.slash</c> whose evidence names the dispute and the experiment. Both are
/// signed by this node's key (it observed them), appended to <c>&lt;data-dir&gt;/reputation/records.jsonl</c>, and each
/// new slashing event is also appended to the node's ledger. Every payload is a pure function of the Spore events held
/// and Ed25519 is deterministic, so a replay gives the same CIDs and adds nothing (the book is keyed by CID).
/// Spore's own ±points (§9) are not read here and stay separate.
/// </summary>
public static class SporeReputationFeed
{
    /// <summary>The row name inside a node when a record names no agent (<c>agent_model</c> empty or <c>none</c>).</summary>
    public const string DefaultSpecialist = "spore";

    private static readonly Lock Gate = new();

    /// <summary>The specialist part of a target for a record's <c>agent_model</c>.</summary>
    public static string SpecialistOf(string agentModel) =>
        string.IsNullOrWhiteSpace(agentModel) || agentModel == "none" ? DefaultSpecialist : agentModel;

    /// <summary>The signed envelopes for a graph, in derivation order (pure apart from signing, which is deterministic).</summary>
    public static IReadOnlyList<SignedEnvelope> Envelopes(SporeGraph graph, NodeKey key, Func<string, string>? topicOf = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(key);
        var (evidence, slashing) = FederationMapping.Derive(graph, topicOf);
        var list = new List<SignedEnvelope>(evidence.Count + slashing.Count);
        foreach (var e in evidence) list.Add(SignedEnvelope.Seal(ReputationBook.AuditRecordType, AuditPayload(e), key));
        foreach (var s in slashing) list.Add(SignedEnvelope.Seal(ReputationBook.SlashType, SlashPayload(s), key));
        return list;
    }

    /// <summary>The <c>audit.record</c> payload of one piece of Spore evidence (the book's audit format plus Spore fields).</summary>
    public static JsonObject AuditPayload(ClassAEvidence e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var specialist = SpecialistOf(e.AgentModel);
        return new JsonObject
        {
            ["v"] = 1,
            ["source"] = "spore",
            ["topic"] = e.Topic,
            ["target_node"] = e.Subject,
            ["task_id"] = e.TaskId,
            ["experiment_id"] = e.ExperimentId,
            ["event_id"] = e.EventId,
            ["started"] = e.Time,
            ["finished"] = e.Time,
            ["n"] = 1,
            ["items"] = new JsonArray(
                new JsonObject
                {
                    ["class"] = "A",
                    ["status"] = "scored",
                    ["specialist"] = specialist,
                    ["specialists"] = new JsonArray((JsonValue)specialist),
                    ["handle"] = e.ExperimentId,
                    ["difficulty"] = new JsonFloat(FederationMapping.BookDifficulty(e.Difficulty)),
                    ["spore_difficulty"] = new JsonFloat(e.Difficulty),
                    ["o"] = new JsonFloat(e.Outcome),
                    ["time"] = e.Time,
                    ["detail"] = e.Source == "verification"
                        ? $"Spore experiment {e.ExperimentId} verified by re-execution (event {e.EventId})"
                        : $"Spore dispute {e.EventId} upheld experiment {e.ExperimentId}",
                }),
        };
    }

    /// <summary>The <c>reputation.slash</c> payload of one rejected claim.</summary>
    public static JsonObject SlashPayload(SlashingEvent s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new JsonObject
        {
            ["v"] = 1,
            ["source"] = "spore",
            ["topic"] = s.Topic,
            ["node"] = s.Subject,
            ["specialist"] = SpecialistOf(s.AgentModel),
            ["time"] = s.Time,
            ["reason"] = $"Spore dispute rejected the claim {Fmt(s.Claimed)} of experiment {s.ExperimentId}: ground truth {Fmt(s.GroundTruth)} (median rule)",
            ["task_id"] = s.TaskId,
            ["claimed"] = new JsonFloat(s.Claimed),
            ["ground_truth"] = new JsonFloat(s.GroundTruth),
            ["challenger"] = s.ChallengerId,
            ["evidence"] = new JsonArray((JsonValue)s.DisputeId, (JsonValue)s.ExperimentId),
        };
    }

    /// <summary>
    /// Derives the envelopes from <paramref name="graph"/> and appends the new ones to the book of
    /// <paramref name="dataDir"/>; a new slashing event also goes into <paramref name="ledger"/> when given.
    /// </summary>
    public static Task<SporeFeedResult> SyncAsync(SporeGraph graph, NodeKey key, string dataDir, SqliteLedger? ledger, CancellationToken ct = default) =>
        AppendAsync(Envelopes(graph, key), dataDir, ledger, ct);

    /// <summary>Appends the envelopes the book does not hold yet (serialised within the process); new slashes also go to the ledger.</summary>
    public static async Task<SporeFeedResult> AppendAsync(IReadOnlyList<SignedEnvelope> envelopes, string dataDir, SqliteLedger? ledger, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        var added = new List<SignedEnvelope>();
        lock (Gate)
        {
            var book = ReputationBookLog.Load(dataDir);
            foreach (var env in envelopes)
                if (ReputationBookLog.Append(dataDir, book, env).Added) added.Add(env);
        }
        if (ledger is not null)
            foreach (var env in added.Where(x => x.Type == ReputationBook.SlashType))
                await ledger.AppendAsync(ReputationBook.SlashType, env.ToJson(), ct);
        return new SporeFeedResult(envelopes.Count(x => x.Type == ReputationBook.AuditRecordType), envelopes.Count(x => x.Type == ReputationBook.SlashType),
            added.Count, added.Select(x => x.Id.ToString()).ToArray());
    }

    private static string Fmt(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
