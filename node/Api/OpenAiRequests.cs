using System.Text.Json;

namespace Federation.Node.Api;

/// <summary>One chat message of a request.</summary>
public sealed record ChatMessageIn(string Role, string Content);

/// <summary>The optional <c>federation</c> object of a request: routing wishes the router honours or refuses.</summary>
public sealed record FederationRequestOptions(
    IReadOnlyList<string>? Specialists, IReadOnlyList<string>? RequiredProvenance, int? PanelSize);

/// <summary>A parsed and validated chat or text completion request.</summary>
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
    FederationRequestOptions? Federation)
{
    /// <summary>The text the router classifies: the last user message, or the prompt.</summary>
    public string RoutingText =>
        Prompt ?? Messages!.LastOrDefault(m => m.Role == "user")?.Content ?? Messages![^1].Content;
}

/// <summary>An embeddings request.</summary>
public sealed record EmbeddingsRequestIn(string Model, IReadOnlyList<string> Inputs, string EncodingFormat);

/// <summary>
/// Strict parsing of OpenAI request bodies: every rejection is a 400 naming the parameter and what was expected.
/// Unknown top-level fields are ignored, as OpenAI-compatible servers do, so newer SDKs keep working.
/// </summary>
public static class OpenAiRequestParser
{
    public const int DefaultMaxTokens = 128;

    public static CompletionRequestIn ParseChat(JsonElement root, int maxTokensLimit) => Parse(root, chat: true, maxTokensLimit);

    public static CompletionRequestIn ParseCompletion(JsonElement root, int maxTokensLimit) => Parse(root, chat: false, maxTokensLimit);

