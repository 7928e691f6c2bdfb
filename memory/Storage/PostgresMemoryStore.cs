using System.Text;
using Federation.Memory.Search;
using Federation.Memory.Storage.Lexical;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;
using Npgsql;
using NpgsqlTypes;

namespace Federation.Memory.Storage;

/// <summary>
/// The shared memory store (issue 10, Storage): every namespace log, its Merkle nodes, the signed envelopes, an inverted
/// index for BM25, the vectors and the signed root statements in PostgreSQL, so several node processes (on several
/// machines) serve one memory. Same contract as <see cref="SqliteMemoryStore"/> (<see cref="IMemoryStore"/>).
/// </summary>
/// <remarks>
/// One writer per namespace at a time, enforced by the database: an append locks the rows of the namespaces it writes
/// (<c>SELECT … FOR UPDATE</c>, in code-point order of names so two batches never deadlock) and reads each log's size
/// under that lock; leaves, Merkle nodes, heads and index rows commit or vanish together. Reads run in one
/// REPEATABLE READ transaction per call (one snapshot). BM25 is ranked in this process by <see cref="Bm25TopK"/>, as
/// in the SQLite store, over posting lists read from this store's postings and cached per index state (docs/memory.md
/// §Search). Thread-safe.
/// </remarks>
public sealed class PostgresMemoryStore : IMemoryStore
{
    // 3: the lexical index is per-batch segments of posting blobs (memory_lex), merged by levels as in SQLite
    // (memory_lex_segments: level and doc range; memory_lex_moves: where a merged segment's postings went). Format 2
    // (the same segments, never merged) gains those tables when opened; format 1 (one row per posting in
    // memory_postings, document frequencies in memory_df) is migrated to 2 first.
    private const string FormatVersion = "3";

    /// <summary>Segments of one level merged into one of the next (as SQLite's <see cref="SqliteLexicalIndex.MergeFanIn"/>).</summary>
    internal const int MergeFanIn = 8;

    // pg advisory lock keys: the schema (exclusive while opening) and the lexical segments (merges exclusive, removals shared)
    private const long SchemaLockKey = 7243560119, SegmentLockKey = 7243560120;
    private readonly NpgsqlDataSource _db;
    private readonly NodeKey? _key;
    private readonly IEmbedder? _embedder;
    private readonly MemoryStoreOptions _options;
    private readonly IVectorIndex? _vectors;
    private readonly Lock _vectorLoadLock = new();
    private readonly Dictionary<long, long> _vectorsLoaded = []; // ns id -> leaves whose vectors are loaded
    private readonly LexicalCache _lex;

