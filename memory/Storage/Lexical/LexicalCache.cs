namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// Decoded posting lists of hot terms, keyed by (term id, generation): a term's generation goes up in the same
/// transaction as every change to its blocks, so an entry is used only for exactly the state it was read from (also
/// when another process wrote). Bounded by bytes (least recently used out first). Thread-safe.
/// </summary>
internal sealed class LexicalCache(long maxBytes)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, LinkedListNode<(long Term, long Gen, TermPostings List)>> _map = [];
    private readonly LinkedList<(long Term, long Gen, TermPostings List)> _lru = new();
    private long _bytes;

    public TermPostings? Get(long term, long gen)
    {
        if (maxBytes <= 0) return null;
        lock (_lock)
        {
            if (!_map.TryGetValue(term, out var node)) return null;
            if (node.Value.Gen != gen) { Drop(node); return null; }
            _lru.Remove(node);
            _lru.AddFirst(node);
            return node.Value.List;
        }
    }

    public void Put(long term, long gen, TermPostings list)
    {
        if (maxBytes <= 0 || list.Bytes > maxBytes / 4) return; // one list never takes more than a quarter
        lock (_lock)
        {
            if (_map.TryGetValue(term, out var old)) Drop(old);
            var node = _lru.AddFirst((term, gen, list));
            _map[term] = node;
            _bytes += list.Bytes;
            while (_bytes > maxBytes && _lru.Last is { } last) Drop(last);
        }
    }

    public void Clear()
    {
        lock (_lock) { _map.Clear(); _lru.Clear(); _bytes = 0; }
    }

    private void Drop(LinkedListNode<(long Term, long Gen, TermPostings List)> node)
    {
        _lru.Remove(node);
        _map.Remove(node.Value.Term);
        _bytes -= node.Value.List.Bytes;
    }
}
