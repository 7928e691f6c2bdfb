namespace Federation.Specialists.Engine;

/// <summary>
/// Queue of waiting requests shared by the context workers. A worker takes a <em>group</em>: requests with one
/// adapter set, at most <c>maxGroup</c> of them, in arrival order. Choice of the set, in order:
/// (1) the set of the oldest request that has been passed over <c>maxBypass</c> times (no starvation);
/// (2) the set already active on the asking worker (no swap);
/// (3) the set of the oldest request whose set is not active on another busy worker (different sets on different contexts);
/// (4) the set of the oldest request.
/// </summary>
/// <typeparam name="T">The queued item.</typeparam>
public sealed class AdapterAffinityScheduler<T> : IDisposable
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiting> _queue = new();
    private readonly Dictionary<int, string?> _busyKeys = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly int _maxGroup;
    private readonly int _maxBypass;
    private bool _closed;

    /// <summary>Creates a scheduler.</summary>
    public AdapterAffinityScheduler(int maxGroup, int maxBypass)
    {
        _maxGroup = Math.Max(1, maxGroup);
        _maxBypass = Math.Max(0, maxBypass);
    }

    /// <summary>Requests waiting now.</summary>
    public int Count
    {
        get { lock (_gate) return _queue.Count; }
    }

    /// <summary>Groups handed out so far.</summary>
    public long GroupsScheduled { get; private set; }

    /// <summary>Adds a request with its adapter-set key.</summary>
    public void Enqueue(T item, string key)
    {
        lock (_gate)
        {
            if (_closed) throw new ObjectDisposedException(nameof(AdapterAffinityScheduler<T>));
            _queue.AddLast(new Waiting(item, key));
        }
        _signal.Release();
    }

    /// <summary>Stops handing out work; waiting <see cref="TakeAsync"/> calls return null.</summary>
    public void Close()
    {
        lock (_gate) _closed = true;
        _signal.Release(1000);
    }

    /// <summary>Items left in the queue (after <see cref="Close"/>, to fail them).</summary>
    public IReadOnlyList<T> Drain()
    {
        lock (_gate)
        {
            var items = _queue.Select(w => w.Item).ToList();
            _queue.Clear();
            return items;
        }
    }

    /// <summary>
    /// Waits for work and returns the next group for <paramref name="worker"/>, whose context currently has the set
    /// <paramref name="currentKey"/> (null = none yet). Marks the worker busy with the group's key until
    /// <see cref="Done"/>. Returns null after <see cref="Close"/>.
    /// </summary>
    public async Task<(string Key, List<T> Items)?> TakeAsync(int worker, string? currentKey, CancellationToken ct = default)
    {
        while (true)
        {
            await _signal.WaitAsync(ct).ConfigureAwait(false);
            lock (_gate)
            {
                if (_closed) return null;
                var group = PickGroup(worker, currentKey);
                if (group is null) continue;
                // Each taken item consumed one signal; the first was consumed by the wait above.
                for (var i = 1; i < group.Value.Items.Count; i++) _signal.Wait(0, CancellationToken.None);
                return group;
            }
        }
    }

    /// <summary>Non-blocking variant of <see cref="TakeAsync"/> (used by tests and the bench).</summary>
    public (string Key, List<T> Items)? TryTake(int worker, string? currentKey)
    {
        if (!_signal.Wait(0)) return null;
        lock (_gate)
        {
            var group = PickGroup(worker, currentKey);
            if (group is null) return null;
            for (var i = 1; i < group.Value.Items.Count; i++) _signal.Wait(0);
            return group;
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> waiting requests with <paramref name="key"/> for a group already running on
    /// <paramref name="worker"/> (continuous batching). Returns none while a request of another set has been passed
    /// over <c>maxBypass</c> times, so a busy set cannot hold a context forever.
    /// </summary>
    public List<T> TryJoin(int worker, string key, int max)
    {
        var items = new List<T>();
        lock (_gate)
        {
            if (_closed || _queue.Count == 0 || max <= 0) return items;
            if (_queue.Any(w => w.Key != key && w.Bypassed >= _maxBypass)) return items;
            var skipped = new List<Waiting>();
            for (var node = _queue.First; node is not null && items.Count < max;)
            {
                var next = node.Next;
                if (node.Value.Key == key)
                {
                    items.Add(node.Value.Item);
                    _queue.Remove(node);
                    foreach (var w in skipped) w.Bypassed++;
                    skipped.Clear();
                }
                else
                {
                    skipped.Add(node.Value);
                }
                node = next;
            }
            _busyKeys[worker] = key;
        }
        for (var i = 0; i < items.Count; i++) _signal.Wait(0, CancellationToken.None);
        return items;
    }

    /// <summary>Marks <paramref name="worker"/> idle again.</summary>
    public void Done(int worker)
    {
        lock (_gate) _busyKeys.Remove(worker);
    }

    private (string Key, List<T> Items)? PickGroup(int worker, string? currentKey)
    {
        if (_queue.Count == 0) return null;
        string? key = null;
        foreach (var w in _queue)
            if (w.Bypassed >= _maxBypass) { key = w.Key; break; }
        if (key is null && currentKey is not null && _queue.Any(w => w.Key == currentKey)) key = currentKey;
        if (key is null)
        {
            var others = _busyKeys.Where(kv => kv.Key != worker).Select(kv => kv.Value).ToHashSet();
            key = _queue.FirstOrDefault(w => !others.Contains(w.Key))?.Key ?? _queue.First!.Value.Key;
        }
        var items = new List<T>();
        var node = _queue.First;
        var passedOver = new List<Waiting>();
        var skipped = new List<Waiting>();
        while (node is not null && items.Count < _maxGroup)
        {
            var next = node.Next;
            if (node.Value.Key == key)
            {
                items.Add(node.Value.Item);
                _queue.Remove(node);
                passedOver.AddRange(skipped);
                skipped.Clear();
            }
            else
            {
                skipped.Add(node.Value);
            }
            node = next;
        }
        // Requests that arrived before the last taken one and were left behind were passed over once.
        foreach (var w in passedOver) w.Bypassed++;
        _busyKeys[worker] = key;
        GroupsScheduled++;
        return (key, items);
    }

    /// <summary>Releases the wait handle.</summary>
    public void Dispose() => _signal.Dispose();

    private sealed class Waiting(T item, string key)
    {
        public T Item { get; } = item;
        public string Key { get; } = key;
        public int Bypassed { get; set; }
    }
}
