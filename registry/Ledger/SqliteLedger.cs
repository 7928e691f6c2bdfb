using System.Numerics;
using System.Text;
using System.Threading.Channels;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// The node's append-only, Merkle-backed log of signed entries in SQLite (WAL, synchronous=FULL). Entry i is a
/// <see cref="SignedEnvelope"/> sealed by the node key; Merkle leaf i is the envelope's canonical JSON bytes
/// (<see cref="SignedEnvelope.ToCanonicalBytes"/>), so leaf hash = SHA-256(0x00 ‖ those bytes).
/// </summary>
/// <remarks>
/// Appends go through one writer loop that drains every pending append into one transaction (group commit); an
/// append's task completes only after that transaction commits, so an acknowledged entry survives a crash. Entries and
/// the Merkle nodes they complete are written in the same transaction; a transaction cut short by a crash is absent
/// on reopen. Reads (entries, roots, proofs, STHs) use a second connection and only see committed data.
/// Thread-safe.
/// </remarks>
public sealed class SqliteLedger : IAsyncDisposable, IDisposable
{
    private const int FormatVersion = 1;
    private readonly NodeKey? _key;
    private readonly LedgerOptions _options;
    private readonly SqliteConnection _writer;
    private readonly SqliteConnection _reader;
    private readonly Lock _readLock = new();
    private readonly SqliteMerkleNodeStore _writeStore;
    private readonly SqliteCommand _insertEntry;
    private readonly SqliteParameter[] _entryParams;
    private readonly SqliteCommand _maxIndex;
    private readonly Channel<PendingAppend> _queue;
    private readonly Task _writerLoop;
    private MerkleTree _tree;
    private long _committedSize;
    private bool _disposed;

    private SqliteLedger(string path, NodeKey? key, LedgerOptions options)
    {
        Path = path;
        _key = key;
        _options = options;
        _writer = OpenConnection(path, options);
        _reader = OpenConnection(path, options);
        Exec(_writer, """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS entries (
              idx INTEGER PRIMARY KEY,      -- leaf index, contiguous from 0
              id TEXT NOT NULL,             -- envelope id (CID of its signed bytes)
              type TEXT NOT NULL,
              signer TEXT NOT NULL,
              signature BLOB NOT NULL,
              envelope BLOB NOT NULL,       -- canonical envelope JSON = Merkle leaf data
              leaf_hash BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS merkle_nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS sths (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              tree_size INTEGER NOT NULL, root BLOB NOT NULL, timestamp INTEGER NOT NULL,
              envelope BLOB NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('format', '1');
            """);
        var format = Scalar(_writer, "SELECT value FROM meta WHERE key = 'format'") as string;
        if (format != FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: ledger format '{format}' is not supported; this build reads format {FormatVersion}.");

        _writeStore = new SqliteMerkleNodeStore(_writer);
        _insertEntry = _writer.CreateCommand();
        _insertEntry.CommandText = "INSERT INTO entries(idx, id, type, signer, signature, envelope, leaf_hash) VALUES ($i, $id, $t, $s, $sig, $env, $lh)";
        _entryParams =
        [
            _insertEntry.Parameters.Add("$i", SqliteType.Integer), _insertEntry.Parameters.Add("$id", SqliteType.Text),
            _insertEntry.Parameters.Add("$t", SqliteType.Text), _insertEntry.Parameters.Add("$s", SqliteType.Text),
            _insertEntry.Parameters.Add("$sig", SqliteType.Blob), _insertEntry.Parameters.Add("$env", SqliteType.Blob),
            _insertEntry.Parameters.Add("$lh", SqliteType.Blob),
        ];
        _maxIndex = _writer.CreateCommand();
        _maxIndex.CommandText = "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries";

        long size = Recover();
        _tree = new MerkleTree(_writeStore, size);
        _committedSize = size;
        _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
        _writerLoop = Task.Run(WriterLoopAsync);
    }

    /// <summary>
    /// Opens (creating if needed) the ledger at <paramref name="path"/>. With a <paramref name="key"/> the ledger can
    /// append and sign tree heads; without one it is read-only. Opening checks that the Merkle nodes agree with the
    /// entries and rebuilds them from the entries when they do not (<see cref="RepairedOnOpen"/>).
    /// </summary>
    public static SqliteLedger Open(string path, NodeKey? key, LedgerOptions? options = null)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var writerLock = key is null ? null : LedgerWriterLock.Acquire(System.IO.Path.GetFullPath(path));
        try
        {
            return new SqliteLedger(path, key, options ?? new LedgerOptions()) { _writerLock = writerLock };
        }
        catch
        {
            writerLock?.Dispose();
            throw;
        }
    }

