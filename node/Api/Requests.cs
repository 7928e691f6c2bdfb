using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federation.Node.Api;

/// <summary>
/// A request field the body carried with the wrong shape, raised while the body is read (converters below). The
/// serializer sets <see cref="JsonException.Path"/>, which names the parameter in the 400 answer.
/// </summary>
public sealed class RequestFieldException(string message, string code = "request.invalid_value") : JsonException(message)
{
    public string Code { get; } = code;
}

/// <summary>The optional <c>federation</c> request object: routing wishes the router honours or refuses (docs/api.md).</summary>
public sealed record FederationRequest
{
    /// <summary><c>wait</c> (default: hold the request up to the node's review wait) or <c>async</c> (answer 409 <c>review.pending</c> at once).</summary>
    public string? Review { get; init; }

    /// <summary>Exactly these specialists (a panel when more than one).</summary>
    public IReadOnlyList<string>? Specialists { get; init; }

    /// <summary>Provenance every chosen specialist must have.</summary>
    public RequiredProvenance? RequiredProvenance { get; init; }

    /// <summary>Number of specialists to ask (overrides the class default).</summary>
    public int? PanelSize { get; init; }

    /// <summary>Memory retrieval: <c>false</c> (none), <c>true</c> (the default namespaces) or a list of namespaces to read.</summary>
    public JsonElement? Memory { get; init; }

    /// <summary><c>false</c>: skip the node's response cache for this request (default true: used when the node has one).</summary>
    public bool? Cache { get; init; }

    /// <summary>Fields this node does not know; any is refused with 400 naming it.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>
/// The one wire shape of <c>federation.required_provenance</c>: <c>{"lineages":[..], "jurisdictions":[..]}</c>; an
/// absent list puts no requirement on that axis; matching is case-insensitive.
/// </summary>
public sealed record RequiredProvenance
{
    public IReadOnlyList<string>? Lineages { get; init; }

