using Federation.Registry;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Memory.Storage;

/// <summary>A fragment's state in the store.</summary>
public enum FragmentStatus
{
    /// <summary>Searchable.</summary>
    Live = 0,
    /// <summary>A later tombstone deleted it: not searchable, content kept, proof still verifies.</summary>
    Deleted = 1,
    /// <summary>Its content bytes were removed (privacy); the leaf stays, the proof says erased.</summary>
    Erased = 2,
    /// <summary>The fragment is itself a tombstone.</summary>
    Tombstone = 3,
}

/// <summary>What an append returns once its transaction has committed.</summary>
/// <param name="Cid">The fragment's CID (its leaf data).</param>
/// <param name="Namespace">Its namespace.</param>
/// <param name="LeafIndex">Its position in the namespace log.</param>
/// <param name="Duplicate">The same fragment was already in the log; nothing was appended.</param>
public sealed record AppendReceipt(Cid Cid, string Namespace, long LeafIndex, bool Duplicate);

/// <summary>A stored fragment: where it is in its log, its status and (unless erased) its signed envelope.</summary>
public sealed record StoredFragment(Cid Cid, string Namespace, long LeafIndex, FragmentStatus Status, SignedEnvelope? Envelope, long? ErasedAtMs)
{
    /// <summary>The status as the API writes it: live, deleted, erased, tombstone.</summary>
    public string StatusName => Status.ToString().ToLowerInvariant();

    /// <summary><c>{"fragment_cid","namespace","leaf_index","status","fragment":envelope|null}</c> (+ <c>erased_at_ms</c>).</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["fragment_cid"] = Cid.ToString(),
            ["namespace"] = Namespace,
            ["leaf_index"] = LeafIndex,
            ["status"] = StatusName,
            ["fragment"] = Envelope is null ? JsonValue.Null : Envelope.ToJson(),
        };
        if (ErasedAtMs is { } t) o["erased_at_ms"] = t;
        return o;
    }
}

/// <summary>One search result.</summary>
/// <param name="Cid">The fragment.</param>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Content">Its text.</param>
/// <param name="Metadata">Its metadata.</param>
/// <param name="Score">Reciprocal-rank-fusion score (higher is better).</param>
/// <param name="LexicalRank">1-based BM25 rank, or null when not in the lexical list.</param>
/// <param name="VectorRank">1-based similarity rank, or null when not in the vector list (or no embedder).</param>
public sealed record MemoryHit(Cid Cid, string Namespace, string Content, JsonObject Metadata, double Score, int? LexicalRank, int? VectorRank)
{
    /// <summary>The hit as JSON.</summary>
    public JsonObject ToJson() => new()
    {
        ["fragment_cid"] = Cid.ToString(),
        ["namespace"] = Namespace,
        ["content"] = Content,
        ["metadata"] = Metadata,
        ["score"] = Score,
        ["lexical_rank"] = LexicalRank is { } l ? l : JsonValue.Null,
        ["vector_rank"] = VectorRank is { } v ? v : JsonValue.Null,
    };
}

/// <summary>A store operation that cannot be done as asked (unknown fragment, bad tombstone, read-only store).</summary>
public sealed class MemoryStoreException(string message, string code) : Exception(message)
{
    /// <summary>The error code (docs/errors.md): memory.not_found, memory.bad_tombstone, memory.read_only, …</summary>
    public string Code { get; } = code;
}

/// <summary>Tuning of <see cref="SqliteMemoryStore"/> and <see cref="PostgresMemoryStore"/>.</summary>
public sealed class MemoryStoreOptions
{
    /// <summary>SQLite <c>synchronous</c> (PostgreSQL: OFF sets <c>synchronous_commit = off</c> for benchmarks): FULL (default) makes every acknowledged append durable across power loss.</summary>
    public string Synchronous { get; set; } = "FULL";

    /// <summary>The clock for statement times and erasure times.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>How many candidates each of the lexical and vector lists contributes to fusion (at least k).</summary>
    public int FusionDepth { get; set; } = 50;

    /// <summary>
    /// Bytes of (encoded) posting lists of hot terms kept in memory (keyed by the term's generation, so always current);
    /// 0 turns the cache off. Default 256 MiB.
    /// </summary>
    public long LexicalCacheBytes { get; set; } = 256L << 20;

    /// <summary>
    /// PostgreSQL store: segments of levels below this are merged, 8 into one of the next level (docs/memory.md
    /// §PostgreSQL ranking). 1 (default): each batch's segment is merged once, into segments of 8 batches; 2 also merges
    /// those into segments of 64 batches (≈ 4× fewer rows per word to read at 1M, but merges then cost ingest ≈ 13%
    /// more at 1M, measured); 0 never merges. The level is the store's, not the process's: every process writing one
    /// database should use the same value.
    /// </summary>
    public int LexicalMergeLevels { get; set; } = 1;

    /// <summary>The RRF constant k in 1/(k + rank).</summary>
    public int RrfK { get; set; } = 60;

    /// <summary>
    /// Makes the vector index for the embedder's dimensions (default: the embedded exact <see cref="Search.VectorIndex"/>;
    /// <see cref="Search.QdrantVectorIndex"/> when configured). The store feeds it every live vector it holds.
    /// </summary>
    public Func<int, Search.IVectorIndex>? VectorIndexFactory { get; set; }

    /// <summary>Called after a new root statement is signed (the node appends it to its ledger).</summary>
    public Action<MemoryRootStatement>? StatementSigned { get; set; }
}