    private LedgerWriterLock? _writerLock;

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The node key's id, or null when opened read-only.</summary>
    public NodeId? NodeId => _key?.Id;

    /// <summary>The number of committed (durable) entries.</summary>
    public long Size => Volatile.Read(ref _committedSize);

    /// <summary>True when opening found Merkle nodes inconsistent with the entries and rebuilt them.</summary>
    public bool RepairedOnOpen { get; private set; }

    /// <summary>Seals <paramref name="payload"/> as an entry of <paramref name="type"/> and appends it; completes once durable.</summary>
    public async Task<LedgerReceipt> AppendAsync(string type, JsonValue payload, CancellationToken cancellationToken = default)
    {
        var pending = Prepare([(type, payload)]);
        await Enqueue(pending, cancellationToken);
        return (await pending.Done.Task.WaitAsync(cancellationToken))[0];
    }

    /// <summary>Seals and appends several entries (signed in parallel) in order; completes once all are durable.</summary>
    public async Task<IReadOnlyList<LedgerReceipt>> AppendBatchAsync(IReadOnlyList<(string Type, JsonValue Payload)> entries, CancellationToken cancellationToken = default)
    {
        if (entries.Count == 0) return [];
        var pending = Prepare(entries);
        await Enqueue(pending, cancellationToken);
        return await pending.Done.Task.WaitAsync(cancellationToken);
    }

    private async ValueTask Enqueue(PendingAppend pending, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _queue.Writer.WriteAsync(pending, ct);
    }

    private PendingAppend Prepare(IReadOnlyList<(string Type, JsonValue Payload)> entries)
    {
        var key = _key ?? throw new InvalidOperationException($"{Path} was opened without the node key (read-only); open it with the key to append.");
        var p = new PendingAppend(entries.Count);
        void One(int i)
        {
            var (type, payload) = entries[i];
            if (string.IsNullOrEmpty(type)) throw new ArgumentException($"entry {i}: a ledger entry needs a non-empty type.", nameof(entries));
            var env = SignedEnvelope.Seal(type, payload, key);
            var bytes = env.ToCanonicalBytes();
            p.Envelopes[i] = env;
            p.Bytes[i] = bytes;
            p.LeafHashes[i] = MerkleHasher.HashLeaf(bytes);
        }
        // Signing dominates an append; a large batch uses every core.
        if (entries.Count >= 64) Parallel.For(0, entries.Count, One);
        else for (int i = 0; i < entries.Count; i++) One(i);
        return p;
    }

