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
    public string? Prompt { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    public IReadOnlyList<AdapterSelection> Adapters { get; init; } = [];
    public int MaxTokens { get; init; } = 128;
    public IReadOnlyList<string> Stop { get; init; } = [];
    public float Temperature { get; init; }
    public float TopP { get; init; } = 1f;
    public int TopK { get; init; }
    /// <summary>Seed for sampling (temperature &gt; 0); null = a random seed, reported in the result.</summary>
    public uint? Seed { get; init; }
}

/// <summary>The outcome of a request.</summary>
public sealed record GenerationResult
{
    public required string Text { get; init; }
    public required IReadOnlyList<int> TokenIds { get; init; }
    public required int PromptTokens { get; init; }
    public required int CompletionTokens { get; init; }
    public required FinishReason FinishReason { get; init; }
    /// <summary>The seed actually used (null for greedy).</summary>
    public uint? Seed { get; init; }
}

/// <summary>A streamed piece of text; the last delta carries the finish reason and the full result.</summary>
public sealed record GenerationDelta(string Text, FinishReason? FinishReason = null, GenerationResult? Result = null);

/// <summary>A registered adapter.</summary>
public sealed record AdapterInfo
{
    public required string Id { get; init; }
    public required string Path { get; init; }
    /// <summary>Lowercase hex SHA-256 of the file.</summary>
    public required string Cid { get; init; }
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
