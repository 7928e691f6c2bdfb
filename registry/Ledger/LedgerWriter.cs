using System.Threading.Channels;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// The ledger's only writer: seals and appends entries, and signs tree heads, through one loop that owns the write
/// connection and the in-memory Merkle border.
/// </summary>
/// <remarks>
/// The loop drains every pending append into one transaction (group commit); an append completes only after that
/// transaction commits, so an acknowledged entry survives a crash. Entries and the Merkle nodes they complete are
/// written in the same transaction; a transaction cut short by a crash is absent on reopen. A tree-head request is
/// served by the loop after the appends queued before it have committed, from the in-memory border (no reads), and the
/// head is stored before the request completes; it then becomes <see cref="LatestSignedTreeHead"/>. Thread-safe.
/// </remarks>
public sealed class LedgerWriter : IAsyncDisposable
{
    private readonly NodeKey? _key;
    private readonly LedgerOptions _options;
    private readonly LedgerHead _head;
    private readonly SqliteConnection _connection;
    private readonly SqliteMerkleNodeStore _store;
    private readonly SqliteCommand _insertEntry;
    private readonly SqliteParameter[] _entryParams;
    private readonly SqliteCommand _maxIndex;
    private readonly SqliteCommand _insertSth;
    private readonly Channel<object> _queue;
    private readonly Task _loop;
    private MerkleTree _tree;
    private long _commits;
    private bool _disposed;

