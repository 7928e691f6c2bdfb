using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Router;
using Federation.Specialists.Engine;

namespace Federation.Node.Answering;

/// <summary>Where a cached answer came from: the ledger entry of the answer that was generated (the first miss).</summary>
/// <param name="Index">That entry's ledger index.</param>
/// <param name="EntryId">That entry's envelope id (CID).</param>
public sealed record CacheHitInfo(long Index, string EntryId);

/// <summary>One cached generation: the engine's exact result and the ledger entry that first vouched for it.</summary>
public sealed record CachedAnswer(GenerationResult Result, TimeSpan GenerationTime, CacheHitInfo Original);

/// <summary>
/// The signed response cache (issue 15, "L1"): greedy single-specialist generations, keyed by everything that decides
/// the engine's output (<see cref="KeyFor"/>). A hit skips only the engine: the gate, reputation, memory check and a
/// fresh signed ledger entry (which names the original entry, <c>cache_hit_of</c>) run exactly as for a miss, so the
/// client gets what a miss would give. Bounded, least recently used first out; thread-safe.
/// </summary>
/// <remarks>
/// Why only greedy: sampling with a random seed must give a new answer each time, and a seeded sample is cheap to
/// replay anyway. Invalidation is by key: the base CID, adapter CID and policy CID are part of it, so a replaced adapter,
/// a champion switch or a new policy can never hit an entry made under the old ones (those age out of the LRU).
/// </remarks>
public sealed class ResponseCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, CachedAnswer Value)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, CachedAnswer Value)> _lru = new();
    private long _hits, _misses, _savedTicks;

    /// <param name="capacity">Most answers kept; 0 turns the cache off.</param>
    public ResponseCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
    }

    /// <summary>Most answers kept (0: off).</summary>
    public int Capacity { get; }

    /// <summary>True when the cache keeps anything.</summary>
    public bool Enabled => Capacity > 0;

    /// <summary>Answers held now.</summary>
    public int Count
    {
        get { lock (_lock) return _map.Count; }
    }

    /// <summary>Lookups that found an answer.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that found none (only cacheable requests are looked up).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Generation time the hits did not spend (the original generations' durations, summed).</summary>
    public TimeSpan Saved => TimeSpan.FromTicks(Interlocked.Read(ref _savedTicks));

    /// <summary>Looks <paramref name="key"/> up, counting a hit (and the time it saves) or a miss.</summary>
    public CachedAnswer? TryGet(string key)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                Interlocked.Increment(ref _hits);
                Interlocked.Add(ref _savedTicks, node.Value.Value.GenerationTime.Ticks);
                return node.Value.Value;
            }
        }
        Interlocked.Increment(ref _misses);
        return null;
    }

    /// <summary>Keeps <paramref name="value"/> under <paramref name="key"/> (an existing entry is kept: it is the original).</summary>
    public void Add(string key, CachedAnswer value)
    {
        if (!Enabled) return;
        lock (_lock)
        {
            if (_map.ContainsKey(key)) return;
            _map[key] = _lru.AddFirst((key, value));
            while (_map.Count > Capacity)
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
    }

    /// <summary>Forgets every answer (the counters stay).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _map.Clear();
            _lru.Clear();
        }
    }

    /// <summary>
    /// The key of <paramref name="g"/> run by base <paramref name="baseCid"/> with adapter <paramref name="adapterCid"/>
    /// under policy <paramref name="policyCid"/>: SHA-256 over a length-prefixed encoding of those CIDs and of every
    /// field of <see cref="GenerationRequest"/> (prompt or messages, adapter set with scales, max_tokens, stop, temperature,
    /// top_p, top_k, seed, grammar, top_logprobs), so two keys are equal only when the engine gets the same input. Null
    /// when the request is not cacheable (not greedy). A test keeps this list equal to the record's properties.
    /// </summary>
    public static string? KeyFor(string baseCid, string adapterCid, string policyCid, GenerationRequest g)
    {
        if (g.Temperature != 0f) return null; // sampling: every call may differ
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Str(h, "federation.response-cache.v1");
        Str(h, baseCid);
        Str(h, adapterCid);
        Str(h, policyCid);
        if (g.Messages is { } ms)
        {
            Int(h, 1);
            Int(h, ms.Count);
            foreach (var m in ms)
            {
                Str(h, m.Role);
                Str(h, m.Content);
            }
        }
        else
        {
            Int(h, 2);
            Str(h, g.Prompt);
        }
        Int(h, g.Adapters.Count);
        foreach (var a in g.Adapters.OrderBy(a => a.AdapterId, StringComparer.Ordinal))
        {
            Str(h, a.AdapterId);
            Int(h, BitConverter.SingleToInt32Bits(a.Scale));
        }
        Int(h, g.MaxTokens);
        Int(h, g.Stop.Count);
        foreach (var s in g.Stop) Str(h, s);
        Int(h, BitConverter.SingleToInt32Bits(g.Temperature));
        Int(h, BitConverter.SingleToInt32Bits(g.TopP));
        Int(h, g.TopK);
        Long(h, g.Seed is { } seed ? seed : -1L);
        Str(h, g.Grammar);
        Int(h, g.TopLogprobs ?? -1);
        return Convert.ToHexStringLower(h.GetHashAndReset());

        static void Str(IncrementalHash h, string? s)
        {
            if (s is null)
            {
                Int(h, -1);
                return;
            }
            var bytes = Encoding.UTF8.GetBytes(s);
            Int(h, bytes.Length);
            h.AppendData(bytes);
        }

        static void Int(IncrementalHash h, int v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, v);
            h.AppendData(b);
        }

        static void Long(IncrementalHash h, long v)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            h.AppendData(b);
        }
    }

    /// <summary>The names of the <see cref="GenerationRequest"/> properties <see cref="KeyFor"/> covers.</summary>
    public static readonly IReadOnlyList<string> KeyedRequestFields =
        ["Prompt", "Messages", "Adapters", "MaxTokens", "Stop", "Temperature", "TopP", "TopK", "Seed", "Grammar", "TopLogprobs"];
}

