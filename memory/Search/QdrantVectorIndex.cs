using Federation.Registry;
using Qdrant.Client;
using Qdrant.Client.Grpc;

namespace Federation.Memory.Search;

/// <summary>
/// The vector index at scale (issue 10, "Vector search"): a Qdrant collection (Dot distance on unit vectors = cosine),
/// one point per fragment id with payload <c>{"ns": namespace id, "cid": hex}</c>. Behind <see cref="IVectorIndex"/>,
/// so a store uses it where <see cref="VectorIndex"/> (exact, embedded) would be; configured with
/// <c>FEDERATION_MEMORY_QDRANT</c> (docs/memory.md §Configuration). Qdrant searches approximately (HNSW) above its
/// indexing threshold; ties are broken by CID within the <c>2n</c> points it returns.
/// </summary>
public sealed class QdrantVectorIndex : IVectorIndex
{
    private readonly QdrantClient _client;
    private readonly string _collection;

    /// <summary>Connects to the gRPC endpoint <paramref name="url"/> (e.g. http://127.0.0.1:6334) and creates the collection if needed.</summary>
    /// <exception cref="InvalidDataException">The collection exists with another vector size.</exception>
    public QdrantVectorIndex(Uri url, string collection, int dimensions, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        Dimensions = dimensions;
        _collection = collection;
        _client = new QdrantClient(url, apiKey);
        if (!_client.CollectionExistsAsync(collection).GetAwaiter().GetResult())
            _client.CreateCollectionAsync(collection, new VectorParams { Size = (ulong)dimensions, Distance = Distance.Dot }).GetAwaiter().GetResult();
        else
        {
            var info = _client.GetCollectionInfoAsync(collection).GetAwaiter().GetResult();
            var size = info.Config.Params.VectorsConfig.Params?.Size;
            if (size is { } s && s != (ulong)dimensions)
                throw new InvalidDataException($"Qdrant collection '{collection}' holds {s}-dimensional vectors but the embedder gives {dimensions}; use another collection name.");
        }
    }

    /// <inheritdoc/>
    public int Dimensions { get; }

    /// <inheritdoc/>
    public void Add(long id, int nsId, Cid cid, ReadOnlySpan<float> unit)
    {
        if (unit.Length != Dimensions) throw new ArgumentException($"expected a vector of {Dimensions} floats, got {unit.Length}.");
        var point = new PointStruct { Id = (ulong)id, Vectors = unit.ToArray() };
        point.Payload["ns"] = nsId;
        point.Payload["cid"] = cid.ToString();
        _client.UpsertAsync(_collection, [point], wait: true).GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public void Remove(long id) => _client.DeleteAsync(_collection, (ulong)id, wait: true).GetAwaiter().GetResult();

    /// <inheritdoc/>
    public List<(long Id, Cid Cid, float Score)> Search(ReadOnlySpan<float> unitQuery, IReadOnlySet<int> nsIds, int n)
    {
        ArgumentNullException.ThrowIfNull(nsIds);
        if (nsIds.Count == 0 || n <= 0) return [];
        var filter = new Filter { Must = { Conditions.Match("ns", nsIds.Select(i => (long)i).Order().ToList()) } };
        var points = _client.QueryAsync(_collection, query: unitQuery.ToArray(), filter: filter, limit: (ulong)(2 * n), payloadSelector: true).GetAwaiter().GetResult();
        return points
            .Select(p => ((long)p.Id.Num, Cid.Parse(p.Payload["cid"].StringValue), p.Score))
            .OrderByDescending(p => p.Score).ThenBy(p => p.Item2).Take(n).ToList();
    }

    /// <summary>Deletes the collection (tests).</summary>
    public void DropCollection() => _client.DeleteCollectionAsync(_collection).GetAwaiter().GetResult();

    /// <summary>Deletes collection <paramref name="collection"/> at <paramref name="url"/> if it exists (tests).</summary>
    public static void Drop(Uri url, string collection, string? apiKey = null)
    {
        using var client = new QdrantClient(url, apiKey);
        if (client.CollectionExistsAsync(collection).GetAwaiter().GetResult())
            client.DeleteCollectionAsync(collection).GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();
}
