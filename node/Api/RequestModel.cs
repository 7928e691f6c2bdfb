using System.Text.Json;
using Federation.Memory;
using Federation.Memory.Rag;
using Federation.Router;

namespace Federation.Node.Api;

/// <summary>One chat message as the engine gets it (<c>developer</c> is folded into <c>system</c>); <paramref name="Parts"/> are its text parts, as the router classifies them.</summary>
public sealed record ChatMessageIn(string Role, string Content, IReadOnlyList<string> Parts)
{
    /// <summary>On an assistant message that made tool calls: their ids (a later <c>tool</c> message must answer one).</summary>
    public IReadOnlyList<string>? CallIds { get; init; }
}

/// <summary>A validated chat or text completion request.</summary>
public sealed record CompletionRequestIn(
    string Model,
    IReadOnlyList<ChatMessageIn>? Messages,
    string? Prompt,
    int MaxTokens,
    float Temperature,
    float TopP,
    int TopK,
    ulong? Seed,
    IReadOnlyList<string> Stop,
    bool Stream,
    bool IncludeUsage,
    RequestedRoute Route)
{
    /// <summary>The caller's user (the API key's name; null for the keyless loopback caller): their own adapter is stacked on the specialist (PersonalAdapters).</summary>
    public string? User { get; init; }

    /// <summary>What the client asked of memory retrieval (<c>federation.memory</c>).</summary>
    public MemoryUse Memory { get; init; } = MemoryUse.Default;

    /// <summary>The memory retrieved for this request (set by the answer path before the final route), or null.</summary>
    public RagContext? Rag { get; init; }

    /// <summary>
    /// Everything the model will read, as the router classifies it (issue 8): every text part of every message of every
    /// role, or the completions prompt, and each retrieved memory fragment (<see cref="SegmentRole.Memory"/>, placed
    /// before the last user message or the prompt, where the prompt block goes).
    /// </summary>
    public RouteQuery Query
    {
        get
        {
            var q = Prompt is not null ? RouteQuery.FromPrompt(Prompt) : QueryOf(Messages!);
            if (Rag is not { Hits.Count: > 0 } rag) return q;
            var segments = q.Segments.ToList();
            var at = segments.FindLastIndex(x => x.Role is SegmentRole.User or SegmentRole.Prompt);
            segments.InsertRange(at < 0 ? segments.Count : at, rag.Hits.Select(h => new QuerySegment(SegmentRole.Memory, h.Content)));
            return new RouteQuery(segments);
        }
    }

    /// <summary>
    /// The messages (or prompt) the engine gets: the retrieved memory's prompt block (docs/memory.md §RAG) before the
    /// last user message's text, or before the prompt.
    /// </summary>
    public (IReadOnlyList<ChatMessageIn>? Messages, string? Prompt) ForEngine()
    {
        var block = Rag?.PromptBlock() ?? "";
        var instruction = Structured?.Instruction();
        if (block.Length == 0 && instruction is null) return (Messages, Prompt);
        if (Prompt is not null) return (null, block + Prompt);
        var list = Messages!.ToList();
        // what the answer must look like goes first, as a system message (the grammar enforces it whatever the model)
        if (instruction is not null) list.Insert(0, new ChatMessageIn("system", instruction, [instruction]));
        if (block.Length == 0) return (list, null);
        var i = list.FindLastIndex(m => m.Role == "user");
        if (i < 0) list.Add(new ChatMessageIn("user", block, [block]));
        else list[i] = list[i] with { Content = block + list[i].Content };
        return (list, null);
    }

    /// <summary>The router query of chat messages: one (role, text) segment per text part.</summary>
    public static RouteQuery QueryOf(IReadOnlyList<ChatMessageIn> messages)
    {
        var segments = messages.SelectMany(m => m.Parts.Select(p => (m.Role, p))).ToList();
        // content: [] everywhere leaves nothing to read; the router still needs one (empty) segment
        return segments.Count == 0 ? RouteQuery.FromMessages([(messages[^1].Role, "")]) : RouteQuery.FromMessages(segments);
    }

    /// <summary>The text the review queue and the ledger's <c>query_sha256</c> stand for: the prompt, or every message as <c>role: text</c> lines.</summary>
    public string QueryText => Prompt ?? string.Join("\n", Messages!.Select(m => $"{m.Role}: {m.Content}"));

    /// <summary><c>response_format</c> or callable <c>tools</c>: the shape the answer must have (null: plain text).</summary>
    public StructuredOutput? Structured { get; init; }

    /// <summary>The grammar enforcing <see cref="Structured"/>, built for the token budget this request has left (set by the endpoint).</summary>
    public string? Grammar { get; init; }

    /// <summary><c>logprobs: true</c>: the number of alternatives per token (<c>top_logprobs</c>, 0 when absent); null: no log probabilities.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary><c>federation.review: "async"</c>: a T3 answer is not waited for; the client gets 409 <c>review.pending</c> at once.</summary>
    public bool ReviewAsync { get; init; }

    /// <summary><c>federation.cache: false</c>: neither answered from nor kept in the node's response cache.</summary>
    public bool UseCache { get; init; } = true;
}