/// <summary>What the answer path asks of the cache: whether a request may use it, and under which key.</summary>
internal static class ResponseCaching
{
    /// <summary>
    /// The cache key of answering <paramref name="req"/> as routed by <paramref name="d"/>, or null when it must not be
    /// cached: the cache is off (node or request), a panel answers (its gate weighs several drafts), the answer is a tool
    /// call (the call id and arguments are the client's business), or decoding samples.
    /// </summary>
    public static string? KeyFor(ResponseCache cache, NodeRuntime rt, CompletionRequestIn req, RouteDecision d)
    {
        if (!cache.Enabled || !req.UseCache || d.Specialists.Count != 1) return null;
        if (req.Structured is { Kind: "tools" }) return null;
        if (!rt.Specialists.TryGetValue(d.Specialists[0], out var binding)) return null;
        // the adapters actually served: a DIIP champion switch or the caller's personal adapter changes the key
        var adapterCid = rt.DiipLive.Champions.For(d.Specialists[0])?.AdapterCid ?? binding.AdapterCid;
        return ResponseCache.KeyFor(binding.BaseCid, adapterCid, rt.Policy.Cid, AnswerService.ToGeneration(rt, req, d, d.Specialists[0]));
    }

    /// <summary>Keeps a released, unreviewed answer whose text is the engine's own (what a later hit will replay).</summary>
    public static void Keep(ResponseCache cache, string key, GenerationResult result, TimeSpan took, AnswerOutcome outcome)
    {
        if (outcome is not { Status: AnswerStatus.Released, Answer: { } a } || a.Federation.Review is not null) return;
        if (result.FinishReason == FinishReason.Cancelled || !string.Equals(a.Text, result.Text, StringComparison.Ordinal)) return;
        cache.Add(key, new CachedAnswer(result, took, new CacheHitInfo(a.Federation.Ledger.Index, a.Federation.Ledger.EntryId)));
    }
}
