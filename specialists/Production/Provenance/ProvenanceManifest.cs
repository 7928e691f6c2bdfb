using System.Diagnostics.CodeAnalysis;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Specialists.Gguf;

namespace Federation.Specialists.Production.Provenance;

/// <summary>The base-lineage axis: family name, parent model (null for a from-scratch base), seed and corpus mix.</summary>
public sealed record BaseLineage(string Lineage, Cid? ParentCid, ulong Seed, IReadOnlyList<(Cid Dataset, double Weight)> CorpusMix);

/// <summary>The operator-and-jurisdiction axis: who produced it, under which jurisdiction (ISO 3166 alpha-2 or EU).</summary>
public sealed record OperatorInfo(string Name, string Jurisdiction);

/// <summary>The methodology axis: the recipe (by CID), the training route and the options that matter for reproduction.</summary>
public sealed record Methodology(Cid RecipeCid, string Route, JsonObject Options);

/// <summary>
/// A provenance manifest on the seed's five axes (§10.1): base lineage, training-data sources (dataset CIDs),
/// architecture, operator and jurisdiction, methodology (recipe). It names its subject (a base or adapter GGUF) by CID,
/// and is signed by the producer's Ed25519 key as a <see cref="SignedEnvelope"/> of type <see cref="EnvelopeType"/>
/// over its canonical JSON (docs/formats.md). Stored next to the GGUF as <c>FILE.gguf.manifest.json</c>.
/// </summary>
public sealed record ProvenanceManifest(string SubjectKind, string SubjectName, Cid SubjectCid, BaseLineage Lineage,
    IReadOnlyList<Cid> TrainingData, JsonObject Architecture, OperatorInfo Operator, Methodology Methodology)
{
    public const string EnvelopeType = "provenance.manifest";

    /// <summary>Where the manifest of <paramref name="ggufPath"/> lives.</summary>
    public static string PathFor(string ggufPath) => ggufPath + ".manifest.json";

    /// <summary>The architecture axis read from a GGUF's header (preset-independent).</summary>
    public static JsonObject ArchitectureOf(string ggufPath)
    {
        var f = GgufFile.Read(ggufPath);
        var arch = f.GetStringOrNull("general.architecture") ?? "unknown";
        var o = new JsonObject
        {
            ["arch"] = arch,
            ["kind"] = f.GetStringOrNull("general.type") ?? "model",
            ["parameters"] = f.ParameterCount,
            ["tensors"] = f.Tensors.Count,
        };
        foreach (var k in new[] { "block_count", "embedding_length", "feed_forward_length", "attention.head_count", "context_length" })
            if (f.TryGetValue($"{arch}.{k}", out var v)) o[k] = v.ToDisplayString();
        return o;
    }

    public JsonObject ToPayload() => new()
    {
        ["subject"] = new JsonObject { ["kind"] = SubjectKind, ["name"] = SubjectName, ["cid"] = SubjectCid.ToString() },
        ["base_lineage"] = new JsonObject
        {
            ["lineage"] = Lineage.Lineage,
            ["parent_cid"] = Lineage.ParentCid?.ToString(),
            ["seed"] = Lineage.Seed,
            ["corpus_mix"] = new JsonArray(Lineage.CorpusMix.Select(m => (JsonValue)new JsonObject { ["dataset"] = m.Dataset.ToString(), ["weight"] = m.Weight })),
        },
        ["training_data"] = new JsonArray(TrainingData.Select(c => (JsonValue)c.ToString())),
        ["architecture"] = Architecture,
        ["operator"] = new JsonObject { ["name"] = Operator.Name, ["jurisdiction"] = Operator.Jurisdiction },
        ["methodology"] = new JsonObject { ["recipe"] = Methodology.RecipeCid.ToString(), ["route"] = Methodology.Route, ["options"] = Methodology.Options },
    };

    /// <summary>Signs the manifest with the producer's key.</summary>
    public SignedEnvelope Sign(NodeKey producer) => SignedEnvelope.Seal(EnvelopeType, ToPayload(), producer);

    /// <summary>Signs and writes the manifest next to <paramref name="ggufPath"/> (temp name, then moved); returns the envelope.</summary>
    public SignedEnvelope SignAndWrite(NodeKey producer, string ggufPath)
    {
        var env = Sign(producer);
        var path = PathFor(ggufPath);
        File.WriteAllBytes(path + ".tmp", env.ToCanonicalBytes());
        File.Move(path + ".tmp", path, overwrite: true);
        return env;
    }

    /// <summary>Reads the manifest from a verified envelope's payload.</summary>
    public static bool TryFromPayload(JsonValue payload, [NotNullWhen(true)] out ProvenanceManifest? manifest, [NotNullWhen(false)] out string? error)
    {
        manifest = null;
        try
        {
            var o = payload.AsObject();
            var s = o["subject"].AsObject();
            var l = o["base_lineage"].AsObject();
            var op = o["operator"].AsObject();
            var m = o["methodology"].AsObject();
            manifest = new ProvenanceManifest(s["kind"].AsString(), s["name"].AsString(), Cid.Parse(s["cid"].AsString()),
                new BaseLineage(l["lineage"].AsString(), l["parent_cid"] is JsonString p ? Cid.Parse(p.Value) : null, (ulong)l["seed"].AsBigInteger(),
                    l["corpus_mix"].AsArray().Select(x => (Cid.Parse(x["dataset"].AsString()), x["weight"] is JsonInt wi ? (double)wi.AsBigInteger() : x["weight"].AsDouble())).ToList()),
                o["training_data"].AsArray().Select(x => Cid.Parse(x.AsString())).ToList(),
                o["architecture"].AsObject(),
                new OperatorInfo(op["name"].AsString(), op["jurisdiction"].AsString()),
                new Methodology(Cid.Parse(m["recipe"].AsString()), m["route"].AsString(), m["options"].AsObject()));
            error = null;
            return true;
        }
        catch (Exception e) when (e is FormatException or KeyNotFoundException or InvalidOperationException or OverflowException)
        {
            error = $"manifest payload is malformed: {e.Message}";
            return false;
        }
    }
}

