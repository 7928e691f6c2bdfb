using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Node.Hosting;
using Federation.Node.Telemetry;
using Federation.Node.Verification;
using Federation.Router;
using Federation.Specialists.Engine;

namespace Federation.Node.Api;

/// <summary>The OpenAI-compatible endpoints: chat and text completions (JSON and SSE), models, embeddings.</summary>
public static class OpenAiEndpoints
{
    public static void MapOpenAi(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/chat/completions", (HttpContext ctx, FederationService fed, NodeOptions o, CheckerRegistry checkers, NodeMetrics m, TimeProvider t) =>
            CompleteAsync(ctx, fed, o, checkers, m, t, chat: true)).WithName("CreateChatCompletion");
        v1.MapPost("/completions", (HttpContext ctx, FederationService fed, NodeOptions o, CheckerRegistry checkers, NodeMetrics m, TimeProvider t) =>
            CompleteAsync(ctx, fed, o, checkers, m, t, chat: false)).WithName("CreateCompletion");
        v1.MapGet("/models", (RuntimeHolder holder, TimeProvider t) => Results.Json(Models(Ready(holder), t))).WithName("ListModels");
        v1.MapPost("/embeddings", EmbeddingsAsync).WithName("CreateEmbeddings");
    }

    internal static NodeRuntime Ready(RuntimeHolder holder) => holder.Require();

    internal static async Task<JsonElement> ReadJsonAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentType is { } ct && !ct.Contains("json", StringComparison.OrdinalIgnoreCase))
            throw new ApiException(415, "invalid_request_error", "request.unsupported_media_type", $"Send the body as application/json; found '{ct}'.");
        using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, default, ctx.RequestAborted);
        return doc.RootElement.Clone();
    }

    private static async Task CompleteAsync(HttpContext ctx, FederationService fed, NodeOptions options, CheckerRegistry checkers,
        NodeMetrics metrics, TimeProvider time, bool chat)
    {
        var endpoint = chat ? "chat.completions" : "completions";
        var body = await ReadJsonAsync(ctx);
        var req = chat ? OpenAiRequestParser.ParseChat(body, options.MaxTokensLimit) : OpenAiRequestParser.ParseCompletion(body, options.MaxTokensLimit);
        var rt = Ready(ctx.RequestServices.GetRequiredService<RuntimeHolder>());
        if (req.RoutingText.Length > rt.Policy.MaxQueryChars)
            throw ApiException.BadRequest("request.too_long",
                $"The query is {req.RoutingText.Length} characters; this node's policy accepts at most {rt.Policy.MaxQueryChars}. Shorten it.",
                chat ? "messages" : "prompt");
        var decision = fed.Route(req.RoutingText, req.Model, req.Federation);
        using var admitted = fed.Admit();
        var id = (chat ? "chatcmpl-" : "cmpl-") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = decision.Model;

        if (!req.Stream)
        {
            var answer = await fed.CompleteAsync(req, decision, ctx.RequestAborted);
            metrics.Request(endpoint, 200);
            await ctx.Response.WriteAsJsonAsync(chat ? ChatBody(id, created, model, answer, ctx) : TextBody(id, created, model, answer, ctx), ctx.RequestAborted);
            return;
        }

        // Streaming: live when nothing must be checked before release; otherwise verified first, then sent as chunks.
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        FederatedAnswer? final = null;
        var first = true;
        async Task SendDelta(string text)
        {
            var chunk = chat ? ChatChunk(id, created, model, first ? "assistant" : null, text, null) : TextChunk(id, created, model, text, null);
            first = false;
            await Sse(ctx, chunk);
        }
        if (FederationService.CanStreamLive(decision, checkers))
        {
            await foreach (var (delta, done) in fed.StreamLiveAsync(req, decision, ctx.RequestAborted))
            {
                if (done is not null) final = done;
                else if (delta.Text.Length > 0 || first) await SendDelta(delta.Text);
            }
        }
        else
        {
            // Errors here (pending review, failed verification) still come back as a JSON error with its status,
            // because nothing has been written to the stream yet.
            final = await fed.CompleteAsync(req, decision, ctx.RequestAborted);
            await SendDelta(final.Text);
        }
        var last = chat ? ChatChunk(id, created, model, null, null, FinishReason(final!.Result.FinishReason)) : TextChunk(id, created, model, "", FinishReason(final!.Result.FinishReason));
        last["federation"] = FederationJson(final, ctx);
        await Sse(ctx, last);
        if (req.IncludeUsage)
            await Sse(ctx, new JsonObject
            {
                ["id"] = id, ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = created, ["model"] = model,
                ["choices"] = new JsonArray(), ["usage"] = Usage(final.Result),
            });
        await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        metrics.Request(endpoint, 200);
    }

    private static async Task Sse(HttpContext ctx, JsonObject chunk)
    {
        await ctx.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private static string FinishReason(Federation.Specialists.Engine.FinishReason r) => r switch
    {
        Federation.Specialists.Engine.FinishReason.Stop => "stop",
        Federation.Specialists.Engine.FinishReason.Length => "length",
        _ => "cancelled",
    };

    private static JsonObject Usage(GenerationResult r) => new()
    {
        ["prompt_tokens"] = r.PromptTokens,
        ["completion_tokens"] = r.CompletionTokens,
        ["total_tokens"] = r.PromptTokens + r.CompletionTokens,
    };

    private static JsonObject ChatBody(string id, long created, string model, FederatedAnswer a, HttpContext ctx) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = a.Text, ["refusal"] = null },
            ["logprobs"] = null,
            ["finish_reason"] = FinishReason(a.Result.FinishReason),
        }),
        ["usage"] = Usage(a.Result),
        ["system_fingerprint"] = null,
        ["federation"] = FederationJson(a, ctx),
    };

    private static JsonObject TextBody(string id, long created, string model, FederatedAnswer a, HttpContext ctx) => new()
    {
        ["id"] = id,
        ["object"] = "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0, ["text"] = a.Text, ["logprobs"] = null, ["finish_reason"] = FinishReason(a.Result.FinishReason),
        }),
        ["usage"] = Usage(a.Result),
        ["federation"] = FederationJson(a, ctx),
    };

    private static JsonObject ChatChunk(string id, long created, string model, string? role, string? content, string? finish)
    {
        var delta = new JsonObject();
        if (role is not null) delta["role"] = role;
        if (content is not null) delta["content"] = content;
        return new JsonObject
        {
            ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        };
    }

    private static JsonObject TextChunk(string id, long created, string model, string text, string? finish) => new()
    {
        ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["text"] = text, ["logprobs"] = null, ["finish_reason"] = finish }),
    };

    /// <summary>The <c>federation</c> extension object of every answer (docs/api.md).</summary>
    internal static JsonObject FederationJson(FederatedAnswer a, HttpContext ctx)
    {
        var rt = ctx.RequestServices.GetRequiredService<RuntimeHolder>().Runtime!;
        var specialists = new JsonArray();
        foreach (var id in a.Decision.Specialists)
        {
            var b = rt.Specialists[id];
            specialists.Add(new JsonObject { ["id"] = id, ["base_cid"] = b.BaseCid, ["adapter_cid"] = b.AdapterCid });
        }
        var o = new JsonObject
        {
            ["route"] = RouteJson.Decision(a.Decision),
            ["specialists"] = specialists,
            ["verification"] = JsonNode.Parse(FederationService.VerificationJson(a.Verification).ToString()),
            ["ledger"] = new JsonObject
            {
                ["index"] = a.LedgerIndex,
                ["entry_id"] = a.EntryId,
                ["proof_url"] = $"/v1/federation/ledger/{a.LedgerIndex}/proof",
            },
        };
        if (a.Review is { } r)
            o["review"] = new JsonObject { ["id"] = r.Id, ["status"] = r.Status.ToString().ToLowerInvariant(), ["reviewer"] = r.Reviewer };
        return o;
    }

    private static JsonObject Models(NodeRuntime rt, TimeProvider time)
    {
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var data = new JsonArray
        {
            new JsonObject
            {
                ["id"] = RoutePlanner.AutoModel, ["object"] = "model", ["created"] = created, ["owned_by"] = "federation",
                ["federation"] = new JsonObject { ["kind"] = "router", ["policy_cid"] = rt.Policy.Cid },
            },
        };
        foreach (var t in rt.Policy.Topics)
            data.Add(new JsonObject
            {
                ["id"] = RoutePlanner.TopicModelPrefix + t.Id, ["object"] = "model", ["created"] = created, ["owned_by"] = "federation",
                ["federation"] = new JsonObject
                {
                    ["kind"] = "topic", ["tier"] = t.Tier.ToString(), ["class"] = t.Class.ToString(), ["champion"] = t.Champion,
                    ["description"] = t.Description,
                },
            });
        foreach (var (id, b) in rt.Specialists.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            data.Add(new JsonObject
            {
                ["id"] = id, ["object"] = "model", ["created"] = created, ["owned_by"] = "federation",
                ["federation"] = new JsonObject
                {
                    ["kind"] = "specialist", ["base_cid"] = b.BaseCid, ["adapter_cid"] = b.AdapterCid,
                    ["topics"] = new JsonArray(b.Ref.Topics.Select(x => (JsonNode)x!).ToArray()),
                    ["base_lineage"] = b.Ref.BaseLineage, ["jurisdiction"] = b.Ref.Jurisdiction,
                },
            });
        return new JsonObject { ["object"] = "list", ["data"] = data };
    }

    private static async Task EmbeddingsAsync(HttpContext ctx, RuntimeHolder holder, NodeMetrics metrics)
    {
        var body = await ReadJsonAsync(ctx);
        var req = OpenAiRequestParser.ParseEmbeddings(body);
        var rt = Ready(holder);
        var known = req.Model == RoutePlanner.AutoModel
            || (req.Model.StartsWith(RoutePlanner.TopicModelPrefix, StringComparison.Ordinal) && rt.Policy.TopicsById.ContainsKey(req.Model[RoutePlanner.TopicModelPrefix.Length..]))
            || rt.Specialists.ContainsKey(req.Model);
        if (!known)
            throw ApiException.NotFound("model_not_found", $"The model '{req.Model}' does not exist; GET /v1/models lists them (embeddings come from the frozen base).", "model");
        var vectors = await rt.Engine.EmbedAsync(req.Inputs, ctx.RequestAborted);
        var data = new JsonArray();
        for (var i = 0; i < vectors.Length; i++)
        {
            JsonNode embedding = req.EncodingFormat == "base64"
                ? JsonValue.Create(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vectors[i].AsSpan())))
                : new JsonArray(vectors[i].Select(f => (JsonNode)JsonValue.Create(f)).ToArray());
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }
        var tokens = req.Inputs.Sum(s => rt.Engine.Tokenize(new GenerationRequest { Prompt = s }).Length);
        metrics.Request("embeddings", 200);
        await ctx.Response.WriteAsJsonAsync(new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = req.Model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        }, ctx.RequestAborted);
    }
}
