namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// Query words' term ids, document frequencies and decoded posting lists, keyed by the index generation
/// (<c>lex_gen</c>, which every index change raises in its own transaction), so an entry is used only for exactly the
/// state it was read from, also when another process wrote. Bounded by bytes (least recently used out first).
/// Thread-safe.
/// </summary>
internal sealed class LexicalCache(long maxBytes)
{
    internal sealed record Entry(long Gen, long Term, long Df, TermPostings? List)
    {
        public long Bytes => 128 + (List?.Bytes ?? 0);
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Word, Entry E)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Word, Entry E)> _lru = new();
    private long _bytes;

    public Entry? Get(string word, long gen)
    {
        if (maxBytes <= 0) return null;
        lock (_lock)
        {
            if (!_map.TryGetValue(word, out var node)) return null;
            if (node.Value.E.Gen != gen) { Drop(node); return null; }
            _lru.Remove(node);
            _lru.AddFirst(node);
            return node.Value.E;
        }
    }

    public void PutDf(string word, long gen, long term, long df) => Put(word, new Entry(gen, term, df, null));

    public void PutList(string word, long gen, long term, long df, TermPostings list)
    {
        if (list.Bytes > maxBytes / 4) return; // one list never takes more than a quarter
        Put(word, new Entry(gen, term, df, list));
    }

    private void Put(string word, Entry e)
    {
        if (maxBytes <= 0) return;
        lock (_lock)
        {
            if (_map.TryGetValue(word, out var old)) Drop(old);
            _map[word] = _lru.AddFirst((word, e));
            _bytes += e.Bytes;
            while (_bytes > maxBytes && _lru.Last is { } last) Drop(last);
        }
    }

    public void Clear()
    {
        lock (_lock) { _map.Clear(); _lru.Clear(); _bytes = 0; }
    }

    private void Drop(LinkedListNode<(string Word, Entry E)> node)
    {
        _lru.Remove(node);
        _map.Remove(node.Value.Word);
        _bytes -= node.Value.E.Bytes;
    }
}