/// <summary>Why a manifest was refused.</summary>
public enum ManifestFailure
{
    None,
    /// <summary>No manifest file next to the GGUF.</summary>
    Missing,
    /// <summary>The file is not a signed envelope holding a manifest.</summary>
    Malformed,
    /// <summary>The envelope's id or signature does not verify (the manifest was altered or forged).</summary>
    SignatureInvalid,
    /// <summary>The manifest names a different file (its subject CID is not the GGUF's CID).</summary>
    SubjectMismatch,
    /// <summary>Signed by a key not among the trusted producers.</summary>
    UntrustedSigner,
}

/// <summary>The typed result of <see cref="ManifestVerifier.Verify"/>.</summary>
public sealed record ManifestCheck(ManifestFailure Failure, string Message, ProvenanceManifest? Manifest, SignedEnvelope? Envelope)
{
    public bool IsValid => Failure == ManifestFailure.None;
}

/// <summary>A specialist refused at load time because its manifest is missing or does not verify (issue 9).</summary>
public sealed class ManifestRefusedException(ManifestCheck check) : Exception(check.Message)
{
    public ManifestCheck Check { get; } = check;
}

/// <summary>Checks a GGUF's manifest before the file is trusted: present, well-formed, signed, about this very file.</summary>
public static class ManifestVerifier
{
    /// <summary>
    /// Verifies the manifest of <paramref name="ggufPath"/> whose CID is <paramref name="ggufCid"/>; when
    /// <paramref name="trustedProducers"/> is given, the signer must be one of them.
    /// </summary>
    public static ManifestCheck Verify(string ggufPath, Cid ggufCid, IReadOnlyCollection<NodeId>? trustedProducers = null)
    {
        var path = ProvenanceManifest.PathFor(ggufPath);
        if (!File.Exists(path))
            return new(ManifestFailure.Missing, $"'{ggufPath}' has no provenance manifest (expected '{path}'); a specialist without a signed manifest is not loaded. Rebuild it with its recipe (fed demo build) or remove it.", null, null);
        SignedEnvelope env;
        try
        {
            env = SignedEnvelope.Parse(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            return new(ManifestFailure.Malformed, $"'{path}' is not a signed manifest envelope: {e.Message}", null, null);
        }
        if (env.Type != ProvenanceManifest.EnvelopeType)
            return new(ManifestFailure.Malformed, $"'{path}' is a \"{env.Type}\" envelope, expected \"{ProvenanceManifest.EnvelopeType}\".", null, env);
        var check = env.Verify();
        if (!check.IsValid)
            return new(ManifestFailure.SignatureInvalid, $"the manifest '{path}' does not verify ({check}); it was altered after signing. Refusing '{ggufPath}'.", null, env);
        if (trustedProducers is not null && !trustedProducers.Contains(env.Signer))
            return new(ManifestFailure.UntrustedSigner, $"the manifest '{path}' is signed by {env.Signer}, which is not a trusted producer.", null, env);
        if (!ProvenanceManifest.TryFromPayload(env.Payload, out var m, out var err))
            return new(ManifestFailure.Malformed, $"'{path}': {err}", null, env);
        if (m.SubjectCid != ggufCid)
            return new(ManifestFailure.SubjectMismatch, $"the manifest '{path}' is for {m.SubjectCid}, but '{ggufPath}' has CID {ggufCid}; the file or its manifest was swapped.", m, env);
        return new(ManifestFailure.None, "manifest verified", m, env);
    }

    /// <summary><see cref="Verify"/>, throwing <see cref="ManifestRefusedException"/> on any failure.</summary>
    public static ProvenanceManifest Require(string ggufPath, Cid ggufCid, IReadOnlyCollection<NodeId>? trustedProducers = null)
    {
        var c = Verify(ggufPath, ggufCid, trustedProducers);
        return c.IsValid ? c.Manifest! : throw new ManifestRefusedException(c);
    }
}
