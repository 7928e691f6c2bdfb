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
/// Nodes never change once written, so those at level <see cref="CachedLevel"/> and above are loaded into memory on first
/// use (n / 2^3 nodes, about 10 MB per million entries); the few below it that a proof needs are hashed from the leaves
/// of one 16-leaf block, read by a single rowid range scan. So a proof is one query over adjacent rows.
/// Thread-safe: the connection is used under a lock, the cache is concurrent.
/// </remarks>
public sealed class LedgerProofReader : IDisposable
{
    private const int CachedLevel = 4;
    // Low nodes spanning more leaves than this are read by id instead of by a leaf range.
    private const int MaxLeafRange = 64;
    // Prepared "leaf range UNION ALL id IN (...)" statements with this many id slots (unused slots are -1, which
    // matches no node): the smallest that fits is used, so a proof is one execution of an already-compiled statement.
    private static readonly int[] SlotSizes = [8, 16, 32, 64, 128];

    private readonly LedgerHead _head;
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private readonly SqliteCommand?[] _selectNodes = new SqliteCommand?[SlotSizes.Length];
    private readonly ConcurrentDictionary<long, byte[]> _upperNodes = new();
    private long _queries, _preloadQueries;
    private bool _preloaded;
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

    /// <summary>How many range scans loaded the upper levels into memory (once per level, on the first root or proof).</summary>
    public long PreloadQueries => Interlocked.Read(ref _preloadQueries);

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

