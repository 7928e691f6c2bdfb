using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>A validated, signed task manifest (notes §4). <see cref="Json"/> is in dataclass key order (the wire order).</summary>
public sealed class TaskManifest
{
    private TaskManifest(JsonObject json) => Json = json;

    /// <summary>The 15 keys in declaration order.</summary>
    public JsonObject Json { get; }

    /// <summary>The derived id.</summary>
    public string TaskId => SporeSigning.Str(Json, "task_id");
    /// <summary>Label.</summary>
    public string Name => SporeSigning.Str(Json, "name");
    /// <summary>Metric name (its value is carried in the record's val_bpb).</summary>
    public string Metric => SporeSigning.Str(Json, "metric");
    /// <summary>minimize or maximize (not validated by the reference; ignored by its frontier).</summary>
    public string Goal => SporeSigning.Str(Json, "goal");
    /// <summary>The base artifact's SHA-256.</summary>
    public string BaseCodeCid => SporeSigning.Str(Json, "base_code_cid");
    /// <summary>Seconds.</summary>
    public long TimeBudget => SporeSigning.Int(Json, "time_budget");
    /// <summary>Signer.</summary>
    public string CreatedBy => SporeSigning.Str(Json, "created_by");
    /// <summary>Unix seconds.</summary>
    public long Timestamp => SporeSigning.Int(Json, "timestamp");

    /// <summary>The closed schema (§4.1).</summary>
    public static SporeSchema Schema(TimeProvider? time = null) => new("task manifest",
        new("name", FieldKind.String), new("description", FieldKind.String), new("task_type", FieldKind.String),
        new("artifact_type", FieldKind.String), new("metric", FieldKind.String), new("goal", FieldKind.String),
        new("base_code_cid", FieldKind.String), new("prepare_cid", FieldKind.String), new("dataset_cid", FieldKind.String),
        new("time_budget", FieldKind.Int), new("created_by", FieldKind.String),
        new("timestamp", FieldKind.Int, () => SporeSigning.Now(time)), new("signature", FieldKind.String, () => ""),
        new("task_id", FieldKind.String, () => ""), new("version", FieldKind.Int, () => 1));

    /// <summary>Parses a manifest payload (schema errors close the connection; type errors do not).</summary>
    public static TaskManifest Parse(JsonValue payload, TimeProvider? time = null) =>
        new(Schema(time).Normalize(payload, sorted: false));

    /// <summary>The hashed and signed bytes (§4.2).</summary>
    public byte[] CanonicalBytes() => SporeJson.CanonicalWithout(Json, "signature", "task_id");

    /// <summary>task_id and signature check. Null when valid.</summary>
    public SporeRejection? Verify() =>
        SporeSigning.Check("task manifest", TaskId, CreatedBy, SporeSigning.Str(Json, "signature"), CanonicalBytes());

    /// <summary>Builds and signs a manifest.</summary>
    public static TaskManifest Create(string name, string description, string taskType, string artifactType, string metric,
        string goal, string baseCodeCid, string prepareCid, string datasetCid, long timeBudget, long timestamp, NodeKey key)
    {
        var o = new JsonObject
        {
            ["name"] = name, ["description"] = description, ["task_type"] = taskType, ["artifact_type"] = artifactType,
            ["metric"] = metric, ["goal"] = goal, ["base_code_cid"] = baseCodeCid, ["prepare_cid"] = prepareCid,
            ["dataset_cid"] = datasetCid, ["time_budget"] = timeBudget, ["created_by"] = key.NodeId.ToString(),
            ["timestamp"] = timestamp, ["signature"] = "", ["task_id"] = "", ["version"] = 1,
        };
        var c = SporeJson.CanonicalWithout(o, "signature", "task_id");
        o["signature"] = SporeSigning.SignHex(key, c);
        o["task_id"] = SporeJson.Sha256Hex(c);
        return Parse(o);
    }
}

/// <summary>A signed node profile (notes §5.3); display-only.</summary>
public sealed class NodeProfile
{
    private NodeProfile(JsonObject json) => Json = json;

    /// <summary>The 10 keys in declaration order.</summary>
    public JsonObject Json { get; }

    /// <summary>Signer.</summary>
    public string NodeId => SporeSigning.Str(Json, "node_id");
    /// <summary>Profile id.</summary>
    public string Id => SporeSigning.Str(Json, "id");
    /// <summary>Unix seconds.</summary>
    public long Timestamp => SporeSigning.Int(Json, "timestamp");

    /// <summary>The closed schema (every key but node_id has a default).</summary>
    public static SporeSchema Schema(TimeProvider? time = null) => new("profile",
        new("node_id", FieldKind.String), new("display_name", FieldKind.String, () => ""), new("bio", FieldKind.String, () => ""),
        new("website", FieldKind.String, () => ""), new("avatar_url", FieldKind.String, () => ""),
        new("donation_address", FieldKind.String, () => ""), new("timestamp", FieldKind.Int, () => SporeSigning.Now(time)),
        new("signature", FieldKind.String, () => ""), new("id", FieldKind.String, () => ""), new("schema_version", FieldKind.Int, () => 1));

    /// <summary>Parses a profile payload.</summary>
    public static NodeProfile Parse(JsonValue payload, TimeProvider? time = null) => new(Schema(time).Normalize(payload, sorted: false));

    /// <summary>Id and signature check. Null when valid.</summary>
    public SporeRejection? Verify() => SporeSigning.Check("profile", Id, NodeId, SporeSigning.Str(Json, "signature"),
        SporeJson.CanonicalWithout(Json, "id", "signature"));

    /// <summary>Builds and signs a profile.</summary>
    public static NodeProfile Create(string displayName, string bio, long timestamp, NodeKey key)
    {
        var o = new JsonObject
        {
            ["node_id"] = key.NodeId.ToString(), ["display_name"] = displayName, ["bio"] = bio, ["website"] = "",
            ["avatar_url"] = "", ["donation_address"] = "", ["timestamp"] = timestamp, ["signature"] = "", ["id"] = "", ["schema_version"] = 1,
        };
        var c = SporeJson.CanonicalWithout(o, "id", "signature");
        o["signature"] = SporeSigning.SignHex(key, c);
        o["id"] = SporeJson.Sha256Hex(c);
        return Parse(o);
    }
}
