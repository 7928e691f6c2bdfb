namespace Federation.Specialists.Models;

/// <summary>
/// Hyperparameters of a llama-architecture model the project generates. Invariants: EmbeddingLength divisible by
/// HeadCount, HeadCount divisible by HeadCountKv, an even head dimension (RoPE rotates pairs).
/// </summary>
public sealed record ModelPreset(
    string Name,
    int EmbeddingLength,
    int BlockCount,
    int HeadCount,
    int HeadCountKv,
    int FeedForwardLength,
    int ContextLength = 2048,
    int VocabSize = ByteVocabulary.Size,
    float RmsNormEpsilon = 1e-5f,
    float RopeFreqBase = 10000f)
{
    /// <summary>E=128, 4 layers, 4 heads (d=32), F=352: 870,528 parameters (the notes' measured tiny model).</summary>
    public static readonly ModelPreset Tiny = new("tiny", 128, 4, 4, 4, 352);

    /// <summary>E=384, 6 layers, 6 heads (d=64), F=1024: 10,821,504 parameters (the notes' measured 10.8M model).</summary>
    public static readonly ModelPreset Small = new("small", 384, 6, 6, 6, 1024);

    /// <summary>All named presets.</summary>
    public static IReadOnlyList<ModelPreset> All { get; } = [Tiny, Small];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive); throws listing the valid names.</summary>
    public static ModelPreset Named(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown model preset '{name}'; expected one of: {string.Join(", ", All.Select(p => p.Name))}", nameof(name));

    public int HeadDimension => EmbeddingLength / HeadCount;

    /// <summary>Width of the K and V projections (head_count_kv × head dimension).</summary>
    public int KvWidth => HeadCountKv * HeadDimension;

    /// <summary>Exact number of parameters of a model with this preset (token_embd, output and all blocks).</summary>
    public long ParameterCount
    {
        get
        {
            long e = EmbeddingLength, f = FeedForwardLength, v = VocabSize, kv = KvWidth;
            var perBlock = e + (e * e) + (2 * e * kv) + (e * e) + e + (3 * e * f);
            return (2 * e * v) + e + (BlockCount * perBlock);
        }
    }

    /// <summary>Throws when the invariants do not hold.</summary>
    public void Validate()
    {
        if (EmbeddingLength <= 0 || BlockCount <= 0 || HeadCount <= 0 || HeadCountKv <= 0 || FeedForwardLength <= 0 || ContextLength <= 0)
            throw new ArgumentException($"preset '{Name}': all sizes must be positive");
        if (EmbeddingLength % HeadCount != 0)
            throw new ArgumentException($"preset '{Name}': embedding length {EmbeddingLength} is not divisible by head count {HeadCount}");
        if (HeadCount % HeadCountKv != 0)
            throw new ArgumentException($"preset '{Name}': head count {HeadCount} is not divisible by KV head count {HeadCountKv}");
        if (HeadDimension % 2 != 0)
            throw new ArgumentException($"preset '{Name}': head dimension {HeadDimension} must be even for RoPE");
        if (VocabSize != ByteVocabulary.Size)
            throw new ArgumentException($"preset '{Name}': vocab size must be {ByteVocabulary.Size} (the byte vocabulary)");
    }
}
