using Federation.Specialists.Interop;
using LLama.Native;

namespace Federation.Specialists.Engine;

/// <summary>Settings for one llama.cpp context.</summary>
internal sealed record ContextSettings
{
    /// <summary>KV cells per sequence.</summary>
    public int ContextPerSequence { get; init; } = 512;
    /// <summary>Sequences that can live in the context at once.</summary>
    public int Sequences { get; init; } = 1;
    /// <summary>Most tokens one decode call may carry.</summary>
    public int BatchSize { get; init; } = 512;
    public int Threads { get; init; } = 1;
    public int BatchThreads { get; init; } = 1;
    /// <summary>An embeddings context: MEAN pooling, unified KV (needed for several sequences per batch).</summary>
    public bool Embeddings { get; init; }
}

/// <summary>
/// One LLamaSharp context (<see cref="SafeLLamaContextHandle"/>) on the base, with the adapter set the engine put on
/// it. Not thread-safe: one worker drives it. It holds a use on each adapter it has set, so the pool never frees an
/// adapter a context still computes with.
/// </summary>
internal sealed class EngineContext : IDisposable
{
    private PooledAdapter[] _active = [];

    private EngineContext(SafeLLamaContextHandle handle, BaseModel model)
    {
        Handle = handle;
        Model = model;
        Sequences = (int)handle.MaxSeq;
        BatchSize = (int)handle.BatchSize;
        ContextPerSequence = (int)LlamaImports.llama_n_ctx_seq(handle);
    }

    public SafeLLamaContextHandle Handle { get; }
    public BaseModel Model { get; }
    public int ContextPerSequence { get; }
    public int BatchSize { get; }
    public int Sequences { get; }

    public static EngineContext Create(BaseModel model, ContextSettings s)
    {
        var p = LLamaContextParams.Default();
        p.n_seq_max = (uint)s.Sequences;
        p.n_ctx = (uint)(s.ContextPerSequence * s.Sequences);
        p.n_batch = (uint)s.BatchSize;
        p.n_ubatch = (uint)s.BatchSize;
        p.n_threads = s.Threads;
        p.n_threads_batch = s.BatchThreads;
        // A fixed attention path (no "auto" choice that could differ between machines) keeps outputs reproducible.
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        p.no_perf = true;
        if (s.Embeddings)
        {
            p.embeddings = true;
            p.llama_pooling_type = LLamaPoolingType.Mean;
            p.kv_unified = true; // several sequences in one batch pool correctly only with a unified KV cache
        }
        try
        {
            return new EngineContext(SafeLLamaContextHandle.Create(model.Handle, p), model);
        }
        catch (LLama.Exceptions.RuntimeError e)
        {
            throw new LlamaException($"llama.cpp could not create a context (n_ctx={p.n_ctx}, n_seq_max={p.n_seq_max}, n_batch={p.n_batch}); " +
                $"lower the context size or sequence count. Native log: {LlamaLibrary.TakeRecentProblems()}", e);
        }
    }

    /// <summary>Sets the active adapters (empty = base only) and forgets every KV cell (they were computed with the old set).</summary>
    public void SetAdapters(IReadOnlyList<PooledAdapter> adapters, IReadOnlyList<float> scales)
    {
        var set = new (LoraAdapter, float)[adapters.Count];
        var taken = new List<PooledAdapter>(adapters.Count);
        try
        {
            for (var i = 0; i < adapters.Count; i++)
            {
                set[i] = (adapters[i].Take(), scales[i]);
                taken.Add(adapters[i]);
            }
            Handle.SetLoraAdapters(set);
        }
        catch
        {
            foreach (var a in taken) a.Return();
            throw;
        }
        // The context now computes with the new set only: give back the uses of the old one.
        foreach (var old in _active) old.Return();
        _active = [.. taken];
        // Forget the cells, keep their bytes: zeroing the buffer (data=true) was most of a swap's cost, 19 MB per
        // context for the small model at 4 x 512 cells. Stale cells are masked (exact zeros in attention), as after seq_rm.
        Handle.MemoryClear(false);
    }

    /// <summary>Forgets every cell and zeroes the KV buffer.</summary>
    public void ClearMemory() => Handle.MemoryClear(true);

    public void RemoveSequence(int seq) => Handle.MemorySequenceRemove((LLamaSeqId)seq, -1, -1);

    /// <summary>Drops the cells of <paramref name="seq"/> at positions &gt;= <paramref name="from"/> (0 = all).</summary>
    public void RemoveFrom(int seq, int from) => Handle.MemorySequenceRemove((LLamaSeqId)seq, from <= 0 ? -1 : from, -1);

    /// <summary>Runs the batch; throws on any non-zero status (1 = no KV slot, 2 = aborted, &lt;0 = error).</summary>
    public void Decode(NativeBatch batch)
    {
        var rc = LlamaImports.llama_decode(Handle, batch.Native);
        if (rc != 0)
            throw new LlamaException(rc == 1
                ? "llama_decode found no KV slot: the prompt plus generated tokens exceed the context size; lower max_tokens or shorten the prompt."
                : $"llama_decode failed with status {rc} ({(DecodeResult)rc}).");
    }

    /// <summary>Copies the logits of the batch output <paramref name="i"/> into <paramref name="dst"/>.</summary>
    public void CopyLogits(int i, Span<float> dst) => Handle.GetLogitsIth(i).CopyTo(dst);

    /// <summary>The pooled embedding of a sequence (embeddings contexts only).</summary>
    public float[] SequenceEmbedding(int seq) => Handle.GetEmbeddingsSeq((LLamaSeqId)seq).ToArray();

    public void Dispose()
    {
        Handle.Dispose();
        foreach (var a in _active) a.Return();
        _active = [];
    }
}

/// <summary>
/// A loaded LoRA adapter (LLamaSharp's <see cref="LoraAdapter"/>) with a use count: LLamaSharp frees an adapter at
/// once on <see cref="LoraAdapter.Unload"/>, so the pool marks it evicted and the native memory goes when the last
/// context that has it set lets go.
/// </summary>
internal sealed class PooledAdapter(LoraAdapter adapter)
{
    private readonly Lock _gate = new();
    private int _uses;
    private bool _released;

    public LoraAdapter Adapter { get; } = adapter;
    public string Path => Adapter.Path;

    /// <summary>Takes a use for a context. Throws when the adapter was already freed (a pool bug).</summary>
    public LoraAdapter Take()
    {
        lock (_gate)
        {
            if (_released && _uses == 0) throw new InvalidOperationException($"adapter '{Path}' was freed while still in use.");
            _uses++;
            return Adapter;
        }
    }

    public void Return()
    {
        lock (_gate)
        {
            _uses--;
            if (_uses == 0 && _released) Adapter.Unload();
        }
    }

    /// <summary>The pool lets go: frees now, or when the last context returns its use.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (_released) return;
            _released = true;
            if (_uses == 0) Adapter.Unload();
        }
    }
}
