using System.Text.Json;

namespace Federation.Node.Api;

/// <summary>
/// OpenAI request parameters this node does not implement. Sent with a value that would change the answer, each is
/// refused with 400 <c>request.unsupported_parameter</c> naming it (issue 8: silently ignoring <c>tools</c> or
/// <c>response_format</c> would hand back an answer the client did not ask for); sent with its neutral value (null,
/// false, 0, an empty list, <c>"none"</c>, <c>{"type":"text"}</c>) it is accepted. Other unknown fields are ignored so
/// newer SDKs keep working.
/// </summary>
public static class UnsupportedParameters
{
    private static readonly Dictionary<string, (Func<JsonElement, bool> Neutral, string Why)> Completion = new(StringComparer.Ordinal)
    {
        // tools, tool_choice, response_format and logprobs are read by /v1/chat/completions; here only /v1/completions meets them
        ["tools"] = (EmptyList, "tool calling is served by /v1/chat/completions"),
        ["tool_choice"] = (NoneOrAuto, "tool calling is served by /v1/chat/completions"),
        ["functions"] = (EmptyList, "function calling is not implemented"),
        ["function_call"] = (NoneOrAuto, "function calling is not implemented"),
        ["response_format"] = (TextFormat, "structured output is served by /v1/chat/completions"),
        ["logit_bias"] = (EmptyObject, "logit bias is not implemented"),
        ["logprobs"] = (FalseOrZero, "log probabilities are returned by /v1/chat/completions only"),
        ["top_logprobs"] = (FalseOrZero, "log probabilities are returned by /v1/chat/completions only"),
        ["store"] = (FalseOrZero, "stored completions are not implemented (the ledger records every answer)"),
        ["service_tier"] = (NullOrAutoOrDefault, "service tiers are not implemented"),
        ["reasoning_effort"] = (Null, "reasoning effort is not implemented"),
        ["verbosity"] = (Null, "verbosity is not implemented"),
        ["presence_penalty"] = (FalseOrZero, "repetition penalties are not implemented"),
        ["frequency_penalty"] = (FalseOrZero, "repetition penalties are not implemented"),
        ["audio"] = (Null, "audio output is not implemented"),
        ["modalities"] = (TextOnly, "only text output is produced"),
        ["prediction"] = (Null, "predicted outputs are not implemented"),
        ["web_search_options"] = (Null, "web search is not implemented"),
        ["echo"] = (FalseOrZero, "echoing the prompt is not implemented"),
        ["best_of"] = (NullOrOne, "best_of other than 1 is not implemented; send one request per candidate"),
        ["suffix"] = (NullOrEmptyString, "insertion (suffix) is not implemented"),
    };

    private static readonly Dictionary<string, (Func<JsonElement, bool> Neutral, string Why)> Embedding = new(StringComparer.Ordinal)
    {
        ["dimensions"] = (Null, "embeddings have the base model's fixed size"),
    };

    /// <summary>Throws 400 <c>request.unsupported_parameter</c> for the first (in ordinal order) unsupported field with a non-neutral value.</summary>
    public static void RefuseCompletion(Dictionary<string, JsonElement>? extra) => Refuse(extra, Completion);

    /// <inheritdoc cref="RefuseCompletion"/>
    public static void RefuseEmbeddings(Dictionary<string, JsonElement>? extra) => Refuse(extra, Embedding);

    /// <summary>The names refused by the completion endpoints (docs/api.md lists them).</summary>
    public static IEnumerable<string> CompletionNames => Completion.Keys;

    private static void Refuse(Dictionary<string, JsonElement>? extra, Dictionary<string, (Func<JsonElement, bool> Neutral, string Why)> table)
    {
        if (extra is null) return;
        foreach (var name in extra.Keys.Order(StringComparer.Ordinal))
            if (table.TryGetValue(name, out var rule) && !IsNeutral(rule.Neutral, extra[name]))
                throw ApiException.BadRequest("request.unsupported_parameter",
                    $"'{name}' is not supported by this node: {rule.Why}. Remove it (or send its neutral value) and retry.", name);
    }

    /// <summary>A value whose strings are not valid text (invalid UTF-8, a lone surrogate) is not neutral (found by the fuzz suite: reading it threw).</summary>
    private static bool IsNeutral(Func<JsonElement, bool> neutral, JsonElement value)
    {
        try
        {
            return neutral(value);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool Null(JsonElement e) => e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;
    private static bool EmptyList(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 0);
    private static bool EmptyObject(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.Object && !e.EnumerateObject().Any());
    private static bool NoneOrAuto(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.String && e.GetString() is "none" or "auto");
    private static bool FalseOrZero(JsonElement e) =>
        Null(e) || e.ValueKind == JsonValueKind.False || (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && d == 0);
    private static bool NullOrAutoOrDefault(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.String && e.GetString() is "auto" or "default");
    private static bool NullOrOne(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && d == 1);
    private static bool NullOrEmptyString(JsonElement e) => Null(e) || (e.ValueKind == JsonValueKind.String && e.GetString()!.Length == 0);
    private static bool TextFormat(JsonElement e) =>
        Null(e) || (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            && t.GetString() == "text" && e.EnumerateObject().Count() == 1);
    private static bool TextOnly(JsonElement e) =>
        Null(e) || (e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String && x.GetString() == "text"));
}
