using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Memory.Storage;

/// <summary>
/// The store contract (docs/memory.md §Storage) that <see cref="SqliteMemoryStore"/> (embedded default) and
/// <see cref="PostgresMemoryStore"/> (shared by several node processes) both meet, and that one contract test suite
/// checks against both. No policy here: <see cref="MemoryService"/> decides who may do what.
/// </summary>
public interface IMemoryStore : IDisposable
{
    /// <summary>Where the data lives (a file path, or the PostgreSQL host/database without the password).</summary>
    string Location { get; }

    /// <summary>The key that signs root statements, or null (read-only for new statements).</summary>
    NodeId? Signer { get; }

    /// <summary>Whether searches use vectors too.</summary>
    bool HasEmbedder { get; }

    /// <summary>
    /// Appends checked fragments (in order) to their namespace logs in one transaction; a fragment already stored is
    /// not appended again (its receipt says <c>Duplicate</c>). One writer per namespace at a time, enforced by the database.
    /// </summary>
    /// <exception cref="MemoryStoreException">A tombstone names an unknown, already deleted or foreign fragment (nothing is appended).</exception>
    Task<IReadOnlyList<AppendReceipt>> AppendAsync(IReadOnlyList<SignedFragment> fragments, CancellationToken cancellationToken = default);

    /// <summary>Erases a fragment's content (privacy); the leaf stays. False when it was already erased.</summary>
    /// <exception cref="MemoryStoreException">No such fragment.</exception>
    bool Erase(Cid cid);

    /// <summary>A fragment by CID (any status), or null.</summary>
    StoredFragment? Get(Cid cid);

    /// <summary>Every non-empty namespace's head, in code-point order of names.</summary>
    IReadOnlyList<NamespaceHead> Heads();

    /// <summary>The global tree of the current committed state.</summary>
    GlobalTree GlobalTree();

    /// <summary>The signed statement of the current global root (signed now when the state changed).</summary>
    MemoryRootStatement CurrentStatement();

    /// <summary>The proof of <paramref name="cid"/> against the current state (docs/formats.md §"Memory proofs").</summary>
    JsonObject Prove(Cid cid);

    /// <summary>Fragments in log order (namespaces by name), optionally of one namespace.</summary>
    IEnumerable<StoredFragment> Export(string? ns = null);

    /// <summary>BM25 (+ vectors) fused by reciprocal rank, ties by CID; only live fragments.</summary>
    Task<IReadOnlyList<MemoryHit>> SearchAsync(string query, IReadOnlyCollection<string> namespaces, int k, CancellationToken cancellationToken = default);
}
