using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Memory.Rag;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Node.Review;
using Federation.Node.Telemetry;
using Federation.Node.Verification;
using Federation.Router;
using Federation.Specialists.Engine;

namespace Federation.Node.Answering;

/// <summary>How a request ended on the answer path.</summary>
public enum AnswerStatus
{
    /// <summary>Verified (or unchecked) and released.</summary>
    Released,
    /// <summary>Waits for a human reviewer; <see cref="AnswerOutcome.Review"/> names the review.</summary>
    PendingReview,
    /// <summary>A reviewer rejected it.</summary>
    Rejected,
    /// <summary>A checker refuted it; withheld but ledgered.</summary>
    VerificationFailed,
    /// <summary>The engine ended without a result (a bug).</summary>
    EngineFailed,
}

/// <summary>An answer that went through the whole path and was ledgered.</summary>
public sealed record FederatedAnswer(string Text, GenerationResult Result, RouteDecision Decision, FederationInfo Federation);

/// <summary>The typed result of the answer path; the endpoint layer turns it into HTTP (docs/errors.md).</summary>
public sealed record AnswerOutcome(AnswerStatus Status, FederatedAnswer? Answer, ReviewItem? Review, string Detail, long? LedgerIndex)
{
    public static AnswerOutcome Released(FederatedAnswer a) => new(AnswerStatus.Released, a, null, a.Federation.Verification.Detail, a.Federation.Ledger.Index);
}

/// <summary>One step of a live stream: a text delta, or (last) the outcome.</summary>
public readonly record struct StreamStep(string Text, AnswerOutcome? Final);