    private async Task WriterLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingAppend>();
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            int count = 0;
            while (count < _options.MaxBatch && reader.TryRead(out var p))
            {
                batch.Add(p);
                count += p.Envelopes.Length;
            }
            if (batch.Count > 0) Commit(batch);
        }
    }

    private void Commit(List<PendingAppend> batch)
    {
        long start = _tree.Size;
        SqliteTransaction? tx = null;
        try
        {
            tx = _writer.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: we are the only writer from here on
            _maxIndex.Transaction = tx;
            long onDisk = Convert.ToInt64(_maxIndex.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            _writeStore.Transaction = tx;
            if (onDisk != start)
            {
                // Another process appended since we last looked: continue from the committed state.
                _tree = new MerkleTree(_writeStore, onDisk);
                start = onDisk;
            }
            _insertEntry.Transaction = tx;
            var receipts = new LedgerReceipt[batch.Count][];
            for (int b = 0; b < batch.Count; b++)
            {
                var p = batch[b];
                receipts[b] = new LedgerReceipt[p.Envelopes.Length];
                for (int i = 0; i < p.Envelopes.Length; i++)
                {
                    var env = p.Envelopes[i];
                    long index = _tree.Size;
                    _entryParams[0].Value = index;
                    _entryParams[1].Value = env.Id.ToString();
                    _entryParams[2].Value = env.Type;
                    _entryParams[3].Value = env.Signer.ToString();
                    _entryParams[4].Value = env.SignatureBytes.ToArray();
                    _entryParams[5].Value = p.Bytes[i];
                    _entryParams[6].Value = p.LeafHashes[i];
                    _insertEntry.ExecuteNonQuery();
                    _tree.AppendLeafHash(p.LeafHashes[i]);
                    receipts[b][i] = new LedgerReceipt(index, p.LeafHashes[i], env.Id);
                }
            }
            tx.Commit();
            Volatile.Write(ref _committedSize, _tree.Size);
            for (int b = 0; b < batch.Count; b++) batch[b].Done.TrySetResult(receipts[b]);
        }
        catch (Exception e)
        {
            try { tx?.Rollback(); } catch (SqliteException) { /* the connection already rolled back */ }
            _writeStore.Transaction = null;
            _maxIndex.Transaction = null;
            _tree = new MerkleTree(_writeStore, CommittedSizeOnDisk());
            Volatile.Write(ref _committedSize, _tree.Size);
            foreach (var p in batch) p.Done.TrySetException(new IOException($"{Path}: appending to the ledger failed and nothing of this batch was stored: {e.Message}", e));
        }
        finally
        {
            tx?.Dispose();
            _writeStore.Transaction = null;
            _insertEntry.Transaction = null;
            _maxIndex.Transaction = null;
        }
    }

    private long CommittedSizeOnDisk() => Convert.ToInt64(_maxIndex.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads entry <paramref name="index"/>.</summary>
    public LedgerEntry GetEntry(long index)
    {
        CheckIndex(index, Size);
        lock (_readLock)
        {
            using var cmd = _reader.CreateCommand();
            cmd.CommandText = "SELECT envelope, leaf_hash FROM entries WHERE idx = $i";
            cmd.Parameters.AddWithValue("$i", index);
            using var r = cmd.ExecuteReader();
            if (!r.Read()) throw new InvalidDataException($"{Path}: entry {index} is missing although the log holds {Size} entries.");
            var bytes = (byte[])r[0];
            return new LedgerEntry(index, SignedEnvelope.Parse(Encoding.UTF8.GetString(bytes)), bytes, (byte[])r[1]);
        }
    }

    /// <summary>The Merkle root of the first <paramref name="size"/> entries (default: all committed ones).</summary>
    public byte[] Root(long? size = null)
    {
        long n = size ?? Size;
        CheckSize(n);
        return WithNodes(s => MerkleTree.RootOf(s, n));
    }

    /// <summary>The inclusion proof of entry <paramref name="index"/> in the tree of <paramref name="treeSize"/> entries (default: all).</summary>
    public InclusionProof Prove(long index, long? treeSize = null)
    {
        long n = treeSize ?? Size;
        CheckSize(n);
        CheckIndex(index, n);
        return WithNodes(s => MerkleTree.ProveInclusion(s, index, n));
    }

    /// <summary>The leaf hash of entry <paramref name="index"/>.</summary>
    public byte[] LeafHash(long index)
    {
        CheckIndex(index, Size);
        return WithNodes(s => { var h = new byte[MerkleHasher.HashSize]; s.ReadNode(0, index, h); return h; });
    }

    /// <summary>The consistency proof between the trees of <paramref name="size1"/> and <paramref name="size2"/> entries.</summary>
    public ConsistencyProof Consistency(long size1, long size2)
    {
        CheckSize(size2);
        if (size1 < 0 || size1 > size2)
            throw new ArgumentOutOfRangeException(nameof(size1), $"size1 {size1} must be in [0, {size2}]: a consistency proof goes from an older tree to a newer one.");
        return WithNodes(s => MerkleTree.ProveConsistency(s, size1, size2));
    }

    private T WithNodes<T>(Func<IMerkleNodeStore, T> algorithm)
    {
        var view = new PrefetchedNodeStore();
        algorithm(view);
        view.Recording = false;
        if (view.Wanted.Count > 0)
        {
            lock (_readLock)
            {
                using var cmd = _reader.CreateCommand();
                var sb = new StringBuilder("SELECT id, hash FROM merkle_nodes WHERE id IN (");
                int k = 0;
                foreach (var id in view.Wanted)
                {
                    if (k > 0) sb.Append(',');
                    sb.Append(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    k++;
                }
                sb.Append(')');
                // Ids are integers we computed, not user text, so inlining them is safe.
#pragma warning disable CA2100
                cmd.CommandText = sb.ToString();
#pragma warning restore CA2100
                using var r = cmd.ExecuteReader();
                while (r.Read()) view.Nodes[r.GetInt64(0)] = (byte[])r[1];
            }
        }
        return algorithm(view);
    }

    /// <summary>Signs and stores a tree head for the current committed size and root.</summary>
    public SignedTreeHead SignTreeHead()
    {
        var key = _key ?? throw new InvalidOperationException($"{Path} was opened without the node key (read-only); open it with the key to sign tree heads.");
        long n = Size;
        var sth = SignedTreeHead.Create(n, Root(n), _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), key);
        lock (_readLock)
        {
            using var cmd = _reader.CreateCommand();
            cmd.CommandText = "INSERT INTO sths(tree_size, root, timestamp, envelope) VALUES ($n, $r, $t, $e)";
            cmd.Parameters.AddWithValue("$n", sth.TreeSize);
            cmd.Parameters.AddWithValue("$r", sth.Root);
            cmd.Parameters.AddWithValue("$t", sth.TimestampMs);
            cmd.Parameters.AddWithValue("$e", sth.Envelope.ToCanonicalBytes());
            cmd.ExecuteNonQuery();
        }
        return sth;
    }

    /// <summary>The most recently stored tree head, or null when none was signed yet.</summary>
    public SignedTreeHead? LatestSth()
    {
        lock (_readLock)
        {
            var bytes = Scalar(_reader, "SELECT envelope FROM sths ORDER BY seq DESC LIMIT 1") as byte[];
            return bytes is null ? null : SignedTreeHead.FromEnvelope(SignedEnvelope.Parse(Encoding.UTF8.GetString(bytes)));
        }
    }

    /// <summary>
    /// Re-checks the whole log: every entry's envelope (id and Ed25519 signature, and that it was made by the node key
    /// when one is given or the ledger has one), that its stored bytes are canonical and its columns agree, every leaf
    /// hash, the root from the stored Merkle nodes against a root recomputed from the entries, and the latest STH
    /// (signature, signer, and root at its size). Reports every problem, not only the first.
    /// </summary>
    public LedgerVerification VerifyAll(NodeId? expectedSigner = null, IProgress<long>? progress = null)
    {
        expectedSigner ??= _key?.Id;
        long n = Size;
        var issues = new List<LedgerIssue>();
        var fresh = new MerkleTree(new InMemoryMerkleNodeStore());
        const int Chunk = 2048;
        var rows = new List<(long Idx, string Id, string Type, string Signer, byte[] Sig, byte[] Env, byte[] Leaf)>(Chunk);
        void Flush()
        {
            var found = new LedgerIssue?[rows.Count * 3];
            Parallel.For(0, rows.Count, i => CheckEntry(rows[i], expectedSigner, found, i * 3));
            foreach (var f in found) if (f is not null) issues.Add(f);
            foreach (var row in rows) fresh.Append(row.Env);
            progress?.Report(fresh.Size);
            rows.Clear();
        }
        lock (_readLock)
        {
            using var cmd = _reader.CreateCommand();
            cmd.CommandText = "SELECT idx, id, type, signer, signature, envelope, leaf_hash FROM entries WHERE idx < $n ORDER BY idx";
            cmd.Parameters.AddWithValue("$n", n);
            using var r = cmd.ExecuteReader();
            long expect = 0;
            while (r.Read())
            {
                long idx = r.GetInt64(0);
                if (idx != expect)
                {
                    issues.Add(new LedgerIssue(LedgerProblem.IndexGap, expect, $"entry {expect} is missing: the next stored index is {idx}."));
                    return new LedgerVerification(n, [], null, issues);
                }
                expect++;
                rows.Add((idx, r.GetString(1), r.GetString(2), r.GetString(3), (byte[])r[4], (byte[])r[5], (byte[])r[6]));
                if (rows.Count == Chunk) Flush();
            }
            if (rows.Count > 0) Flush();
        }
        var root = fresh.Root();
        var stored = Root(n);
        if (!stored.AsSpan().SequenceEqual(root))
            issues.Add(new LedgerIssue(LedgerProblem.RootMismatch, null, $"the stored Merkle nodes give root {Convert.ToHexStringLower(stored)} for {n} entries, the entries give {Convert.ToHexStringLower(root)}; reopen to rebuild the nodes."));
        SignedTreeHead? sth = null;
        try { sth = LatestSth(); }
        catch (FormatException e) { issues.Add(new LedgerIssue(LedgerProblem.SthSignatureInvalid, null, $"the latest STH is malformed: {e.Message}")); }
        if (sth is not null)
        {
            var check = sth.Verify(expectedSigner);
            if (!check.IsValid)
                issues.Add(new LedgerIssue(LedgerProblem.SthSignatureInvalid, null, $"the latest STH (size {sth.TreeSize}) does not verify: {check.Message}"));
            if (sth.TreeSize > n)
                issues.Add(new LedgerIssue(LedgerProblem.SthRootMismatch, null, $"the latest STH claims {sth.TreeSize} entries but the log holds {n}: entries were lost."));
            else if (!fresh.Root(sth.TreeSize).AsSpan().SequenceEqual(sth.Root))
                issues.Add(new LedgerIssue(LedgerProblem.SthRootMismatch, null, $"the latest STH root {Convert.ToHexStringLower(sth.Root)} at size {sth.TreeSize} differs from the entries' root {Convert.ToHexStringLower(fresh.Root(sth.TreeSize))}."));
        }
        return new LedgerVerification(n, root, sth, issues);
    }

    private static void CheckEntry((long Idx, string Id, string Type, string Signer, byte[] Sig, byte[] Env, byte[] Leaf) row, NodeId? expectedSigner, LedgerIssue?[] found, int slot)
    {
        if (!MerkleHasher.HashLeaf(row.Env).AsSpan().SequenceEqual(row.Leaf))
            found[slot] = new LedgerIssue(LedgerProblem.LeafHashMismatch, row.Idx, $"entry {row.Idx}: stored leaf hash {Convert.ToHexStringLower(row.Leaf)} is not SHA-256(0x00 ‖ envelope) = {Convert.ToHexStringLower(MerkleHasher.HashLeaf(row.Env))}.");
        SignedEnvelope env;
        try { env = SignedEnvelope.Parse(Encoding.UTF8.GetString(row.Env)); }
        catch (FormatException e)
        {
            found[slot + 1] = new LedgerIssue(LedgerProblem.EntryMalformed, row.Idx, $"entry {row.Idx}: stored envelope is not a signed envelope: {e.Message}");
            return;
        }
        if (!env.ToCanonicalBytes().AsSpan().SequenceEqual(row.Env) || env.Id.ToString() != row.Id || env.Type != row.Type
            || env.Signer.ToString() != row.Signer || !env.SignatureBytes.Span.SequenceEqual(row.Sig))
            found[slot + 1] = new LedgerIssue(LedgerProblem.EntryMalformed, row.Idx, $"entry {row.Idx}: the stored envelope is not canonical or its id/type/signer/signature columns disagree with it.");
        var check = env.Verify();
        if (!check.IsValid)
            found[slot + 2] = new LedgerIssue(LedgerProblem.SignatureInvalid, row.Idx, $"entry {row.Idx}: {check.Message}");
        else if (expectedSigner is { } want && env.Signer != want)
            found[slot + 2] = new LedgerIssue(LedgerProblem.SignatureInvalid, row.Idx, $"entry {row.Idx}: signed by {env.Signer}, expected the node key {want}.");
    }

    // Called once at open, before the writer loop starts. SQLite already dropped any transaction a crash cut short;
    // here we make sure the Merkle nodes describe exactly the committed entries.
    private long Recover()
    {
        long n = Convert.ToInt64(Scalar(_writer, "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries"), System.Globalization.CultureInfo.InvariantCulture);
        long count = Convert.ToInt64(Scalar(_writer, "SELECT COUNT(*) FROM entries"), System.Globalization.CultureInfo.InvariantCulture);
        if (count != n)
            throw new InvalidDataException($"{Path}: the ledger holds {count} entries but its highest index is {n - 1}; entries are missing, so the log cannot be trusted. Restore it from a backup or a peer.");
        long nodes = Convert.ToInt64(Scalar(_writer, "SELECT COUNT(*) FROM merkle_nodes"), System.Globalization.CultureInfo.InvariantCulture);
        long expected = 2 * n - BitOperations.PopCount((ulong)n);
        bool ok = nodes == expected;
        if (ok)
        {
            try { _ = new MerkleTree(_writeStore, n); }
            catch (InvalidDataException) { ok = false; }
        }
        if (!ok) RebuildNodes(n);
        return n;
    }

    private void RebuildNodes(long n)
    {
        using var tx = _writer.BeginTransaction(deferred: false);
        using (var del = _writer.CreateCommand())
        {
            del.Transaction = tx;
            del.CommandText = "DELETE FROM merkle_nodes";
            del.ExecuteNonQuery();
        }
        _writeStore.Transaction = tx;
        var tree = new MerkleTree(_writeStore);
        using (var cmd = _writer.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT leaf_hash FROM entries ORDER BY idx";
            using var r = cmd.ExecuteReader();
            while (r.Read()) tree.AppendLeafHash((byte[])r[0]);
        }
        tx.Commit();
        _writeStore.Transaction = null;
        RepairedOnOpen = true;
    }

    private void CheckSize(long n)
    {
        long size = Size;
        if (n < 0 || n > size)
            throw new ArgumentOutOfRangeException(nameof(n), $"tree size {n} is outside the ledger, which holds {size} entries; give 0 <= size <= {size}.");
    }

    private static void CheckIndex(long index, long size)
    {
        if (index < 0 || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"entry index {index} is outside the tree of {size} entries; give 0 <= index < {size}.");
    }

    private static SqliteConnection OpenConnection(string path, LedgerOptions options)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        var c = new SqliteConnection(cs);
        c.Open();
        if (options.Synchronous is not ("FULL" or "NORMAL" or "EXTRA" or "OFF"))
            throw new ArgumentException($"Synchronous must be FULL, EXTRA, NORMAL or OFF; got '{options.Synchronous}'.", nameof(options));
#pragma warning disable CA2100 // the value was checked against a fixed list just above
        Exec(c, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={options.Synchronous}; PRAGMA busy_timeout=10000;");
#pragma warning restore CA2100
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // fixed SQL written in this file
        cmd.CommandText = sql;
#pragma warning restore CA2100
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // fixed SQL written in this file
        cmd.CommandText = sql;
#pragma warning restore CA2100
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    /// <summary>Stops accepting appends, waits for pending ones to commit, and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.Writer.TryComplete();
        await _writerLoop;
        _insertEntry.Dispose();
        _maxIndex.Dispose();
        _writeStore.Dispose();
        _writer.Dispose();
        _writerLock?.Dispose();
        lock (_readLock) _reader.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed class PendingAppend(int count)
    {
        public readonly SignedEnvelope[] Envelopes = new SignedEnvelope[count];
        public readonly byte[][] Bytes = new byte[count][];
        public readonly byte[][] LeafHashes = new byte[count][];
        public readonly TaskCompletionSource<LedgerReceipt[]> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
