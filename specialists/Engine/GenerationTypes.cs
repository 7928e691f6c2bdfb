using Federation.Registry;

namespace Federation.Specialists.Engine;

/// <summary>One chat message (role: system, user, assistant).</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>One adapter of a request's adapter set with its scale (applied scale = scale·alpha/rank).</summary>
public sealed record AdapterSelection(string AdapterId, float Scale = 1f);

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>End-of-generation token or a stop sequence.</summary>
    Stop,
    /// <summary>max_tokens reached (or the context filled up).</summary>
    Length,
    /// <summary>The caller's cancellation token fired.</summary>
    Cancelled,
}

/// <summary>
/// A generation request: either <see cref="Prompt"/> (raw text) or <see cref="Messages"/> (chat-formatted), an
/// adapter set (empty = base only), and decoding settings. Temperature 0 means greedy (bit-reproducible).
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>Raw prompt text (BOS is added; special tokens are not parsed). Ignored when <see cref="Messages"/> is set.</summary>
    public string? Prompt { get; init; }
    /// <summary>Chat messages, formatted with the model's chat template or the plain one (<see cref="ChatTemplate"/>).</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>The adapter set: empty = base only; one adapter; or a weighted mix. Order does not matter.</summary>
    public IReadOnlyList<AdapterSelection> Adapters { get; init; } = [];
    /// <summary>Most tokens to generate (&gt;= 1).</summary>
    public int MaxTokens { get; init; } = 128;
    /// <summary>Generation stops before the first occurrence of any of these strings (not included in the text).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>0 = greedy (bit-reproducible); above 0 = sampling with <see cref="Seed"/>.</summary>
    public float Temperature { get; init; }
    /// <summary>Nucleus sampling threshold (used when sampling; 1 = off).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Top-k cut (used when sampling; 0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Seed for sampling (temperature &gt; 0); null = a random seed, reported in the result.</summary>
    public uint? Seed { get; init; }
    /// <summary>A GBNF grammar (root rule <c>root</c>) every generated token must keep the text inside (llama.cpp's grammar sampler, applied before the others); null = none. It must be well-formed (JsonSchemaGrammar's output): llama.cpp does not survive a grammar it cannot parse.</summary>
    public string? Grammar { get; init; }
    /// <summary>Null: no log probabilities; 0..20: each generated token's log probability and that many most likely alternatives, from the raw logits.</summary>
    public int? TopLogprobs { get; init; }
}

/// <summary>A token and its log probability under the model's raw logits (log-softmax over the whole vocabulary).</summary>
public sealed record TokenLogprob(int Token, byte[] Bytes, float Logprob);

/// <summary>One generated token's log probability and the most likely alternatives at that position (most likely first).</summary>
public sealed record TokenLogprobs(TokenLogprob Chosen, IReadOnlyList<TokenLogprob> Top);

/// <summary>The outcome of a request.</summary>
public sealed record GenerationResult
{
    /// <summary>Generated text (valid UTF-16; invalid byte sequences from the model appear as U+FFFD).</summary>
    public required string Text { get; init; }
    /// <summary>Generated token ids (end-of-generation token excluded).</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }
    /// <summary>Prompt tokens, BOS included.</summary>
    public required int PromptTokens { get; init; }
    /// <summary>Generated tokens (= <see cref="TokenIds"/> count).</summary>
    public required int CompletionTokens { get; init; }
    /// <summary>Why generation ended.</summary>
    public required FinishReason FinishReason { get; init; }
    /// <summary>The seed actually used (null for greedy).</summary>
    public uint? Seed { get; init; }
    /// <summary>Per generated token (end-of-generation excluded), when <see cref="GenerationRequest.TopLogprobs"/> was set.</summary>
    public IReadOnlyList<TokenLogprobs>? Logprobs { get; init; }
}

/// <summary>A streamed piece of text; the last delta carries the finish reason and the full result.</summary>
public sealed record GenerationDelta(string Text, FinishReason? FinishReason = null, GenerationResult? Result = null);

/// <summary>A registered adapter.</summary>
public sealed record AdapterInfo
{
    /// <summary>The id requests use.</summary>
    public required string Id { get; init; }
    /// <summary>Full path of the GGUF file.</summary>
    public required string Path { get; init; }
    /// <summary>SHA-256 of the file.</summary>
    public required Cid Cid { get; init; }
    /// <summary>File size.</summary>
    public required long SizeBytes { get; init; }
    /// <summary>Time llama.cpp took to load it when registered.</summary>
    public required TimeSpan LoadTime { get; init; }
    /// <summary>LoRA rank (null when the validator could not tell).</summary>
    public int? Rank { get; init; }
    /// <summary><c>adapter.lora.alpha</c>, when present (applied scale = scale·alpha/rank).</summary>
    public float? Alpha { get; init; }
    /// <summary>Number of base tensors the adapter modifies.</summary>
    public int TargetTensors { get; init; }
}

/// <summary>An engine-level error (unknown adapter, rejected file, bad request) with a message that says what to do.</summary>
public sealed class EngineException(string message, Exception? inner = null) : Exception(message, inner);
