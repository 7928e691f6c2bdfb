using System.Diagnostics;
using Federation.Specialists.Gguf;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;

namespace Federation.Specialists.Engine;

/// <summary>
/// Registered LoRA adapters of one base, and the LRU set of those currently loaded. Registration validates the file
/// (it must load against the base); use loads lazily and evicts the least recently used beyond the capacity. The base
/// is never touched. Thread-safe.
/// </summary>
/// <remarks>
/// An evicted adapter's native memory is released once no context still has it set (contexts hold a reference), so
/// eviction is always safe; residency is counted by the pool, not by native memory.
/// </remarks>
public sealed class AdapterPool : IDisposable
{
    private readonly BaseModel _model;
    private readonly GgufFile _baseFile;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _registered = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new(); // most recently used first
    private long _serial;

    internal AdapterPool(BaseModel model, int capacity)
    {
        _model = model;
        _baseFile = GgufFile.Read(model.Path); // header and tensor table only: what the validator compares against
        Capacity = capacity;
    }

    /// <summary>Most adapters loaded at once.</summary>
    public int Capacity { get; }

    /// <summary>Adapters loaded since start (registration loads included).</summary>
    public long Loads { get; private set; }

    /// <summary>Adapters evicted since start.</summary>
    public long Evictions { get; private set; }

    /// <summary>All registered adapters, by id.</summary>
    public IReadOnlyList<AdapterInfo> Registered
    {
        get { lock (_gate) return _registered.Values.Select(e => e.Info).OrderBy(i => i.Id, StringComparer.Ordinal).ToList(); }
    }

    /// <summary>Ids of the loaded adapters, most recently used first.</summary>
    public IReadOnlyList<string> ResidentIds
    {
        get { lock (_gate) return _lru.Select(e => e.Info.Id).ToList(); }
    }

    /// <summary>
    /// Registers (or replaces) adapter <paramref name="id"/> from <paramref name="path"/> after validating it against
    /// the base twice: <see cref="AdapterValidator"/> (architecture, type, every tensor's shape against the base, one
    /// rank) and then llama.cpp's own loader. A file that fails either is rejected with <see cref="EngineException"/>
    /// listing the reasons, and nothing changes.
    /// </summary>
    public AdapterInfo Register(string id, string path)
    {
        if (string.IsNullOrWhiteSpace(id)) throw new EngineException("adapter id must be a non-empty string.");
        if (!File.Exists(path)) throw new EngineException($"adapter file '{path}' does not exist; give the path of a GGUF LoRA adapter.");
        var full = System.IO.Path.GetFullPath(path);
        var cid = FileCid.Compute(full);
        AdapterValidationResult validation;
        try
        {
            validation = AdapterValidator.Validate(_baseFile, GgufFile.Read(full));
        }
        catch (GgufFormatException e)
        {
            throw new EngineException($"adapter '{id}' rejected: '{full}' is not a readable GGUF file: {e.Message}", e);
        }
        if (!validation.IsValid)
        {
            var shown = validation.Issues.Take(3).Select(i => $"[{i.Code}] {i.Message}");
            var more = validation.Issues.Count > 3 ? $"; and {validation.Issues.Count - 3} more" : "";
            throw new EngineException($"adapter '{id}' rejected: '{full}' does not fit base '{_model.Path}': {string.Join("; ", shown)}{more}. " +
                "Use an adapter trained for this base.");
        }
        var sw = Stopwatch.StartNew();
        PooledAdapter loaded;
        try
        {
            loaded = new PooledAdapter(_model.LoadAdapter(full));
        }
        catch (LlamaException e)
        {
            throw new EngineException($"adapter '{id}' rejected: {e.Message}", e);
        }
        sw.Stop();
        var info = new AdapterInfo
        {
            Id = id, Path = full, Cid = cid, SizeBytes = new FileInfo(full).Length, LoadTime = sw.Elapsed,
            Rank = validation.Rank, Alpha = validation.Alpha, TargetTensors = validation.TargetTensors.Count,
        };
        lock (_gate)
        {
            if (_registered.Remove(id, out var old)) Unload(old);
            var e = new Entry(info, Interlocked.Increment(ref _serial)) { Adapter = loaded };
            e.Node = _lru.AddFirst(e);
            _registered[id] = e;
            Loads++;
            EvictOverCapacity();
        }
        return info;
    }

