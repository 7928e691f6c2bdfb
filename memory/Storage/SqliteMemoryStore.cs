using System.Text;
using Federation.Memory.Search;
using Federation.Memory.Storage.Lexical;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Memory.Storage;

/// <summary>
/// The embedded memory store (issue 10, Storage): one SQLite file (WAL) holding every namespace log, its Merkle nodes,
/// the fragments' signed envelopes, its own lexical index for BM25 (posting blocks, <see cref="SqliteLexicalIndex"/>), the vectors for exact similarity search, and the signed
/// root statements. No policy here: <see cref="MemoryService"/> decides who may do what.
/// </summary>
/// <remarks>
/// Every append runs in one <c>BEGIN IMMEDIATE</c> transaction that reads each namespace's size from the database, so
/// two stores (threads or processes) on one file are serialised by SQLite's write lock: one writer per namespace at a
/// time, enforced by the database. Leaves, Merkle nodes, heads and indexes commit or vanish together.
/// Reads run in a deferred transaction on a pooled connection: one consistent snapshot per call. Thread-safe.
/// </remarks>
public sealed class SqliteMemoryStore : IMemoryStore
{
    private const string FormatVersion = "2"; // 2: own lexical index (lex_*) instead of FTS5; format 1 is migrated on open
    private const int WriterCacheKiB = 128 * 1024; // the writer connection's page cache (SQLite's default is 2 MiB)
    private const int WriterCheckpointPages = 8192; // WAL pages (4 KiB) between automatic checkpoints (default 1,000)
    private readonly string _cs;
    private readonly NodeKey? _key;
    private readonly IEmbedder? _embedder;
    private readonly MemoryStoreOptions _options;
    private readonly SqliteConnection _writer;
    private readonly Lock _writeLock = new();
    private readonly IVectorIndex? _vectors;
    private long _vectorsLoaded; // the largest fragment id whose vector is in _vectors (ids grow under SQLite's write lock)
    private readonly Lock _globalLock = new();
    private (long Version, GlobalTree Tree, Dictionary<string, long> Ids)? _global;
    private readonly SqliteLexicalIndex _lex;