/// <summary><c>federation.memory</c>: whether to retrieve, and from which namespaces (null: the caller's defaults).</summary>
public sealed record MemoryUse(bool Enabled, IReadOnlyList<string>? Namespaces)
{
    public static MemoryUse Default { get; } = new(true, null);
}

/// <summary>A validated embeddings request.</summary>
public sealed record EmbeddingsRequestIn(string Model, IReadOnlyList<string> Inputs, bool Base64);

/// <summary>
/// Checks the typed request records (read by System.Text.Json) for what their types cannot say: required fields,
/// ranges, roles, the <c>federation</c> object. Every rejection is a 400 naming the parameter and what was expected.
/// Unknown top-level fields are ignored, as OpenAI-compatible servers do, so newer SDKs keep working.
/// </summary>
public static class RequestValidator
{
    public const int DefaultMaxTokens = 128;

    public static CompletionRequestIn Chat(ChatCompletionRequest r, int maxTokensLimit)
    {
        var model = RequiredString(r.Model, "model");
        if (r.Messages is null)
            throw ApiException.BadRequest("request.missing_field", "'messages' is required: an array of {role, content} objects.", "messages");
        if (r.Messages.Count == 0)
            throw ApiException.BadRequest("request.invalid_value", "'messages' must hold at least one message.", "messages");
        UnsupportedParameters.RefuseCompletion(r.Extra);
        var structured = StructuredOutput.Read(r.ResponseFormat, r.Tools, r.ToolChoice);
        var req = Common(r, model, Messages(r.Messages), null, maxTokensLimit);
        if (r.TopLogprobs is { } top && (top < 0 || top > 20))
            throw ApiException.BadRequest("request.invalid_value", $"'top_logprobs' must be between 0 and 20; found {top}.", "top_logprobs");
        if (r.TopLogprobs is not null && r.Logprobs != true)
            throw ApiException.BadRequest("request.invalid_value", "'top_logprobs' needs 'logprobs': true.", "top_logprobs");
        if (structured is not null)
        {
            if (req.Stop.Count > 0)
                throw ApiException.BadRequest("request.unsupported_parameter", "'stop' cannot be combined with structured output or tool calls: a stop sequence could cut the JSON short. Remove it.", "stop");
            _ = structured.Grammar(req.MaxTokens - 1); // refuses unsupported keywords and too small a max_tokens now; rebuilt for the context later
        }
        return req with { Structured = structured, TopLogprobs = r.Logprobs == true ? r.TopLogprobs ?? 0 : null };
    }

    public static CompletionRequestIn Text(TextCompletionRequest r, int maxTokensLimit)
    {
        var model = RequiredString(r.Model, "model");
        var prompt = r.Prompt ?? throw ApiException.BadRequest("request.missing_field", "'prompt' is required: a string.", "prompt");
        UnsupportedParameters.RefuseCompletion(r.Extra);
        return Common(r, model, null, prompt.Text, maxTokensLimit);
    }