    /// <summary>Removes an adapter; requests already running keep it until they finish.</summary>
    public bool Unregister(string id)
    {
        lock (_gate)
        {
            if (!_registered.Remove(id, out var e)) return false;
            Unload(e);
            return true;
        }
    }

    /// <summary>The registration of <paramref name="id"/>, or null.</summary>
    public AdapterInfo? Find(string id)
    {
        lock (_gate) return _registered.TryGetValue(id, out var e) ? e.Info : null;
    }

    /// <summary>A key for an adapter set: identical for the same registrations and scales (order-insensitive).</summary>
    internal string KeyOf(IReadOnlyList<AdapterSelection> set)
    {
        if (set.Count == 0) return "";
        lock (_gate)
        {
            var parts = new List<string>(set.Count);
            foreach (var s in set)
            {
                if (!_registered.TryGetValue(s.AdapterId, out var e))
                    throw new EngineException($"adapter '{s.AdapterId}' is not registered; register it first (registered: {_registered.Count}).");
                if (!float.IsFinite(s.Scale))
                    throw new EngineException($"adapter '{s.AdapterId}' has a non-finite scale {s.Scale}.");
                parts.Add($"{e.Serial}@{BitConverter.SingleToInt32Bits(s.Scale):x8}");
            }
            parts.Sort(StringComparer.Ordinal);
            return string.Join(',', parts);
        }
    }

    /// <summary>Loads (if needed) and returns the adapters of a set, sorted by id so the native order is canonical.</summary>
    internal (List<PooledAdapter> Adapters, List<float> Scales) Acquire(IReadOnlyList<AdapterSelection> set)
    {
        var sorted = set.OrderBy(s => s.AdapterId, StringComparer.Ordinal).ToList();
        var adapters = new List<PooledAdapter>(sorted.Count);
        var scales = new List<float>(sorted.Count);
        foreach (var s in sorted)
        {
            Entry e;
            lock (_gate)
            {
                if (!_registered.TryGetValue(s.AdapterId, out e!))
                    throw new EngineException($"adapter '{s.AdapterId}' was unregistered while the request waited.");
                if (e.Adapter is not null)
                {
                    _lru.Remove(e.Node!);
                    _lru.AddFirst(e.Node!);
                    adapters.Add(e.Adapter);
                    scales.Add(s.Scale);
                    continue;
                }
            }
            // Load outside the lock (≈1 ms for tiny adapters, longer for real ones).
            PooledAdapter loaded;
            try
            {
                loaded = new PooledAdapter(_model.LoadAdapter(e.Info.Path));
            }
            catch (LlamaException ex)
            {
                throw new EngineException($"adapter '{s.AdapterId}' could not be loaded from '{e.Info.Path}' (changed on disk since registration?): {ex.Message}", ex);
            }
            lock (_gate)
            {
                if (e.Adapter is null && _registered.TryGetValue(s.AdapterId, out var current) && ReferenceEquals(current, e))
                {
                    e.Adapter = loaded;
                    e.Node = _lru.AddFirst(e);
                    Loads++;
                    EvictOverCapacity();
                    adapters.Add(loaded);
                }
                else
                {
                    loaded.Release();
                    adapters.Add(e.Adapter ?? throw new EngineException($"adapter '{s.AdapterId}' was unregistered while loading."));
                }
                scales.Add(s.Scale);
            }
        }
        return (adapters, scales);
    }

    private void EvictOverCapacity()
    {
        while (_lru.Count > Capacity)
        {
            var victim = _lru.Last!.Value;
            Unload(victim);
            Evictions++;
        }
    }

    private void Unload(Entry e)
    {
        if (e.Node is not null) _lru.Remove(e.Node);
        e.Node = null;
        e.Adapter?.Release();
        e.Adapter = null;
    }

    /// <summary>Releases every loaded adapter.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var e in _registered.Values) Unload(e);
            _registered.Clear();
        }
    }

    private sealed class Entry(AdapterInfo info, long serial)
    {
        public AdapterInfo Info { get; } = info;
        public long Serial { get; } = serial;
        public PooledAdapter? Adapter { get; set; }
        public LinkedListNode<Entry>? Node { get; set; }
    }
}
