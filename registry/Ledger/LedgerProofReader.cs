using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Federation.Registry.Envelopes;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// Reads entries, roots and proofs of the committed ledger on its own connection (it sees only committed data).
/// A root or proof asks <see cref="ProofPlanner"/> which stored nodes it needs and fetches them in one query.
/// </summary>
/// <remarks>
/// Nodes never change once written, so those at level <see cref="CachedLevel"/> and above are kept in memory once read
/// (at most n / 2^5 nodes, about 3 MB per million entries): a proof then reads only the lowest levels from SQLite.
/// Thread-safe: the connection is used under a lock, the cache is concurrent.
/// </remarks>
public sealed class LedgerProofReader : IDisposable
{
    private const int CachedLevel = 6;
    // Prepared "id IN (...)" statements with this many slots (unused slots are -1, which matches no node): the smallest
    // that fits is used, so a proof is one execution of an already-compiled statement.
    private static readonly int[] SlotSizes = [8, 16, 32, 64, 128];

    private readonly LedgerHead _head;
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private readonly SqliteCommand?[] _selectNodes = new SqliteCommand?[SlotSizes.Length];
    private readonly ConcurrentDictionary<long, byte[]> _upperNodes = new();
    private long _queries;
    private bool _disposed;

    internal LedgerProofReader(string path, LedgerOptions options, LedgerHead head)
    {
        Path = path;
        _head = head;
        _connection = LedgerDatabase.Open(path, options);
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The number of committed entries (the largest tree size this reader serves).</summary>
    public long Size => _head.Size;

    /// <summary>How many node queries this reader has run (each root, proof or leaf hash that misses the cache runs one).</summary>
    public long NodeQueries => Interlocked.Read(ref _queries);

    /// <summary>Reads entry <paramref name="index"/>.</summary>
    public LedgerEntry GetEntry(long index)
    {
        LedgerDatabase.CheckIndex(index, Size);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var cmd = _connection.CreateCommand();
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
        LedgerDatabase.CheckSize(n, Size);
        return n == 0 ? MerkleHasher.EmptyRoot() : Fetch(ProofPlanner.Root(n))[0];
    }

    /// <summary>The inclusion proof of entry <paramref name="index"/> in the tree of <paramref name="treeSize"/> entries (default: all).</summary>
    public InclusionProof Prove(long index, long? treeSize = null)
    {
        long n = treeSize ?? Size;
        LedgerDatabase.CheckSize(n, Size);
        LedgerDatabase.CheckIndex(index, n);
        return new InclusionProof(index, n, Fetch(ProofPlanner.Inclusion(index, n)));
    }

    /// <summary>The consistency proof between the trees of <paramref name="size1"/> and <paramref name="size2"/> entries.</summary>
    public ConsistencyProof Consistency(long size1, long size2)
    {
        LedgerDatabase.CheckSize(size2, Size);
        if (size1 < 0 || size1 > size2)
            throw new ArgumentOutOfRangeException(nameof(size1), $"size1 {size1} must be in [0, {size2}]: a consistency proof goes from an older tree to a newer one.");
        return new ConsistencyProof(size1, size2, Fetch(ProofPlanner.Consistency(size1, size2)));
    }

    /// <summary>The leaf hash of entry <paramref name="index"/>.</summary>
    public byte[] LeafHash(long index)
    {
        LedgerDatabase.CheckIndex(index, Size);
        return Fetch(ProofPlan.Single(new MerkleNodeId(0, index)))[0];
    }

    /// <summary>The most recently stored tree head, read from the database (null when none was signed yet).</summary>
    /// <exception cref="FormatException">The stored head is malformed.</exception>
    public SignedTreeHead? LatestSth()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return LedgerDatabase.LatestSth(_connection);
        }
    }

    // The merkle_nodes key of a node: level << 56 | index (see SqliteMerkleNodeStore).
    private byte[][] Fetch(ProofPlan plan)
    {
        const int H = MerkleHasher.HashSize;
        var nodes = plan.NodeSpan;
        if (nodes.Length == 0) return [];
        var hashes = new byte[nodes.Length * H];
        Span<long> missing = nodes.Length <= 128 ? stackalloc long[nodes.Length] : new long[nodes.Length];
        Span<int> slot = nodes.Length <= 128 ? stackalloc int[nodes.Length] : new int[nodes.Length];
        Span<bool> have = nodes.Length <= 128 ? stackalloc bool[nodes.Length] : new bool[nodes.Length];
        int count = 0;
        for (int i = 0; i < nodes.Length; i++)
        {
            long key = SqliteMerkleNodeStore.Key(nodes[i].Level, nodes[i].Index);
            if (nodes[i].Level >= CachedLevel && _upperNodes.TryGetValue(key, out var cached)) {
                cached.CopyTo(hashes, i * H);
                have[i] = true;
            }
            else
            {
                missing[count] = key;
                slot[count++] = i;
            }
        }
        int found = 0;
        if (count > 0)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                for (int start = 0; start < count; start += SlotSizes[^1])
                {
                    int take = Math.Min(count - start, SlotSizes[^1]);
                    var cmd = SelectNodes(take);
                    for (int k = 0; k < cmd.Parameters.Count; k++) cmd.Parameters[k].Value = k < take ? missing[start + k] : -1L;
                    Interlocked.Increment(ref _queries);
                    using var r = cmd.ExecuteReader();
                    while (r.Read())
                    {
                        long id = r.GetInt64(0);
                        if (r.GetValue(1) is not byte[] h || h.Length != H) continue; // reported as missing below
                        int at = missing.Slice(start, take).IndexOf(id);
                        if (at < 0 || have[slot[start + at]]) continue;
                        h.CopyTo(hashes, slot[start + at] * H);
                        have[slot[start + at]] = true;
                        found++;
                        if ((id >> 56) >= CachedLevel) _upperNodes.TryAdd(id, h);
                    }
                }
            }
        }
        if (found != count)
            throw new InvalidDataException($"{Path}: merkle node {nodes[have.IndexOf(false)]} is missing from the ledger; reopen the ledger to rebuild its Merkle nodes from the entries.");
        return plan.Fold(hashes);
    }

    private SqliteCommand SelectNodes(int needed)
    {
        int b = 0;
        while (SlotSizes[b] < needed) b++;
        if (_selectNodes[b] is { } ready) return ready;
        int slots = SlotSizes[b];
        var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT id, hash FROM merkle_nodes WHERE id IN ("
            + string.Join(',', Enumerable.Range(0, slots).Select(k => "$p" + k.ToString(CultureInfo.InvariantCulture))) + ")";
        for (int k = 0; k < slots; k++) cmd.Parameters.Add("$p" + k.ToString(CultureInfo.InvariantCulture), SqliteType.Integer);
        cmd.Prepare();
        return _selectNodes[b] = cmd;
    }

    /// <summary>Closes the reader's connection.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var c in _selectNodes) c?.Dispose();
            _connection.Dispose();
        }
    }
}