/// <summary>
/// The request path of DESIGN.md after routing: dispatch (champion, panel or requester's choice) → engine → verification
/// gate (<see cref="IVerificationGate"/>) → human review when the gate asks → one <see cref="AnswerRecord"/> in the ledger.
/// Returns typed outcomes; HTTP is the endpoint layer's business.
/// </summary>
public sealed class AnswerService(ReviewQueue reviews, IVerificationGate gate, NodeOptions options,
    NodeMetrics metrics, TimeProvider time, LiveReputation reputation)
{
    /// <summary>The signed response cache (<see cref="ResponseCache"/>; <c>--response-cache</c>, 0 = off).</summary>
    public ResponseCache Cache { get; } = new(options.ResponseCacheEntries);

    /// <summary>Plans the route (pure: the router's <see cref="RoutePlanner.Plan"/>) under the running policy.</summary>
    public RoutePlan Plan(NodeRuntime rt, RouteQuery query, RequestedRoute request)
    {
        using var activity = NodeTelemetry.Source.StartActivity("route");
        var plan = RoutePlanner.Plan(query, rt.Policy, request, topic => reputation.Standing(rt, topic));
        activity?.SetTag("federation.topic", plan.Decision?.Topic);
        activity?.SetTag("federation.tier", plan.Decision?.Tier.ToString());
        return plan;
    }

    /// <summary>True when this decision can be streamed as it is generated (nothing must be checked before release).</summary>
    public bool CanStreamLive(NodeRuntime rt, RouteDecision d, RagContext? rag = null) =>
        gate.CanStreamLive(d, rt.Policy) && reputation.CanStreamLive(d)
        && !MemorySnapshotCheck.Applies(d, rag); // class B with memory is checked before release

    /// <summary>
    /// Retrieves memory for <paramref name="req"/> (docs/memory.md §RAG) unless the client turned it off: the namespaces
    /// it named, else those of the caller's defaults (<c>user:</c>, the routed topic's <c>topic:</c>, <c>public</c>) the
    /// policy lets it read. Every proof is verified against this node's key before the fragments are used.
    /// </summary>
    /// <exception cref="MemoryPolicyRefusedException">The client named a namespace it may not read.</exception>
    public async Task<RagContext?> RetrieveAsync(NodeRuntime rt, CompletionRequestIn req, MemoryPrincipal who, string topic, CancellationToken ct)
    {
        if (!req.Memory.Enabled) return null;
        using var activity = NodeTelemetry.Source.StartActivity("memory");
        var memory = rt.Memory;
        var namespaces = req.Memory.Namespaces
            ?? MemoryRag.DefaultNamespaces(who, topic).Where(n => memory.Policy.CheckRead(who, MemoryNamespace.Parse(n)) is null).ToList();
        if (namespaces.Count == 0) return null;
        // Nothing stored in any readable namespace: skip the search (it embeds the query, a model pass) — same result.
        var heads = memory.Store.Heads();
        if (!namespaces.Any(n => heads.Any(h => h.Size > 0 && string.Equals(h.Namespace, n, StringComparison.Ordinal)))) return null;
        var rag = await MemoryRag.RetrieveAsync(memory, who, req.Query.CheckText, topic, namespaces, MemoryFragments, ct);
        if (rag.Hits.Count == 0) return null;
        var verifier = new MemoryProofVerifier(rt.Key.Id, memoizeStatements: true);
        foreach (var proof in rag.Proofs)
            if (verifier.Verify(proof) is { IsValid: false } bad)
                throw new InvalidOperationException($"memory proof of a retrieved fragment does not verify: {bad}");
        activity?.SetTag("federation.memory.fragments", rag.Hits.Count);
        return rag;
    }

    /// <summary>How many fragments retrieval puts into a prompt at most.</summary>
    public const int MemoryFragments = 4;

    /// <summary>The engine request for one specialist: the topic's champion adapter (a DIIP activation may have switched it) plus the caller's own
    /// personal adapter on that base, if one is bound to them for the routed topic (never on a panel: <see cref="PersonalAdapters.PersonalTopic"/>).</summary>
    internal static GenerationRequest ToGeneration(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision, string specialistId) =>
        ToGeneration(req, specialistId) with { Adapters = rt.Personal.Select(req.User, decision, rt.DiipLive.Champions.AdapterFor(specialistId) ?? specialistId, rt.Specialists[specialistId].BaseCid) };

    internal static GenerationRequest ToGeneration(CompletionRequestIn req, string specialistId, string? adapter = null)
    {
        var (messages, prompt) = req.ForEngine();
        return new GenerationRequest
        {
        Prompt = prompt,
        Messages = messages?.Select(m => new ChatMessage(m.Role, m.Content)).ToList(),
        Adapters = [new AdapterSelection(adapter ?? specialistId)],
        MaxTokens = req.MaxTokens,
        Stop = req.Stop,
        Temperature = req.Temperature,
        TopP = req.TopP,
        TopK = req.TopK,
        Seed = req.Seed is { } s ? unchecked((uint)s) : null,
        Grammar = req.Grammar,
        TopLogprobs = req.TopLogprobs,
        };
    }

    /// <summary>Runs the whole path for a non-streamed answer (or a streamed one that must be verified first).</summary>
    public async Task<AnswerOutcome> CompleteAsync(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var cacheKey = ResponseCaching.KeyFor(Cache, rt, req, decision);
        if (cacheKey is not null && Cache.TryGet(cacheKey) is { } hit)
        {
            metrics.CacheHit(hit.GenerationTime);
            return await FinishAsync(rt, req, decision, [hit.Result], ct, hit.Original); // only the engine is skipped
        }
        if (cacheKey is not null) metrics.CacheMiss();
        GenerationResult[] results;
        using (var dispatch = NodeTelemetry.Source.StartActivity("dispatch"))
        {
            dispatch?.SetTag("federation.mode", decision.Mode.ToString().ToLowerInvariant());
            dispatch?.SetTag("federation.specialists", string.Join(",", decision.Specialists));
            results = await Task.WhenAll(decision.Specialists.Select(id => GenerateAsync(rt, req, decision, id, ct)));
        }
        if (results.Any(r => r.FinishReason == FinishReason.Cancelled)) ct.ThrowIfCancellationRequested();
        metrics.Duration(decision.Topic, sw.Elapsed);
        var outcome = await FinishAsync(rt, req, decision, results, ct);
        if (cacheKey is not null) ResponseCaching.Keep(Cache, cacheKey, results[0], sw.Elapsed, outcome);
        return outcome;
    }

    private static async Task<GenerationResult> GenerateAsync(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision, string specialist, CancellationToken ct)
    {
        using var activity = NodeTelemetry.Source.StartActivity("engine");
        activity?.SetTag("gen_ai.request.model", specialist);
        var r = await rt.EngineFor(specialist).GenerateAsync(ToGeneration(rt, req, decision, specialist), ct);
        activity?.SetTag("gen_ai.usage.output_tokens", r.CompletionTokens);
        return r;
    }

    /// <summary>Streams a live answer (<see cref="CanStreamLive"/>), then ledgers it; the last step carries the outcome.</summary>
    public async IAsyncEnumerable<StreamStep> StreamLiveAsync(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        GenerationResult? result = null;
        using (var activity = NodeTelemetry.Source.StartActivity("engine"))
        {
            activity?.SetTag("gen_ai.request.model", decision.Specialists[0]);
            await foreach (var d in rt.EngineFor(decision.Specialists[0]).StreamAsync(ToGeneration(rt, req, decision, decision.Specialists[0]), ct))
            {
                if (d.Result is not null) result = d.Result;
                // the last delta may carry text too (a held-back incomplete UTF-8 tail, flushed as U+FFFD)
                if (d.Text.Length > 0 || d.Result is null) yield return new StreamStep(d.Text, null);
            }
        }
        if (result is null || result.FinishReason == FinishReason.Cancelled)
        {
            ct.ThrowIfCancellationRequested();
            yield return new StreamStep("", new AnswerOutcome(AnswerStatus.EngineFailed, null, null, "The engine ended the stream without a result.", null));
            yield break;
        }
        metrics.Duration(decision.Topic, sw.Elapsed);
        yield return new StreamStep("", await FinishAsync(rt, req, decision, [result], ct));
    }

    private async Task<AnswerOutcome> FinishAsync(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision, GenerationResult[] results, CancellationToken ct,
        CacheHitInfo? cacheHit = null)
    {
        var query = req.QueryText;
        GateVerdict verdict;
        using (var activity = NodeTelemetry.Source.StartActivity("gate"))
        {
            verdict = gate.Judge(decision, req.Query, results.Select(r => r.Text).ToList(), rt.Policy);
            // objective checks first: the trust rule judges only what nothing could check (docs/reputation.md "Live path")
            verdict = verdict with { Verification = MemorySnapshotCheck.Apply(verdict.Verification, decision, req.Rag, results[verdict.ChosenIndex].Text) };
            verdict = await reputation.ReviseAsync(rt, decision, results.Select(r => r.Text).ToList(), verdict, ct); // docs/reputation.md "Live path"
            activity?.SetTag("federation.verification.status", verdict.Verification.Status.ToString());
        }
        // DIIP shadow soak: the challenger answers in the background, checked by the same gate, never returned nor ledgered
        rt.DiipLive.Soak.Offer(decision, req.QueryText, ToGeneration(req, decision.Specialists[0]), verdict.Verification.Status == VerificationStatus.Passed,
            text => gate.Judge(decision, req.Query, [text], rt.Policy).Verification.Status == VerificationStatus.Passed);
        var primary = results[verdict.ChosenIndex];
        var verification = StructuredOutputGate.Check(req, primary.Text, verdict.Verification);
        metrics.Tokens(decision.Topic, results.Sum(r => r.PromptTokens), results.Sum(r => r.CompletionTokens));
        metrics.Verification(verification.Class, verification.Status);

        var route = RouteInfo.From(decision);
        var memoryJson = req.Rag is { } rag ? new CanonicalJsonValue(rag.ToFederationJson()) : null;
        if (memoryJson is not null) verification = verification with { MemoryProofs = VerificationInfo.MemoryVerified };
        var specialists = decision.Specialists.Select(id => rt.Specialists[id]).Select(b => new SpecialistInfo(b.Ref.Id, b.BaseCid, rt.DiipLive.Champions.For(b.Ref.Id)?.AdapterCid ?? b.AdapterCid, rt.Personal.CidFor(req.User, decision, b.BaseCid))).ToList();
        var facts = new AnswerFacts(
            AnswerRecord.Sha256(query), AnswerRecord.Sha256(primary.Text), route, specialists, verification,
            // wall clock is recorded, not used: it is what makes two identical answers distinct ledger entries
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            new LedgerUsage(results.Sum(r => r.PromptTokens), results.Sum(r => r.CompletionTokens)),
            options.StoreBodies ? query : null, options.StoreBodies ? primary.Text : null,
            req.Rag?.GlobalRoot, memoryJson,
            Request: options.StoreBodies && results.Length == 1 ? ChallengeReplay.From(ToGeneration(rt, req, decision, decision.Specialists[0]), primary) : null,
            CacheHitOf: cacheHit);

        if (verification.Status == VerificationStatus.NeedsReview)
        {
            var item = reviews.Enqueue(decision.Topic, query, primary.Text,
                JsonSerializer.Serialize(route, NodeJsonContext.Default.RouteInfo), JsonSerializer.Serialize(facts, NodeJsonContext.Default.AnswerFacts),
                // every panel member's answer, for the reviewer to weigh side by side (issue 14)
                decision.Specialists.Zip(results, (id, r) => new PanelDraft(id, r.Text)).ToList());
            item = await reviews.WaitAsync(item.Id, options.ReviewWait, ct);
            if (item.Status == ReviewStatus.Pending || item.LedgerIndex is null)
                return new AnswerOutcome(AnswerStatus.PendingReview, null, item, verification.Detail, null);
            if (item.Status == ReviewStatus.Rejected)
                return new AnswerOutcome(AnswerStatus.Rejected, null, item, item.Comment ?? "no comment", item.LedgerIndex);
            var entry = rt.Ledger.GetEntry(item.LedgerIndex.Value);
            var record = AnswerRecord.Create(facts, VerificationStatus.Passed, item.FinalAnswer, null, item.Reviewer);
            return AnswerOutcome.Released(new FederatedAnswer(item.FinalAnswer!, primary, decision,
                new FederationInfo(route, specialists, record.Verification, LedgerInfo.At(item.LedgerIndex.Value, entry.Envelope.Id.ToString()),
                    new ReviewInfo(item.Id, "approved", item.Reviewer), memoryJson)));
        }

        var answerRecord = AnswerRecord.Create(facts, verification.Status, primary.Text, null, null);
        Registry.Ledger.LedgerReceipt receipt;
        using (NodeTelemetry.Source.StartActivity("ledger"))
            receipt = await rt.Ledger.AppendAsync(AnswerRecord.EntryType, answerRecord.ToLedgerPayload(), ct);
        reputation.Sampled(rt, req, decision, verdict.ChosenIndex, primary, verification, receipt.Index, receipt.EntryId.ToString()); // self-audit, off the hot path
        if (!verification.Released)
            return new AnswerOutcome(AnswerStatus.VerificationFailed, null, null, verification.Detail, receipt.Index);
        return AnswerOutcome.Released(new FederatedAnswer(primary.Text, primary, decision,
            new FederationInfo(route, specialists, verification, LedgerInfo.At(receipt.Index, receipt.EntryId.ToString()), null, memoryJson, cacheHit)));
    }
}
