using System.Numerics.Tensors;
using Federation.Registry;

namespace Federation.Memory.Search;

/// <summary>
/// Exact vector search in memory: unit vectors in one contiguous array, scored by dot product (= cosine) with
/// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>. Rows are keyed by the store's fragment id;
/// removed rows are skipped. Ties are broken by CID, so the same query on the same state gives the same list.
/// Thread-safe (a reader-writer lock).
/// </summary>
public sealed class VectorIndex(int dimensions) : IVectorIndex
{
    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();

    private readonly ReaderWriterLockSlim _lock = new();
    private float[] _data = new float[dimensions * 1024];
    private long[] _ids = new long[1024];
    private int[] _ns = new int[1024];
    private Cid[] _cids = new Cid[1024];
    private readonly Dictionary<long, int> _row = [];
    private int _count;

    /// <inheritdoc/>
    public int Dimensions { get; } = dimensions;

    /// <summary>The largest fragment id loaded (the store loads rows above it after other processes append).</summary>
    public long MaxId { get; private set; }

    /// <summary>Rows held.</summary>
    public int Count => _row.Count;

    /// <summary>Normalises <paramref name="v"/> in place to unit length (a zero vector stays zero).</summary>
    public static void Normalize(float[] v)
    {
        var n = TensorPrimitives.Norm(v);
        if (n > 0) TensorPrimitives.Divide(v, n, v);
    }

    /// <inheritdoc/>
    public void Add(long id, int nsId, Cid cid, ReadOnlySpan<float> unit)
    {
        if (unit.Length != Dimensions) throw new ArgumentException($"expected a vector of {Dimensions} floats, got {unit.Length}.");
        _lock.EnterWriteLock();
        try
        {
            if (_row.ContainsKey(id)) return;
            if (_count == _ids.Length)
            {
                int n = _ids.Length * 2;
                Array.Resize(ref _ids, n);
                Array.Resize(ref _ns, n);
                Array.Resize(ref _cids, n);
                Array.Resize(ref _data, n * Dimensions);
            }
            unit.CopyTo(_data.AsSpan(_count * Dimensions, Dimensions));
            _ids[_count] = id;
            _ns[_count] = nsId;
            _cids[_count] = cid;
            _row[id] = _count;
            _count++;
            if (id > MaxId) MaxId = id;
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <inheritdoc/>
    public void Remove(long id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_row.Remove(id, out var r)) _ns[r] = -1;
        }
        finally { _lock.ExitWriteLock(); }
    }

    /// <summary>The best <paramref name="n"/> rows in namespaces <paramref name="nsIds"/>: (id, cid, score), score descending, CID ascending.</summary>
    public List<(long Id, Cid Cid, float Score)> Search(ReadOnlySpan<float> unitQuery, IReadOnlySet<int> nsIds, int n)
    {
        var heap = new PriorityQueue<(long Id, Cid Cid, float Score), (float, Cid)>(n + 1, WorstFirst.Instance);
        _lock.EnterReadLock();
        try
        {
            for (int r = 0; r < _count; r++)
            {
                if (_ns[r] < 0 || !nsIds.Contains(_ns[r])) continue;
                float s = TensorPrimitives.Dot(_data.AsSpan(r * Dimensions, Dimensions), unitQuery);
                var key = (s, _cids[r]);
                if (heap.Count < n) heap.Enqueue((_ids[r], _cids[r], s), key);
                else if (WorstFirst.Instance.Compare(key, heap.UnorderedItems.Count > 0 ? PeekKey(heap) : key) > 0)
                    heap.EnqueueDequeue((_ids[r], _cids[r], s), key);
            }
        }
        finally { _lock.ExitReadLock(); }
        var list = new List<(long, Cid, float)>(heap.Count);
        while (heap.Count > 0) list.Add(heap.Dequeue());
        list.Reverse();
        return list;
    }

    private static (float, Cid) PeekKey(PriorityQueue<(long Id, Cid Cid, float Score), (float, Cid)> heap)
    {
        heap.TryPeek(out _, out var p);
        return p;
    }

    /// <summary>Orders (score, cid) so that the worst (lowest score, then highest CID) comes first.</summary>
    private sealed class WorstFirst : IComparer<(float Score, Cid Cid)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((float Score, Cid Cid) a, (float Score, Cid Cid) b)
        {
            int c = a.Score.CompareTo(b.Score);
            return c != 0 ? c : b.Cid.CompareTo(a.Cid);
        }
    }
}