    internal LedgerWriter(string path, SqliteConnection connection, NodeKey? key, LedgerOptions options, LedgerHead head)
    {
        Path = path;
        _connection = connection;
        _key = key;
        _options = options;
        _head = head;
        _store = new SqliteMerkleNodeStore(connection);
        _insertEntry = connection.CreateCommand();
        _insertEntry.CommandText = "INSERT INTO entries(idx, id, type, signer, signature, envelope, leaf_hash) VALUES ($i, $id, $t, $s, $sig, $env, $lh)";
        _entryParams =
        [
            _insertEntry.Parameters.Add("$i", SqliteType.Integer), _insertEntry.Parameters.Add("$id", SqliteType.Text),
            _insertEntry.Parameters.Add("$t", SqliteType.Text), _insertEntry.Parameters.Add("$s", SqliteType.Text),
            _insertEntry.Parameters.Add("$sig", SqliteType.Blob), _insertEntry.Parameters.Add("$env", SqliteType.Blob),
            _insertEntry.Parameters.Add("$lh", SqliteType.Blob),
        ];
        _maxIndex = connection.CreateCommand();
        _maxIndex.CommandText = "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries";
        _insertSth = connection.CreateCommand();
        _insertSth.CommandText = "INSERT INTO sths(tree_size, root, timestamp, envelope) VALUES ($n, $r, $t, $e)";
        _tree = new MerkleTree(_store, head.Size);
        _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The number of committed (durable) entries.</summary>
    public long Size => _head.Size;

    /// <summary>The most recent tree head this ledger holds (signed by this writer, or found on open); null when none.</summary>
    /// <remarks>Costs nothing: serve it instead of signing a head per request.</remarks>
    public SignedTreeHead? LatestSignedTreeHead => _head.Latest;

    /// <summary>Append transactions committed so far (one fsync each with synchronous=FULL); fewer than the appends when
    /// concurrent appends shared a commit.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Seals <paramref name="payload"/> as an entry of <paramref name="type"/> and appends it; completes once durable.</summary>
    public async Task<LedgerReceipt> AppendAsync(string type, JsonValue payload, CancellationToken cancellationToken = default)
    {
        var pending = Prepare([(type, payload)]);
        await Enqueue(pending, cancellationToken).ConfigureAwait(false);
        return (await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>Seals and appends several entries (signed in parallel) in order; completes once all are durable.</summary>
    public async Task<IReadOnlyList<LedgerReceipt>> AppendBatchAsync(IReadOnlyList<(string Type, JsonValue Payload)> entries, CancellationToken cancellationToken = default)
    {
        if (entries.Count == 0) return [];
        var pending = Prepare(entries);
        await Enqueue(pending, cancellationToken).ConfigureAwait(false);
        return await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Signs and stores a tree head for the committed size and root, after every append queued before this call has
    /// committed; it becomes <see cref="LatestSignedTreeHead"/>.
    /// </summary>
    public async Task<SignedTreeHead> SignTreeHeadAsync(CancellationToken cancellationToken = default)
    {
        _ = _key ?? throw new InvalidOperationException($"{Path} was opened without the node key (read-only); open it with the key to sign tree heads.");
        var request = new PendingSth();
        await Enqueue(request, cancellationToken).ConfigureAwait(false);
        return await request.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask Enqueue(object op, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _queue.Writer.WriteAsync(op, ct).ConfigureAwait(false);
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

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingAppend>();
        var heads = new List<PendingSth>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            heads.Clear();
            int count = 0;
            while (count < _options.MaxBatch && reader.TryRead(out var op))
            {
                if (op is PendingAppend p)
                {
                    batch.Add(p);
                    count += p.Envelopes.Length;
                }
                else heads.Add((PendingSth)op);
            }
            if (batch.Count > 0) Commit(batch);
            // A head signed after the commit covers at least every append queued before it was asked for.
            if (heads.Count > 0) SignHead(heads);
        }
    }

    private void Commit(List<PendingAppend> batch)
    {
        long start = _tree.Size;
        SqliteTransaction? tx = null;
        try
        {
            tx = _connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: we are the only writer from here on
            _maxIndex.Transaction = tx;
            long onDisk = LedgerDatabase.Long(_maxIndex.ExecuteScalar());
            _store.Transaction = tx;
            if (onDisk != start)
            {
                // Another process appended since we last looked: continue from the committed state.
                _tree = new MerkleTree(_store, onDisk);
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
            Interlocked.Increment(ref _commits);
            _head.Publish(_tree.Size);
            for (int b = 0; b < batch.Count; b++) batch[b].Done.TrySetResult(receipts[b]);
        }
        catch (Exception e)
        {
            try { tx?.Rollback(); } catch (SqliteException) { /* the connection already rolled back */ }
            _store.Transaction = null;
            _maxIndex.Transaction = null;
            _tree = new MerkleTree(_store, LedgerDatabase.Long(_maxIndex.ExecuteScalar()));
            _head.Publish(_tree.Size);
            foreach (var p in batch) p.Done.TrySetException(new IOException($"{Path}: appending to the ledger failed and nothing of this batch was stored: {e.Message}", e));
        }
        finally
        {
            tx?.Dispose();
            _store.Transaction = null;
            _insertEntry.Transaction = null;
            _maxIndex.Transaction = null;
        }
    }

    private void SignHead(List<PendingSth> requests)
    {
        try
        {
            // _tree holds exactly the committed entries here (Commit resets it on failure), so its border gives the root.
            var sth = SignedTreeHead.Create(_tree.Size, _tree.Root(), _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), _key!);
            _insertSth.Parameters.Clear();
            _insertSth.Parameters.AddWithValue("$n", sth.TreeSize);
            _insertSth.Parameters.AddWithValue("$r", sth.Root);
            _insertSth.Parameters.AddWithValue("$t", sth.TimestampMs);
            _insertSth.Parameters.AddWithValue("$e", sth.Envelope.ToCanonicalBytes());
            _insertSth.ExecuteNonQuery();
            _head.Publish(sth);
            foreach (var r in requests) r.Done.TrySetResult(sth);
        }
        catch (Exception e)
        {
            foreach (var r in requests) r.Done.TrySetException(new IOException($"{Path}: storing a signed tree head failed: {e.Message}", e));
        }
    }

    /// <summary>Stops accepting appends and waits for the pending ones (and tree-head requests) to finish.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _insertEntry.Dispose();
        _maxIndex.Dispose();
        _insertSth.Dispose();
        _store.Dispose();
    }

    private sealed class PendingAppend(int count)
    {
        public readonly SignedEnvelope[] Envelopes = new SignedEnvelope[count];
        public readonly byte[][] Bytes = new byte[count][];
        public readonly byte[][] LeafHashes = new byte[count][];
        public readonly TaskCompletionSource<LedgerReceipt[]> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PendingSth
    {
        public readonly TaskCompletionSource<SignedTreeHead> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
