using Federation.Router;

namespace Federation.Node.Api;

/// <summary>One chat message as the engine gets it (<c>developer</c> is folded into <c>system</c>).</summary>
public sealed record ChatMessageIn(string Role, string Content);

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
    /// <summary><c>federation.review: "async"</c>: a T3 answer is not waited for; the client gets 409 <c>review.pending</c> at once.</summary>
    public bool ReviewAsync { get; init; }

    /// <summary>The text the router classifies: the last user message, or the prompt.</summary>
    public string RoutingText =>
        Prompt ?? Messages!.LastOrDefault(m => m.Role == "user")?.Content ?? Messages![^1].Content;
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
        return Common(r, model, Messages(r.Messages), null, maxTokensLimit);
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

    /// <summary>The query of a route request: <c>query</c>, or the routing text of <c>messages</c>.</summary>
    public static (string Query, RequestedRoute Route) Route(RouteRequest r)
    {
        string query;
        if (r.Messages is not null)
        {
            if (r.Messages.Count == 0)
                throw ApiException.BadRequest("request.invalid_value", "'messages' must hold at least one message.", "messages");
            var messages = Messages(r.Messages);
            query = messages.LastOrDefault(m => m.Role == "user")?.Content ?? messages[^1].Content;
        }
        else
        {
            query = r.Query ?? throw ApiException.BadRequest("request.missing_field",
                "Send {\"query\": \"text\"} (optionally with \"model\"), or a chat request with 'messages'.", "query");
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
                $"'federation.{name}' is not a known field; use specialists, required_provenance, panel_size or review.", $"federation.{name}");
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
            var content = m.Content ?? throw ApiException.BadRequest("request.missing_field", $"'{p}.content' is required.", $"{p}.content");
            messages.Add(new ChatMessageIn(m.Role == "developer" ? "system" : m.Role, content.Text));
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
            Requested(model, r.Federation)) { ReviewAsync = ReviewAsync(r.Federation) };
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
