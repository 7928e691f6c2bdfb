using System.Text.Json;
using Federation.Memory.Search;
using Federation.Registry.Crypto;

namespace Federation.Memory.Storage;

/// <summary>
/// Which store a node (or <c>fed memory</c>) opens for a data dir (docs/memory.md §Configuration):
/// <list type="number">
/// <item>env <c>FEDERATION_MEMORY_POSTGRES</c> = an Npgsql connection string → <see cref="PostgresMemoryStore"/>;</item>
/// <item>else <c>&lt;data-dir&gt;/memory.json</c> <c>{"store": "postgres", "connection": "Host=…"}</c> or <c>{"store": "sqlite"}</c>;</item>
/// <item>else SQLite at <c>&lt;data-dir&gt;/memory.db</c> (the embedded default).</item>
/// </list>
/// The vector index is the embedded exact one unless env <c>FEDERATION_MEMORY_QDRANT</c> (or <c>"qdrant"</c> in
/// memory.json) names a Qdrant gRPC URL; the collection is <c>"qdrant_collection"</c> or <c>federation_memory</c>.
/// </summary>
public static class MemoryStores
{
    /// <summary>Env var holding the PostgreSQL connection string.</summary>
    public const string PostgresEnv = "FEDERATION_MEMORY_POSTGRES";

    /// <summary>Env var holding the Qdrant gRPC URL for the vector index.</summary>
    public const string QdrantEnv = "FEDERATION_MEMORY_QDRANT";

    /// <summary>The config file in the data dir.</summary>
    public const string ConfigFile = "memory.json";

    /// <summary>The store configuration of <paramref name="dataDir"/>: (kind, connection or path, Qdrant URL or null, collection).</summary>
    /// <exception cref="InvalidDataException">memory.json is malformed (the message says what to fix).</exception>
    public static (string Kind, string Target, string? Qdrant, string Collection) Resolve(string dataDir, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        string kind = "sqlite", target = Path.Combine(dataDir, "memory.db"), collection = "federation_memory";
        string? qdrant = null;
        var file = Path.Combine(dataDir, ConfigFile);
        if (File.Exists(file))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                foreach (var p in doc.RootElement.EnumerateObject())
                    switch (p.Name)
                    {
                        case "store":
                            kind = p.Value.GetString() switch
                            {
                                "sqlite" => "sqlite",
                                "postgres" => "postgres",
                                var other => throw new InvalidDataException($"{file}: \"store\" is '{other}'; use \"sqlite\" or \"postgres\"."),
                            };
                            break;
                        case "connection": target = p.Value.GetString() ?? ""; break;
                        case "qdrant": qdrant = p.Value.GetString(); break;
                        case "qdrant_collection": collection = p.Value.GetString() ?? collection; break;
                        default: throw new InvalidDataException($"{file}: unknown key \"{p.Name}\"; known: store, connection, qdrant, qdrant_collection.");
                    }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"{file}: not a JSON object of strings ({e.Message}); see docs/memory.md §Configuration.", e);
            }
            if (kind == "postgres" && (target.Length == 0 || target == Path.Combine(dataDir, "memory.db")))
                throw new InvalidDataException($"{file}: \"store\": \"postgres\" needs \"connection\": \"Host=…;Database=…;Username=…\".");
            if (kind == "sqlite") target = Path.Combine(dataDir, "memory.db");
        }
        if (env(PostgresEnv) is { Length: > 0 } pg) { kind = "postgres"; target = pg; }
        if (env(QdrantEnv) is { Length: > 0 } q) qdrant = q;
        return (kind, target, qdrant, collection);
    }

    /// <summary>Opens the store <see cref="Resolve"/> names for <paramref name="dataDir"/>.</summary>
    public static IMemoryStore Open(string dataDir, NodeKey? nodeKey, IEmbedder? embedder = null, MemoryStoreOptions? options = null)
    {
        var (kind, target, qdrant, collection) = Resolve(dataDir);
        options ??= new MemoryStoreOptions();
        if (qdrant is not null && options.VectorIndexFactory is null)
        {
            if (!Uri.TryCreate(qdrant, UriKind.Absolute, out var url))
                throw new InvalidDataException($"the Qdrant URL '{qdrant}' is not an absolute URL; give its gRPC endpoint, e.g. http://127.0.0.1:6334.");
            options.VectorIndexFactory = dims => new QdrantVectorIndex(url, collection, dims);
        }
        return kind == "postgres"
            ? PostgresMemoryStore.Open(target, nodeKey, embedder, options)
            : SqliteMemoryStore.Open(target, nodeKey, embedder, options);
    }
}
