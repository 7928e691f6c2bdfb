using Federation.Governance.Diip;
using Federation.Registry;
using Federation.Specialists.Models;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Specialists.Production;
using Federation.Specialists.Production.Provenance;
using Federation.Specialists.Training;

namespace Federation.Node.Diip;

/// <summary>What <see cref="DiipReproducer"/> found.</summary>
/// <param name="Reproduced">true: the retrained weights have the candidate's CID; false: they do not (misrepresentation); null: not retrained.</param>
/// <param name="ProvenanceComplete">The recipe names base, examples and every option, the files are here, and the signed manifest covers them.</param>
/// <param name="RetrainedCid">The CID the retraining produced, when it ran.</param>
/// <param name="Detail">One line saying what was compared, or what is missing.</param>
public sealed record ReproductionReport(bool? Reproduced, bool ProvenanceComplete, string? RetrainedCid, string Detail);

/// <summary>
/// <c>fed diip reproduce ID</c> and the gauntlet's reproducibility step (seed §10.2): checks the candidate's provenance
/// (recipe complete, base and examples present by CID, the signed manifest names this candidate, this base, these
/// examples and this recipe), then retrains the adapter from the recipe with the production line's trainer
/// (<see cref="TrainerSelection"/>) and compares the weights' CID. The training route is deterministic for the same
/// inputs and threads (docs/production-line.md), so a different CID means the weights did not come from the recipe.
/// </summary>
public sealed class DiipReproducer(DiipArtifacts artifacts)
{
    /// <summary>Checks provenance only (no training); null when complete, else what is missing.</summary>
    public string? CheckProvenance(DiipProposal p, SignedEnvelope proposalEnvelope, out DiipAdapterRecipe? recipe, out string? candidatePath)
    {
        recipe = null;
        candidatePath = null;
        if (p.CandidateKind != DiipCandidateKind.Adapter) return "only adapter candidates are retrained here; a base candidate is reproduced by the base's own recipe";
        recipe = DiipAdapterRecipe.TryParse(p.Recipe, out var err);
        if (recipe is null) return err;
        candidatePath = artifacts.Find(p.Candidate);
        if (candidatePath is null) return $"the candidate weights {p.Candidate} are not in {artifacts.Root}";
        if (artifacts.Find(recipe.Base) is null) return $"the recipe's base {recipe.Base} is not in {artifacts.Root}";
        if (artifacts.Find(recipe.Examples) is null) return $"the recipe's training examples {recipe.Examples} are not in {artifacts.Root}";
        var m = ManifestVerifier.Verify(candidatePath, Cid.Parse(p.Candidate), [proposalEnvelope.Signer]);
        if (!m.IsValid) return "provenance manifest: " + m.Message;
        if (m.Envelope!.Id.ToString() != p.ProvenanceManifest) return $"the proposal names manifest {p.ProvenanceManifest}, the candidate's signed manifest is {m.Envelope.Id}";
        var man = m.Manifest!;
        var r = recipe;
        if (man.Lineage.ParentCid?.ToString() != r.Base) return $"the manifest's base {man.Lineage.ParentCid} is not the recipe's base {r.Base}";
        if (!man.TrainingData.Any(d => d.ToString() == r.Examples)) return $"the manifest's training data does not include the recipe's examples {r.Examples}";
        if (man.Methodology.RecipeCid != r.Cid) return $"the manifest's methodology names recipe {man.Methodology.RecipeCid}, the proposal's recipe is {r.Cid}";
        return null;
    }

    /// <summary>Retrains and compares; <paramref name="workDir"/> receives the retrained file (deleted afterwards).</summary>
    public ReproductionReport Reproduce(DiipProposal p, SignedEnvelope proposalEnvelope, string workDir, CancellationToken ct = default)
    {
        var problem = CheckProvenance(p, proposalEnvelope, out var recipe, out _);
        if (problem is not null) return new ReproductionReport(null, false, null, "provenance incomplete: " + problem);
        Directory.CreateDirectory(workDir);
        var outPath = Path.Combine(workDir, "reproduced-" + p.Candidate[..16] + ".gguf");
        try
        {
            var examples = TrainingExamples.ReadJsonl(artifacts.Find(recipe!.Examples)!);
            TrainerSelection.For(recipe.Route).TrainAdapter(artifacts.Find(recipe.Base)!, examples, outPath, recipe.Rank, recipe.Options, null, ct);
            var cid = FileCid.Compute(outPath).ToString();
            return cid == p.Candidate
                ? new ReproductionReport(true, true, cid, $"retrained from the recipe ({recipe.Route}, rank {recipe.Rank}, {examples.Count} examples): CID {cid} = the candidate")
                : new ReproductionReport(false, true, cid, $"retrained from the recipe: CID {cid}, but the candidate is {p.Candidate}: the weights did not come from this recipe");
        }
        finally
        {
            foreach (var f in new[] { outPath, outPath + ".loss.csv" }) if (File.Exists(f)) File.Delete(f);
        }
    }
}
