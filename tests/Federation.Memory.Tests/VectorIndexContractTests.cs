using Federation.Memory.Search;
using Federation.Memory.Storage;
using Federation.Memory.Testing;
using Federation.Registry;

namespace Federation.Memory.Tests;

/// <summary>
/// The vector-index contract (<see cref="IVectorIndex"/>) on the embedded exact index and on Qdrant. No Qdrant server
/// can be installed here, so the Qdrant side runs only when FEDERATION_QDRANT_URL names one (its gRPC endpoint, e.g.
/// http://127.0.0.1:6334) and is reported as SKIPPED with that reason otherwise.
/// </summary>
public abstract class VectorIndexContract
{
    protected abstract IVectorIndex Create(int dims);

    private static Cid CidOf(int i) => new(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));

    private static float[] Unit(params float[] v)
    {
        VectorIndex.Normalize(v);
        return v;
    }

    protected void Ranks_by_dot_product_within_the_namespaces_asked_and_ties_by_cid()
    {
        using var ix = Create(3);
        ix.Add(1, 1, CidOf(1), Unit(1, 0, 0));
        ix.Add(2, 1, CidOf(2), Unit(1, 1, 0));
        ix.Add(3, 2, CidOf(3), Unit(1, 0, 0));   // another namespace
        ix.Add(4, 1, CidOf(4), Unit(0, 1, 0));
        ix.Add(5, 1, CidOf(5), Unit(1, 0, 0));   // ties with 1
        ix.Add(5, 1, CidOf(5), Unit(1, 0, 0));   // adding again changes nothing
        var hits = ix.Search(Unit(1, 0.1f, 0), new HashSet<int> { 1 }, 3);
        var tie = new[] { (1L, CidOf(1)), (5L, CidOf(5)) }.OrderBy(x => x.Item2).Select(x => x.Item1).ToList();
        Assert.Equal([.. tie, 2L], hits.Select(h => h.Id));
        Assert.True(hits[0].Score >= hits[2].Score);
        Assert.Equal([3L], ix.Search(Unit(1, 0, 0), new HashSet<int> { 2 }, 5).Select(h => h.Id));
        ix.Remove(1);
        ix.Remove(99);
        Assert.DoesNotContain(1L, ix.Search(Unit(1, 0, 0), new HashSet<int> { 1, 2 }, 10).Select(h => h.Id));
        Assert.Equal(4, ix.Search(Unit(1, 0, 0), new HashSet<int> { 1, 2 }, 10).Count);
    }

    protected async Task A_store_searches_through_the_index_it_is_given()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fed-vec-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var store = SqliteMemoryStore.Open(Path.Combine(dir, "m.db"), Keys.Node, new TestBagOfWordsEmbedder(16),
                new MemoryStoreOptions { Synchronous = "NORMAL", VectorIndexFactory = Create });
            var a = Keys.Fragment(Keys.Alice, "public", "blue whales sing");
            var b = Keys.Fragment(Keys.Alice, "public", "red foxes run");
            await store.AppendAsync([a, b]);
            var hits = await store.SearchAsync("whales", ["public"], 2);
            Assert.Equal(a.Cid, hits[0].Cid);
            Assert.Equal(1, hits[0].VectorRank);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}

public sealed class ExactVectorIndexContractTests : VectorIndexContract
{
    protected override IVectorIndex Create(int dims) => new VectorIndex(dims);

    [Fact]
    public void Ranks_by_dot_product_within_namespaces_ties_by_cid() => Ranks_by_dot_product_within_the_namespaces_asked_and_ties_by_cid();

    [Fact]
    public Task Store_uses_the_configured_index() => A_store_searches_through_the_index_it_is_given();
}

public sealed class QdrantVectorIndexContractTests : VectorIndexContract, IDisposable
{
    private readonly List<string> _collections = [];
    private const string Reason = "FEDERATION_QDRANT_URL is not set: no Qdrant server is reachable (none can be installed on this machine); set it to a Qdrant gRPC endpoint, e.g. http://127.0.0.1:6334, to run these.";
    private static readonly string? Url = Environment.GetEnvironmentVariable("FEDERATION_QDRANT_URL");

    protected override IVectorIndex Create(int dims)
    {
        var name = "federation_test_" + Guid.NewGuid().ToString("N")[..12];
        _collections.Add(name);
        return new QdrantVectorIndex(new Uri(Url!), name, dims);
    }

    public void Dispose()
    {
        foreach (var name in _collections) QdrantVectorIndex.Drop(new Uri(Url!), name);
    }

    [SkippableFact]
    public void Ranks_by_dot_product_within_namespaces_ties_by_cid()
    {
        Skip.If(string.IsNullOrEmpty(Url), Reason);
        Ranks_by_dot_product_within_the_namespaces_asked_and_ties_by_cid();
    }

    [SkippableFact]
    public async Task Store_uses_the_configured_index()
    {
        Skip.If(string.IsNullOrEmpty(Url), Reason);
        await A_store_searches_through_the_index_it_is_given();
    }
}
