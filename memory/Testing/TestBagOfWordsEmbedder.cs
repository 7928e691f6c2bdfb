using System.Security.Cryptography;
using System.Text;
using Federation.Memory.Search;

namespace Federation.Memory.Testing;

/// <summary>
/// A TEST embedder, not a language model: each lower-cased word (letters and digits) adds ±1 to one of
/// <see cref="Dimensions"/> buckets chosen by SHA-256 of the word. Deterministic and cheap, so tests and benchmarks can
/// exercise the vector path without a model; texts sharing words get similar vectors, synonyms do not.
/// </summary>
public sealed class TestBagOfWordsEmbedder(int dimensions = 64) : IEmbedder
{
    /// <inheritdoc/>
    public int Dimensions { get; } = dimensions;

    /// <inheritdoc/>
    public ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default)
    {
        var v = new float[Dimensions];
        Span<byte> h = stackalloc byte[32];
        foreach (var word in Words(text))
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(word), h);
            var bucket = (int)(BitConverter.ToUInt32(h) % (uint)Dimensions);
            v[bucket] += (h[4] & 1) == 0 ? 1f : -1f;
        }
        return ValueTask.FromResult(v);
    }

    internal static IEnumerable<string> Words(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
            else if (sb.Length > 0) { yield return sb.ToString(); sb.Clear(); }
        }
        if (sb.Length > 0) yield return sb.ToString();
    }
}
