using Federation.Node.Hosting;

namespace Federation.Node.Explorer;

/// <summary>
/// What the node knows of a specialist's provenance, for the review and explorer pages: the exact base and adapter CIDs
/// it runs, and the lineage and jurisdiction its routing policy declares. <see cref="ManifestCid"/> is null until the
/// production line signs provenance manifests; the pages then say "not signed yet" instead of presenting the policy's
/// declaration as signed.
/// </summary>
/// <param name="Source">Where <see cref="Lineage"/> and <see cref="Jurisdiction"/> come from, in words.</param>
public sealed record SpecialistProvenance(string Id, string BaseCid, string AdapterCid, string Lineage, string Jurisdiction,
    string? ManifestCid, string? ManifestSigner, string Source)
{
    /// <summary>Shown in place of the manifest fields while none is signed.</summary>
    public const string NotSignedYet = "not signed yet";

    /// <summary>True when a signed provenance manifest backs the lineage and jurisdiction.</summary>
    public bool Signed => ManifestCid is not null;

    /// <summary>
    /// The one accessor both pages use. Today: the runtime's binding (CIDs) and the policy's declaration (lineage,
    /// jurisdiction). When signed manifests land, fill <see cref="ManifestCid"/>/<see cref="ManifestSigner"/> here.
    /// </summary>
    public static SpecialistProvenance? Of(NodeRuntime rt, string specialistId)
    {
        ArgumentNullException.ThrowIfNull(rt);
        if (!rt.Specialists.TryGetValue(specialistId, out var b)) return null;
        return new SpecialistProvenance(b.Ref.Id, b.BaseCid, b.AdapterCid, b.Ref.BaseLineage, b.Ref.Jurisdiction, null, null,
            $"declared by the routing policy, {Path.GetFileName(b.Ref.Position.Source)}:{b.Ref.Position.Line}");
    }
}
