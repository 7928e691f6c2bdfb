using System.Text.Json;
using System.Text.Json.Serialization;
using Federation.Node.Answering;

namespace Federation.Node.Api;

/// <summary>Token counts of an answer.</summary>
public sealed record UsageInfo(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>The assistant message of a chat answer: text <paramref name="Content"/>, or (content null) <paramref name="ToolCalls"/>.</summary>
public sealed record AssistantMessage(string Role, string? Content, string? Refusal,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallInfo>? ToolCalls = null);

/// <summary>A tool call of an answer: <c>{"id","type":"function","function":{"name","arguments"}}</c>, arguments a JSON string.</summary>
public sealed record ToolCallInfo(string Id, string Type, FunctionCallInfo Function);

public sealed record FunctionCallInfo(string Name, string Arguments);

/// <summary>A streamed piece of a tool call: the first has id, type and name (arguments ""), the rest argument fragments.</summary>
public sealed record ToolCallDelta(
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    FunctionCallDelta Function);

public sealed record FunctionCallDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    string Arguments);

public sealed record ChatChoice(int Index, AssistantMessage Message, JsonElement? Logprobs, string FinishReason);

/// <summary><c>chat.completion</c>, with the <c>federation</c> extension (docs/api.md).</summary>
public sealed record ChatCompletionResponse(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, UsageInfo Usage,
    string? SystemFingerprint, FederationInfo Federation);

public sealed record TextChoice(int Index, string Text, JsonElement? Logprobs, string? FinishReason);

/// <summary><c>text_completion</c> (also the shape of its stream chunks, where usage and federation come last).</summary>
public sealed record TextCompletionResponse(
    string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageInfo? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FederationInfo? Federation);

/// <summary>The delta of a chat stream chunk: <c>role</c> on the first, <c>content</c> while text flows.</summary>
public sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallDelta>? ToolCalls = null);

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, JsonElement? Logprobs, string? FinishReason);

/// <summary><c>chat.completion.chunk</c>: <c>federation</c> rides on the chunk with <c>finish_reason</c>, <c>usage</c> on the last.</summary>
public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageInfo? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FederationInfo? Federation);

/// <summary>The federation facts of one model: which fields are set depends on <see cref="Kind"/> (router, topic, specialist).</summary>
public sealed record ModelFederationInfo(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PolicyCid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Tier = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Class = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Champion = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BaseCid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AdapterCid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Topics = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BaseLineage = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Jurisdiction = null,
    // context_length: prompt + answer tokens per request; max_query_chars: the policy's bound on routed text;
    // guaranteed_query_chars: characters that always fit the context (byte vocabulary: at most 4 tokens a character)
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ContextLength = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MaxQueryChars = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? GuaranteedQueryChars = null);

public sealed record ModelInfo(string Id, string Object, long Created, string OwnedBy, ModelFederationInfo Federation);

public sealed record ModelList(string Object, IReadOnlyList<ModelInfo> Data);

/// <summary>An embedding: an array of floats, or their little-endian bytes in base64 (<c>encoding_format</c>).</summary>
[JsonConverter(typeof(EmbeddingVectorConverter))]
public sealed record EmbeddingVector(float[] Values, bool Base64);

public sealed record EmbeddingItem(string Object, int Index, EmbeddingVector Embedding);

public sealed record EmbeddingsUsage(int PromptTokens, int TotalTokens);

public sealed record EmbeddingList(string Object, IReadOnlyList<EmbeddingItem> Data, string Model, EmbeddingsUsage Usage);

/// <summary><c>GET /v1/federation/reviews/{id}</c>: the answer only once approved and ledgered.</summary>
public sealed record ReviewResponse(
    string Id, string Status, string Topic, long CreatedAt, string? Reviewer, string? Comment, string? Answer,
    long? LedgerIndex, string? ProofUrl,
    // the panel member (specialist id) whose answer the reviewer approved; null when the item had one draft or is pending
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Member = null);

/// <summary>A signed tree head: <c>{"tree_size","root","timestamp","signer","signature","id"}</c> (docs/ledger.md).</summary>
public sealed record SignedTreeHeadResponse(long TreeSize, string Root, long Timestamp, string Signer, string Signature, string Id);

/// <summary>An RFC 9162 inclusion proof (the <c>fed merkle verify</c> shape) plus the entry's signed envelope.</summary>
public sealed record InclusionProofResponse(
    long LeafIndex, long TreeSize, string LeafHash, string Root, IReadOnlyList<string> Path, CanonicalJsonValue Entry);

/// <summary><c>/health</c>.</summary>
public sealed record HealthResponse(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NodeId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BaseCid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PolicyCid = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? LedgerSize = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Specialists = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null);

/// <summary>The body of an OpenAI-style error.</summary>
public sealed record ApiErrorBody(string Message, string Type, string? Param, string Code);

/// <summary><c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record ApiErrorResponse(ApiErrorBody Error);

internal sealed class EmbeddingVectorConverter : JsonConverter<EmbeddingVector>
{
    public override EmbeddingVector Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("embeddings are written, never read, by the node");

    public override void Write(Utf8JsonWriter writer, EmbeddingVector value, JsonSerializerOptions options)
    {
        if (value.Base64)
        {
            writer.WriteBase64StringValue(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.Values.AsSpan()));
            return;
        }
        writer.WriteStartArray();
        foreach (var f in value.Values) writer.WriteNumberValue(f);
        writer.WriteEndArray();
    }
}

/// <summary>
/// The node's JSON contract, generated at build time (no reflection): snake_case names, every request and response
/// record. ASP.NET Core and the OpenAPI document use it, so /openapi/v1.json shows these shapes.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(TextCompletionRequest))]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(RouteRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(TextCompletionResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(EmbeddingList))]
[JsonSerializable(typeof(ReviewResponse))]
[JsonSerializable(typeof(SignedTreeHeadResponse))]
[JsonSerializable(typeof(InclusionProofResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ApiErrorResponse))]
[JsonSerializable(typeof(RouteInfo))]
[JsonSerializable(typeof(AnswerRecord))]
[JsonSerializable(typeof(AnswerFacts))]
[JsonSerializable(typeof(Federation.Node.Review.ReviewDecision))]
public sealed partial class NodeJsonContext : JsonSerializerContext;