    private static CompletionRequestIn Parse(JsonElement root, bool chat, int maxTokensLimit)
    {
        RequireObject(root);
        var model = RequiredString(root, "model");
        List<ChatMessageIn>? messages = null;
        string? prompt = null;
        if (chat)
        {
            if (!root.TryGetProperty("messages", out var ms) || ms.ValueKind != JsonValueKind.Array)
                throw ApiException.BadRequest("request.missing_field", "'messages' is required: an array of {role, content} objects.", "messages");
            if (ms.GetArrayLength() == 0)
                throw ApiException.BadRequest("request.invalid_value", "'messages' must hold at least one message.", "messages");
            messages = [];
            var i = 0;
            foreach (var m in ms.EnumerateArray())
            {
                var p = $"messages[{i++}]";
                if (m.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}' must be an object with 'role' and 'content'.", p);
                var role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : null;
                if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.role' must be one of system, developer, user, assistant, tool.", $"{p}.role");
                messages.Add(new ChatMessageIn(role == "developer" ? "system" : role, ContentText(m, p)));
            }
        }
        else
        {
            if (!root.TryGetProperty("prompt", out var pr))
                throw ApiException.BadRequest("request.missing_field", "'prompt' is required: a string.", "prompt");
            prompt = pr.ValueKind switch
            {
                JsonValueKind.String => pr.GetString()!,
                JsonValueKind.Array when pr.GetArrayLength() == 1 && pr[0].ValueKind == JsonValueKind.String => pr[0].GetString()!,
                _ => throw ApiException.BadRequest("request.invalid_value", "'prompt' must be a string (or an array of exactly one string).", "prompt"),
            };
        }
        var maxTokens = OptionalInt(root, "max_completion_tokens") ?? OptionalInt(root, "max_tokens") ?? DefaultMaxTokens;
        if (maxTokens < 1 || maxTokens > maxTokensLimit)
            throw ApiException.BadRequest("request.invalid_value", $"'max_tokens' must be between 1 and {maxTokensLimit}; found {maxTokens}.", "max_tokens");
        var n = OptionalInt(root, "n") ?? 1;
        if (n != 1)
            throw ApiException.BadRequest("request.unsupported", "'n' other than 1 is not supported; send one request per choice.", "n");
        var temperature = OptionalFloat(root, "temperature") ?? 0f;
        if (temperature is < 0 or > 2)
            throw ApiException.BadRequest("request.invalid_value", $"'temperature' must be between 0 and 2; found {temperature}.", "temperature");
        var topP = OptionalFloat(root, "top_p") ?? 1f;
        if (topP is <= 0 or > 1)
            throw ApiException.BadRequest("request.invalid_value", $"'top_p' must be in (0, 1]; found {topP}.", "top_p");
        var topK = OptionalInt(root, "top_k") ?? 0;
        if (topK < 0)
            throw ApiException.BadRequest("request.invalid_value", "'top_k' must be 0 (off) or positive.", "top_k");
        ulong? seed = null;
        if (root.TryGetProperty("seed", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var sv))
                throw ApiException.BadRequest("request.invalid_value", "'seed' must be an integer.", "seed");
            seed = unchecked((ulong)sv);
        }
        var stop = new List<string>();
        if (root.TryGetProperty("stop", out var st) && st.ValueKind != JsonValueKind.Null)
        {
            if (st.ValueKind == JsonValueKind.String) stop.Add(st.GetString()!);
            else if (st.ValueKind == JsonValueKind.Array && st.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) && st.GetArrayLength() <= 4)
                stop.AddRange(st.EnumerateArray().Select(x => x.GetString()!));
            else throw ApiException.BadRequest("request.invalid_value", "'stop' must be a string or an array of up to 4 strings.", "stop");
            if (stop.Any(x => x.Length == 0))
                throw ApiException.BadRequest("request.invalid_value", "'stop' sequences must not be empty.", "stop");
        }
        var stream = OptionalBool(root, "stream") ?? false;
        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object)
            includeUsage = OptionalBool(so, "include_usage") ?? false;
        return new CompletionRequestIn(model, messages, prompt, maxTokens, temperature, topP, topK, seed, stop, stream, includeUsage,
            ParseFederation(root));
    }

    public static EmbeddingsRequestIn ParseEmbeddings(JsonElement root)
    {
        RequireObject(root);
        var model = RequiredString(root, "model");
        if (!root.TryGetProperty("input", out var input))
            throw ApiException.BadRequest("request.missing_field", "'input' is required: a string or an array of strings.", "input");
        List<string> inputs = input.ValueKind switch
        {
            JsonValueKind.String => [input.GetString()!],
            JsonValueKind.Array when input.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) => input.EnumerateArray().Select(x => x.GetString()!).ToList(),
            _ => throw ApiException.BadRequest("request.invalid_value", "'input' must be a string or an array of strings (token arrays are not supported).", "input"),
        };
        if (inputs.Count == 0 || inputs.Count > 256)
            throw ApiException.BadRequest("request.invalid_value", "'input' must hold 1 to 256 strings.", "input");
        if (inputs.Any(string.IsNullOrEmpty))
            throw ApiException.BadRequest("request.invalid_value", "'input' strings must not be empty.", "input");
        var format = root.TryGetProperty("encoding_format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : "float";
        if (format is not ("float" or "base64"))
            throw ApiException.BadRequest("request.invalid_value", $"'encoding_format' must be float or base64; found '{format}'.", "encoding_format");
        return new EmbeddingsRequestIn(model, inputs, format);
    }

    private static FederationRequestOptions? ParseFederation(JsonElement root)
    {
        if (!root.TryGetProperty("federation", out var f) || f.ValueKind == JsonValueKind.Null) return null;
        if (f.ValueKind != JsonValueKind.Object)
            throw ApiException.BadRequest("request.invalid_value", "'federation' must be an object {specialists?, required_provenance?, panel_size?}.", "federation");
        foreach (var p in f.EnumerateObject())
            if (p.Name is not ("specialists" or "required_provenance" or "panel_size"))
                throw ApiException.BadRequest("request.invalid_value", $"'federation.{p.Name}' is not a known field; use specialists, required_provenance or panel_size.", $"federation.{p.Name}");
        return new FederationRequestOptions(
            OptionalStrings(f, "specialists", "federation.specialists"),
            OptionalStrings(f, "required_provenance", "federation.required_provenance"),
            OptionalInt(f, "panel_size", "federation.panel_size"));
    }

    private static string ContentText(JsonElement m, string p)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("request.missing_field", $"'{p}.content' is required.", $"{p}.content");
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind == JsonValueKind.Array)
        {
            var parts = new List<string>();
            foreach (var part in c.EnumerateArray())
            {
                if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var t) || t.GetString() != "text"
                    || !part.TryGetProperty("text", out var tx) || tx.ValueKind != JsonValueKind.String)
                    throw ApiException.BadRequest("request.unsupported", $"'{p}.content' parts must be {{\"type\":\"text\",\"text\":...}}; images and audio are not supported.", $"{p}.content");
                parts.Add(tx.GetString()!);
            }
            return string.Concat(parts);
        }
        throw ApiException.BadRequest("request.invalid_value", $"'{p}.content' must be a string or an array of text parts.", $"{p}.content");
    }

    private static void RequireObject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw ApiException.BadRequest("request.invalid_value", "The request body must be a JSON object.");
    }

    private static string RequiredString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("request.missing_field", $"'{name}' is required.", name);
        if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
            throw ApiException.BadRequest("request.invalid_value", $"'{name}' must be a non-empty string.", name);
        return v.GetString()!;
    }

    private static int? OptionalInt(JsonElement o, string name, string? param = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw ApiException.BadRequest("request.invalid_value", $"'{param ?? name}' must be an integer.", param ?? name);
        return i;
    }

    private static float? OptionalFloat(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number)
            throw ApiException.BadRequest("request.invalid_value", $"'{name}' must be a number.", name);
        return (float)v.GetDouble();
    }

    private static bool? OptionalBool(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw ApiException.BadRequest("request.invalid_value", $"'{name}' must be true or false.", name);
        return v.GetBoolean();
    }

    private static List<string>? OptionalStrings(JsonElement o, string name, string param)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || !v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
            throw ApiException.BadRequest("request.invalid_value", $"'{param}' must be an array of strings.", param);
        return v.EnumerateArray().Select(x => x.GetString()!).ToList();
    }
}
