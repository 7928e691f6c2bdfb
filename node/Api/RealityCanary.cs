using Federation.Canaries;
using Federation.Canaries.Checkers;
using Federation.Canaries.Lifecycle;
using Federation.Canaries.Storage;
using Federation.Node.Answering;
using Federation.Registry.Json;

namespace Federation.Node.Api;

/// <summary>
/// Reality feedback → candidate canary (§10.4, <see cref="CanaryLifecycle.FromReality"/>): a refutation that carries the
/// correct answer (<c>expected</c>) becomes a secret class-A canary in the node's canary store
/// (<c>&lt;data-dir&gt;/canaries.db</c>), checked by <c>checker</c> (a class-A checker object) or, without one, by
/// <c>{"kind":"exact","expected":EXPECTED}</c>. The prompt is the ledger entry's stored query (<c>--store-bodies</c>) or
/// the body's <c>prompt</c>, which must hash to the entry's <c>query_sha256</c>. The checker must pass the expected
/// answer (o = 1) — the verified outcome FromReality requires — and, when the entry stores the answer, fail it.
/// </summary>
internal static class RealityCanary
{
    public static async Task<JsonObject> FromOutcomeAsync(JsonObject body, JsonValue expectedValue, JsonObject entry, string entryId, long index,
        string topic, string dataDir, CancellationToken ct)
    {
        if (expectedValue is not JsonString { Value.Length: > 0 } expected)
            throw ApiException.BadRequest("outcome.bad_expected", "'expected' must be the correct answer as a non-empty string.", "expected");
        string? prompt = entry.TryGetValue("query", out var q) && q is JsonString qs ? qs.Value : null;
        if (prompt is null)
        {
            if (!body.TryGetValue("prompt", out var pv) || pv is not JsonString { Value.Length: > 0 } ps)
                throw ApiException.BadRequest("outcome.no_prompt",
                    $"Ledger entry {index} does not store the query (the node runs without --store-bodies); send the question as 'prompt' (its SHA-256 must equal the entry's query_sha256) to turn the case into a canary.", "prompt");
            var hash = entry.TryGetValue("query_sha256", out var qh) && qh is JsonString qhs ? qhs.Value : "";
            if (AnswerRecord.Sha256(ps.Value) != hash)
                throw ApiException.BadRequest("outcome.prompt_mismatch", $"'prompt' hashes to {AnswerRecord.Sha256(ps.Value)}, but ledger entry {index} answered a query with SHA-256 {hash}; send the exact question.", "prompt");
            prompt = ps.Value;
        }
        JsonObject checker;
        if (body.TryGetValue("checker", out var cv))
        {
            if (cv is not JsonObject co || !CheckerSpec.ClassAKinds.Contains(CheckerSpec.Kind(co) ?? ""))
                throw ApiException.BadRequest("outcome.bad_checker", $"'checker' must be a class-A checker object with \"kind\" one of {string.Join(", ", CheckerSpec.ClassAKinds)}.", "checker");
            checker = co;
        }
        else checker = new JsonObject { ["kind"] = "exact", ["expected"] = expected.Value };

        Canary probe;
        try { probe = Canary.Create(topic, CanaryClass.A, prompt, checker, 0.5, 3, CanaryVisibility.Secret); }
        catch (ArgumentException e) { throw ApiException.BadRequest("outcome.bad_checker", $"The case is not a valid canary: {e.Message}", "checker"); }
        var checkerRun = new CanaryChecker();
        var outcome = await checkerRun.CheckAsync(probe, expected.Value, ct);
        if (entry.TryGetValue("answer", out var av) && av is JsonString ans
            && await checkerRun.CheckAsync(probe, ans.Value, ct) is { Status: CheckStatus.Scored, O: >= 1 })
            throw ApiException.BadRequest("outcome.not_refuted", $"The checker passes the answer ledger entry {index} released, so it cannot show that answer was wrong; send a checker that separates the two.", "checker");
        Canary canary;
        try
        {
            canary = CanaryLifecycle.FromReality(new RealityCase(topic, prompt, checker, outcome, $"ledger:{index}:{entryId}", DateTimeOffset.UtcNow));
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest("outcome.bad_expected", $"The checker does not pass the expected answer, so the case cannot become a canary: {e.Message}", "expected");
        }
        var store = new CanaryStore(Path.Combine(dataDir, "canaries.db"));
        var (rec, added) = store.Add(canary, DateTimeOffset.UtcNow);
        return new JsonObject
        {
            ["cid"] = canary.Cid.ToString(),
            ["handle"] = rec.Handle,
            ["added"] = added,
            ["source"] = CanarySource.Reality,
            ["visibility"] = "secret",
        };
    }
}
