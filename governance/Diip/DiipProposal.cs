using System.Diagnostics.CodeAnalysis;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Diip;

/// <summary>Seed §10.1: three classes by blast radius. Threshold, soak length and regression breadth all scale with it.</summary>
public enum DiipClass
{
    /// <summary>Class 1: a better LoRA adapter for one existing topic (scoped, reversible, hot-swap; auto via the gauntlet).</summary>
    TopicAdapter = 1,

    /// <summary>Class 2: a base model swap or a cross-topic change (affects all topics; ≥ 51 % + quorum).</summary>
    BaseOrCrossTopic = 2,

    /// <summary>Class 3: the constitution — consensus, slashing, reputation math, thresholds, voting rules (≥ 70 % + quorum + time-lock).</summary>
    Constitution = 3,
}

/// <summary>What a proposal asks to put in place.</summary>
public enum DiipCandidateKind
{
    /// <summary>An adapter, by the CID of its weights.</summary>
    Adapter,

    /// <summary>A base model, by the CID of its weights.</summary>
    Base,

    /// <summary>A change to a policy document (routing, reputation or DIIP policy), as a unified diff or new text.</summary>
    PolicyDiff,
}

/// <summary>
/// A DIIP proposal (seed §10.6 "Submission (bond + recipe + provenance)"). It is signed by its producer as a
/// <see cref="SignedEnvelope"/> of type <see cref="EnvelopeType"/>; the envelope id is the proposal id.
/// </summary>
/// <param name="Class">Blast radius (§10.1).</param>
/// <param name="Topics">Target topic ids, at least one, sorted and distinct in the signed form.</param>
/// <param name="CandidateKind">What the candidate is.</param>
/// <param name="Candidate">Adapter or base weights CID (64 hex), or the policy diff text.</param>
/// <param name="Incumbent">The champion the candidate challenges (CID or policy CID); empty when the topic has none.</param>
/// <param name="Recipe">How to reproduce the candidate (base + dataset hash + config, §10.2 "Reproducibility &amp; provenance").</param>
/// <param name="ProvenanceManifest">CID of the provenance manifest (64 hex).</param>
/// <param name="Bond">Bond posted, in credit units; burned on a backdoor or misrepresentation (§10.3).</param>
/// <param name="Rationale">Why, in words (class 3 requires it: "rationale, public diff").</param>
public sealed record DiipProposal(
    DiipClass Class,
    IReadOnlyList<string> Topics,
    DiipCandidateKind CandidateKind,
    string Candidate,
    string Incumbent,
    string Recipe,
    string ProvenanceManifest,
    long Bond,
    string Rationale)
{
    /// <summary>The envelope type of a signed proposal.</summary>
    public const string EnvelopeType = "diip.proposal";

    /// <summary>The proposal as a canonical JSON payload.</summary>
    public JsonObject ToJson() => new()
    {
        ["class"] = (int)Class,
        ["topics"] = new JsonArray(Topics.Order(StringComparer.Ordinal).Distinct().Select(t => (JsonValue)t)),
        ["candidate_kind"] = KindName(CandidateKind),
        ["candidate"] = Candidate,
        ["incumbent"] = Incumbent,
        ["recipe"] = Recipe,
        ["provenance_manifest"] = ProvenanceManifest,
        ["bond"] = Bond,
        ["rationale"] = Rationale,
    };

    /// <summary>Signs the proposal with the producer's key.</summary>
    /// <exception cref="DiipException">The proposal is not well formed (<see cref="Validate"/>).</exception>
    public SignedEnvelope Sign(NodeKey producer)
    {
        if (Validate() is { } e) throw new DiipException(DiipErrors.ProposalInvalid, e);
        return SignedEnvelope.Seal(EnvelopeType, ToJson(), producer);
    }

    /// <summary>The first thing wrong with the proposal's shape (not policy: bonds are checked on submission), or null.</summary>
    public string? Validate()
    {
        if (!Enum.IsDefined(Class)) return $"class: expected 1 (topic adapter), 2 (base or cross-topic) or 3 (constitution), found {(int)Class}";
        if (Topics.Count == 0) return "topics: expected at least one target topic";
        foreach (var t in Topics)
            if (string.IsNullOrWhiteSpace(t) || t.Any(char.IsWhiteSpace)) return $"topics: expected topic ids without spaces, found '{t}'";
        if (Class == DiipClass.TopicAdapter && Topics.Distinct().Count() != 1)
            return $"topics: a class-1 proposal targets exactly one topic, found {Topics.Distinct().Count()}; a cross-topic change is class 2";
        switch (CandidateKind)
        {
            case DiipCandidateKind.Adapter or DiipCandidateKind.Base when !Cid.TryParse(Candidate, out _, out var err):
                return $"candidate: expected the weights' CID (64 lowercase hex), {err}";
            case DiipCandidateKind.PolicyDiff when string.IsNullOrWhiteSpace(Candidate):
                return "candidate: expected the policy diff, found nothing";
            case DiipCandidateKind.Adapter when Class != DiipClass.TopicAdapter:
                return $"class: an adapter candidate is class 1, found class {(int)Class}";
            case DiipCandidateKind.Base when Class != DiipClass.BaseOrCrossTopic:
                return $"class: a base-model candidate is class 2, found class {(int)Class}";
        }
        if (Bond < 0) return $"bond: expected a number >= 0, found {Bond}";
        if (string.IsNullOrWhiteSpace(Rationale)) return "rationale: expected a reason for the change, found nothing";
        return null;
    }

    /// <summary>Reads a proposal from its JSON payload; on failure <paramref name="error"/> names the bad member.</summary>
    public static bool TryFromJson(JsonValue json, [NotNullWhen(true)] out DiipProposal? proposal, [NotNullWhen(false)] out string? error)
    {
        proposal = null;
        error = null;
        if (json is not JsonObject o) { error = "expected the proposal as a JSON object"; return false; }
        string[] keys = ["class", "topics", "candidate_kind", "candidate", "incumbent", "recipe", "provenance_manifest", "bond", "rationale"];
        foreach (var k in o.Keys)
            if (Array.IndexOf(keys, k) < 0) { error = $"unknown member '{k}' in a proposal; expected {string.Join(", ", keys)}"; return false; }
        foreach (var k in keys)
            if (!o.TryGetValue(k, out _)) { error = $"proposal is missing '{k}'"; return false; }
        if (o["class"] is not JsonInt ci || !ci.TryGetInt64(out var cls) || cls is < 1 or > 3) { error = $"class: expected 1, 2 or 3, found {o["class"]}"; return false; }
        if (o["topics"] is not JsonArray ta || ta.Any(t => t is not JsonString)) { error = "topics: expected a list of topic ids (strings)"; return false; }
        if (o["bond"] is not JsonInt bi || !bi.TryGetInt64(out var bond)) { error = $"bond: expected an integer, found {o["bond"]}"; return false; }
        string? S(string k) => o[k] is JsonString s ? s.Value : null;
        foreach (var k in new[] { "candidate_kind", "candidate", "incumbent", "recipe", "provenance_manifest", "rationale" })
            if (S(k) is null) { error = $"{k}: expected a string, found {o[k]}"; return false; }
        if (!TryParseKind(S("candidate_kind")!, out var kind)) { error = $"candidate_kind: expected adapter, base or policy_diff, found '{S("candidate_kind")}'"; return false; }
        proposal = new DiipProposal((DiipClass)cls, ta.Select(t => t.AsString()).ToArray(), kind, S("candidate")!, S("incumbent")!,
            S("recipe")!, S("provenance_manifest")!, bond, S("rationale")!);
        if (proposal.Validate() is { } v) { error = v; proposal = null; return false; }
        return true;
    }

    /// <summary>The wire name of a candidate kind: adapter, base, policy_diff.</summary>
    public static string KindName(DiipCandidateKind k) => k switch
    {
        DiipCandidateKind.Adapter => "adapter",
        DiipCandidateKind.Base => "base",
        _ => "policy_diff",
    };

    /// <summary>Parses a candidate kind's wire name.</summary>
    public static bool TryParseKind(string s, out DiipCandidateKind kind)
    {
        (var ok, kind) = s switch
        {
            "adapter" => (true, DiipCandidateKind.Adapter),
            "base" => (true, DiipCandidateKind.Base),
            "policy_diff" => (true, DiipCandidateKind.PolicyDiff),
            _ => (false, DiipCandidateKind.Adapter),
        };
        return ok;
    }
}
