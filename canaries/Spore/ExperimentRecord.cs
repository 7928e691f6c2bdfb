using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>Record status (notes §3.1).</summary>
public static class RecordStatus
{
    /// <summary>Improved on the parent and kept.</summary>
    public const string Keep = "keep";
    /// <summary>Ran but did not improve.</summary>
    public const string Discard = "discard";
    /// <summary>Did not produce a metric.</summary>
    public const string Crash = "crash";

    /// <summary>Whether <paramref name="s"/> is one of the three values.</summary>
    public static bool IsValid(string s) => s is Keep or Discard or Crash;
}

/// <summary>
/// A validated experiment record (notes §3): the 24 keys of the closed schema, held as JSON so integers and floats keep
/// their token kind. Immutable once built; <see cref="Json"/> is in sorted key order, as the reference sends it.
/// </summary>
public sealed class ExperimentRecord
{
    private ExperimentRecord(JsonObject json) => Json = json;

    /// <summary>All 24 keys, sorted (the wire payload).</summary>
    public JsonObject Json { get; }

    /// <summary>The record CID.</summary>
    public string Id => SporeSigning.Str(Json, "id");
    /// <summary>The parent CID, or null for a root.</summary>
    public string? Parent => Json["parent"] is JsonString s ? s.Value : null;
    /// <summary>Distance from the root.</summary>
    public long Depth => SporeSigning.Int(Json, "depth");
    /// <summary>SHA-256 of the full artifact.</summary>
    public string CodeCid => SporeSigning.Str(Json, "code_cid");
    /// <summary>Unified diff from the parent's artifact.</summary>
    public string Diff => SporeSigning.Str(Json, "diff");
    /// <summary>The primary metric (whatever the task calls it).</summary>
    public double ValBpb => Json["val_bpb"].AsDouble();
    /// <summary>keep / discard / crash.</summary>
    public string Status => SporeSigning.Str(Json, "status");
    /// <summary>Free-text GPU model.</summary>
    public string GpuModel => SporeSigning.Str(Json, "gpu_model");
    /// <summary>The publisher's public key (hex).</summary>
    public string NodeId => SporeSigning.Str(Json, "node_id");
    /// <summary>The task id as carried (may be "" for legacy v1 records).</summary>
    public string TaskId => SporeSigning.Str(Json, "task_id");
    /// <summary>Unix seconds (publisher's clock).</summary>
    public long Timestamp => SporeSigning.Int(Json, "timestamp");
    /// <summary>1 (legacy, task_id unsigned) or 2.</summary>
    public long Version => SporeSigning.Int(Json, "version");
    /// <summary>Time budget in seconds.</summary>
    public long TimeBudget => SporeSigning.Int(Json, "time_budget");
    /// <summary>Free text.</summary>
    public string Description => SporeSigning.Str(Json, "description");
    /// <summary>Free text: the agent (for our records, the specialist) that proposed the change.</summary>
    public string AgentModel => SporeSigning.Str(Json, "agent_model");

    /// <summary>The closed schema (notes §3.1); <c>timestamp</c> defaults to the receiver's clock, as in the reference.</summary>
    public static SporeSchema Schema(TimeProvider? time = null) => new("experiment record",
        new("parent", FieldKind.NullableString), new("depth", FieldKind.Int), new("code_cid", FieldKind.String),
        new("diff", FieldKind.String), new("dataset_cid", FieldKind.String), new("prepare_cid", FieldKind.String),
        new("time_budget", FieldKind.Int), new("val_bpb", FieldKind.Float), new("peak_vram_mb", FieldKind.Float),
        new("num_steps", FieldKind.Int), new("num_params", FieldKind.Int), new("status", FieldKind.String),
        new("description", FieldKind.String), new("hypothesis", FieldKind.String), new("agent_model", FieldKind.String),
        new("gpu_model", FieldKind.String), new("cuda_version", FieldKind.String), new("torch_version", FieldKind.String),
        new("node_id", FieldKind.String), new("task_id", FieldKind.String, () => ""),
        new("timestamp", FieldKind.Int, () => SporeSigning.Now(time)), new("signature", FieldKind.String, () => ""),
        new("id", FieldKind.String, () => ""), new("version", FieldKind.Int, () => 1));

    /// <summary>
    /// Parses a record payload (§3.4 step 1): closed schema (unknown/missing key, bad status close the connection) and
    /// our type check (refused, connection kept). Does not check the CID or signature: see <see cref="Verify"/>.
    /// </summary>
    public static ExperimentRecord Parse(JsonValue payload, TimeProvider? time = null)
    {
        var o = Schema(time).Normalize(payload, sorted: true);
        if (o["status"] is JsonString s && !RecordStatus.IsValid(s.Value))
            throw new SporeFormatException(new SporeRejection(SporeReason.BadStatus,
                $"experiment record status must be keep, discard or crash, found \"{s.Value}\"", true));
        return new ExperimentRecord(o);
    }

