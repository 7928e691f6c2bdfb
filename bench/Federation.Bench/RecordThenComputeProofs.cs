using System.Collections.Concurrent;
using System.Globalization;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Bench;

/// <summary>
/// The ledger's proof reads before the proof planner, kept only as the bench baseline: run the proof algorithm once
/// against a store that records which nodes it asks for (answering zeros), fetch those with one 24-slot
/// <c>id IN (…)</c> statement (levels ≥ 6 cached in memory), then run the algorithm again over the fetched nodes.
/// </summary>
internal sealed class RecordThenComputeProofs : IDisposable
{
    private const int CachedLevel = 6;
    private const int Slots = 24;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _select;
    private readonly ConcurrentDictionary<long, byte[]> _upper = new();

    public RecordThenComputeProofs(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        _connection.Open();
        using (var pragma = _connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA cache_size=-32768; PRAGMA mmap_size=1073741824;";
            pragma.ExecuteNonQuery();
        }
        _select = _connection.CreateCommand();
        _select.CommandText = "SELECT id, hash FROM merkle_nodes WHERE id IN ("
            + string.Join(',', Enumerable.Range(0, Slots).Select(k => "$p" + k.ToString(CultureInfo.InvariantCulture))) + ")";
        for (int k = 0; k < Slots; k++) _select.Parameters.Add("$p" + k.ToString(CultureInfo.InvariantCulture), SqliteType.Integer);
        _select.Prepare();
    }

    public InclusionProof Prove(long index, long size)
    {
        var view = new RecordingStore();
        MerkleTree.ProveInclusion(view, index, size);
        view.Recording = false;
        var missing = new List<long>(view.Wanted.Count);
        foreach (var id in view.Wanted)
        {
            if (_upper.TryGetValue(id, out var h)) view.Nodes[id] = h;
            else missing.Add(id);
        }
        for (int start = 0; start < missing.Count; start += Slots)
        {
            for (int k = 0; k < Slots; k++) _select.Parameters[k].Value = start + k < missing.Count ? missing[start + k] : -1L;
            using var r = _select.ExecuteReader();
            while (r.Read())
            {
                long id = r.GetInt64(0);
                var h = (byte[])r[1];
                view.Nodes[id] = h;
                if ((id >> 56) >= CachedLevel) _upper.TryAdd(id, h);
            }
        }
        return MerkleTree.ProveInclusion(view, index, size);
    }

    public void Dispose()
    {
        _select.Dispose();
        _connection.Dispose();
    }

    private sealed class RecordingStore : IMerkleNodeStore
    {
        public readonly HashSet<long> Wanted = [];
        public readonly Dictionary<long, byte[]> Nodes = [];
        public bool Recording = true;

        public void ReadNode(int level, long index, Span<byte> destination)
        {
            long key = ((long)level << 56) | index;
            if (Recording) { Wanted.Add(key); destination.Clear(); return; }
            Nodes[key].CopyTo(destination);
        }

        public void WriteNode(int level, long index, ReadOnlySpan<byte> hash) => throw new InvalidOperationException("read-only");
    }
}
