using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>The four signed control event types (notes §5).</summary>
public static class ControlTypes
{
    /// <summary>A re-run within tolerance.</summary>
    public const string Verification = "verification";
    /// <summary>A re-run outside tolerance.</summary>
    public const string Challenge = "challenge";
    /// <summary>An independent re-run answering a challenge.</summary>
    public const string ChallengeResponse = "challenge_response";
    /// <summary>The challenger's verdict (median rule).</summary>
    public const string Dispute = "dispute";

    /// <summary>All four.</summary>
    public static readonly string[] All = [Verification, Challenge, ChallengeResponse, Dispute];

    /// <summary>The payload schema of each type, in the order the reference writes the keys (§5.2).</summary>
    public static SporeSchema PayloadSchema(string type) => type switch
    {
        Verification => new("verification payload", new("event_id", FieldKind.String), new("experiment_id", FieldKind.String),
            new("task_id", FieldKind.String), new("verified_node_id", FieldKind.String), new("verifier_id", FieldKind.String),
            new("verifier_gpu", FieldKind.String), new("verifier_bpb", FieldKind.Float), new("is_frontier", FieldKind.Bool)),
        Challenge => new("challenge payload", new("event_id", FieldKind.String), new("experiment_id", FieldKind.String),
            new("task_id", FieldKind.String), new("challenger_id", FieldKind.String), new("challenger_bpb", FieldKind.Float),
            new("challenger_gpu", FieldKind.String)),
        ChallengeResponse => new("challenge_response payload", new("event_id", FieldKind.String), new("experiment_id", FieldKind.String),
            new("task_id", FieldKind.String), new("challenger_id", FieldKind.String), new("verifier_id", FieldKind.String),
            new("verifier_bpb", FieldKind.Float), new("verifier_gpu", FieldKind.String)),
        Dispute => new("dispute payload", new("event_id", FieldKind.String), new("experiment_id", FieldKind.String),
            new("task_id", FieldKind.String), new("original_node_id", FieldKind.String), new("challenger_id", FieldKind.String),
            new("challenger_bpb", FieldKind.Float), new("outcome", FieldKind.String), new("ground_truth_bpb", FieldKind.Float),
            new("verifier_count", FieldKind.Int), new("winner_verifier_ids", FieldKind.StringList), new("loser_verifier_ids", FieldKind.StringList)),
        _ => throw new ArgumentException($"unknown control event type \"{type}\"; expected one of {string.Join(", ", All)}", nameof(type)),
    };

    /// <summary>The payload key that names the actor, who must be the signer (§5.1).</summary>
    public static string ActorKey(string type) => type is Challenge or Dispute ? "challenger_id" : "verifier_id";

    /// <summary>The event_id the reference writes for <paramref name="payload"/> (§5.2).</summary>
    public static string ExpectedEventId(string type, JsonObject payload) => type switch
    {
        Verification => $"verification:{payload["experiment_id"].AsString()}:{payload["verifier_id"].AsString()}",
        Challenge => $"challenge:{payload["experiment_id"].AsString()}:{payload["challenger_id"].AsString()}",
        ChallengeResponse => $"challenge_response:{payload["experiment_id"].AsString()}:{payload["challenger_id"].AsString()}:{payload["verifier_id"].AsString()}",
        Dispute => $"dispute:{payload["experiment_id"].AsString()}:{payload["challenger_id"].AsString()}",
        _ => "",
    };
}

/// <summary>A validated signed control event (§5.1). <see cref="Json"/> is in the reference's key order.</summary>
public sealed class ControlEvent
{
    private ControlEvent(JsonObject json) => Json = json;

    /// <summary>type, payload, node_id, timestamp, signature, id, version.</summary>
    public JsonObject Json { get; }

    /// <summary>Event type.</summary>
    public string Type => SporeSigning.Str(Json, "type");
    /// <summary>The payload.</summary>
    public JsonObject Payload => Json["payload"].AsObject();
    /// <summary>Signer.</summary>
    public string NodeId => SporeSigning.Str(Json, "node_id");
    /// <summary>Unix seconds.</summary>
    public long Timestamp => SporeSigning.Int(Json, "timestamp");
    /// <summary>Event CID.</summary>
    public string Id => SporeSigning.Str(Json, "id");
    /// <summary>payload.event_id.</summary>
    public string EventId => Payload["event_id"].AsString();
    /// <summary>payload.experiment_id.</summary>
    public string ExperimentId => Payload["experiment_id"].AsString();
    /// <summary>The dedupe key the reference uses: type and event_id (§6.5).</summary>
    public string DedupeKey => $"{Type}:{EventId}";

