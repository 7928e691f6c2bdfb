using Federation.Node.Hosting;

namespace Federation.Node.Explorer;

/// <summary>
/// What the node knows of a specialist's provenance, for the review and explorer pages: the exact base and adapter CIDs
/// it runs, and its lineage and jurisdiction: from its signed provenance manifest when one verifies, else the routing
/// policy's declaration with <see cref="ManifestCid"/> null, which the pages show as "not signed yet".
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
    /// The one accessor both pages use: the runtime's binding (CIDs); lineage and jurisdiction from the adapter's signed
    /// provenance manifest when it has one that verifies (demo federation, docs/production-line.md), otherwise the
    /// routing policy's declaration, marked "not signed yet".
    /// </summary>
    public static SpecialistProvenance? Of(NodeRuntime rt, string specialistId)
    {
        ArgumentNullException.ThrowIfNull(rt);
        if (!rt.Specialists.TryGetValue(specialistId, out var b)) return null;
        if (Federation.Registry.Cid.TryParse(b.AdapterCid, out var cid)
            && File.Exists(Federation.Specialists.Production.Provenance.ProvenanceManifest.PathFor(b.AdapterPath)))
        {
            var check = Federation.Specialists.Production.Provenance.ManifestVerifier.Verify(b.AdapterPath, cid, [rt.Key.Id]);
            if (check.IsValid && check.Manifest is { } m && check.Envelope is { } env)
                return new SpecialistProvenance(b.Ref.Id, b.BaseCid, b.AdapterCid, m.Lineage.Lineage, m.Operator.Jurisdiction,
                    env.Id.ToString(), env.Signer.ToString(), "signed provenance manifest");
        }
        return new SpecialistProvenance(b.Ref.Id, b.BaseCid, b.AdapterCid, b.Ref.BaseLineage, b.Ref.Jurisdiction, null, null,
            $"declared by the routing policy, {Path.GetFileName(b.Ref.Position.Source)}:{b.Ref.Position.Line}");
    }
}
