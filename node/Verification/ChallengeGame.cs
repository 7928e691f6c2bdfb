using Federation.Registry.Json;
using Federation.Router;
using RouterGate = Federation.Router.Verification;

namespace Federation.Node.Verification;

/// <summary>How a challenge ended.</summary>
public enum ChallengeOutcome
{
    /// <summary>The re-run checker refuted the ledgered answer: the specialist loses.</summary>
    ChallengerWon,
    /// <summary>The re-run checker confirmed the ledgered answer: the challenger loses.</summary>
    SpecialistWon,
}

/// <summary>The neutral re-check of one ledgered answer.</summary>
/// <param name="Outcome">Who won.</param>
/// <param name="Topic">The entry's routed topic.</param>
/// <param name="Specialist">The specialist that gave the answer (the first of a panel: the one whose answer was released).</param>
/// <param name="Checks">Every class-A checker's result on the ledgered answer.</param>
/// <param name="Detail">In words.</param>
public sealed record ChallengeVerdict(ChallengeOutcome Outcome, string Topic, string Specialist, IReadOnlyList<CheckResult> Checks, string Detail);

/// <summary>A challenge that cannot be decided, with the reason and what to do (HTTP 400/422).</summary>
public sealed class ChallengeException(string code, string message, string? param = null) : Exception(message)
{
    /// <summary>Stable error code, e.g. <c>challenge.not_checkable</c>.</summary>
    public string Code { get; } = code;
    /// <summary>The request field at fault, if one is.</summary>
    public string? Param { get; } = param;
}

/// <summary>
/// The challenge game (seed §9.3), class-A route: a disputed <c>answer</c> ledger entry is re-checked from the entry alone
/// — its policy CID, topic and the policy's class-A checkers, re-run on the ledgered question and answer (stored bodies,
/// or texts the challenger supplies that hash to the entry's <c>query_sha256</c>/<c>answer_sha256</c>). Pure and
/// deterministic, so anyone holding the entry can re-judge it. A checker that refutes the answer makes the challenger
/// win; one that confirms it makes the specialist win; no applicable checker leaves it undecidable.
/// </summary>
public static class ChallengeGame
{
    /// <summary>Judges the entry payload <paramref name="entry"/> (at <paramref name="index"/>) under <paramref name="policy"/>.</summary>
    /// <exception cref="ChallengeException">The entry cannot be judged (wrong type or policy, bodies missing or not matching, nothing checkable).</exception>
    public static ChallengeVerdict Judge(JsonObject entry, long index, RoutingPolicy policy, string? query, string? answer, RouterGate.CheckerCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(policy);
        var cid = Str(entry, "policy_cid");
        if (cid != policy.Cid)
            throw new ChallengeException("challenge.policy_mismatch", $"ledger entry {index} was answered under policy {cid}, the judge runs policy {policy.Cid}; re-judge it under the entry's policy.", "ledger_index");
        var topicId = entry.TryGetValue("route", out var r) && r is JsonObject ro ? Str(ro, "topic") : null;
        if (topicId is null || !policy.TopicsById.TryGetValue(topicId, out var topic))
            throw new ChallengeException("challenge.not_an_answer", $"ledger entry {index} names no topic of policy {policy.Cid}.", "ledger_index");
        var specialist = entry.TryGetValue("specialists", out var sv) && sv is JsonArray sa && sa.Count > 0 && sa[0] is JsonObject so ? Str(so, "id") : null;
        if (specialist is null) throw new ChallengeException("challenge.not_an_answer", $"ledger entry {index} names no specialist.", "ledger_index");
        var q = Body(entry, "query", "query_sha256", query, index);
        var a = Body(entry, "answer", "answer_sha256", answer, index);
        if (topic.Checkers.Count == 0)
            throw new ChallengeException("challenge.not_checkable",
                $"topic '{topic.Id}' has no class-A checker in policy {policy.Cid}, so the answer of ledger entry {index} cannot be re-checked; replaying it through the engine needs the generation parameters in the ledger, which answer entries do not record yet.", "ledger_index");
        var c = catalog ?? RouterGate.CheckerCatalog.Builtin;
        var checks = topic.Checkers.Select(n => CheckResult.From(c.Get(n).Check(q, a))).ToList();
        var failed = checks.Where(x => x.Outcome == CheckOutcome.Failed).ToList();
        if (failed.Count > 0)
            return new ChallengeVerdict(ChallengeOutcome.ChallengerWon, topic.Id, specialist, checks,
                $"the class-A checker refutes the answer of ledger entry {index}: {string.Join("; ", failed.Select(x => $"{x.Checker}: {x.Detail}"))}");
        if (checks.Any(x => x.Outcome == CheckOutcome.Passed))
            return new ChallengeVerdict(ChallengeOutcome.SpecialistWon, topic.Id, specialist, checks,
                $"the class-A checker confirms the answer of ledger entry {index}: {string.Join("; ", checks.Select(x => $"{x.Checker}: {x.Detail}"))}");
        throw new ChallengeException("challenge.not_checkable",
            $"no checker of topic '{topic.Id}' applies to the answer of ledger entry {index} ({string.Join("; ", checks.Select(x => $"{x.Checker}: {x.Detail}"))}); it cannot be decided by re-checking.", "ledger_index");
    }

    private static string Body(JsonObject entry, string field, string hashField, string? supplied, long index)
    {
        if (entry.TryGetValue(field, out var v) && v is JsonString s) return s.Value;
        var hash = Str(entry, hashField);
        if (supplied is null)
            throw new ChallengeException("challenge.body_missing", $"ledger entry {index} does not store the {field} (the node runs without --store-bodies); send it as '{field}' (its SHA-256 must equal the entry's {hashField}).", field);
        if (hash is null || Answering.AnswerRecord.Sha256(supplied) != hash)
            throw new ChallengeException("challenge.body_mismatch", $"'{field}' hashes to {Answering.AnswerRecord.Sha256(supplied)}, but ledger entry {index} has {hashField} {hash ?? "null"}; send the exact text.", field);
        return supplied;
    }

    private static string? Str(JsonObject o, string key) => o.TryGetValue(key, out var v) && v is JsonString s ? s.Value : null;
}