    private SqliteMemoryStore(string path, NodeKey? key, IEmbedder? embedder, MemoryStoreOptions options)
    {
        Path = path;
        _key = key;
        _embedder = embedder;
        _options = options;
        _cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 60 }.ToString();
        _lex = new SqliteLexicalIndex(options.LexicalCacheBytes);
        _writer = Open();
        // The writer's page cache holds the hot B-tree pages of a batch (the CID index takes one random leaf page per
        // fragment); WAL checkpoints run every WriterCheckpointPages pages instead of SQLite's 1,000, so a page that
        // several batches dirty is copied back once. Neither changes durability: every commit still syncs the WAL.
        Exec(_writer, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={options.Synchronous}; PRAGMA secure_delete=ON; "
            + $"PRAGMA cache_size=-{WriterCacheKiB}; PRAGMA wal_autocheckpoint={WriterCheckpointPages};");
        using (var tx = _writer.BeginTransaction())
        {
            Exec(_writer, """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS namespaces (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, root BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS fragments (
                  id INTEGER PRIMARY KEY,            -- doc id of the lexical index, rowid of vectors
                  cid BLOB NOT NULL UNIQUE,          -- 32 raw bytes = the leaf data
                  ns_id INTEGER NOT NULL,
                  leaf_index INTEGER NOT NULL,
                  status INTEGER NOT NULL,           -- 0 live, 1 deleted, 2 erased, 3 tombstone
                  envelope BLOB,                     -- canonical signed envelope; NULL once erased
                  erased_at_ms INTEGER,
                  UNIQUE (ns_id, leaf_index));
                CREATE TABLE IF NOT EXISTS merkle_nodes (ns_id INTEGER NOT NULL, id INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (ns_id, id)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, ns_id INTEGER NOT NULL, vec BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS statements (seq INTEGER PRIMARY KEY AUTOINCREMENT, global_root BLOB NOT NULL,
                  namespaces INTEGER NOT NULL, time_ms INTEGER NOT NULL, envelope BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS statements_root ON statements (global_root);
                INSERT OR IGNORE INTO meta (key, value) VALUES ('format', '2'), ('version', '0');
                """ + SqliteLexicalIndex.Schema, tx);
            var format = Scalar(_writer, tx, "SELECT value FROM meta WHERE key = 'format'") as string;
            if (format == "1") format = MigrateFromFts5(tx);
            if (format != FormatVersion)
                throw new InvalidDataException($"{path}: memory store format '{format}' is not supported; this build reads format {FormatVersion}.");
            if (embedder is not null)
            {
                var dims = Scalar(_writer, tx, "SELECT value FROM meta WHERE key = 'embedding_dims'") as string;
                var want = embedder.Dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (dims is null) Exec(_writer, $"INSERT INTO meta (key, value) VALUES ('embedding_dims', '{want}')", tx);
                else if (dims != want)
                    throw new InvalidDataException($"{path}: the store holds {dims}-dimensional vectors but the embedder gives {want}; use the same embedder, or a new store.");
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
    /// Opens (creating if needed) the store at <paramref name="path"/>. With <paramref name="nodeKey"/> it signs root
    /// statements (needed by <see cref="Prove"/> and <see cref="CurrentStatement"/> when the state changed); with an
    /// <paramref name="embedder"/> searches fuse BM25 with vector similarity, otherwise they are BM25 only.
    /// </summary>
    public static SqliteMemoryStore Open(string path, NodeKey? nodeKey, IEmbedder? embedder = null, MemoryStoreOptions? options = null)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        return new SqliteMemoryStore(path, nodeKey, embedder, options ?? new MemoryStoreOptions());
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public string Location => Path;

    /// <summary>The key that signs root statements, or null.</summary>
    public NodeId? Signer => _key?.NodeId;

    /// <summary>Whether searches use vectors too.</summary>
    public bool HasEmbedder => _embedder is not null;

    // ---------------------------------------------------------------- writes

    /// <summary>
    /// Appends checked fragments (in order) to their namespace logs in one transaction; a fragment already stored is not
    /// appended again (its receipt says <c>Duplicate</c>). A tombstone must name a live fragment of its own namespace.
    /// </summary>
    /// <exception cref="MemoryStoreException">A tombstone names an unknown, already deleted or foreign fragment (nothing is appended).</exception>
    public async Task<IReadOnlyList<AppendReceipt>> AppendAsync(IReadOnlyList<SignedFragment> fragments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fragments);
        float[]?[] vecs = new float[fragments.Count][];
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
        cancellationToken.ThrowIfCancellationRequested();
        var prepared = PreparedFragment.All(fragments);
        var added = new List<(long Id, int Ns, Cid Cid, float[] V)>();
        var removed = new List<long>();
        AppendReceipt[] receipts;
        lock (_writeLock)
        {
            using var tx = _writer.BeginTransaction(); // BEGIN IMMEDIATE: the database's write lock
            try
            {
                receipts = AppendCore(tx, fragments, prepared, vecs, added, removed);
                tx.Commit();
                _lexCommitted?.Committed();
            }
            finally { _lexCommitted = null; }
        }
        if (_vectors is not null)
        {
            foreach (var (id, ns, cid, v) in added) _vectors.Add(id, ns, cid, v);
            lock (_vectorLoadLock) foreach (var a in added) if (a.Id > _vectorsLoaded) _vectorsLoaded = a.Id;
            foreach (var id in removed) _vectors.Remove(id);
        }
        return receipts;
    }

    private AppendReceipt[] AppendCore(SqliteTransaction tx, IReadOnlyList<SignedFragment> fragments, PreparedFragment[] prepared, float[]?[] vecs,
        List<(long, int, Cid, float[])> added, List<long> removed)
    {
        var c = _writer;
        using var findCid = Cmd(c, tx, "SELECT f.id, n.name, f.leaf_index, f.status, f.ns_id, f.envelope FROM fragments f JOIN namespaces n ON n.id = f.ns_id WHERE f.cid = $cid", "$cid");
        using var insFrag = Cmd(c, tx, "INSERT INTO fragments (cid, ns_id, leaf_index, status, envelope) VALUES ($cid, $ns, $leaf, $status, $env) RETURNING id", "$cid", "$ns", "$leaf", "$status", "$env");
        using var lex = _lex.Begin(c, tx);
        using var insVec = Cmd(c, tx, "INSERT INTO vectors (id, ns_id, vec) VALUES ($id, $ns, $vec)", "$id", "$ns", "$vec");
        using var setStatus = Cmd(c, tx, "UPDATE fragments SET status = 1 WHERE id = $id", "$id");
        using var delVec = Cmd(c, tx, "DELETE FROM vectors WHERE id = $id", "$id");

        var logs = new Dictionary<string, (long Id, MerkleTree Tree, NamespaceNodeStore Store)>(StringComparer.Ordinal);
        var receipts = new AppendReceipt[fragments.Count];
        var inBatch = new Dictionary<Cid, AppendReceipt>();
        for (int i = 0; i < fragments.Count; i++)
        {
            var sf = fragments[i];
            var prep = prepared[i];
            var cidBytes = prep.CidBytes;
            if (inBatch.TryGetValue(sf.Cid, out var dup)) { receipts[i] = dup with { Duplicate = true }; continue; }
            findCid.Parameters[0].Value = cidBytes;
            using (var r = findCid.ExecuteReader())
                if (r.Read())
                {
                    receipts[i] = new AppendReceipt(sf.Cid, r.GetString(1), r.GetInt64(2), true);
                    continue;
                }
            var nsName = sf.Fragment.Namespace.Name;
            if (!logs.TryGetValue(nsName, out var log))
            {
                long nsId, size;
                using (var q = Cmd(c, tx, "SELECT id, size FROM namespaces WHERE name = $n", "$n"))
                {
                    q.Parameters[0].Value = nsName;
                    using var r = q.ExecuteReader();
                    if (r.Read()) { nsId = r.GetInt64(0); size = r.GetInt64(1); }
                    else { nsId = -1; size = 0; }
                }
                if (nsId < 0)
                {
                    using var ins = Cmd(c, tx, "INSERT INTO namespaces (name, size, root) VALUES ($n, 0, $r) RETURNING id", "$n", "$r");
                    ins.Parameters[0].Value = nsName;
                    ins.Parameters[1].Value = MerkleHasher.EmptyRoot();
                    nsId = (long)ins.ExecuteScalar()!;
                }
                var store = new NamespaceNodeStore(c, tx, nsId);
                log = (nsId, new MerkleTree(store, size), store);
                logs[nsName] = log;
            }

            var target = sf.Fragment.TombstoneTarget;
            if (sf.Fragment.Metadata.ContainsKey(Fragment.TombstoneKey))
            {
                if (target is null || sf.Fragment.Content.Length != 0)
                    throw new MemoryStoreException("a tombstone has empty content and metadata {\"tombstone\": \"<cid of the deleted fragment>\"}.", "memory.bad_tombstone");
                findCid.Parameters[0].Value = target.Value.ToArray();
                long tid; int tstatus; long tns; byte[]? tenv;
                using (var r = findCid.ExecuteReader())
                {
                    if (!r.Read()) throw new MemoryStoreException($"the tombstone deletes {target}, which is not in the store.", "memory.not_found");
                    tid = r.GetInt64(0); tstatus = r.GetInt32(3); tns = r.GetInt64(4); tenv = r.IsDBNull(5) ? null : (byte[])r[5];
                }
                if (tns != log.Id)
                    throw new MemoryStoreException($"the tombstone is in {nsName} but {target} is in another namespace; delete it in its own namespace.", "memory.bad_tombstone");
                if (tstatus != (int)FragmentStatus.Live)
                    throw new MemoryStoreException($"{target} is {((FragmentStatus)tstatus).ToString().ToLowerInvariant()}; only a live fragment can be deleted.", "memory.bad_tombstone");
                setStatus.Parameters[0].Value = tid; setStatus.ExecuteNonQuery();
                if (tenv is not null) lex.Remove(tid, ContentOf(tenv));
                delVec.Parameters[0].Value = tid; delVec.ExecuteNonQuery();
                removed.Add(tid);
            }

            long leaf = log.Tree.Size;
            log.Tree.AppendLeafHash(prep.LeafHash);
            insFrag.Parameters[0].Value = cidBytes;
            insFrag.Parameters[1].Value = log.Id;
            insFrag.Parameters[2].Value = leaf;
            insFrag.Parameters[3].Value = target is null ? (int)FragmentStatus.Live : (int)FragmentStatus.Tombstone;
            insFrag.Parameters[4].Value = prep.Envelope;
            long id = (long)insFrag.ExecuteScalar()!;
            if (target is null)
            {
                lex.Add(id, (int)log.Id, prep.Terms!, prep.Length);
                if (vecs[i] is { } v)
                {
                    insVec.Parameters[0].Value = id;
                    insVec.Parameters[1].Value = log.Id;
                    insVec.Parameters[2].Value = FloatsToBytes(v);
                    insVec.ExecuteNonQuery();
                    added.Add((id, (int)log.Id, sf.Cid, v));
                }
            }
            receipts[i] = new AppendReceipt(sf.Cid, nsName, leaf, false);
            inBatch[sf.Cid] = receipts[i];
        }
        if (logs.Count > 0)
        {
            using var upd = Cmd(c, tx, "UPDATE namespaces SET size = $s, root = $r WHERE id = $id", "$s", "$r", "$id");
            foreach (var (_, (nsId, tree, store)) in logs)
            {
                upd.Parameters[0].Value = tree.Size;
                upd.Parameters[1].Value = tree.Root();
                upd.Parameters[2].Value = nsId;
                upd.ExecuteNonQuery();
                store.Dispose();
            }
            Exec(c, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'", tx);
        }
        lex.Flush();
        _lexCommitted = lex;
        return receipts;
    }

    /// <summary>
    /// Erases a fragment's content (privacy): the envelope and the indexed text are removed with SQLite's secure_delete,
    /// and the WAL is checkpointed so the bytes leave the files; the leaf stays, so proofs still verify and say erased.
    /// Returns false when it was already erased.
    /// </summary>
    /// <exception cref="MemoryStoreException">No such fragment.</exception>
    public bool Erase(Cid cid)
    {
        long now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        long id;
        lock (_writeLock)
        {
            using var tx = _writer.BeginTransaction();
            int status;
            byte[]? envelope;
            using (var q = Cmd(_writer, tx, "SELECT id, status, envelope FROM fragments WHERE cid = $c", "$c"))
            {
                q.Parameters[0].Value = cid.ToArray();
                using var r = q.ExecuteReader();
                if (!r.Read()) throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
                id = r.GetInt64(0);
                status = r.GetInt32(1);
                if (status == (int)FragmentStatus.Erased) return false;
                envelope = r.IsDBNull(2) ? null : (byte[])r[2];
            }
            using (var u = Cmd(_writer, tx, "UPDATE fragments SET status = 2, envelope = NULL, erased_at_ms = $t WHERE id = $id", "$t", "$id"))
            {
                u.Parameters[0].Value = now;
                u.Parameters[1].Value = id;
                u.ExecuteNonQuery();
            }
            if (status == (int)FragmentStatus.Live && envelope is not null)
                using (var lex = _lex.Begin(_writer, tx))
                {
                    lex.Remove(id, ContentOf(envelope));
                    lex.Flush();
                }
            using (var d = Cmd(_writer, tx, "DELETE FROM vectors WHERE id = $id", "$id"))
            {
                d.Parameters[0].Value = id;
                d.ExecuteNonQuery();
            }
            // The logs do not change, but the index statistics do: readers' caches key on this counter.
            Exec(_writer, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'", tx);
            tx.Commit();
            Exec(_writer, "PRAGMA wal_checkpoint(TRUNCATE)");
        }
        _vectors?.Remove(id);
        return true;
    }

    // ---------------------------------------------------------------- reads

    /// <summary>A fragment by CID (any status), or null.</summary>
    public StoredFragment? Get(Cid cid)
    {
        using var c = Open();
        using var q = Cmd(c, null, "SELECT n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms FROM fragments f JOIN namespaces n ON n.id = f.ns_id WHERE f.cid = $c", "$c");
        q.Parameters[0].Value = cid.ToArray();
        using var r = q.ExecuteReader();
        return r.Read() ? ReadStored(cid, r, 0) : null;
    }

    private static StoredFragment ReadStored(Cid cid, SqliteDataReader r, int o) => new(cid, r.GetString(o), r.GetInt64(o + 1), (FragmentStatus)r.GetInt32(o + 2),
        r.IsDBNull(o + 3) ? null : SignedEnvelope.Parse(Encoding.UTF8.GetString((byte[])r[o + 3])), r.IsDBNull(o + 4) ? null : r.GetInt64(o + 4));

    /// <summary>Every non-empty namespace's head, in code-point order of names.</summary>
    public IReadOnlyList<NamespaceHead> Heads() => Global().Tree.Heads;

    /// <summary>The global tree of the current committed state.</summary>
    public GlobalTree GlobalTree() => Global().Tree;

    private (long Version, GlobalTree Tree, Dictionary<string, long> Ids) Global()
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: true);
        return Global(c, tx);
    }

    private (long Version, GlobalTree Tree, Dictionary<string, long> Ids) Global(SqliteConnection c, SqliteTransaction tx)
    {
        long version = long.Parse((string)Scalar(c, tx, "SELECT value FROM meta WHERE key = 'version'")!, System.Globalization.CultureInfo.InvariantCulture);
        lock (_globalLock)
            if (_global is { } g && g.Version == version) return g;
        var heads = new List<NamespaceHead>();
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var q = Cmd(c, tx, "SELECT id, name, root, size FROM namespaces"))
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                ids[r.GetString(1)] = r.GetInt64(0);
                heads.Add(new NamespaceHead(r.GetString(1), (byte[])r[2], r.GetInt64(3)));
            }
        var built = (version, new GlobalTree(heads), ids);
        lock (_globalLock) _global = built;
        return built;
    }

    /// <summary>
    /// The signed statement of the current global root: the latest stored one when it still matches, else a new one
    /// signed now (and <see cref="MemoryStoreOptions.StatementSigned"/> is called).
    /// </summary>
    /// <exception cref="MemoryStoreException">The state changed and the store was opened without the node key.</exception>
    public MemoryRootStatement CurrentStatement() => StatementFor(Global().Tree);

    private MemoryRootStatement StatementFor(GlobalTree tree)
    {
        using (var c = Open())
        using (var q = Cmd(c, null, "SELECT envelope FROM statements WHERE global_root = $r AND namespaces = $n ORDER BY seq DESC LIMIT 1", "$r", "$n"))
        {
            q.Parameters[0].Value = tree.Root;
            q.Parameters[1].Value = tree.Size;
            if (q.ExecuteScalar() is byte[] bytes
                && MemoryRootStatement.TryFromEnvelope(SignedEnvelope.Parse(Encoding.UTF8.GetString(bytes)), out var s, out _))
                return s;
        }
        var key = _key ?? throw new MemoryStoreException($"{Path} was opened without the node key; the root statement for the current state is not signed yet. Open it with the node key.", "memory.read_only");
        var st = MemoryRootStatement.Create(tree.Root, tree.Size, _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), key);
        lock (_writeLock)
        {
            using var ins = Cmd(_writer, null, "INSERT INTO statements (global_root, namespaces, time_ms, envelope) VALUES ($r, $n, $t, $e)", "$r", "$n", "$t", "$e");
            ins.Parameters[0].Value = st.GlobalRoot;
            ins.Parameters[1].Value = st.Namespaces;
            ins.Parameters[2].Value = st.TimeMs;
            ins.Parameters[3].Value = st.Envelope.ToCanonicalBytes();
            ins.ExecuteNonQuery();
        }
        _options.StatementSigned?.Invoke(st);
        return st;
    }

    /// <summary>The proof of <paramref name="cid"/> against the current state (docs/formats.md §"Memory proofs").</summary>
    /// <exception cref="MemoryStoreException">No such fragment, or a statement is needed and the store is read-only.</exception>
    public JsonObject Prove(Cid cid)
    {
        GlobalTree g;
        string ns;
        long leaf, size;
        InclusionProof nsProof;
        byte[] nsRoot;
        SignedEnvelope? env;
        using (var c = Open())
        using (var tx = c.BeginTransaction(deferred: true))
        {
            long nsId;
            using (var q = Cmd(c, tx, "SELECT n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms, f.ns_id FROM fragments f JOIN namespaces n ON n.id = f.ns_id WHERE f.cid = $c", "$c"))
            {
                q.Parameters[0].Value = cid.ToArray();
                using var r = q.ExecuteReader();
                if (!r.Read()) throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
                var sf = ReadStored(cid, r, 0);
                ns = sf.Namespace; leaf = sf.LeafIndex; env = sf.Envelope; nsId = r.GetInt64(5);
            }
            (_, g, _) = Global(c, tx);
            var head = g.Heads[g.IndexOf(ns)];
            size = head.Size;
            nsRoot = head.Root;
            using var store = new NamespaceNodeStore(c, tx, nsId);
            nsProof = MerkleTree.ProveInclusion(store, leaf, size);
        }
        var statement = StatementFor(g);
        var gProof = g.Prove(g.IndexOf(ns));
        return MemoryProof.Build(env, cid, ns, nsProof, nsRoot, gProof, g.Root, statement.Envelope);
    }

    /// <summary>Fragments in log order (namespaces by name), optionally of one namespace: for <c>fed memory export</c>.</summary>
    public IEnumerable<StoredFragment> Export(string? ns = null)
    {
        using var c = Open();
        using var tx = c.BeginTransaction(deferred: true);
        using var q = Cmd(c, tx, "SELECT f.cid, n.name, f.leaf_index, f.status, f.envelope, f.erased_at_ms FROM fragments f JOIN namespaces n ON n.id = f.ns_id "
            + "WHERE $ns IS NULL OR n.name = $ns ORDER BY n.name, f.leaf_index", "$ns");
        q.Parameters[0].Value = (object?)ns ?? DBNull.Value;
        using var r = q.ExecuteReader();
        while (r.Read()) yield return ReadStored(new Cid((byte[])r[0]), r, 1);
    }

    /// <summary>
    /// Searches live fragments of <paramref name="namespaces"/>: BM25 over the own lexical index (exact MaxScore) and (with an embedder) exact vector
    /// similarity, each list <see cref="MemoryStoreOptions.FusionDepth"/> deep, fused by reciprocal rank
    /// (score = Σ 1/(k + rank)), ties broken by CID ascending. The same query on the same state gives the same list.
    /// </summary>
    public async Task<IReadOnlyList<MemoryHit>> SearchAsync(string query, IReadOnlyCollection<string> namespaces, int k, CancellationToken cancellationToken = default)
    {
        SearchFusion.CheckArguments(query, k);
        if (namespaces.Count == 0) return [];
        int depth = Math.Max(k, _options.FusionDepth);
        var qv = await SearchFusion.EmbedQueryAsync(_embedder, query, cancellationToken).ConfigureAwait(false);
        var lexical = new List<(long Id, Cid Cid)>();
        var nsIds = new HashSet<int>();
        using var c = Open();
        using (var tx = c.BeginTransaction(deferred: true))
        {
            using (var q = Cmd(c, tx, "SELECT id, name FROM namespaces"))
            using (var r = q.ExecuteReader())
                while (r.Read())
                    if (namespaces.Contains(r.GetString(1))) nsIds.Add(r.GetInt32(0));
            if (nsIds.Count == 0) return [];
            lexical = LexicalTop(c, tx, query, nsIds, depth).Select(x => (x.Id, x.Cid)).ToList();
        }
        var vector = new List<(long Id, Cid Cid)>();
        if (qv is not null && _vectors is not null)
        {
            LoadNewVectors();
            foreach (var (id, cid, _) in _vectors.Search(qv, nsIds, depth)) vector.Add((id, cid));
        }
        var order = SearchFusion.Fuse(lexical, vector, _options.RrfK, k);
        if (order.Count == 0) return [];
        var hits = new List<MemoryHit>(order.Count);
        using var get = Cmd(c, null, "SELECT f.envelope FROM fragments f WHERE f.id = $id AND f.status = 0", "$id");
        foreach (var (id, cid, score, l, v) in order)
        {
            get.Parameters[0].Value = id;
            if (get.ExecuteScalar() is not byte[] bytes) continue; // deleted by another process since the vector cache loaded it
            hits.Add(SearchFusion.Hit(cid, bytes, score, l, v));
        }
        return hits;
    }

    /// <summary>
    /// The lexical list: BM25 (FTS5's formula and statistics) over the own index, exact top-k by MaxScore
    /// (<see cref="Bm25TopK"/>), the best <paramref name="depth"/> of the asked namespaces, ties by CID ascending:
    /// (row id, CID, score — FTS5's bm25() negated, so higher is better).
    /// </summary>
    internal List<(long Id, Cid Cid, double Score)> LexicalTop(SqliteConnection c, SqliteTransaction? tx, string query, HashSet<int> nsIds, int depth)
    {
        var (kept, docs, tokens, gen) = _lex.QueryTerms(c, tx, query);
        if (kept.Count == 0 || docs <= 0) return [];
        double avgdl = (double)tokens / (double)docs;
        var terms = kept.Select(t => (Bm25TopK.Idf(docs, t.Df), _lex.Load(c, tx, t, gen))).ToList();
        var mask = new bool[nsIds.Count == 0 ? 0 : nsIds.Max() + 1];
        foreach (var ns in nsIds) mask[ns] = true;
        var top = Bm25TopK.Run(terms, mask, avgdl, depth);
        var withCid = new List<(long Id, Cid Cid, double Score)>(top.Count);
        // one statement for every CID: with short texts many fragments may tie at the cut (same tf and length), and
        // all of them need their CID for the tie-break
        var scores = new Dictionary<long, double>(top.Count);
        foreach (var (id, sc) in top) scores[id] = sc;
        using (var q = Cmd(c, tx, "SELECT f.id, f.cid FROM json_each($ids) AS j JOIN fragments f ON f.id = j.value", "$ids"))
        {
            q.Parameters[0].Value = "[" + string.Join(",", scores.Keys.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
            using var r = q.ExecuteReader();
            while (r.Read()) withCid.Add((r.GetInt64(0), new Cid((byte[])r[1]), scores[r.GetInt64(0)]));
        }
        if (withCid.Count != scores.Count) throw new InvalidDataException("the lexical index names a fragment row that does not exist: the store is corrupt; rebuild it (fed memory export, then import).");
        withCid.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Cid.CompareTo(b.Cid));
        if (withCid.Count > depth) withCid.RemoveRange(depth, withCid.Count - depth);
        return withCid;
    }

    /// <summary>The words a query keeps for BM25 (tests: the common-word rule).</summary>
    internal List<string> QueryWords(string query)
    {
        using var c = Open();
        return _lex.QueryTerms(c, null, query).Kept.Select(k => k.Word).ToList();
    }

    private SqliteLexicalIndex.Batch? _lexCommitted;

    private static string ContentOf(byte[] envelope)
    {
        var env = SignedEnvelope.Parse(Encoding.UTF8.GetString(envelope));
        return Fragment.TryFromJson(env.Payload, out var f, out _) ? f!.Content : "";
    }

    /// <summary>
    /// Format 1 indexed text with FTS5; format 2 has the own lexical index. Builds it from the live fragments' envelopes
    /// in this (open) transaction and drops the FTS5 tables, so an old store opens with nothing lost.
    /// </summary>
    private string MigrateFromFts5(SqliteTransaction tx)
    {
        var rows = new List<(long Id, int Ns, byte[] Env)>();
        using (var q = Cmd(_writer, tx, "SELECT id, ns_id, envelope FROM fragments WHERE status = 0 AND envelope IS NOT NULL ORDER BY id"))
        using (var r = q.ExecuteReader())
            while (r.Read()) rows.Add((r.GetInt64(0), r.GetInt32(1), (byte[])r[2]));
        for (int i = 0; i < rows.Count; i += 10_000)
        {
            using var lex = _lex.Begin(_writer, tx);
            foreach (var (id, ns, env) in rows.Skip(i).Take(10_000)) lex.Add(id, ns, ContentOf(env));
            lex.Flush();
        }
        Exec(_writer, "DROP TABLE IF EXISTS fts_vocab; DROP TABLE IF EXISTS fts; DELETE FROM meta WHERE key = 'fts_docs'; "
            + "UPDATE meta SET value = '2' WHERE key = 'format'; UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version';", tx);
        return FormatVersion;
    }

    private readonly Lock _vectorLoadLock = new();

    private void LoadNewVectors()
    {
        if (_vectors is null) return;
        lock (_vectorLoadLock) LoadNewVectorsLocked();
    }

    private void LoadNewVectorsLocked()
    {
        using var c = Open();
        using var q = Cmd(c, null, "SELECT v.id, v.ns_id, f.cid, v.vec FROM vectors v JOIN fragments f ON f.id = v.id WHERE v.id > $m ORDER BY v.id", "$m");
        q.Parameters[0].Value = _vectorsLoaded;
        using var r = q.ExecuteReader();
        while (r.Read())
        {
            var bytes = (byte[])r[3];
            _vectorsLoaded = Math.Max(_vectorsLoaded, r.GetInt64(0));
            _vectors!.Add(r.GetInt64(0), r.GetInt32(1), new Cid((byte[])r[2]), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes));
        }
    }

    private static byte[] FloatsToBytes(float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    // ---------------------------------------------------------------- plumbing

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_cs);
        c.Open();
        Exec(c, "PRAGMA busy_timeout = 60000;");
        return c;
    }

    private static SqliteCommand Cmd(SqliteConnection c, SqliteTransaction? tx, string sql, params string[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter(p, null));
        return cmd;
    }

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd.ExecuteScalar();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer.Dispose();
        _vectors?.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(_cs));
    }

    /// <summary>Merkle nodes of one namespace in <c>merkle_nodes</c>, keyed by (ns_id, level &lt;&lt; 56 | index).</summary>
    private sealed class NamespaceNodeStore : IMerkleNodeStore, IDisposable
    {
        private readonly SqliteCommand _read, _write;

        public NamespaceNodeStore(SqliteConnection c, SqliteTransaction? tx, long nsId)
        {
            _read = Cmd(c, tx, "SELECT hash FROM merkle_nodes WHERE ns_id = $ns AND id = $id", "$ns", "$id");
            _write = Cmd(c, tx, "INSERT INTO merkle_nodes (ns_id, id, hash) VALUES ($ns, $id, $h)", "$ns", "$id", "$h");
            _read.Parameters[0].Value = nsId;
            _write.Parameters[0].Value = nsId;
        }

        public void ReadNode(int level, long index, Span<byte> destination)
        {
            _read.Parameters[1].Value = ((long)level << 56) | index;
            if (_read.ExecuteScalar() is not byte[] h || h.Length != MerkleHasher.HashSize)
                throw new InvalidDataException($"merkle node ({level}, {index}) is missing from the memory store: the file is corrupt; restore it from a backup or re-import the export.");
            h.CopyTo(destination);
        }

        public void WriteNode(int level, long index, ReadOnlySpan<byte> hash)
        {
            _write.Parameters[1].Value = ((long)level << 56) | index;
            _write.Parameters[2].Value = hash.ToArray();
            _write.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _read.Dispose();
            _write.Dispose();
        }
    }
}
