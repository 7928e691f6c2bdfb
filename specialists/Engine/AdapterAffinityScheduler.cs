namespace Federation.Specialists.Engine;

/// <summary>
/// Queue of waiting requests shared by the context workers. A worker takes a <em>group</em>: requests with one
/// adapter set, at most <c>maxGroup</c> of them, in arrival order. Choice of the set, in order:
/// (1) the set of the oldest request that has been passed over <c>maxBypass</c> times (no starvation);
/// (2) the set already active on the asking worker (no swap);
/// (3) the set of the oldest request whose set is not active on another busy worker (different sets on different contexts);
/// (4) the set of the oldest request.
/// With <c>preferJoin</c>, a set chosen by (2)–(4) that is already running on another worker with free sequence slots
/// is handed to that worker instead (it joins the running group at its next step; <see cref="TryJoin"/>): one context
/// with every core on one wide decode rather than two narrow contexts on one core each (docs/engine.md).
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
    private volatile bool _preferJoin;
    // free sequence slots of each busy worker (as of its last take or join) and the requests handed to it to join
    private readonly Dictionary<int, int> _room = new();
    private readonly Dictionary<int, List<Waiting>> _handoff = new();
    private bool _closed;

    /// <summary>Creates a scheduler.</summary>
    public AdapterAffinityScheduler(int maxGroup, int maxBypass, bool preferJoin = false)
    {
        _maxGroup = Math.Max(1, maxGroup);
        _maxBypass = Math.Max(0, maxBypass);
        _preferJoin = preferJoin;
    }

    /// <summary>Whether an idle worker hands a set running on a busy worker with room to that worker (changeable at any time).</summary>
    public bool PreferJoin
    {
        get => _preferJoin;
        set => _preferJoin = value;
    }

    /// <summary>Requests handed to a busy worker's running group so far (<c>preferJoin</c>).</summary>
    public long HandedOff { get; private set; }

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
        var fromQueue = 0;
        lock (_gate)
        {
            _room[worker] = Math.Max(0, max);
            if (_closed || max <= 0) return items;
            if (_queue.Any(w => w.Key != key && w.Bypassed >= _maxBypass)) return items;
            // requests handed over by an idle worker first: they are older than anything still queued for this set,
            // and their wake-up signals were consumed when they were handed over
            if (_handoff.TryGetValue(worker, out var handed))
            {
                var n = 0;
                while (n < handed.Count && items.Count < max && handed[n].Key == key) items.Add(handed[n++].Item);
                handed.RemoveRange(0, n);
            }
            fromQueue = items.Count;
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
            _room[worker] = max - items.Count;
        }
        for (var i = fromQueue; i < items.Count; i++) _signal.Wait(0, CancellationToken.None);
        return items;
    }

    /// <summary>Marks <paramref name="worker"/> idle again; requests handed to it and not joined go back to the front of the queue.</summary>
    public void Done(int worker)
    {
        var back = 0;
        lock (_gate)
        {
            _busyKeys.Remove(worker);
            _room.Remove(worker);
            if (_handoff.Remove(worker, out var handed))
            {
                for (var i = handed.Count - 1; i >= 0; i--) _queue.AddFirst(handed[i]);
                back = handed.Count;
            }
        }
        if (back > 0) _signal.Release(back);
    }

    /// <summary>
    /// The next group for <paramref name="worker"/>, which has consumed one wake-up signal; null when there is none
    /// (the queue was emptied by a join, or its requests were handed to a busy worker with room).
    /// </summary>
    private (string Key, List<T> Items)? PickGroup(int worker, string? currentKey)
    {
        if (_queue.Count == 0) return null;
        string? key = null;
        foreach (var w in _queue)
            if (w.Bypassed >= _maxBypass) { key = w.Key; break; }
        if (key is null && _preferJoin && HandOff(worker)) return null;
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
        _room[worker] = _maxGroup - items.Count;
        GroupsScheduled++;
        return (key, items);
    }

    /// <summary>
    /// <c>preferJoin</c>: moves the waiting requests whose set runs on another worker with free slots to that worker's
    /// hand-off list (as many as it has room for, in arrival order). True when something moved (the caller then waits
    /// again, and takes any other waiting request at once); the signals of the moved requests are consumed here (the first by the caller).
    /// </summary>
    private bool HandOff(int worker)
    {
        var moved = 0;
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            foreach (var (w, busyKey) in _busyKeys)
            {
                if (w == worker || busyKey != node.Value.Key || _room.GetValueOrDefault(w) <= 0) continue;
                if (!_handoff.TryGetValue(w, out var list)) _handoff[w] = list = [];
                list.Add(node.Value);
                _queue.Remove(node);
                _room[w]--;
                moved++;
                break;
            }
            node = next;
        }
        if (moved == 0) return false;
        HandedOff += moved;
        // the caller consumed one signal; the other moved requests' signals go too (each queued request has one)
        // (so every request left in the queue still has its signal, and the wait loop picks among them next)
        for (var i = 1; i < moved; i++) _signal.Wait(0, CancellationToken.None);
        return true;
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