    public static EmbeddingsRequestIn Embeddings(EmbeddingsRequest r)
    {
        var model = RequiredString(r.Model, "model");
        UnsupportedParameters.RefuseEmbeddings(r.Extra);
        var inputs = r.Input?.Values
            ?? throw ApiException.BadRequest("request.missing_field", "'input' is required: a string or an array of strings.", "input");
        if (inputs.Count is 0 or > 256)
            throw ApiException.BadRequest("request.invalid_value", "'input' must hold 1 to 256 strings.", "input");
        if (inputs.Any(string.IsNullOrEmpty))
            throw ApiException.BadRequest("request.invalid_value", "'input' strings must not be empty.", "input");
        var format = r.EncodingFormat ?? "float";
        if (format is not ("float" or "base64"))
            throw ApiException.BadRequest("request.invalid_value", $"'encoding_format' must be float or base64; found '{format}'.", "encoding_format");
        return new EmbeddingsRequestIn(model, inputs, format == "base64");
    }

    /// <summary>The query of a route request: <c>query</c> (one user segment), or every text part of <c>messages</c>.</summary>
    public static (RouteQuery Query, RequestedRoute Route) Route(RouteRequest r)
    {
        RouteQuery query;
        if (r.Messages is not null)
        {
            if (r.Messages.Count == 0)
                throw ApiException.BadRequest("request.invalid_value", "'messages' must hold at least one message.", "messages");
            var messages = Messages(r.Messages);
            query = CompletionRequestIn.QueryOf(messages);
        }
        else
        {
            query = RouteQuery.FromText(r.Query ?? throw ApiException.BadRequest("request.missing_field",
                "Send {\"query\": \"text\"} (optionally with \"model\"), or a chat request with 'messages'.", "query"));
        }
        return (query, Requested(string.IsNullOrEmpty(r.Model) ? RoutePlanner.AutoModel : r.Model, r.Federation));
    }

    /// <summary>The one reader of the <c>federation</c> request object into the router's <see cref="RequestedRoute"/>.</summary>
    public static RequestedRoute Requested(string model, FederationRequest? f)
    {
        if (f is null) return new RequestedRoute(model);
        if (f.Unknown is { Count: > 0 } unknown)
        {
            var name = unknown.Keys.Order(StringComparer.Ordinal).First();
            throw ApiException.BadRequest("request.invalid_value",
                $"'federation.{name}' is not a known field; use specialists, required_provenance, panel_size, memory or review.", $"federation.{name}");
        }
        ProvenanceRequirement? provenance = null;
        if (f.RequiredProvenance is { } p)
        {
            if (p.Unknown is { Count: > 0 } pu)
            {
                var name = pu.Keys.Order(StringComparer.Ordinal).First();
                throw ApiException.BadRequest("request.invalid_value",
                    $"'federation.required_provenance.{name}' is not a known field; use lineages and/or jurisdictions.", $"federation.required_provenance.{name}");
            }
            NonEmpty(p.Lineages, "federation.required_provenance.lineages");
            NonEmpty(p.Jurisdictions, "federation.required_provenance.jurisdictions");
            provenance = new ProvenanceRequirement(p.Lineages, p.Jurisdictions);
        }
        NonEmpty(f.Specialists, "federation.specialists");
        return new RequestedRoute(model, f.Specialists, provenance, f.PanelSize);
    }