    public IReadOnlyList<string>? Jurisdictions { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>One chat message: a role and text content (a string or an array of <c>{"type":"text","text":…}</c> parts).</summary>
public sealed record ChatMessageRequest
{
    public string? Role { get; init; }

    /// <summary>Required, except on an assistant message that carries <see cref="ToolCalls"/> (then null or absent is allowed).</summary>
    public MessageContent? Content { get; init; }

    /// <summary>An assistant turn's tool calls, replayed by the client.</summary>
    public IReadOnlyList<ToolCallRequest?>? ToolCalls { get; init; }

    /// <summary>On a <c>tool</c> message: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>The participant's name (accepted; not shown to the model).</summary>
    public string? Name { get; init; }
}

/// <summary>A tool call of an assistant message: <c>{"id","type":"function","function":{"name","arguments"}}</c>.</summary>
public sealed record ToolCallRequest
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public FunctionCallRequest? Function { get; init; }
}

/// <summary>A called function: its name and its arguments as a JSON string.</summary>
public sealed record FunctionCallRequest
{
    public string? Name { get; init; }
    public string? Arguments { get; init; }
}

/// <summary>Message content: the text of a string or of all its text parts, concatenated; <paramref name="Parts"/> keeps each part (the router classifies them one by one).</summary>
[JsonConverter(typeof(MessageContentConverter))]
public sealed record MessageContent(string Text, IReadOnlyList<string>? Parts = null)
{
    /// <summary>The text parts: the string itself, or each <c>{"type":"text"}</c> part in order.</summary>
    public IReadOnlyList<string> TextParts => Parts ?? [Text];
}

/// <summary><c>stream_options</c>.</summary>
public sealed record StreamOptionsRequest
{
    public bool? IncludeUsage { get; init; }
}

/// <summary>The fields chat and text completions share.</summary>
public abstract record CompletionRequestBase
{
    public string? Model { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public int? N { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public long? Seed { get; init; }
    public StopSequences? Stop { get; init; }
    public bool? Stream { get; init; }
    public StreamOptionsRequest? StreamOptions { get; init; }
    public FederationRequest? Federation { get; init; }

    /// <summary>Fields without a typed property: the ones the node does not implement are refused (<see cref="UnsupportedParameters"/>), the rest ignored.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary><c>POST /v1/chat/completions</c>.</summary>
public sealed record ChatCompletionRequest : CompletionRequestBase
{
    public IReadOnlyList<ChatMessageRequest?>? Messages { get; init; }

    /// <summary><c>{"type":"text"}</c>, <c>{"type":"json_object"}</c> or <c>{"type":"json_schema","json_schema":{…}}</c> (<see cref="StructuredOutput"/>).</summary>
    public JsonElement? ResponseFormat { get; init; }

    /// <summary>Functions the model may call.</summary>
    public JsonElement? Tools { get; init; }

    /// <summary><c>none</c>, <c>auto</c>, <c>required</c> or <c>{"type":"function","function":{"name"}}</c>.</summary>
    public JsonElement? ToolChoice { get; init; }

    /// <summary>At most one call is made per answer, so either value is honoured.</summary>
    public bool? ParallelToolCalls { get; init; }

    /// <summary>Return each answer token's log probability.</summary>
    public bool? Logprobs { get; init; }

    /// <summary>0..20 most likely alternatives per token (needs <see cref="Logprobs"/>).</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>An end-user id (accepted; not stored).</summary>
    public string? User { get; init; }
}

/// <summary><c>POST /v1/completions</c>.</summary>
public sealed record TextCompletionRequest : CompletionRequestBase
{
    /// <summary>A string, or an array of exactly one string.</summary>
    public PromptText? Prompt { get; init; }
}

/// <summary>A prompt given as a string or an array of exactly one string.</summary>
[JsonConverter(typeof(PromptTextConverter))]
public sealed record PromptText(string Text);

/// <summary><c>stop</c>: a string or an array of up to 4 non-empty strings.</summary>
[JsonConverter(typeof(StopSequencesConverter))]
public sealed record StopSequences(IReadOnlyList<string> Values);

/// <summary><c>POST /v1/embeddings</c>.</summary>
public sealed record EmbeddingsRequest
{
    public string? Model { get; init; }

    /// <summary>A string or an array of strings (token arrays are not supported).</summary>
    public EmbeddingInput? Input { get; init; }

    /// <summary><c>float</c> (default) or <c>base64</c>.</summary>
    public string? EncodingFormat { get; init; }

    /// <summary>Fields without a typed property (see <see cref="UnsupportedParameters"/>).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

[JsonConverter(typeof(EmbeddingInputConverter))]
public sealed record EmbeddingInput(IReadOnlyList<string> Values);

/// <summary><c>POST /v1/federation/route</c>: <c>{"query"}</c> or a chat request's <c>messages</c>, with optional <c>model</c> and <c>federation</c>.</summary>
public sealed record RouteRequest
{
    public string? Query { get; init; }
    public string? Model { get; init; }
    public IReadOnlyList<ChatMessageRequest?>? Messages { get; init; }
    public FederationRequest? Federation { get; init; }
}

internal static class JsonRead
{
    public static List<string> Strings(ref Utf8JsonReader reader, string what)
    {
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String) throw new RequestFieldException($"{what}; found a {reader.TokenType} item.");
            list.Add(reader.GetString()!);
        }
        return list;
    }
}

internal sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    public override MessageContent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new(reader.GetString()!);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new RequestFieldException("'content' must be a string or an array of text parts.");
        var sb = new System.Text.StringBuilder();
        var parts = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            using var part = JsonDocument.ParseValue(ref reader);
            var p = part.RootElement;
            try
            {
                if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String
                    || t.GetString() != "text" || !p.TryGetProperty("text", out var tx) || tx.ValueKind != JsonValueKind.String)
                    throw new RequestFieldException("'content' parts must be {\"type\":\"text\",\"text\":...}; images and audio are not supported.", "request.unsupported");
                sb.Append(tx.GetString());
                parts.Add(tx.GetString()!);
            }
            catch (InvalidOperationException e)
            {
                // JsonElement (unlike the reader) throws this for invalid UTF-8 or a lone surrogate; the serializer would not map it
                throw new RequestFieldException($"'content' parts must be valid text: strings must be UTF-8 without lone surrogates ({e.Message}).", "request.invalid_encoding");
            }
        }
        return new(sb.ToString(), parts);
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
}

internal sealed class PromptTextConverter : JsonConverter<PromptText>
{
    public override PromptText Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new(reader.GetString()!);
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var items = JsonRead.Strings(ref reader, "'prompt' must be a string (or an array of exactly one string)");
            if (items.Count == 1) return new(items[0]);
        }
        throw new RequestFieldException("'prompt' must be a string (or an array of exactly one string).");
    }

    public override void Write(Utf8JsonWriter writer, PromptText value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
}

internal sealed class StopSequencesConverter : JsonConverter<StopSequences>
{
    private const string Expected = "'stop' must be a string or an array of up to 4 non-empty strings";

    public override StopSequences Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        List<string> values = reader.TokenType switch
        {
            JsonTokenType.String => [reader.GetString()!],
            JsonTokenType.StartArray => JsonRead.Strings(ref reader, Expected),
            _ => throw new RequestFieldException(Expected + "."),
        };
        if (values.Count > 4 || values.Any(v => v.Length == 0)) throw new RequestFieldException(Expected + ".");
        return new(values);
    }

    public override void Write(Utf8JsonWriter writer, StopSequences value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}

internal sealed class EmbeddingInputConverter : JsonConverter<EmbeddingInput>
{
    private const string Expected = "'input' must be a string or an array of strings (token arrays are not supported)";

    public override EmbeddingInput Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => new([reader.GetString()!]),
        JsonTokenType.StartArray => new(JsonRead.Strings(ref reader, Expected)),
        _ => throw new RequestFieldException(Expected + "."),
    };

    public override void Write(Utf8JsonWriter writer, EmbeddingInput value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var v in value.Values) writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}
