using System.Security.Cryptography;
using System.Text;
using Federation.Memory.Policy;
using Federation.Memory.Search;
using Federation.Memory.Storage;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Memory.Tests;

/// <summary>A clock that stands still unless advanced (statement times and erasure times become reproducible).</summary>
internal sealed class FixedTime(long ms) : TimeProvider
{
    public long Ms { get; set; } = ms;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Ms);
}

/// <summary>A temporary directory holding one memory store; deleted on dispose.</summary>
internal sealed class TempStore : IDisposable
{
    public TempStore(IEmbedder? embedder = null, MemoryPolicy? policy = null, long timeMs = 1_767_225_600_000)
    {
        Dir = Path.Combine(Path.GetTempPath(), "fed-memory-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        Embedder = embedder;
        Time = new FixedTime(timeMs);
        NodeKey = Keys.Node;
        Store = OpenStore();
        Service = new MemoryService(Store, policy ?? MemoryPolicy.Default, new CustodialKeyring(NodeKey), Time);
    }

    public string Dir { get; }
    public string DbPath => Path.Combine(Dir, "memory.db");
    public IEmbedder? Embedder { get; }
    public FixedTime Time { get; }
    public NodeKey NodeKey { get; }
    public SqliteMemoryStore Store { get; private set; }
    public MemoryService Service { get; private set; }

    public SqliteMemoryStore OpenStore() =>
        SqliteMemoryStore.Open(DbPath, NodeKey, Embedder, new MemoryStoreOptions { TimeProvider = Time, Synchronous = "NORMAL" });

    public void Reopen()
    {
        Store.Dispose();
        Store = OpenStore();
        Service = new MemoryService(Store, Service.Policy, new CustodialKeyring(NodeKey), Time);
    }

    public void Dispose()
    {
        Store.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Deterministic keys (seeds are SHA-256 of a name) so frozen outputs stay frozen.</summary>
internal static class Keys
{
    public static NodeKey Named(string name) => NodeKey.FromSeed(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    public static readonly NodeKey Node = Named("memory-test-node");
    public static readonly NodeKey Alice = Named("alice");
    public static readonly NodeKey Bob = Named("bob");

    public static SignedFragment Fragment(NodeKey key, string ns, string content, long t = 1_767_225_600_000, JsonObject? meta = null) =>
        SignedFragment.Seal(new Fragment(MemoryNamespace.Parse(ns), content, meta ?? [], key.NodeId, t), key);
}