    /// <summary>The envelope schema (errors are dropped, never closing the connection).</summary>
    public static SporeSchema Schema(TimeProvider? time = null) => new("control event",
        new("type", FieldKind.String), new("payload", FieldKind.Object), new("node_id", FieldKind.String),
        new("timestamp", FieldKind.Int, () => SporeSigning.Now(time)), new("signature", FieldKind.String, () => ""),
        new("id", FieldKind.String, () => ""), new("version", FieldKind.Int, () => 1));

    /// <summary>
    /// Parses a control message of type <paramref name="messageType"/>: envelope schema, type match, our payload schema
    /// (§5.2, including the event_id spelling). Every failure is a drop that keeps the connection.
    /// </summary>
    public static ControlEvent Parse(string messageType, JsonValue payload, TimeProvider? time = null)
    {
        var o = Schema(time).Normalize(payload, sorted: false, schemaErrorsClose: false);
        var type = o["type"].AsString();
        if (type != messageType)
            throw new SporeFormatException(new SporeRejection(SporeReason.EventTypeMismatch,
                $"control event type \"{type}\" differs from the message type \"{messageType}\""));
        if (Array.IndexOf(ControlTypes.All, type) < 0)
            throw new SporeFormatException(new SporeRejection(SporeReason.BadControlPayload, $"unknown control event type \"{type}\""));
        JsonObject p;
        try
        {
            p = ControlTypes.PayloadSchema(type).Normalize(o["payload"], sorted: false, schemaErrorsClose: false);
        }
        catch (SporeFormatException e)
        {
            throw new SporeFormatException(e.Rejection with { Reason = SporeReason.BadControlPayload, ClosesConnection = false });
        }
        if (type == ControlTypes.Dispute && p["outcome"].AsString() is not ("upheld" or "rejected"))
            throw new SporeFormatException(new SporeRejection(SporeReason.BadControlPayload, $"dispute outcome must be upheld or rejected, found \"{p["outcome"].AsString()}\""));
        var want = ControlTypes.ExpectedEventId(type, p);
        if (p["event_id"].AsString() != want)
            throw new SporeFormatException(new SporeRejection(SporeReason.BadControlPayload,
                $"{type} event_id must be \"{want}\", found \"{p["event_id"].AsString()}\""));
        // Keep the payload exactly as received (its member order does not matter: canonical bytes sort it).
        return new ControlEvent(o);
    }

    /// <summary>Id, signature and actor checks (§5.1). Null when valid.</summary>
    public SporeRejection? Verify()
    {
        var r = SporeSigning.Check($"{Type} event", Id, NodeId, SporeSigning.Str(Json, "signature"), SporeJson.CanonicalWithout(Json, "id", "signature"));
        if (r is not null) return r;
        var actorKey = ControlTypes.ActorKey(Type);
        var actor = Payload[actorKey].AsString();
        return actor == NodeId ? null : new SporeRejection(SporeReason.ActorNotSigner,
            $"{Type} payload.{actorKey} \"{actor}\" is not the signer \"{NodeId}\"; only the actor may sign its own event");
    }

    /// <summary>Builds and signs an event; <paramref name="payload"/>'s event_id is filled in if missing.</summary>
    public static ControlEvent Create(string type, JsonObject payload, long timestamp, NodeKey key)
    {
        var p = new JsonObject { ["event_id"] = "" };
        foreach (var (k, v) in payload) p[k] = v;
        if (p["event_id"] is JsonString { Value: "" }) p["event_id"] = ControlTypes.ExpectedEventId(type, p);
        var o = new JsonObject
        {
            ["type"] = type, ["payload"] = p, ["node_id"] = key.NodeId.ToString(), ["timestamp"] = timestamp,
            ["signature"] = "", ["id"] = "", ["version"] = 1,
        };
        var c = SporeJson.CanonicalWithout(o, "id", "signature");
        o["signature"] = SporeSigning.SignHex(key, c);
        o["id"] = SporeJson.Sha256Hex(c);
        return Parse(type, o);
    }
}