    // The merkle_nodes key of a node: level << 56 | index (see SqliteMerkleNodeStore). Nodes at CachedLevel and above
    // come from memory (all committed ones are loaded once, by level, on first use); nodes below it are hashed from the
    // leaves of their 2^CachedLevel-leaf block, read with one rowid range scan (contiguous rows, one or two pages) rather
    // than a B-tree descent per node. An upper node not yet in memory (the ledger grew) is fetched in the same query.
    private byte[][] Fetch(ProofPlan plan)
    {
        const int H = MerkleHasher.HashSize;
        var nodes = plan.NodeSpan;
        if (nodes.Length == 0) return [];
        EnsurePreloaded();
        var hashes = new byte[nodes.Length * H];
        Span<long> missing = nodes.Length <= 128 ? stackalloc long[nodes.Length] : new long[nodes.Length];
        Span<int> slot = nodes.Length <= 128 ? stackalloc int[nodes.Length] : new int[nodes.Length];
        Span<bool> have = nodes.Length <= 128 ? stackalloc bool[nodes.Length] : new bool[nodes.Length];
        int count = 0;
        long lo = long.MaxValue, hi = long.MinValue;
        for (int i = 0; i < nodes.Length; i++)
        {
            var (level, index) = (nodes[i].Level, nodes[i].Index);
            if (level >= CachedLevel)
            {
                if (_upperNodes.TryGetValue(SqliteMerkleNodeStore.Key(level, index), out var cached))
                {
                    cached.CopyTo(hashes, i * H);
                    have[i] = true;
                }
                continue;
            }
            lo = Math.Min(lo, index << level);
            hi = Math.Max(hi, (index + 1) << level);
        }
        // Low nodes far apart (some consistency proofs) are read by id like upper ones instead of by a long range.
        bool range = hi > lo && hi - lo <= MaxLeafRange;
        for (int i = 0; i < nodes.Length; i++)
        {
            if (have[i] || (range && nodes[i].Level < CachedLevel)) continue;
            missing[count] = SqliteMerkleNodeStore.Key(nodes[i].Level, nodes[i].Index);
            slot[count++] = i;
        }
        Span<byte> leaves = range ? stackalloc byte[(int)(hi - lo) * H] : default;
        Span<bool> haveLeaf = range ? stackalloc bool[(int)(hi - lo)] : default;
        int found = 0;
        if (count > 0 || range)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                for (int start = 0; start == 0 || start < count; start += SlotSizes[^1])
                {
                    int take = Math.Min(count - start, SlotSizes[^1]);
                    bool withRange = range && start == 0;
                    var cmd = SelectNodes(take);
                    cmd.Parameters[0].Value = withRange ? lo : -1L;
                    cmd.Parameters[1].Value = withRange ? hi : -1L;
                    for (int k = 2; k < cmd.Parameters.Count; k++) cmd.Parameters[k].Value = k - 2 < take ? missing[start + k - 2] : -1L;
                    Interlocked.Increment(ref _queries);
                    using var r = cmd.ExecuteReader();
                    while (r.Read())
                    {
                        long id = r.GetInt64(0);
                        if (r.GetValue(1) is not byte[] h || h.Length != H) continue; // reported as missing below
                        if (withRange && id >= lo && id < hi && !haveLeaf[(int)(id - lo)])
                        {
                            h.CopyTo(leaves[((int)(id - lo) * H)..]);
                            haveLeaf[(int)(id - lo)] = true;
                            continue;
                        }
                        int at = take > 0 ? missing.Slice(start, take).IndexOf(id) : -1;
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
        {
            for (int k = 0; k < count; k++)
                if (!have[slot[k]]) throw MissingNode(nodes[slot[k]]);
        }
        if (range)
        {
            Span<byte> work = stackalloc byte[(1 << (CachedLevel - 1)) * H];
            for (int i = 0; i < nodes.Length; i++)
            {
                var (level, index) = (nodes[i].Level, nodes[i].Index);
                if (level >= CachedLevel) continue;
                int first = (int)((index << level) - lo), width = 1 << level;
                for (int k = 0; k < width; k++)
                    if (!haveLeaf[first + k]) throw MissingNode(new MerkleNodeId(0, lo + first + k));
                var dest = hashes.AsSpan(i * H, H);
                if (width == 1)
                {
                    leaves.Slice(first * H, H).CopyTo(dest);
                    continue;
                }
                // RFC 9162 MTH of a complete subtree, bottom-up in place: 2^level leaves, 2^level - 1 hashes
                leaves.Slice(first * H, width * H).CopyTo(work);
                for (; width > 1; width /= 2)
                    for (int k = 0; k < width / 2; k++)
                        MerkleHasher.HashChildren(work.Slice(2 * k * H, H), work.Slice((2 * k + 1) * H, H), work.Slice(k * H, H));
                work[..H].CopyTo(dest);
            }
        }
        return plan.Fold(hashes);
    }

    private InvalidDataException MissingNode(MerkleNodeId node) =>
        new($"{Path}: merkle node {node} is missing from the ledger; reopen the ledger to rebuild its Merkle nodes from the entries.");

    // Loads every committed node at CachedLevel and above, level by level (one rowid range scan each), once: about
    // n / 2^(CachedLevel-1) nodes, e.g. 125,000 (≈ 10 MB with the dictionary's overhead) for a million entries. Later
    // nodes (the ledger grew) are fetched with the proof that first needs them and kept.
    private void EnsurePreloaded()
    {
        if (Volatile.Read(ref _preloaded)) return;
        lock (_lock)
        {
            if (_preloaded) return;
            ObjectDisposedException.ThrowIf(_disposed, this);
            long size = Size;
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT id, hash FROM merkle_nodes WHERE id >= $a AND id < $b";
            var a = cmd.Parameters.Add("$a", SqliteType.Integer);
            var b = cmd.Parameters.Add("$b", SqliteType.Integer);
            for (int level = CachedLevel; level < 56 && (size >> level) > 0; level++)
            {
                a.Value = SqliteMerkleNodeStore.Key(level, 0);
                b.Value = SqliteMerkleNodeStore.Key(level, size >> level);
                Interlocked.Increment(ref _preloadQueries);
                using var r = cmd.ExecuteReader();
                while (r.Read())
                    if (r.GetValue(1) is byte[] { Length: MerkleHasher.HashSize } h) _upperNodes.TryAdd(r.GetInt64(0), h);
            }
            Volatile.Write(ref _preloaded, true);
        }
    }

    private SqliteCommand SelectNodes(int needed)
    {
        int b = 0;
        while (SlotSizes[b] < needed) b++;
        if (_selectNodes[b] is { } ready) return ready;
        int slots = SlotSizes[b];
        var cmd = _connection.CreateCommand();
        // one statement, two rowid lookups: a range of leaves (empty when $lo = $hi = -1) and a list of node ids
        cmd.CommandText = "SELECT id, hash FROM merkle_nodes WHERE id >= $lo AND id < $hi UNION ALL SELECT id, hash FROM merkle_nodes WHERE id IN ("
            + string.Join(',', Enumerable.Range(0, slots).Select(k => "$p" + k.ToString(CultureInfo.InvariantCulture))) + ")";
        cmd.Parameters.Add("$lo", SqliteType.Integer);
        cmd.Parameters.Add("$hi", SqliteType.Integer);
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
