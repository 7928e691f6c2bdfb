using System.Diagnostics.CodeAnalysis;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Registry.Catalog;

/// <summary>What a catalog record describes.</summary>
public enum CatalogKind
{
    /// <summary>A frozen base model (GGUF).</summary>
    Base,
    /// <summary>A LoRA adapter for one base (GGUF).</summary>
    Adapter,
}

/// <summary>
/// A registry catalog record (issue 9 §Registry): a base or an adapter, named, identified by the CID of its GGUF,
/// with the CIDs of its recipe and signed provenance manifest and, for an adapter, its acceptance results. Signed by
/// the producer as a <see cref="SignedEnvelope"/> of type <c>catalog.base</c> / <c>catalog.adapter</c>; the payload is
/// <c>{"acceptance","base_cid","cid","kind","manifest","name","recipe","topic"}</c> (docs/formats.md). The envelope is
/// appended to the ledger as the payload of an entry of the same type.
/// </summary>
public sealed record CatalogRecord(CatalogKind Kind, string Name, Cid FileCid, Cid? BaseCid, string? Topic, Cid RecipeCid, Cid ManifestId, JsonValue? Acceptance)
{
    public const string BaseType = "catalog.base";
    public const string AdapterType = "catalog.adapter";

    /// <summary>The envelope (and ledger entry) type for <paramref name="kind"/>.</summary>
    public static string TypeOf(CatalogKind kind) => kind == CatalogKind.Base ? BaseType : AdapterType;

    /// <summary>The payload as canonical-JSON-ready object.</summary>
    public JsonObject ToPayload() => new()
    {
        ["kind"] = Kind == CatalogKind.Base ? "base" : "adapter",
        ["name"] = Name,
        ["cid"] = FileCid.ToString(),
        ["base_cid"] = BaseCid?.ToString(),
        ["topic"] = Topic,
        ["recipe"] = RecipeCid.ToString(),
        ["manifest"] = ManifestId.ToString(),
        ["acceptance"] = Acceptance ?? JsonNull.Instance,
    };

    /// <summary>Signs the record with the producer's key.</summary>
    public SignedEnvelope Sign(NodeKey producer)
    {
        if (Kind == CatalogKind.Adapter && BaseCid is null) throw new ArgumentException($"adapter record '{Name}' needs the CID of its base.");
        return SignedEnvelope.Seal(TypeOf(Kind), ToPayload(), producer);
    }

    /// <summary>Verifies the envelope (id and signature) and reads the record; false with the reason otherwise.</summary>
    public static bool TryOpen(SignedEnvelope envelope, [NotNullWhen(true)] out CatalogRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        var check = envelope.Verify();
        if (!check.IsValid)
        {
            error = $"catalog record {envelope.Id} does not verify: {check}";
            return false;
        }
        if (envelope.Type is not (BaseType or AdapterType))
        {
            error = $"expected an envelope of type {BaseType} or {AdapterType}, found \"{envelope.Type}\".";
            return false;
        }
        try
        {
            var o = envelope.Payload.AsObject();
            var kind = o["kind"].AsString() switch
            {
                "base" => CatalogKind.Base,
                "adapter" => CatalogKind.Adapter,
                var k => throw new FormatException($"kind must be \"base\" or \"adapter\", found \"{k}\""),
            };
            if (TypeOf(kind) != envelope.Type) throw new FormatException($"kind \"{o["kind"].AsString()}\" does not match the envelope type {envelope.Type}");
            record = new CatalogRecord(kind, o["name"].AsString(), Cid.Parse(o["cid"].AsString()),
                o["base_cid"] is JsonString b ? Cid.Parse(b.Value) : null,
                o["topic"] is JsonString t ? t.Value : null,
                Cid.Parse(o["recipe"].AsString()), Cid.Parse(o["manifest"].AsString()),
                o["acceptance"] is JsonNull ? null : o["acceptance"]);
            error = null;
            return true;
        }
        catch (Exception e) when (e is FormatException or KeyNotFoundException or InvalidOperationException)
        {
            error = $"catalog record {envelope.Id} is malformed: {e.Message}";
            return false;
        }
    }
}