    private PostgresMemoryStore(string connectionString, NodeKey? key, IEmbedder? embedder, MemoryStoreOptions options)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        Location = $"postgresql://{csb.Host}:{csb.Port}/{csb.Database}";
        _db = NpgsqlDataSource.Create(csb.ConnectionString);
        _key = key;
        _embedder = embedder;
        _options = options;
        _lex = new LexicalCache(options.LexicalCacheBytes);
        using (var c = _db.OpenConnection())
        using (var tx = c.BeginTransaction())
        {
            // Two processes opening a fresh database at once: the schema is created by one of them.
            Exec(c, tx, "SELECT pg_advisory_xact_lock($1)", SchemaLockKey);
            Exec(c, tx, """
                CREATE TABLE IF NOT EXISTS memory_meta (key text PRIMARY KEY, value text NOT NULL);
                CREATE TABLE IF NOT EXISTS memory_namespaces (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, size bigint NOT NULL,
                  root bytea NOT NULL, docs bigint NOT NULL DEFAULT 0, tokens bigint NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS memory_fragments (id bigint PRIMARY KEY, cid bytea NOT NULL UNIQUE, ns_id bigint NOT NULL,
                  leaf_index bigint NOT NULL, status int NOT NULL, envelope bytea, erased_at_ms bigint, doc_len int NOT NULL,
                  UNIQUE (ns_id, leaf_index));
                CREATE SEQUENCE IF NOT EXISTS memory_fragment_ids;
                CREATE TABLE IF NOT EXISTS memory_merkle_nodes (ns_id bigint NOT NULL, id bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (ns_id, id));
                ALTER TABLE memory_fragments ADD COLUMN IF NOT EXISTS lex_seg bigint;
                CREATE SEQUENCE IF NOT EXISTS memory_lex_segs;
                CREATE TABLE IF NOT EXISTS memory_lex (term text COLLATE "C" NOT NULL, seg bigint NOT NULL, n int NOT NULL, data bytea NOT NULL, PRIMARY KEY (term, seg));
                CREATE TABLE IF NOT EXISTS memory_vectors (id bigint PRIMARY KEY, ns_id bigint NOT NULL, leaf_index bigint NOT NULL, vec bytea NOT NULL);
                CREATE INDEX IF NOT EXISTS memory_vectors_log ON memory_vectors (ns_id, leaf_index);
                CREATE TABLE IF NOT EXISTS memory_statements (seq bigserial PRIMARY KEY, global_root bytea NOT NULL, namespaces bigint NOT NULL,
                  time_ms bigint NOT NULL, envelope bytea NOT NULL);
                CREATE INDEX IF NOT EXISTS memory_statements_root ON memory_statements (global_root);
                CREATE TABLE IF NOT EXISTS memory_lex_segments (seg bigint PRIMARY KEY, level int NOT NULL, min_doc bigint NOT NULL, max_doc bigint NOT NULL);
                CREATE TABLE IF NOT EXISTS memory_lex_moves (seg bigint PRIMARY KEY, into_seg bigint NOT NULL);
                INSERT INTO memory_meta (key, value) VALUES ('format', '3') ON CONFLICT DO NOTHING;
                """);
            var format = Scalar(c, tx, "SELECT value FROM memory_meta WHERE key = 'format'") as string;
            if (format == "1") format = MigrateFromPostingRows(c, tx);
            if (format == "2") format = MigrateToMergedSegments(c, tx);
            if (format != FormatVersion)
                throw new InvalidDataException($"{Location}: memory store format '{format}' is not supported; this build reads format {FormatVersion}.");
            // merges read a segment's rows by segment; blobs are stored uncompressed (varints do not compress, and
            // pglz's attempt cost every write and read)
            Exec(c, tx, "CREATE INDEX IF NOT EXISTS memory_lex_by_seg ON memory_lex (seg); ALTER TABLE memory_lex ALTER COLUMN data SET STORAGE EXTERNAL;");
            if (embedder is not null)
            {
                var want = embedder.Dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var dims = Scalar(c, tx, "SELECT value FROM memory_meta WHERE key = 'embedding_dims'") as string;
                if (dims is null) Exec(c, tx, "INSERT INTO memory_meta (key, value) VALUES ('embedding_dims', $1)", want);
                else if (dims != want)
                    throw new InvalidDataException($"{Location}: the store holds {dims}-dimensional vectors but the embedder gives {want}; use the same embedder, or a new database.");
            }
            tx.Commit();
        }
        if (embedder is not null)
        {
            _vectors = options.VectorIndexFactory?.Invoke(embedder.Dimensions) ?? new VectorIndex(embedder.Dimensions);
            LoadNewVectors();
        }
    }

    /// <summary>
    /// Opens (creating the tables if needed) the store in the database of <paramref name="connectionString"/> (an Npgsql
    /// connection string: <c>Host=…;Port=…;Database=…;Username=…;Password=…</c>). Key and embedder as for
    /// <see cref="SqliteMemoryStore.Open"/>.
    /// </summary>
    /// <exception cref="NpgsqlException">The server cannot be reached or refuses the login.</exception>
    public static PostgresMemoryStore Open(string connectionString, NodeKey? nodeKey, IEmbedder? embedder = null, MemoryStoreOptions? options = null) =>
        new(connectionString, nodeKey, embedder, options ?? new MemoryStoreOptions());

    /// <inheritdoc/>
    public string Location { get; }

    /// <inheritdoc/>
    public NodeId? Signer => _key?.NodeId;

    /// <inheritdoc/>
    public bool HasEmbedder => _embedder is not null;

    // ---------------------------------------------------------------- writes

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AppendReceipt>> AppendAsync(IReadOnlyList<SignedFragment> fragments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        var vecs = new float[]?[fragments.Count];
        if (_embedder is not null)
            for (int i = 0; i < fragments.Count; i++)
            {
                var f = fragments[i].Fragment;
                if (f.TombstoneTarget is not null) continue;
                var v = await _embedder.EmbedAsync(f.Content, cancellationToken).ConfigureAwait(false);
                if (v.Length != _embedder.Dimensions)
                    throw new InvalidOperationException($"the embedder returned {v.Length} floats; it declares {_embedder.Dimensions}.");
                VectorIndex.Normalize(v);
                vecs[i] = v;
            }
        if (fragments.Count == 0) return [];
        var prepared = PreparedFragment.All(fragments);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Synchronous.Equals("OFF", StringComparison.OrdinalIgnoreCase)) Exec(c, null, "SET synchronous_commit = off");
        await using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (receipts, removed) = AppendCore(c, tx, fragments, prepared, vecs);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (_vectors is not null)
        {
            foreach (var id in removed) _vectors.Remove(id);
            LoadNewVectors();
        }
        return receipts;
    }

    private sealed class Log(long id, long size, long docs, long tokens, NodeCache nodes)
    {
        public long Id { get; } = id;
        public MerkleTree Tree { get; } = new(nodes, size);
        public NodeCache Nodes { get; } = nodes;
        public long Docs { get; set; } = docs;
        public long Tokens { get; set; } = tokens;
    }

    private (AppendReceipt[] Receipts, List<long> Removed) AppendCore(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<SignedFragment> fragments, PreparedFragment[] prepared, float[]?[] vecs)
    {
        // 1. Lock every namespace this batch writes, in code-point order (no two batches wait on each other in a cycle).
        var names = fragments.Select(f => f.Fragment.Namespace.Name).Distinct(StringComparer.Ordinal).OrderBy(n => n, CodePointComparer.Instance).ToList();
        var logs = new Dictionary<string, Log>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            Exec(c, tx, "INSERT INTO memory_namespaces (name, size, root) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING", name, MerkleHasher.EmptyRoot());
            long id, size, docs, tokens;
            using (var q = Cmd(c, tx, "SELECT id, size, docs, tokens FROM memory_namespaces WHERE name = $1 FOR UPDATE", name))
            using (var r = q.ExecuteReader())
            {
                r.Read();
                (id, size, docs, tokens) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
            }
            logs[name] = new Log(id, size, docs, tokens, new NodeCache(c, tx, id));
        }

        // 2. Which of these are stored already (read under the locks, so a concurrent writer's commit is seen).
        var existing = new Dictionary<Cid, (long Id, string Ns, long Leaf, int Status, long NsId, string? Content)>();
        var lookups = fragments.Select(f => f.Cid).Concat(fragments.Select(f => f.Fragment.TombstoneTarget).OfType<Cid>()).Distinct().Select(x => x.ToArray()).ToArray();
        using (var q = Cmd(c, tx, "SELECT f.id, n.name, f.leaf_index, f.status, f.ns_id, f.cid, f.envelope FROM memory_fragments f JOIN memory_namespaces n ON n.id = f.ns_id WHERE f.cid = ANY($1)", (object)lookups))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                string? content = r.IsDBNull(6) ? null : ContentOf((byte[])r[6]);
                existing[new Cid((byte[])r[5])] = (r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetInt64(4), content);
            }

        var receipts = new AppendReceipt[fragments.Count];
        var inBatch = new Dictionary<Cid, (int Row, AppendReceipt Receipt)>();
        var rows = new List<(long Id, Cid Cid, Log Log, long Leaf, int Status, byte[] Env, int DocLen, Dictionary<string, int>? Terms, float[]? Vec)>();
        var removed = new List<long>();
        var deletedStored = new List<(long Id, Log Log, string Content)>();
        var pendingIds = new Queue<long>(NextIds(c, tx, fragments.Count));
        for (int i = 0; i < fragments.Count; i++)
        {
            var sf = fragments[i];
            if (inBatch.TryGetValue(sf.Cid, out var dup)) { receipts[i] = dup.Receipt with { Duplicate = true }; continue; }
            if (existing.TryGetValue(sf.Cid, out var ex)) { receipts[i] = new AppendReceipt(sf.Cid, ex.Ns, ex.Leaf, true); continue; }
            var nsName = sf.Fragment.Namespace.Name;
            var log = logs[nsName];
            var target = sf.Fragment.TombstoneTarget;
            if (sf.Fragment.Metadata.ContainsKey(Fragment.TombstoneKey))
            {
                if (target is null || sf.Fragment.Content.Length != 0)
                    throw new MemoryStoreException("a tombstone has empty content and metadata {\"tombstone\": \"<cid of the deleted fragment>\"}.", "memory.bad_tombstone");
                if (inBatch.TryGetValue(target.Value, out var mine))
                {
                    var row = rows[mine.Row];
                    if (row.Status != (int)FragmentStatus.Live)
                        throw new MemoryStoreException($"{target} is {((FragmentStatus)row.Status).ToString().ToLowerInvariant()}; only a live fragment can be deleted.", "memory.bad_tombstone");
                    if (row.Log != log)
                        throw new MemoryStoreException($"the tombstone is in {nsName} but {target} is in another namespace; delete it in its own namespace.", "memory.bad_tombstone");
                    rows[mine.Row] = row with { Status = (int)FragmentStatus.Deleted, Terms = null, Vec = null };
                }
                else if (existing.TryGetValue(target.Value, out var t))
                {
                    if (t.NsId != log.Id)
                        throw new MemoryStoreException($"the tombstone is in {nsName} but {target} is in another namespace; delete it in its own namespace.", "memory.bad_tombstone");
                    if (t.Status != (int)FragmentStatus.Live)
                        throw new MemoryStoreException($"{target} is {((FragmentStatus)t.Status).ToString().ToLowerInvariant()}; only a live fragment can be deleted.", "memory.bad_tombstone");
                    existing[target.Value] = t with { Status = (int)FragmentStatus.Deleted };
                    deletedStored.Add((t.Id, log, t.Content ?? ""));
                    removed.Add(t.Id);
                }
                else throw new MemoryStoreException($"the tombstone deletes {target}, which is not in the store.", "memory.not_found");
            }
            long leaf = log.Tree.Size;
            var prep = prepared[i];
            log.Tree.AppendLeafHash(prep.LeafHash);
            long id = pendingIds.Dequeue();
            Dictionary<string, int>? terms = null;
            int docLen = 0;
            if (target is null) (terms, docLen) = (prep.Terms, prep.Length);
            rows.Add((id, sf.Cid, log, leaf, target is null ? (int)FragmentStatus.Live : (int)FragmentStatus.Tombstone, prep.Envelope, docLen, terms, vecs[i]));
            receipts[i] = new AppendReceipt(sf.Cid, nsName, leaf, false);
            inBatch[sf.Cid] = (rows.Count - 1, receipts[i]);
        }

        // 3. Write: fragments, postings, vectors and Merkle nodes by COPY; index statistics and heads by UPDATE.
        if (rows.Count > 0)
        {
            // One segment for the batch: per term one row of postings (all its namespaces; each posting names its own).
            long seg = rows.Any(r => r.Terms is not null) ? NextVals(c, tx, "memory_lex_segs", 1)[0] : 0;
            using (var w = c.BeginBinaryImport("COPY memory_fragments (id, cid, ns_id, leaf_index, status, envelope, doc_len, lex_seg) FROM STDIN (FORMAT BINARY)"))
            {
                foreach (var r in rows)
                {
                    w.StartRow();
                    w.Write(r.Id, NpgsqlDbType.Bigint);
                    w.Write(r.Cid.ToArray(), NpgsqlDbType.Bytea);
                    w.Write(r.Log.Id, NpgsqlDbType.Bigint);
                    w.Write(r.Leaf, NpgsqlDbType.Bigint);
                    w.Write(r.Status, NpgsqlDbType.Integer);
                    w.Write(r.Env, NpgsqlDbType.Bytea);
                    w.Write(r.DocLen, NpgsqlDbType.Integer);
                    if (r.Terms is null) w.WriteNull(); else w.Write(seg, NpgsqlDbType.Bigint);
                }
                w.Complete();
            }
            // The segment: per term one row whose blob holds the batch's postings in doc order (ids grow along the rows).
            var postings = new Dictionary<string, List<Posting>>(StringComparer.Ordinal);
            foreach (var r in rows)
            {
                if (r.Terms is null) continue;
                foreach (var (term, tf) in r.Terms)
                {
                    if (!postings.TryGetValue(term, out var list)) postings[term] = list = [];
                    list.Add(new Posting(r.Id, tf, r.DocLen, checked((int)r.Log.Id)));
                }
                r.Log.Docs++;
                r.Log.Tokens += r.DocLen;
            }
            var keys = postings.Keys.ToArray();
            Array.Sort(keys, StringComparer.Ordinal);
            var encoded = new (string Term, int N, byte[] Data)[keys.Length];
            Parallel.For(0, keys.Length, k =>
            {
                var list = postings[keys[k]];
                encoded[k] = (keys[k], list.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list)));
            });
            if (seg != 0)
            {
                var docs = rows.Where(r => r.Terms is not null).Select(r => r.Id).ToArray();
                Exec(c, tx, "INSERT INTO memory_lex_segments (seg, level, min_doc, max_doc) VALUES ($1, 0, $2, $3)", seg, docs.Min(), docs.Max());
            }
            CopyLexRows(c, seg, encoded);
            if (rows.Any(r => r.Vec is not null && r.Terms is not null))
            {
                using var w = c.BeginBinaryImport("COPY memory_vectors (id, ns_id, leaf_index, vec) FROM STDIN (FORMAT BINARY)");
                foreach (var r in rows)
                {
                    if (r.Vec is null || r.Terms is null) continue;
                    w.StartRow();
                    w.Write(r.Id, NpgsqlDbType.Bigint);
                    w.Write(r.Log.Id, NpgsqlDbType.Bigint);
                    w.Write(r.Leaf, NpgsqlDbType.Bigint);
                    w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(r.Vec.AsSpan()).ToArray(), NpgsqlDbType.Bytea);
                }
                w.Complete();
            }
        }
        if (deletedStored.Count > 0)
        {
            // in (segment, term) order — Unindex locks a segment's rows in term order — so two writers never wait in a cycle
            Exec(c, tx, "SELECT pg_advisory_xact_lock_shared($1)", SegmentLockKey);
            var segs = new Dictionary<long, long?>();
            using (var q = Cmd(c, tx, "SELECT id, lex_seg FROM memory_fragments WHERE id = ANY($1)", (object)deletedStored.Select(d => d.Id).ToArray()))
            using (var r = q.ExecuteReader())
                while (r.Read()) segs[r.GetInt64(0)] = r.IsDBNull(1) ? null : r.GetInt64(1);
            var now = new Dictionary<long, long?>(); // stored segment -> where its postings are now (many fragments share one)
            foreach (var id in segs.Keys.ToList())
                if (segs[id] is long stored) segs[id] = now.TryGetValue(stored, out var at) ? at : now[stored] = SegmentOf(c, tx, stored);
            foreach (var (id, log, content) in deletedStored.OrderBy(d => segs.GetValueOrDefault(d.Id) ?? -1).ThenBy(d => d.Id))
            {
                Exec(c, tx, "UPDATE memory_fragments SET status = 1 WHERE id = $1", id);
                Unindex(c, tx, log, id, content, segs.GetValueOrDefault(id));
            }
        }
        using (var w = c.BeginBinaryImport("COPY memory_merkle_nodes (ns_id, id, hash) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var log in logs.Values)
                foreach (var (key, hash) in log.Nodes.Written)
                {
                    w.StartRow();
                    w.Write(log.Id, NpgsqlDbType.Bigint);
                    w.Write(key, NpgsqlDbType.Bigint);
                    w.Write(hash, NpgsqlDbType.Bytea);
                }
            w.Complete();
        }
        foreach (var log in logs.Values)
        {
            Exec(c, tx, "UPDATE memory_namespaces SET size = $1, root = $2, docs = $3, tokens = $4 WHERE id = $5", log.Tree.Size, log.Tree.Root(), log.Docs, log.Tokens, log.Id);
        }
        MergeOnce(c, tx);
        return (receipts, removed);
    }

    /// <summary>
    /// Takes a fragment out of the lexical index (tombstone or erasure): its postings leave the rows of its segment
    /// (rewritten, or deleted when empty), and it leaves the namespace's statistics (the caller holds the namespace's
    /// row lock). A segment's rows may hold postings of several namespaces, so they are read <c>FOR UPDATE</c>, in term
    /// order: a writer of another namespace changing the same rows waits and then reads the rows as committed.
    /// </summary>
    private static void Unindex(NpgsqlConnection c, NpgsqlTransaction tx, Log log, long id, string content, long? segment)
    {
        var (terms, len) = Terms(content);
        if (segment is not long seg) return; // never indexed
        var rows = new List<(string Term, byte[] Data)>();
        using (var q = Cmd(c, tx, "SELECT term, data FROM memory_lex WHERE seg = $1 AND term = ANY($2) ORDER BY term FOR UPDATE", seg, terms.Keys.ToArray()))
        using (var r = q.ExecuteReader())
            while (r.Read()) rows.Add((r.GetString(0), (byte[])r[1]));
        int found = 0;
        var ps = new List<Posting>();
        foreach (var (term, data) in rows)
        {
            ps.Clear();
            PostingBlock.Decode(0, data, ps);
            int at = ps.FindIndex(p => p.Doc == id);
            if (at < 0) continue;
            ps.RemoveAt(at);
            found++;
            if (ps.Count == 0) Exec(c, tx, "DELETE FROM memory_lex WHERE term = $1 AND seg = $2", term, seg);
            else Exec(c, tx, "UPDATE memory_lex SET n = $1, data = $2 WHERE term = $3 AND seg = $4", ps.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ps)), term, seg);
        }
        if (found == 0 && terms.Count > 0) return; // already removed
        log.Docs--;
        log.Tokens -= len;
    }

    /// <summary>
    /// The indexed terms of a text and its BM25 length: the words of <see cref="TestBagOfWordsEmbedder.Words"/> (runs of
    /// letters and digits, lower-cased — what FTS5's unicode61 tokenizer gives for ASCII text) with their counts, and the
    /// word count plus one (FTS5 counts the namespace column's one token in a row's length).
    /// </summary>
    internal static (Dictionary<string, int> Terms, int Length) Terms(string content)
    {
        var terms = new Dictionary<string, int>(StringComparer.Ordinal);
        int n = 0;
        foreach (var w in TestBagOfWordsEmbedder.Words(content)) { terms[w] = terms.GetValueOrDefault(w) + 1; n++; }
        return (terms, n + 1);
    }

    private static long[] NextIds(NpgsqlConnection c, NpgsqlTransaction tx, int n) => NextVals(c, tx, "memory_fragment_ids", n);

    private static long[] NextVals(NpgsqlConnection c, NpgsqlTransaction tx, string sequence, int n)
    {
        var ids = new List<long>(n);
        if (n == 0) return [];
        using var q = Cmd(c, tx, $"SELECT nextval('{sequence}') FROM generate_series(1, $1)", n);
        using var r = q.ExecuteReader();
        while (r.Read()) ids.Add(r.GetInt64(0));
        return [.. ids];
    }

    private static string ContentOf(byte[] envelope)
    {
        var env = SignedEnvelope.Parse(Encoding.UTF8.GetString(envelope));
        return Fragment.TryFromJson(env.Payload, out var f, out _) ? f!.Content : "";
    }

    /// <inheritdoc/>
    public bool Erase(Cid cid)
    {
        long now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        long id;
        using (var c = _db.OpenConnection())
        using (var tx = c.BeginTransaction())
        {
            long nsId;
            using (var q = Cmd(c, tx, "SELECT id, ns_id FROM memory_fragments WHERE cid = $1", cid.ToArray()))
            using (var r = q.ExecuteReader())
            {
                if (!r.Read()) throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
                id = r.GetInt64(0);
                nsId = r.GetInt64(1);
            }
            // The namespace's writer lock: its index statistics change.
            Log log;
            using (var q = Cmd(c, tx, "SELECT docs, tokens FROM memory_namespaces WHERE id = $1 FOR UPDATE", nsId))
            using (var r = q.ExecuteReader())
            {
                r.Read();
                log = new Log(nsId, 0, r.GetInt64(0), r.GetInt64(1), new NodeCache(c, tx, nsId));
            }
            int status;
            byte[]? env;
            using (var q = Cmd(c, tx, "SELECT status, envelope FROM memory_fragments WHERE id = $1", id))
            using (var r = q.ExecuteReader())
            {
                r.Read();
                status = r.GetInt32(0);
                env = r.IsDBNull(1) ? null : (byte[])r[1];
            }
            if (status == (int)FragmentStatus.Erased) return false;
            Exec(c, tx, "UPDATE memory_fragments SET status = 2, envelope = NULL, erased_at_ms = $1 WHERE id = $2", now, id);
            if (status == (int)FragmentStatus.Live && env is not null)
            {
                Exec(c, tx, "SELECT pg_advisory_xact_lock_shared($1)", SegmentLockKey);
                var seg = SegmentOf(c, tx, Scalar(c, tx, "SELECT lex_seg FROM memory_fragments WHERE id = $1", id) as long?);
                Unindex(c, tx, log, id, ContentOf(env), seg);
            }
            Exec(c, tx, "DELETE FROM memory_vectors WHERE id = $1", id);
            Exec(c, tx, "UPDATE memory_namespaces SET docs = $1, tokens = $2 WHERE id = $3", log.Docs, log.Tokens, nsId);
            tx.Commit();
        }
        _vectors?.Remove(id);
        return true;
    }

    /// <summary>
    /// Format 1 kept one row per posting (<c>memory_postings</c>) and per-namespace document frequencies
    /// (<c>memory_df</c>). Builds format 2's segments from them in this (open) transaction — one segment per namespace,
    /// read and written one namespace at a time — and drops the old tables, so an old database opens with nothing lost.
    /// </summary>
    private static string MigrateFromPostingRows(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        var namespaces = new List<long>();
        using (var q = Cmd(c, tx, "SELECT id FROM memory_namespaces ORDER BY id"))
        using (var r = q.ExecuteReader())
            while (r.Read()) namespaces.Add(r.GetInt64(0));
        foreach (var ns in namespaces)
        {
            var lists = new SortedDictionary<string, List<Posting>>(StringComparer.Ordinal);
            using (var q = Cmd(c, tx, "SELECT p.term, p.frag_id, p.tf, f.doc_len FROM memory_postings p JOIN memory_fragments f ON f.id = p.frag_id "
                + "WHERE f.ns_id = $1 ORDER BY p.term, p.frag_id", ns))
            using (var r = q.ExecuteReader())
                while (r.Read())
                {
                    var term = r.GetString(0);
                    if (!lists.TryGetValue(term, out var l)) lists[term] = l = [];
                    l.Add(new Posting(r.GetInt64(1), r.GetInt32(2), r.GetInt32(3), checked((int)ns)));
                }
            if (lists.Count == 0) continue;
            long seg = NextVals(c, tx, "memory_lex_segs", 1)[0];
            CopyLexRows(c, seg, lists.Select(x => (x.Key, x.Value.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(x.Value)))));
            Exec(c, tx, "UPDATE memory_fragments f SET lex_seg = $1 WHERE f.ns_id = $2 AND EXISTS (SELECT 1 FROM memory_postings p WHERE p.frag_id = f.id)", seg, ns);
        }
        Exec(c, tx, "DROP TABLE IF EXISTS memory_postings, memory_df; UPDATE memory_meta SET value = '2' WHERE key = 'format'");
        return "2";
    }

    /// <summary>Format 2 → 3: every existing segment becomes a level-0 segment with its doc range (later appends merge them).</summary>
    private static string MigrateToMergedSegments(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        Exec(c, tx, "INSERT INTO memory_lex_segments (seg, level, min_doc, max_doc) SELECT lex_seg, 0, min(id), max(id) FROM memory_fragments "
            + "WHERE lex_seg IS NOT NULL GROUP BY lex_seg ON CONFLICT DO NOTHING; UPDATE memory_meta SET value = '3' WHERE key = 'format'");
        return "3";
    }

    /// <summary>
    /// One merge, when a level below <see cref="MemoryStoreOptions.LexicalMergeLevels"/> holds <see cref="MergeFanIn"/> segments: its oldest
    /// <see cref="MergeFanIn"/> segments become one of the next level, term by term (postings put in doc order: segments
    /// of concurrent writers may interleave their ids), in the caller's transaction. Only one transaction merges at a
    /// time (an exclusive advisory lock, tried, never waited for: a writer that cannot have it leaves the merge to the
    /// next append), and never while a removal rewrites segment rows (those hold the lock shared). Merged segments are
    /// recorded in <c>memory_lex_moves</c>, so a removal finds a fragment's postings from its <c>lex_seg</c>.
    /// At most one merge per append keeps every append's cost bounded.
    /// </summary>
    private void MergeOnce(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        if (_options.LexicalMergeLevels <= 0) return;
        if (Scalar(c, tx, "SELECT pg_try_advisory_xact_lock($1)", SegmentLockKey) is not true) return;
        if (Scalar(c, tx, "SELECT level FROM memory_lex_segments WHERE level < $1 GROUP BY level HAVING count(*) >= $2 ORDER BY level LIMIT 1", _options.LexicalMergeLevels, MergeFanIn) is not int level) return;
        var segs = new List<long>();
        long min = long.MaxValue, max = long.MinValue;
        using (var q = Cmd(c, tx, "SELECT seg, min_doc, max_doc FROM memory_lex_segments WHERE level = $1 ORDER BY min_doc, seg LIMIT $2", level, MergeFanIn))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                segs.Add(r.GetInt64(0));
                min = Math.Min(min, r.GetInt64(1));
                max = Math.Max(max, r.GetInt64(2));
            }
        long into = NextVals(c, tx, "memory_lex_segs", 1)[0];
        var merged = new List<(string Term, int N, byte[] Data)>();
        var ps = new List<Posting>();
        using (var q = Cmd(c, tx, "SELECT l.term, l.data FROM memory_lex l JOIN memory_lex_segments s ON s.seg = l.seg WHERE l.seg = ANY($1) ORDER BY l.term, s.min_doc", (object)segs.ToArray()))
        using (var r = q.ExecuteReader())
        {
            string? cur = null;
            bool ordered = true;
            void Flush()
            {
                if (cur is null || ps.Count == 0) return;
                if (!ordered) ps.Sort((a, b) => a.Doc.CompareTo(b.Doc));
                merged.Add((cur, ps.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ps))));
            }
            while (r.Read())
            {
                var term = r.GetString(0);
                if (term != cur) { Flush(); cur = term; ps.Clear(); ordered = true; }
                int before = ps.Count;
                PostingBlock.Decode(0, (byte[])r[1], ps);
                if (before > 0 && ps.Count > before && ps[before].Doc <= ps[before - 1].Doc) ordered = false;
            }
            Flush();
        }
        CopyLexRows(c, into, merged);
        var old = segs.ToArray();
        Exec(c, tx, "DELETE FROM memory_lex WHERE seg = ANY($1)", (object)old);
        Exec(c, tx, "DELETE FROM memory_lex_segments WHERE seg = ANY($1)", (object)old);
        Exec(c, tx, "INSERT INTO memory_lex_segments (seg, level, min_doc, max_doc) VALUES ($1, $2, $3, $4)", into, level + 1, min, max);
        Exec(c, tx, "INSERT INTO memory_lex_moves (seg, into_seg) SELECT unnest($1::bigint[]), $2", (object)old, into);
        Interlocked.Increment(ref Merges);
    }

    /// <summary>Writes one segment's rows (term, postings count, encoded postings) by binary COPY.</summary>
    private static void CopyLexRows(NpgsqlConnection c, long seg, IEnumerable<(string Term, int N, byte[] Data)> rows)
    {
        using var w = c.BeginBinaryImport("COPY memory_lex (term, seg, n, data) FROM STDIN (FORMAT BINARY)");
        foreach (var (term, n, data) in rows)
        {
            w.StartRow();
            w.Write(term, NpgsqlDbType.Text);
            w.Write(seg, NpgsqlDbType.Bigint);
            w.Write(n, NpgsqlDbType.Integer);
            w.Write(data, NpgsqlDbType.Bytea);
        }
        w.Complete();
    }

    /// <summary>Segment merges done by this process (tests check that merging runs).</summary>
    internal static long Merges;

    /// <summary>
    /// The segment that holds a fragment's postings now: its <c>lex_seg</c>, followed through merges; null when it was
    /// never indexed. The caller holds the segment lock shared, so no merge moves them meanwhile.
    /// </summary>
    private static long? SegmentOf(NpgsqlConnection c, NpgsqlTransaction tx, long? seg)
    {
        for (int hops = 0; seg is { } s; hops++)
        {
            if (Scalar(c, tx, "SELECT into_seg FROM memory_lex_moves WHERE seg = $1", s) is not long next) return s;
            if (hops > 64) throw new InvalidDataException("the lexical segment moves form a cycle: the store is corrupt; rebuild it (fed memory export, then import).");
            seg = next;
        }
        return null;
    }

    // ---------------------------------------------------------------- reads

    private (NpgsqlConnection C, NpgsqlTransaction Tx) Snapshot()
    {
        var c = _db.OpenConnection();
        var tx = c.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        return (c, tx);
    }

    /// <inheritdoc/>
    public StoredFragment? Get(Cid cid)
    {
        using var c = _db.OpenConnection();
        using var q = Cmd(c, null, "SELECT n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms FROM memory_fragments f JOIN memory_namespaces n ON n.id = f.ns_id WHERE f.cid = $1", cid.ToArray());
        using var r = q.ExecuteReader();
        return r.Read() ? ReadStored(cid, r, 0) : null;
    }

    private static StoredFragment ReadStored(Cid cid, NpgsqlDataReader r, int o) => new(cid, r.GetString(o), r.GetInt64(o + 1), (FragmentStatus)r.GetInt32(o + 2),
        r.IsDBNull(o + 3) ? null : SignedEnvelope.Parse(Encoding.UTF8.GetString((byte[])r[o + 3])), r.IsDBNull(o + 4) ? null : r.GetInt64(o + 4));

    /// <inheritdoc/>
    public IReadOnlyList<NamespaceHead> Heads() => GlobalTree().Heads;

    /// <inheritdoc/>
    public GlobalTree GlobalTree()
    {
        using var c = _db.OpenConnection();
        return Global(c, null);
    }

    private static GlobalTree Global(NpgsqlConnection c, NpgsqlTransaction? tx)
    {
        var heads = new List<NamespaceHead>();
        using var q = Cmd(c, tx, "SELECT name, root, size FROM memory_namespaces");
        using var r = q.ExecuteReader();
        while (r.Read()) heads.Add(new NamespaceHead(r.GetString(0), (byte[])r[1], r.GetInt64(2)));
        return new GlobalTree(heads);
    }

    /// <inheritdoc/>
    public MemoryRootStatement CurrentStatement() => StatementFor(GlobalTree());

    private MemoryRootStatement StatementFor(GlobalTree tree)
    {
        using var c = _db.OpenConnection();
        using (var q = Cmd(c, null, "SELECT envelope FROM memory_statements WHERE global_root = $1 AND namespaces = $2 ORDER BY seq DESC LIMIT 1", tree.Root, tree.Size))
            if (q.ExecuteScalar() is byte[] bytes
                && MemoryRootStatement.TryFromEnvelope(SignedEnvelope.Parse(Encoding.UTF8.GetString(bytes)), out var s, out _))
                return s;
        var key = _key ?? throw new MemoryStoreException($"{Location} was opened without the node key; the root statement for the current state is not signed yet. Open it with the node key.", "memory.read_only");
        var st = MemoryRootStatement.Create(tree.Root, tree.Size, _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), key);
        Exec(c, null, "INSERT INTO memory_statements (global_root, namespaces, time_ms, envelope) VALUES ($1, $2, $3, $4)",
            st.GlobalRoot, st.Namespaces, st.TimeMs, st.Envelope.ToCanonicalBytes());
        _options.StatementSigned?.Invoke(st);
        return st;
    }

    /// <inheritdoc/>
    public JsonObject Prove(Cid cid)
    {
        GlobalTree g;
        string ns;
        long leaf;
        InclusionProof nsProof;
        NamespaceHead head;
        SignedEnvelope? env;
        var (c, tx) = Snapshot();
        using (c)
        using (tx)
        {
            long nsId;
            using (var q = Cmd(c, tx, "SELECT n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms, f.ns_id FROM memory_fragments f JOIN memory_namespaces n ON n.id = f.ns_id WHERE f.cid = $1", cid.ToArray()))
            using (var r = q.ExecuteReader())
            {
                if (!r.Read()) throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
                var sf = ReadStored(cid, r, 0);
                ns = sf.Namespace; leaf = sf.LeafIndex; env = sf.Envelope; nsId = r.GetInt64(5);
            }
            g = Global(c, tx);
            head = g.Heads[g.IndexOf(ns)];
            nsProof = MerkleTree.ProveInclusion(new NodeCache(c, tx, nsId), leaf, head.Size);
        }
        var statement = StatementFor(g);
        return MemoryProof.Build(env, cid, ns, nsProof, head.Root, g.Prove(g.IndexOf(ns)), g.Root, statement.Envelope);
    }

    /// <inheritdoc/>
    public IEnumerable<StoredFragment> Export(string? ns = null)
    {
        var (c, tx) = Snapshot();
        using (c)
        using (tx)
        {
            // COLLATE "C": byte order of UTF-8 = code-point order, whatever the database's collation.
            using var q = Cmd(c, tx, "SELECT f.cid, n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms FROM memory_fragments f JOIN memory_namespaces n ON n.id = f.ns_id "
                + "WHERE $1::text IS NULL OR n.name = $1::text ORDER BY n.name COLLATE \"C\", f.leaf_index", (object?)ns ?? DBNull.Value);
            using var r = q.ExecuteReader();
            while (r.Read()) yield return ReadStored(new Cid((byte[])r[0]), r, 1);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<MemoryHit>> SearchAsync(string query, IReadOnlyCollection<string> namespaces, int k, CancellationToken cancellationToken = default)
    {
        SearchFusion.CheckArguments(query, k);
        if (namespaces.Count == 0) return [];
        int depth = Math.Max(k, _options.FusionDepth);
        var qv = await SearchFusion.EmbedQueryAsync(_embedder, query, cancellationToken).ConfigureAwait(false);
        var lexical = new List<(long Id, Cid Cid)>();
        var nsIds = new HashSet<int>();
        var (c, tx) = Snapshot();
        using (c)
        using (tx)
        {
            long docs = 0, tokens = 0;
            var state = new StringBuilder();
            using (var q = Cmd(c, tx, "SELECT id, name, docs, tokens, size FROM memory_namespaces ORDER BY id"))
            using (var r = q.ExecuteReader())
                while (r.Read())
                {
                    docs += r.GetInt64(2);
                    tokens += r.GetInt64(3);
                    if (namespaces.Contains(r.GetString(1))) nsIds.Add(r.GetInt32(0));
                    state.Append(r.GetInt64(0)).Append(':').Append(r.GetInt64(4)).Append(':').Append(r.GetInt64(2)).Append(';');
                }
            if (nsIds.Count == 0) return [];
            if (docs > 0) lexical = Bm25(c, tx, query, nsIds, docs, tokens, Generation(state.ToString()), depth);
        }
        var vector = new List<(long Id, Cid Cid)>();
        if (qv is not null && _vectors is not null)
        {
            LoadNewVectors();
            foreach (var (id, cid, _) in _vectors.Search(qv, nsIds, depth)) vector.Add((id, cid));
        }
        var order = SearchFusion.Fuse(lexical, vector, _options.RrfK, k);
        if (order.Count == 0) return [];
        var envs = new Dictionary<long, byte[]>();
        using (var c2 = _db.OpenConnection())
        using (var q = Cmd(c2, null, "SELECT id, envelope FROM memory_fragments WHERE id = ANY($1) AND status = 0", order.Select(o => o.Id).ToArray()))
        using (var r = q.ExecuteReader())
            while (r.Read()) envs[r.GetInt64(0)] = (byte[])r[1];
        var hits = new List<MemoryHit>(order.Count);
        foreach (var (id, cid, score, l, v) in order)
        {
            if (!envs.TryGetValue(id, out var bytes)) continue; // deleted by another process since the vector cache loaded it
            hits.Add(SearchFusion.Hit(cid, bytes, score, l, v));
        }
        return hits;
    }

    /// <summary>How many lexical searches pruned at least one candidate (tests check that pruning runs).</summary>
    internal static long PrunedSearches;

    /// <summary>Tests: rank every candidate fully (no MaxScore pruning), the reference the pruned ranking must equal.</summary>
    internal bool RankEverything { get; set; }

    /// <summary>
    /// The lexical list: BM25 exactly as SQLite's store ranks (<see cref="Bm25TopK"/>: FTS5's formula and statistics,
    /// exact top-k by MaxScore and block-max, docs/memory.md §Search), in this process over posting lists read from
    /// <c>memory_postings</c> and cached (<see cref="LexicalCache"/>) under <paramref name="gen"/>, a local number
    /// standing for one exact index state. N, Σ length and df are over every live fragment of every namespace; terms in
    /// ≥ half the fragments are left out unless all are; the sum runs in query order; ties by CID.
    /// </summary>
    private List<(long Id, Cid Cid)> Bm25(NpgsqlConnection c, NpgsqlTransaction tx, string text, HashSet<int> nsIds, long n, long tokens, long gen, int depth)
    {
        var words = TestBagOfWordsEmbedder.Words(text).Distinct(StringComparer.Ordinal).Take(64).ToArray();
        if (words.Length == 0) return [];
        var df = new Dictionary<string, long>(StringComparer.Ordinal);
        var ask = new List<string>();
        foreach (var w in words)
            if (_lex.Get(w, gen) is { } hit) df[w] = hit.Df; else ask.Add(w);
        if (ask.Count > 0)
        {
            using (var q = Cmd(c, tx, "SELECT term, sum(n)::bigint FROM memory_lex WHERE term = ANY($1) GROUP BY term", (object)ask.ToArray()))
            using (var r = q.ExecuteReader())
                while (r.Read()) df[r.GetString(0)] = r.GetInt64(1);
            foreach (var w in ask) _lex.PutDf(w, gen, 0, df.GetValueOrDefault(w));
        }
        var present = words.Where(w => df.GetValueOrDefault(w) > 0).ToList();
        var kept = present.Where(w => 2 * df[w] < n).ToList();
        if (kept.Count == 0) kept = present;
        if (kept.Count == 0) return [];
        // posting lists: cached ones as they are, the others in one statement (doc order per term)
        var lists = new Dictionary<string, TermPostings>(StringComparer.Ordinal);
        var load = new List<string>();
        foreach (var w in kept)
            if (_lex.Get(w, gen) is { List: { } cached }) lists[w] = cached; else load.Add(w);
        if (load.Count > 0)
        {
            foreach (var w in load) lists[w] = new TermPostings();
            // every segment row of the words, by word; a word's postings in doc order once its segments are put together
            // (segments of concurrent writers to other namespaces may interleave their ids: Finish sorts those)
            using (var q = Cmd(c, tx, "SELECT l.term, l.data FROM memory_lex l JOIN memory_lex_segments s ON s.seg = l.seg WHERE l.term = ANY($1) ORDER BY l.term, s.min_doc, l.seg", (object)load.ToArray()))
            using (var r = q.ExecuteReader())
                while (r.Read()) lists[r.GetString(0)].AddRow((byte[])r[1]);
            foreach (var w in load)
            {
                var l = lists[w];
                l.Finish(sortIfNeeded: true);
                l.CheckCount(w, df[w], Location);
                _lex.PutList(w, gen, 0, df[w], l);
            }
        }
        double avgdl = (double)tokens / (double)n;
        var terms = kept.Select(w => (Bm25TopK.Idf(n, df[w]), lists[w])).ToList();
        var mask = new bool[nsIds.Max() + 1];
        foreach (var ns in nsIds) mask[ns] = true;
        // ranking every candidate: a depth no list can fill keeps the cut at −∞, so nothing is pruned
        int runDepth = RankEverything ? (int)Math.Min(int.MaxValue - 1, terms.Sum(t => (long)t.Item2.Count) + 1) : depth;
        var top = Bm25TopK.Run(terms, mask, avgdl, runDepth);
        if (Bm25TopK.LastRunPruned > 0) Interlocked.Increment(ref PrunedSearches);
        var scores = new Dictionary<long, double>(top.Count);
        foreach (var (id, sc) in top) scores[id] = sc;
        var withCid = new List<(long Id, Cid Cid, double Score)>(top.Count);
        if (scores.Count > 0)
        {
            using var q = Cmd(c, tx, "SELECT id, cid FROM memory_fragments WHERE id = ANY($1)", (object)scores.Keys.ToArray());
            using var r = q.ExecuteReader();
            while (r.Read()) withCid.Add((r.GetInt64(0), new Cid((byte[])r[1]), scores[r.GetInt64(0)]));
        }
        if (withCid.Count != scores.Count)
            throw new InvalidDataException($"{Location}: the lexical postings name a fragment row that does not exist: the store is corrupt; rebuild it (fed memory export, then import).");
        withCid.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Cid.CompareTo(b.Cid));
        if (withCid.Count > depth) withCid.RemoveRange(depth, withCid.Count - depth);
        return withCid.Select(x => (x.Id, x.Cid)).ToList();
    }

    /// <summary>
    /// A local number for the index state a snapshot sees. Every index change either appends to a namespace (its
    /// size grows) or erases a live fragment (its live count falls while its size stays), so the per-namespace
    /// (id, size, live fragments) tuple names exactly one state, also when another process wrote it; a new tuple gets a
    /// new number, and cached lists of any other number are not used.
    /// </summary>
    private long Generation(string state)
    {
        lock (_genLock)
        {
            if (state != _genState) { _genState = state; _gen++; }
            return _gen;
        }
    }

    private readonly Lock _genLock = new();
    private string? _genState;
    private long _gen;

    private void LoadNewVectors()
    {
        if (_vectors is null) return;
        lock (_vectorLoadLock)
        {
            using var c = _db.OpenConnection();
            var sizes = new List<(long Id, long Size)>();
            using (var q = Cmd(c, null, "SELECT id, size FROM memory_namespaces"))
            using (var r = q.ExecuteReader())
                while (r.Read()) sizes.Add((r.GetInt64(0), r.GetInt64(1)));
            // A namespace's leaves commit in order under its writer lock: every leaf below the size read is committed.
            foreach (var (ns, size) in sizes)
            {
                long from = _vectorsLoaded.GetValueOrDefault(ns);
                if (from >= size) continue;
                using (var q = Cmd(c, null, "SELECT v.id, f.cid, v.vec FROM memory_vectors v JOIN memory_fragments f ON f.id = v.id "
                    + "WHERE v.ns_id = $1 AND v.leaf_index >= $2 AND v.leaf_index < $3 AND f.status = 0 ORDER BY v.leaf_index", ns, from, size))
                using (var r = q.ExecuteReader())
                    while (r.Read())
                        _vectors.Add(r.GetInt64(0), (int)ns, new Cid((byte[])r[1]), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>((byte[])r[2]));
                _vectorsLoaded[ns] = size;
            }
        }
    }

    // ---------------------------------------------------------------- plumbing

    private static NpgsqlCommand Cmd(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params object[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }

    private static int Exec(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params object[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params object[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    /// <summary>Drops every memory table (tests and benchmarks start from an empty database).</summary>
    public static void DropAll(string connectionString)
    {
        using var ds = NpgsqlDataSource.Create(connectionString);
        using var c = ds.OpenConnection();
        Exec(c, null, "DROP TABLE IF EXISTS memory_meta, memory_namespaces, memory_fragments, memory_merkle_nodes, memory_postings, memory_df, memory_lex, memory_lex_segments, memory_lex_moves, memory_vectors, memory_statements; "
            + "DROP SEQUENCE IF EXISTS memory_fragment_ids, memory_lex_segs;");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _vectors?.Dispose();
        _db.Dispose();
    }

    /// <summary>
    /// Merkle nodes of one namespace: read from <c>memory_merkle_nodes</c> (key level &lt;&lt; 56 | index) unless written in
    /// this transaction; new nodes are collected and written by one COPY at the end of the append.
    /// </summary>
    private sealed class NodeCache(NpgsqlConnection c, NpgsqlTransaction? tx, long nsId) : IMerkleNodeStore
    {
        public Dictionary<long, byte[]> Written { get; } = [];
        private readonly Dictionary<long, byte[]> _read = [];

        public void ReadNode(int level, long index, Span<byte> destination)
        {
            long key = ((long)level << 56) | index;
            if (!Written.TryGetValue(key, out var h) && !_read.TryGetValue(key, out h))
            {
                h = Scalar(c, tx, "SELECT hash FROM memory_merkle_nodes WHERE ns_id = $1 AND id = $2", nsId, key) as byte[];
                if (h is null || h.Length != MerkleHasher.HashSize)
                    throw new InvalidDataException($"merkle node ({level}, {index}) is missing from the memory database: it is corrupt; restore it from a backup or re-import the export.");
                _read[key] = h;
            }
            h.CopyTo(destination);
        }

        public void WriteNode(int level, long index, ReadOnlySpan<byte> hash) => Written[((long)level << 56) | index] = hash.ToArray();
    }
}