    /// <summary><c>federation.memory</c>: absent or <c>true</c> → the caller's default namespaces; <c>false</c> → none; a list of namespace names → those.</summary>
    public static MemoryUse Memory(JsonElement? value)
    {
        const string param = "federation.memory";
        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.True) return MemoryUse.Default;
        if (v.ValueKind == JsonValueKind.False) return new MemoryUse(false, null);
        if (v.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("request.invalid_value", $"'{param}' must be true, false or an array of namespace names (user:<id>, topic:<id>, public).", param);
        var names = new List<string>();
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String || !MemoryNamespace.TryParse(e.GetString(), out var ns, out var error))
                throw ApiException.BadRequest("request.invalid_value", $"'{param}' must hold namespace names (user:<id>, topic:<id>, public); found {e.GetRawText()}.", param);
            _ = error;
            names.Add(ns.Name);
        }
        if (names.Count == 0)
            throw ApiException.BadRequest("request.invalid_value", $"'{param}' must name at least one namespace; send false to use no memory.", param);
        return new MemoryUse(true, names.Distinct(StringComparer.Ordinal).ToList());
    }

    private static void NonEmpty(IReadOnlyList<string>? values, string param)
    {
        if (values is not null && values.Any(string.IsNullOrEmpty))
            throw ApiException.BadRequest("request.invalid_value", $"'{param}' must hold non-empty strings.", param);
    }

    private static List<ChatMessageIn> Messages(IReadOnlyList<ChatMessageRequest?> list)
    {
        var messages = new List<ChatMessageIn>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var p = $"messages[{i}]";
            var m = list[i] ?? throw ApiException.BadRequest("request.invalid_value", $"'{p}' must be an object with 'role' and 'content'.", p);
            if (m.Role is not ("system" or "developer" or "user" or "assistant" or "tool"))
                throw ApiException.BadRequest("request.invalid_value", $"'{p}.role' must be one of system, developer, user, assistant, tool.", $"{p}.role");
            if (m.ToolCalls is { Count: > 0 } calls)
            {
                if (m.Role != "assistant")
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.tool_calls' is only allowed on assistant messages.", $"{p}.tool_calls");
                messages.Add(ToolCallMessage.Assistant(m.Content, calls, p));
                continue;
            }
            var content = m.Content ?? throw ApiException.BadRequest("request.missing_field", $"'{p}.content' is required.", $"{p}.content");
            if (m.Role == "tool")
            {
                messages.Add(ToolCallMessage.Result(content, m.ToolCallId, messages, p));
                continue;
            }
            messages.Add(new ChatMessageIn(m.Role == "developer" ? "system" : m.Role, content.Text, content.TextParts));
        }
        return messages;
    }

    private static CompletionRequestIn Common(CompletionRequestBase r, string model, List<ChatMessageIn>? messages, string? prompt, int maxTokensLimit)
    {
        var maxTokens = r.MaxCompletionTokens ?? r.MaxTokens ?? DefaultMaxTokens;
        if (maxTokens < 1 || maxTokens > maxTokensLimit)
            throw ApiException.BadRequest("request.invalid_value", $"'max_tokens' must be between 1 and {maxTokensLimit}; found {maxTokens}.", "max_tokens");
        if ((r.N ?? 1) != 1)
            throw ApiException.BadRequest("request.unsupported_parameter", "'n' other than 1 is not supported; send one request per choice.", "n");
        var temperature = r.Temperature ?? 0f;
        if (temperature is < 0 or > 2)
            throw ApiException.BadRequest("request.invalid_value", $"'temperature' must be between 0 and 2; found {temperature}.", "temperature");
        var topP = r.TopP ?? 1f;
        if (topP is <= 0 or > 1)
            throw ApiException.BadRequest("request.invalid_value", $"'top_p' must be in (0, 1]; found {topP}.", "top_p");
        var topK = r.TopK ?? 0;
        if (topK < 0)
            throw ApiException.BadRequest("request.invalid_value", "'top_k' must be 0 (off) or positive.", "top_k");
        return new CompletionRequestIn(model, messages, prompt, maxTokens, temperature, topP, topK,
            r.Seed is { } s ? unchecked((ulong)s) : null, r.Stop?.Values ?? [], r.Stream ?? false, r.StreamOptions?.IncludeUsage ?? false,
            Requested(model, r.Federation)) { Memory = Memory(r.Federation?.Memory), ReviewAsync = ReviewAsync(r.Federation), UseCache = r.Federation?.Cache ?? true };
    }

    /// <summary><c>federation.review</c>: <c>wait</c> (default) or <c>async</c>.</summary>
    public static bool ReviewAsync(FederationRequest? f) => f?.Review switch
    {
        null or "wait" => false,
        "async" => true,
        var other => throw ApiException.BadRequest("request.invalid_value",
            $"'federation.review' must be \"wait\" (hold the request for the reviewer) or \"async\" (answer 409 review.pending at once); found '{other}'.",
            "federation.review"),
    };

    private static string RequiredString(string? value, string name)
    {
        if (value is null) throw ApiException.BadRequest("request.missing_field", $"'{name}' is required.", name);
        if (string.IsNullOrWhiteSpace(value)) throw ApiException.BadRequest("request.invalid_value", $"'{name}' must be a non-empty string.", name);
        return value;
    }
}
