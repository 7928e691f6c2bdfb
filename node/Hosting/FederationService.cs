using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Federation.Node.Api;
using Federation.Node.Review;
using Federation.Node.Telemetry;
using Federation.Node.Verification;
using Federation.Registry.Json;
using Federation.Router;
using Federation.Specialists.Engine;

namespace Federation.Node.Hosting;

/// <summary>The verification result of one answer, as recorded in the ledger and the response.</summary>
public sealed record VerificationResult(string Status, string Class, IReadOnlyList<CheckResult> Checks, PanelAgreementReport? Panel, string Detail)
{
    /// <summary>passed | unchecked | failed | needs_review.</summary>
    public bool Released => Status is "passed" or "unchecked";
}

/// <summary>An answer that went through the whole path and was ledgered.</summary>
public sealed record FederatedAnswer(
    string Text,
    GenerationResult Result,
    RouteDecision Decision,
    VerificationResult Verification,
    long LedgerIndex,
    string EntryId,
    ReviewItem? Review);

/// <summary>
/// The request path of DESIGN.md: route → dispatch (champion, panel or requester's choice) → generate → verification
/// gate (class-A checkers, panel agreement, human review for T3 and for low-agreement class C) → signed ledger entry.
/// </summary>
public sealed class FederationService(RuntimeHolder holder, ReviewQueue reviews, NodeOptions options, NodeMetrics metrics,
    CheckerRegistry checkers, TimeProvider time)
{
    private int _inFlight;

    private NodeRuntime Runtime => holder.Require();

    /// <summary>Routes a request or throws the router's rejection as an OpenAI-style error (never a silent fallback).</summary>
    public RouteDecision Route(string query, string model, FederationRequestOptions? fed)
    {
        var rt = Runtime;
        var request = new RequestedRoute(model, fed?.Specialists, ToProvenance(fed?.RequiredProvenance), fed?.PanelSize);
        var plan = RoutePlanner.Plan(query, rt.Policy, request);
        if (plan.Rejection is { } r)
            throw new ApiException(r.HttpStatus, "invalid_request_error", r.Code, r.Message,
                r.Param ?? (r.Code == "router.unknown_model" ? "model" : null));
        return plan.Decision!;
    }

    private static ProvenanceRequirement? ToProvenance(IReadOnlyList<string>? required)
    {
        if (required is null || required.Count == 0) return null;
        // "lineage:olmo" / "jurisdiction:EU"; a bare value is taken as a jurisdiction.
        var lineages = new List<string>();
        var jurisdictions = new List<string>();
        foreach (var r in required)
        {
            var i = r.IndexOf(':', StringComparison.Ordinal);
            var (k, v) = i < 0 ? ("jurisdiction", r) : (r[..i], r[(i + 1)..]);
            if (k == "lineage") lineages.Add(v);
            else if (k == "jurisdiction") jurisdictions.Add(v);
            else throw ApiException.BadRequest("request.invalid_value",
                $"'federation.required_provenance' entries are 'lineage:NAME' or 'jurisdiction:CODE'; found '{r}'.", "federation.required_provenance");
        }
        return new ProvenanceRequirement(lineages.Count > 0 ? lineages : null, jurisdictions.Count > 0 ? jurisdictions : null);
    }

    /// <summary>Admission control: more than MaxQueue requests in flight gets 429.</summary>
    public IDisposable Admit()
    {
        if (Interlocked.Increment(ref _inFlight) > options.MaxQueue)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new ApiException(429, "rate_limit_error", "node.queue_full",
                $"The node already has {options.MaxQueue} requests in flight; retry after a moment.");
        }
        return new Release(this);
    }

    private sealed class Release(FederationService s) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref s._inFlight);
    }

    /// <summary>True when this decision can be streamed as it is generated (nothing must be checked before release).</summary>
    public static bool CanStreamLive(RouteDecision d, CheckerRegistry checkers) =>
        d.Tier != TrustTier.T3 && d.Mode != DispatchMode.Panel && checkers.For(d.Topic).Count == 0;

    public GenerationRequest ToGeneration(CompletionRequestIn req, string specialistId) => new()
    {
        Prompt = req.Prompt,
        Messages = req.Messages?.Select(m => new ChatMessage(m.Role, m.Content)).ToList(),
        Adapters = [new AdapterSelection(specialistId)],
        MaxTokens = req.MaxTokens,
        Stop = req.Stop,
        Temperature = req.Temperature,
        TopP = req.TopP,
        TopK = req.TopK,
        Seed = req.Seed is { } s ? unchecked((uint)s) : null,
    };

    /// <summary>Runs the whole path for a non-streamed answer (or a streamed one that must be verified first).</summary>
    public async Task<FederatedAnswer> CompleteAsync(CompletionRequestIn req, RouteDecision decision, CancellationToken ct)
    {
        var rt = Runtime;
        var sw = Stopwatch.StartNew();
        var results = await Task.WhenAll(decision.Specialists.Select(id => rt.Engine.GenerateAsync(ToGeneration(req, id), ct)));
        if (results.Any(r => r.FinishReason == FinishReason.Cancelled)) ct.ThrowIfCancellationRequested();
        metrics.Duration(decision.Topic, sw.Elapsed);
        return await FinishAsync(req, decision, results, ct);
    }

    /// <summary>Streams a class-B, non-T3 answer live, then ledgers it; the last delta carries the ledgered answer.</summary>
    public async IAsyncEnumerable<(GenerationDelta Delta, FederatedAnswer? Final)> StreamLiveAsync(
        CompletionRequestIn req, RouteDecision decision, [EnumeratorCancellation] CancellationToken ct)
    {
        var rt = Runtime;
        var sw = Stopwatch.StartNew();
        GenerationResult? result = null;
        await foreach (var d in rt.Engine.StreamAsync(ToGeneration(req, decision.Specialists[0]), ct))
        {
            if (d.Result is not null) result = d.Result;
            // the last delta may carry text too (a held-back incomplete UTF-8 tail, flushed as U+FFFD)
            if (d.Text.Length > 0 || d.Result is null) yield return (d with { Result = null, FinishReason = null }, null);
        }
        if (result is null || result.FinishReason == FinishReason.Cancelled)
        {
            ct.ThrowIfCancellationRequested();
            throw new ApiException(500, "server_error", "engine.no_result", "The engine ended the stream without a result.");
        }
        metrics.Duration(decision.Topic, sw.Elapsed);
        var final = await FinishAsync(req, decision, [result], ct);
        yield return (new GenerationDelta("", result.FinishReason, result), final);
    }

    private async Task<FederatedAnswer> FinishAsync(CompletionRequestIn req, RouteDecision decision, GenerationResult[] results, CancellationToken ct)
    {
        var rt = Runtime;
        var query = req.RoutingText;
        var (answerIdx, verification) = Verify(query, decision, results, rt.Policy);
        var primary = results[answerIdx];
        metrics.Tokens(decision.Topic, results.Sum(r => r.PromptTokens), results.Sum(r => r.CompletionTokens));
        metrics.Count("federation_verifications_total", $"class=\"{verification.Class}\",status=\"{verification.Status}\"");

        if (verification.Status == "needs_review")
        {
            var entry = AnswerEntry(rt, query, decision, results, primary.Text, verification, null).ToString();
            var item = reviews.Enqueue(decision.Topic, query, primary.Text, RouteJson.Decision(decision).ToJsonString(), entry);
            item = await reviews.WaitAsync(item.Id, options.ReviewWait, ct);
            if (item.Status == ReviewStatus.Pending || item.LedgerIndex is null)
                throw new ApiException(409, "review_pending", "review.pending",
                    $"This {decision.Tier} answer waits for human review ({verification.Detail}). Fetch it later with GET /v1/federation/reviews/{item.Id}.",
                    item.Id);
            if (item.Status == ReviewStatus.Rejected)
                throw new ApiException(422, "review_rejected", "review.rejected",
                    $"A reviewer rejected the answer ({item.Comment ?? "no comment"}); review {item.Id}, ledger entry {item.LedgerIndex}.", item.Id);
            var approved = new VerificationResult("passed", verification.Class, verification.Checks, verification.Panel,
                $"{verification.Detail}; approved by {item.Reviewer}");
            return new FederatedAnswer(item.FinalAnswer!, primary, decision, approved, item.LedgerIndex.Value,
                rt.Ledger.GetEntry(item.LedgerIndex.Value).Envelope.Id.ToString(), item);
        }

        var receipt = await rt.Ledger.AppendAsync("answer", AnswerEntry(rt, query, decision, results, primary.Text, verification, null), ct);
        if (!verification.Released)
            throw new ApiException(422, "verification_failed", "verification.failed",
                $"The specialist's answer failed verification and was not released: {verification.Detail}. Ledger entry {receipt.Index} records it.");
        return new FederatedAnswer(primary.Text, primary, decision, verification, receipt.Index, receipt.EntryId.ToString(), null);
    }

    private (int Index, VerificationResult Result) Verify(string query, RouteDecision d, GenerationResult[] results, RoutingPolicy policy)
    {
        var cls = d.Class.ToString();
        PanelAgreementReport? panel = null;
        var index = 0;
        if (results.Length > 1)
        {
            panel = PanelAgreement.Compare(results.Select((r, i) => new PanelAnswer(d.Specialists[i], r.Text)).ToList(), policy.AgreementThreshold);
            if (panel.LargestAgreeingGroup.Count > 0)
                index = Math.Max(0, d.Specialists.ToList().IndexOf(panel.LargestAgreeingGroup[0]));
        }
        var checks = checkers.For(d.Topic).Select(c => c.Check(query, results[index].Text)).ToList();
        if (checks.Any(c => c.Outcome == CheckOutcome.Failed))
            return (index, new VerificationResult("failed", cls, checks, panel, string.Join("; ", checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => $"{c.Checker}: {c.Detail}"))));
        if (d.Tier == TrustTier.T3)
            return (index, new VerificationResult("needs_review", cls, checks, panel, "T3 answers need human approval"));
        if (panel is { Agreed: false })
            return (index, new VerificationResult("needs_review", cls, checks, panel,
                $"panel agreement {panel.MeanSimilarity:0.###} is below {panel.Threshold:0.###}: escalated to a human"));
        if (checks.Any(c => c.Outcome == CheckOutcome.Passed))
            return (index, new VerificationResult("passed", cls, checks, panel, string.Join("; ", checks.Select(c => $"{c.Checker}: {c.Detail}"))));
        return (index, new VerificationResult(panel is null ? "unchecked" : "passed", cls, checks, panel,
            panel is null ? "no objective checker applies; released on the specialist's trust score" : $"panel agreement {panel.MeanSimilarity:0.###}"));
    }

    /// <summary>The ledger payload of an answer (docs/node.md "answer entry"). Bodies only when configured.</summary>
    internal JsonObject AnswerEntry(NodeRuntime rt, string query, RouteDecision d, IReadOnlyList<GenerationResult> results, string answer,
        VerificationResult v, JsonObject? review)
    {
        var specialists = new JsonArray();
        foreach (var id in d.Specialists)
        {
            var b = rt.Specialists[id];
            specialists.Add(new JsonObject { ["id"] = id, ["base_cid"] = b.BaseCid, ["adapter_cid"] = b.AdapterCid });
        }
        var entry = new JsonObject
        {
            ["query_sha256"] = Sha256(query),
            ["answer_sha256"] = Sha256(answer),
            ["route"] = CanonicalJson.FromNode(RouteJson.Decision(d)),
            ["policy_cid"] = d.PolicyCid,
            ["specialists"] = specialists,
            ["memory_root"] = JsonValue.Null,
            ["verification"] = VerificationJson(v),
            ["review"] = (JsonValue?)review ?? JsonValue.Null,
            // wall clock is recorded, not used: it is what makes two identical answers distinct ledger entries
            ["answered_at_ms"] = time.GetUtcNow().ToUnixTimeMilliseconds(),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = results.Sum(r => r.PromptTokens),
                ["completion_tokens"] = results.Sum(r => r.CompletionTokens),
            },
        };
        if (options.StoreBodies)
        {
            entry["query"] = query;
            entry["answer"] = answer;
        }
        return entry;
    }

    public static JsonObject VerificationJson(VerificationResult v)
    {
        var checks = new JsonArray();
        foreach (var c in v.Checks)
            checks.Add(new JsonObject { ["checker"] = c.Checker, ["outcome"] = c.Outcome.ToString().ToLowerInvariant(), ["detail"] = c.Detail });
        var o = new JsonObject
        {
            ["status"] = v.Status,
            ["class"] = v.Class,
            ["checks"] = checks,
            ["memory_proofs"] = "not_used",
            ["detail"] = v.Detail,
        };
        if (v.Panel is { } p)
            o["panel"] = new JsonObject
            {
                ["mean_similarity"] = p.MeanSimilarity,
                ["threshold"] = p.Threshold,
                ["agreed"] = p.Agreed,
                ["largest_agreeing_group"] = new JsonArray(p.LargestAgreeingGroup.Select(x => (JsonValue)x)),
            };
        return o;
    }

    public static string Sha256(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}

/// <summary>Holds the runtime once it has started (the HTTP host is up before the models are loaded).</summary>
public sealed class RuntimeHolder
{
    public NodeRuntime? Runtime { get; set; }
    public string? StartError { get; set; }

    /// <summary>The runtime, or a 503 saying whether the node is still loading or failed to start (and why).</summary>
    public NodeRuntime Require() => Runtime ?? throw new ApiException(503, "server_error", "node.not_ready",
        StartError is { } e ? $"The node failed to start: {e}" : "The node is still loading its models; retry in a few seconds.");
}
