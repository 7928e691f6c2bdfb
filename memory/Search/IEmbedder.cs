namespace Federation.Memory.Search;

/// <summary>
/// Turns text into a vector for similarity search. The node plugs in the serving base's embeddings (deterministic:
/// the same text gives the same vector bit for bit); tests use <see cref="Testing.TestBagOfWordsEmbedder"/>.
/// </summary>
public interface IEmbedder
{
    /// <summary>The vector length; every call returns exactly this many floats.</summary>
    int Dimensions { get; }

    /// <summary>The embedding of <paramref name="text"/>. The store normalises it to unit length.</summary>
    ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default);
}
