using System.Security.Cryptography;
using System.Text.Json;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Router;
using Federation.Specialists.Engine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Federation.Node.Api;

/// <summary>The OpenAI-compatible endpoints: chat and text completions (JSON and SSE), models, embeddings.</summary>
public static class OpenAiEndpoints
{

    public static RouteGroupBuilder MapOpenAi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("OpenAI")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status503ServiceUnavailable);
        v1.MapPost("/chat/completions", ChatAsync).WithName("CreateChatCompletion").Metric("chat.completions")
            // one schema per status in the document: the JSON answer (stream chunks are documented in docs/api.md)
            .Produces<ChatCompletionResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesProblemLike(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status429TooManyRequests);
        v1.MapPost("/completions", TextAsync).WithName("CreateCompletion").Metric("completions")
            .Produces<TextCompletionResponse>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .ProducesProblemLike(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status429TooManyRequests);
        v1.MapGet("/models", Models).WithName("ListModels").Metric("models");
        // catch-all: topic models have a slash in their id ("federation/code"), sent raw by curl and as %2F by the OpenAI SDK
        v1.MapGet("/models/{*id}", Model).WithName("RetrieveModel").Metric("models");
        v1.MapPost("/embeddings", EmbeddingsAsync).WithName("CreateEmbeddings").Metric("embeddings")
            .ProducesProblemLike(StatusCodes.Status404NotFound);
        return v1;
    }

    /// <summary>The runtime, or 503 <c>node.not_ready</c> saying whether the node is still loading or why it failed.</summary>
    internal static NodeRuntime Ready(RuntimeHolder holder) => holder.TryGet(out var rt, out var why)
        ? rt
        : throw new ApiException(503, "server_error", "node.not_ready", why) { RetryAfterSeconds = holder.StartError is null ? 5 : null };

    /// <summary>Routes, or maps the router's rejection to its OpenAI-style error (never a silent fallback).</summary>
    internal static RouteDecision Route(AnswerService answers, NodeRuntime rt, RouteQuery query, RequestedRoute request, string textParam)
    {
        var plan = answers.Plan(rt, query, request);
        if (plan.Rejection is { } r)
            throw new ApiException(r.HttpStatus, "invalid_request_error", r.Code, r.Message,
                r.Param ?? r.Code switch { "router.unknown_model" => "model", "router.query_too_long" => textParam, _ => null });
        return plan.Decision!;
    }

    private static Task<IResult> ChatAsync(ChatCompletionRequest body, HttpContext ctx, AnswerService answers, RuntimeHolder holder, NodeOptions options,
        AdmissionControl admission, Review.ReviewQueue reviews, TimeProvider time) =>
        CompleteAsync(ctx, RequestValidator.Chat(body, options.MaxTokensLimit), answers, holder, admission, reviews, time, chat: true);

    private static Task<IResult> TextAsync(TextCompletionRequest body, HttpContext ctx, AnswerService answers, RuntimeHolder holder, NodeOptions options,
        AdmissionControl admission, Review.ReviewQueue reviews, TimeProvider time) =>
        CompleteAsync(ctx, RequestValidator.Text(body, options.MaxTokensLimit), answers, holder, admission, reviews, time, chat: false);

    private static async Task<IResult> CompleteAsync(HttpContext ctx, CompletionRequestIn req, AnswerService answers, RuntimeHolder holder,
        AdmissionControl admission, Review.ReviewQueue reviews, TimeProvider time, bool chat)
    {
        var rt = Ready(holder);
        req = req with { User = PersonalEndpoints.UserOf(ctx) };
        // every text part of every message (or the prompt) is classified; the router refuses text it could not read (router.query_too_long)
        var decision = Route(answers, rt, req.Query, req.Route, chat ? "messages" : "prompt");
        var promptTokens = ContextLimits.CheckPrompt(rt, req, chat ? "messages" : "prompt"); // before any work (issue 8); again below if memory was added
        // RAG: retrieve for the routed topic, then route again over everything the model will read, memory included
        // (a fragment can only raise the tier; the final decision is the one that is served and ledgered).
        try
        {
            if (await answers.RetrieveAsync(rt, req, MemoryPrincipalOf(ctx), decision.Topic, ctx.RequestAborted) is { } rag)
            {
                req = req with { Rag = rag };
                decision = Route(answers, rt, req.Query, req.Route, chat ? "messages" : "prompt");
            }
        }
        catch (MemoryPolicyRefusedException e)
        {
            throw new ApiException(403, "permission_error", "memory.policy_refused", e.Refusal.Message + " (federation.memory)", e.Refusal.Rule);
        }
        if (req.Rag is not null) promptTokens = ContextLimits.CheckPrompt(rt, req, chat ? "messages" : "prompt");
        if (req.Structured is { } structured)
        {
            // the grammar bounds the answer to what max_tokens and the context leave (one token kept for end-of-generation)
            var budget = Math.Min(req.MaxTokens - 1, ContextLimits.ContextTokens - promptTokens - 2);
            if (budget < 1)
                throw ApiException.BadRequest("context_length_exceeded",
                    $"The prompt is {promptTokens} tokens and leaves no room in the {ContextLimits.ContextTokens}-token context for a structured answer; shorten it.", "messages");
            req = req with { Grammar = structured.Grammar(budget) };
        }

        // A T3 answer may wait for a human: reserve one of the key's pending reviews, and give the generation slot back
        // when the draft is queued (ReviewWaitScope), so waiting requests never starve other clients (issue 8).
        var requester = ctx.User.Identity?.Name ?? "anonymous-loopback";
        using var reservation = decision.Tier == TrustTier.T3 ? admission.ReservePendingReview(requester, () => reviews.PendingCount(requester)) : null;
        using var slot = await admission.AcquireAsync(ctx);
        Review.ReviewWaitScope.Enter(new Review.ReviewWaitScope
        {
            Requester = requester,
            Async = req.ReviewAsync,
            OnQueued = () =>
            {
                slot.Release();
                reservation?.Release();
            },
        });
        var id = (chat ? "chatcmpl-" : "cmpl-") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = decision.Model;

        if (!req.Stream)
        {
            var a = Released(await answers.CompleteAsync(rt, req, decision, ctx.RequestAborted));
            var call = ChatExtras.Call(req, a);
            return chat
                ? TypedResults.Ok(new ChatCompletionResponse(id, "chat.completion", created, model,
                    [new ChatChoice(0, call is null
                        ? new AssistantMessage("assistant", a.Text, null)
                        : new AssistantMessage("assistant", null, null, [new ToolCallInfo(call.Id, "function", new FunctionCallInfo(call.Name, call.Arguments))]),
                        ChatExtras.Logprobs(req, a.Result), call is null ? Finish(a.Result.FinishReason) : "tool_calls")],
                    Usage(a.Result), null, a.Federation))
                : TypedResults.Ok(new TextCompletionResponse(id, "text_completion", created, model,
                    [new TextChoice(0, a.Text, null, Finish(a.Result.FinishReason))], Usage(a.Result), a.Federation));
        }

        // Streaming: live when nothing must be checked before release; otherwise verified first, then sent as chunks.
        var sse = new SseWriter(ctx, id, created, model, chat);
        FederatedAnswer final;
        // structured output and log probabilities are sent once the whole answer has passed the gate
        if (answers.CanStreamLive(rt, decision, req.Rag) && req.Structured is null && req.TopLogprobs is null)
        {
            AnswerOutcome? outcome = null;
            await foreach (var step in answers.StreamLiveAsync(rt, req, decision, ctx.RequestAborted))
            {
                if (step.Final is not null) outcome = step.Final;
                else if (step.Text.Length > 0 || !sse.Started) await sse.DeltaAsync(step.Text);
            }
            // An error after the first chunk cannot change the status any more: the stream ends without [DONE].
            final = Released(outcome!);
        }
        else
        {
            // Errors here (pending review, failed verification) still come back as a JSON error with its status,
            // because nothing has been written to the stream yet.
            final = Released(await answers.CompleteAsync(rt, req, decision, ctx.RequestAborted));
            if (ChatExtras.Call(req, final) is { } call)
            {
                await sse.ToolCallAsync(call);
                await sse.FinishAsync("tool_calls", final.Federation, req.IncludeUsage ? Usage(final.Result) : null);
                return TypedResults.Empty;
            }
            await sse.DeltaAsync(final.Text, ChatExtras.Logprobs(req, final.Result));
        }
        await sse.FinishAsync(Finish(final.Result.FinishReason), final.Federation, req.IncludeUsage ? Usage(final.Result) : null);
        return TypedResults.Empty;
    }

    /// <summary>
    /// The memory principal of a request (docs/memory.md "Surfaces"): the API key's name as <c>MemoryPrincipal.User</c>;
    /// the keyless-loopback caller (no keys exist) and names that are not memory user ids are <c>Anonymous</c>.
    /// </summary>
    public static MemoryPrincipal MemoryPrincipalOf(HttpContext ctx)
    {
        var name = ctx.User.FindFirst(System.Security.Claims.ClaimTypes.Name)?.Value;
        return name is null || name == NodeAuth.AnonymousLoopback || !MemoryNamespace.ValidId(name)
            ? MemoryPrincipal.Anonymous
            : MemoryPrincipal.User(name);
    }

    /// <summary>The released answer, or the HTTP error its outcome stands for (docs/errors.md).</summary>
    internal static FederatedAnswer Released(AnswerOutcome o) => o.Status switch
    {
        AnswerStatus.Released => o.Answer!,
        AnswerStatus.PendingReview => throw new ApiException(409, "review_pending", "review.pending",
            $"This answer waits for human review ({o.Detail}). Fetch it later with GET /v1/federation/reviews/{o.Review!.Id}.", o.Review.Id)
            { RetryAfterSeconds = 5 },
        AnswerStatus.Rejected => throw new ApiException(422, "review_rejected", "review.rejected",
            $"A reviewer rejected the answer ({o.Detail}); review {o.Review!.Id}, ledger entry {o.LedgerIndex}.", o.Review.Id),
        AnswerStatus.VerificationFailed => throw new ApiException(422, "verification_failed", "verification.failed",
            $"The specialist's answer failed verification and was not released: {o.Detail}. Ledger entry {o.LedgerIndex} records it."),
        _ => throw new ApiException(500, "server_error", "engine.no_result", o.Detail),
    };

    private static string Finish(FinishReason r) => r switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "cancelled",
    };

    private static UsageInfo Usage(GenerationResult r) => new(r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens);

    /// <summary>Writes <c>data: {chunk}</c> events of the chat or text shape, then <c>data: [DONE]</c>.</summary>
    private sealed class SseWriter(HttpContext ctx, string id, long created, string model, bool chat)
    {
        public bool Started { get; private set; }

        public Task DeltaAsync(string text, JsonElement? logprobs = null)
        {
            var role = Started ? null : "assistant";
            return WriteAsync(null, text, role, null, null, logprobs: logprobs);
        }

        /// <summary>As the OpenAI stream sends a call: id, type and name with empty arguments, then the arguments in fragments.</summary>
        public async Task ToolCallAsync(ToolCallOut call)
        {
            await WriteAsync(null, null, "assistant", null, null, tool: new ToolCallDelta(0, call.Id, "function", new FunctionCallDelta(call.Name, "")));
            for (var i = 0; i < call.Arguments.Length; i += ArgumentFragment)
            {
                var n = Math.Min(ArgumentFragment, call.Arguments.Length - i);
                if (n < call.Arguments.Length - i && char.IsHighSurrogate(call.Arguments[i + n - 1])) n++;
                await WriteAsync(null, null, null, null, null, tool: new ToolCallDelta(0, null, null, new FunctionCallDelta(null, call.Arguments.Substring(i, n))));
                i += n - ArgumentFragment;
            }
        }

        private const int ArgumentFragment = 16;

        public async Task FinishAsync(string finish, FederationInfo federation, UsageInfo? usage)
        {
            await WriteAsync(finish, chat ? null : "", null, federation, null);
            if (usage is not null) await WriteAsync(null, null, null, null, usage, emptyChoices: true);
            await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }

        private async Task WriteAsync(string? finish, string? text, string? role, FederationInfo? federation, UsageInfo? usage, bool emptyChoices = false,
            JsonElement? logprobs = null, ToolCallDelta? tool = null)
        {
            if (!Started)
            {
                ctx.Response.ContentType = "text/event-stream";
                ctx.Response.Headers.CacheControl = "no-cache";
                ctx.Response.Headers["X-Accel-Buffering"] = "no";
                Started = true;
            }
            byte[] json = chat
                ? JsonSerializer.SerializeToUtf8Bytes(new ChatCompletionChunk(id, "chat.completion.chunk", created, model,
                    emptyChoices ? [] : [new ChatChunkChoice(0, new ChatDelta(role, text, tool is null ? null : [tool]), logprobs, finish)], usage, federation),
                    NodeJsonContext.Default.ChatCompletionChunk)
                : JsonSerializer.SerializeToUtf8Bytes(new TextCompletionResponse(id, "text_completion", created, model,
                    emptyChoices ? [] : [new TextChoice(0, text ?? "", null, finish)], usage, federation),
                    NodeJsonContext.Default.TextCompletionResponse);
            await ctx.Response.Body.WriteAsync("data: "u8.ToArray(), ctx.RequestAborted);
            await ctx.Response.Body.WriteAsync(json, ctx.RequestAborted);
            await ctx.Response.Body.WriteAsync("\n\n"u8.ToArray(), ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }

    private static Ok<ModelList> Models(RuntimeHolder holder, TimeProvider time)
    {
        var rt = Ready(holder);
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var data = new List<ModelInfo>
        {
            new(RoutePlanner.AutoModel, "model", created, "federation", new ModelFederationInfo("router", PolicyCid: rt.Policy.Cid,
                ContextLength: ContextLimits.ContextTokens, MaxQueryChars: rt.Policy.MaxQueryChars, GuaranteedQueryChars: ContextLimits.GuaranteedChars)),
        };
        foreach (var t in rt.Policy.Topics)
            data.Add(new ModelInfo(RoutePlanner.TopicModelPrefix + t.Id, "model", created, "federation",
                new ModelFederationInfo("topic", Tier: t.Tier.ToString(), Class: t.Class.ToString(), Champion: t.Champion, Description: t.Description)));
        foreach (var (id, b) in rt.Specialists.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            data.Add(new ModelInfo(id, "model", created, "federation",
                new ModelFederationInfo("specialist", BaseCid: b.BaseCid, AdapterCid: b.AdapterCid, Topics: b.Ref.Topics,
                    BaseLineage: b.Ref.BaseLineage, Jurisdiction: b.Ref.Jurisdiction, ContextLength: ContextLimits.ContextTokens)));
        return TypedResults.Ok(new ModelList("list", data));
    }

    private static Ok<ModelInfo> Model(string id, RuntimeHolder holder, TimeProvider time) => ModelById(Uri.UnescapeDataString(id), holder, time);

    private static Ok<ModelInfo> ModelById(string id, RuntimeHolder holder, TimeProvider time) =>
        TypedResults.Ok(Models(holder, time).Value!.Data.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.Ordinal))
            ?? throw ApiException.NotFound("model_not_found", $"The model '{id}' does not exist; GET /v1/models lists them.", "model"));

    private static async Task<Ok<EmbeddingList>> EmbeddingsAsync(EmbeddingsRequest body, HttpContext ctx, RuntimeHolder holder)
    {
        var req = RequestValidator.Embeddings(body);
        var rt = Ready(holder);
        var tokens = ContextLimits.CheckEmbeddingInputs(rt, req.Inputs);
        var known = req.Model == RoutePlanner.AutoModel
            || (req.Model.StartsWith(RoutePlanner.TopicModelPrefix, StringComparison.Ordinal) && rt.Policy.TopicsById.ContainsKey(req.Model[RoutePlanner.TopicModelPrefix.Length..]))
            || rt.Specialists.ContainsKey(req.Model);
        if (!known)
            throw ApiException.NotFound("model_not_found", $"The model '{req.Model}' does not exist; GET /v1/models lists them (embeddings come from the frozen base).", "model");
        var vectors = await rt.Engine.EmbedAsync(req.Inputs, ctx.RequestAborted);
        var data = vectors.Select((v, i) => new EmbeddingItem("embedding", i, new EmbeddingVector(v, req.Base64))).ToList();
        return TypedResults.Ok(new EmbeddingList("list", data, req.Model, new EmbeddingsUsage(tokens, tokens)));
    }
}

/// <summary>Endpoint metadata shared by the node's endpoints.</summary>
public static class EndpointConventions
{
    /// <summary>The name the <c>federation.requests</c> metric gives this endpoint (the <c>endpoint</c> label).</summary>
    public sealed record MetricName(string Value);

    public static RouteHandlerBuilder Metric(this RouteHandlerBuilder b, string name) => b.WithMetadata(new MetricName(name));

    /// <summary>Declares OpenAI-style error bodies for these statuses in the OpenAPI document.</summary>
    public static TBuilder ProducesProblemLike<TBuilder>(this TBuilder b, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var s in statuses)
            b.WithMetadata(new ProducesResponseTypeMetadata(s, typeof(ApiErrorResponse), ["application/json"]));
        return b;
    }
}