    /// <summary>The canonical bytes that are hashed and signed (§3.2: v1 leaves task_id out).</summary>
    public static byte[] CanonicalBytes(JsonObject record) =>
        record["version"] is JsonInt v && v.Value < 2
            ? SporeJson.CanonicalWithout(record, "id", "signature", "task_id")
            : SporeJson.CanonicalWithout(record, "id", "signature");

    /// <summary>The canonical bytes of this record.</summary>
    public byte[] CanonicalBytes() => CanonicalBytes(Json);

    /// <summary>§3.4 steps 3–4: CID, then signature. Null when valid.</summary>
    public SporeRejection? Verify() =>
        SporeSigning.Check("experiment record", Id, NodeId, SporeSigning.Str(Json, "signature"), CanonicalBytes());

    /// <summary>A copy with <c>task_id</c> replaced (only meaningful for v1 records, whose hash excludes it; §4.4).</summary>
    public ExperimentRecord WithTaskId(string taskId)
    {
        var copy = new JsonObject(Json) { ["task_id"] = taskId };
        return new ExperimentRecord(copy);
    }

    /// <summary>Builds and signs a record: fills node_id, computes id and signature (v2 unless <paramref name="fields"/> says otherwise).</summary>
    public static ExperimentRecord Create(RecordFields fields, NodeKey key)
    {
        var o = new JsonObject
        {
            ["agent_model"] = fields.AgentModel,
            ["code_cid"] = fields.CodeCid,
            ["cuda_version"] = fields.CudaVersion,
            ["dataset_cid"] = fields.DatasetCid,
            ["depth"] = fields.Depth,
            ["description"] = fields.Description,
            ["diff"] = fields.Diff,
            ["gpu_model"] = fields.GpuModel,
            ["hypothesis"] = fields.Hypothesis,
            ["id"] = "",
            ["node_id"] = key.NodeId.ToString(),
            ["num_params"] = fields.NumParams,
            ["num_steps"] = fields.NumSteps,
            ["parent"] = fields.Parent,
            ["peak_vram_mb"] = new JsonFloat(fields.PeakVramMb),
            ["prepare_cid"] = fields.PrepareCid,
            ["signature"] = "",
            ["status"] = fields.Status,
            ["task_id"] = fields.TaskId,
            ["time_budget"] = fields.TimeBudget,
            ["timestamp"] = fields.Timestamp,
            ["torch_version"] = fields.TorchVersion,
            ["val_bpb"] = new JsonFloat(fields.ValBpb),
            ["version"] = fields.Version,
        };
        var c = CanonicalBytes(o);
        o["id"] = SporeJson.Sha256Hex(c);
        o["signature"] = SporeSigning.SignHex(key, c);
        return Parse(o);
    }
}

/// <summary>The author-chosen fields of a record (everything but node_id, id, signature).</summary>
public sealed record RecordFields
{
    /// <summary>Parent CID (null for a root).</summary>
    public string? Parent { get; init; }
    /// <summary>Depth.</summary>
    public long Depth { get; init; }
    /// <summary>Artifact SHA-256.</summary>
    public string CodeCid { get; init; } = "";
    /// <summary>Diff from the parent.</summary>
    public string Diff { get; init; } = "";
    /// <summary>Dataset id.</summary>
    public string DatasetCid { get; init; } = "";
    /// <summary>Evaluator SHA-256.</summary>
    public string PrepareCid { get; init; } = "";
    /// <summary>Seconds.</summary>
    public long TimeBudget { get; init; } = 300;
    /// <summary>The metric.</summary>
    public double ValBpb { get; init; }
    /// <summary>Peak memory, MB.</summary>
    public double PeakVramMb { get; init; }
    /// <summary>Steps.</summary>
    public long NumSteps { get; init; }
    /// <summary>Parameters.</summary>
    public long NumParams { get; init; }
    /// <summary>keep/discard/crash.</summary>
    public string Status { get; init; } = RecordStatus.Keep;
    /// <summary>What was tried.</summary>
    public string Description { get; init; } = "";
    /// <summary>Why.</summary>
    public string Hypothesis { get; init; } = "";
    /// <summary>Proposer.</summary>
    public string AgentModel { get; init; } = "none";
    /// <summary>GPU model (CPU for CPU runs).</summary>
    public string GpuModel { get; init; } = "CPU";
    /// <summary>CUDA version.</summary>
    public string CudaVersion { get; init; } = "";
    /// <summary>Torch version.</summary>
    public string TorchVersion { get; init; } = "";
    /// <summary>Task id.</summary>
    public string TaskId { get; init; } = "";
    /// <summary>Unix seconds.</summary>
    public long Timestamp { get; init; }
    /// <summary>2 (current) or 1 (legacy).</summary>
    public long Version { get; init; } = 2;
}
