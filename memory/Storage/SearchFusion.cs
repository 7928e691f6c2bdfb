using System.Text;
using Federation.Memory.Search;
using Federation.Registry;
using Federation.Registry.Envelopes;

namespace Federation.Memory.Storage;

/// <summary>
/// The store-independent parts of <see cref="IMemoryStore.SearchAsync"/>, shared by the SQLite and PostgreSQL stores:
/// argument checks, the query embedding, reciprocal rank fusion and turning a stored envelope into a hit.
/// </summary>
internal static class SearchFusion
{
    /// <summary>Checks <paramref name="query"/> and <paramref name="k"/> (1–1000).</summary>
    public static void CheckArguments(string query, int k)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (k < 1 || k > 1000) throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and 1000; got {k}.");
    }

    /// <summary>The unit-length query vector, or null without an embedder.</summary>
    public static async Task<float[]?> EmbedQueryAsync(IEmbedder? embedder, string query, CancellationToken cancellationToken)
    {
        if (embedder is null) return null;
        var qv = await embedder.EmbedAsync(query, cancellationToken).ConfigureAwait(false);
        VectorIndex.Normalize(qv);
        return qv;
    }

    /// <summary>
    /// Reciprocal rank fusion over 1-based ranks (score = Σ 1/(<paramref name="rrfK"/> + rank); integer ranks make the
    /// scores exactly reproducible), score descending, CID ascending, the top <paramref name="k"/>: (row id, CID,
    /// score, lexical rank, vector rank).
    /// </summary>
    public static List<(long Id, Cid Cid, double Score, int? Lexical, int? Vector)> Fuse(
        List<(long Id, Cid Cid)> lexical, List<(long Id, Cid Cid)> vector, int rrfK, int k)
    {
        var fused = new Dictionary<long, (Cid Cid, double Score, int? L, int? V)>();
        for (int i = 0; i < lexical.Count; i++)
            fused[lexical[i].Id] = (lexical[i].Cid, 1.0 / (rrfK + i + 1), i + 1, null);
        for (int i = 0; i < vector.Count; i++)
        {
            var add = 1.0 / (rrfK + i + 1);
            fused[vector[i].Id] = fused.TryGetValue(vector[i].Id, out var e) ? (e.Cid, e.Score + add, e.L, i + 1) : (vector[i].Cid, add, null, i + 1);
        }
        return fused.OrderByDescending(e => e.Value.Score).ThenBy(e => e.Value.Cid).Take(k)
            .Select(e => (e.Key, e.Value.Cid, e.Value.Score, e.Value.L, e.Value.V)).ToList();
    }

    /// <summary>A hit from a stored (verified on write) fragment envelope.</summary>
    public static MemoryHit Hit(Cid cid, byte[] envelope, double score, int? lexicalRank, int? vectorRank)
    {
        var env = SignedEnvelope.Parse(Encoding.UTF8.GetString(envelope));
        Fragment.TryFromJson(env.Payload, out var f, out _);
        return new MemoryHit(cid, f!.Namespace.Name, f.Content, f.Metadata, score, lexicalRank, vectorRank);
    }
}
