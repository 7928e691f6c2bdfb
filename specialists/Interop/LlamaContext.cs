namespace Federation.Specialists.Interop;

/// <summary>Settings for one llama.cpp context.</summary>
internal sealed record LlamaContextSettings
{
    /// <summary>KV cells per sequence.</summary>
    public int ContextPerSequence { get; init; } = 512;
    /// <summary>Sequences that can live in the context at once.</summary>
    public int Sequences { get; init; } = 1;
    /// <summary>Most tokens one <c>llama_decode</c> call may carry.</summary>
    public int BatchSize { get; init; } = 512;
    public int Threads { get; init; } = 1;
    public int BatchThreads { get; init; } = 1;
    /// <summary>An embeddings context: MEAN pooling, unified KV (needed for several sequences per batch).</summary>
    public bool Embeddings { get; init; }
}

/// <summary>
/// One llama.cpp context on a model: KV cache, active adapter set, decode. Not thread-safe: one thread drives it at a time.
/// The context holds a reference to its model and to the adapters currently set on it.
/// </summary>
internal sealed unsafe class LlamaContext : IDisposable
{
    private SafeLlamaAdapterHandle[] _active = [];

    private LlamaContext(SafeLlamaContextHandle handle, LlamaModel model)
    {
        Handle = handle;
        Model = model;
        ContextSize = (int)NativeMethods.llama_n_ctx(handle);
        ContextPerSequence = (int)NativeMethods.llama_n_ctx_seq(handle);
        BatchSize = (int)NativeMethods.llama_n_batch(handle);
        Sequences = (int)NativeMethods.llama_n_seq_max(handle);
    }

    public SafeLlamaContextHandle Handle { get; }
    public LlamaModel Model { get; }
    public int ContextSize { get; }
    public int ContextPerSequence { get; }
    public int BatchSize { get; }
    public int Sequences { get; }

    public static LlamaContext Create(LlamaModel model, LlamaContextSettings s)
    {
        var p = NativeMethods.llama_context_default_params();
        p.n_seq_max = (uint)s.Sequences;
        p.n_ctx = (uint)(s.ContextPerSequence * s.Sequences);
        p.n_batch = (uint)s.BatchSize;
        p.n_ubatch = (uint)s.BatchSize;
        p.n_threads = s.Threads;
        p.n_threads_batch = s.BatchThreads;
        // A fixed attention path (no "auto" choice that could differ between machines) keeps outputs reproducible.
        p.flash_attn_type = 0;
        p.no_perf = 1;
        if (s.Embeddings)
        {
            p.embeddings = 1;
            p.pooling_type = 1; // MEAN
            p.kv_unified = 1;   // several sequences in one batch pool correctly only with a unified KV cache
        }
        var h = NativeMethods.llama_init_from_model(model.Handle, p);
        if (h == 0)
            throw new LlamaException($"llama.cpp could not create a context (n_ctx={p.n_ctx}, n_seq_max={p.n_seq_max}, n_batch={p.n_batch}); " +
                "lower the context size or sequence count; see the native log.");
        return new LlamaContext(new SafeLlamaContextHandle(h, model.Handle), model);
    }

    /// <summary>Sets the active adapters (empty = base only) and clears the KV cache when the set changes.</summary>
    public void SetAdapters(IReadOnlyList<LlamaAdapter> adapters, IReadOnlyList<float> scales)
    {
        var handles = new nint[adapters.Count];
        var sc = new float[adapters.Count];
        var refs = new SafeLlamaAdapterHandle[adapters.Count];
        var added = new bool[adapters.Count];
        try
        {
            for (var i = 0; i < adapters.Count; i++)
            {
                refs[i] = adapters[i].Handle;
                refs[i].DangerousAddRef(ref added[i]);
                handles[i] = refs[i].DangerousGetHandle();
                sc[i] = scales[i];
            }
            int rc;
            fixed (nint* a = handles)
            fixed (float* f = sc)
                rc = NativeMethods.llama_set_adapters_lora(Handle, a, (nuint)handles.Length, f);
            if (rc != 0) throw new LlamaException($"llama_set_adapters_lora failed with {rc}.");
        }
        catch
        {
            for (var i = 0; i < refs.Length; i++) if (added[i]) refs[i].DangerousRelease();
            throw;
        }
        // The context now references the new adapters only: give back the references on the old ones.
        foreach (var old in _active) old.DangerousRelease();
        _active = refs;
        ClearMemory();
    }

    public void ClearMemory() => NativeMethods.llama_memory_clear(NativeMethods.llama_get_memory(Handle), true);

    public void RemoveSequence(int seq) => NativeMethods.llama_memory_seq_rm(NativeMethods.llama_get_memory(Handle), seq, -1, -1);

    public void SetThreads(int threads, int batchThreads) => NativeMethods.llama_set_n_threads(Handle, threads, batchThreads);

    /// <summary>Runs the batch; throws on any non-zero status (1 = no KV slot, 2 = aborted, &lt;0 = error).</summary>
    public void Decode(LlamaBatch batch)
    {
        var rc = NativeMethods.llama_decode(Handle, batch.Native);
        if (rc != 0)
            throw new LlamaException(rc == 1
                ? "llama_decode found no KV slot: the prompt plus generated tokens exceed the context size; lower max_tokens or shorten the prompt."
                : $"llama_decode failed with status {rc}.");
    }

    /// <summary>Copies the logits of the batch output <paramref name="i"/> into <paramref name="dst"/>.</summary>
    public void CopyLogits(int i, Span<float> dst)
    {
        var p = NativeMethods.llama_get_logits_ith(Handle, i);
        if (p == null) throw new LlamaException($"no logits for batch output {i}.");
        new ReadOnlySpan<float>(p, Model.VocabSize).CopyTo(dst);
    }

    /// <summary>The pooled embedding of a sequence (embeddings contexts only).</summary>
    public float[] SequenceEmbedding(int seq)
    {
        var p = NativeMethods.llama_get_embeddings_seq(Handle, seq);
        if (p == null) throw new LlamaException($"no pooled embedding for sequence {seq}; the context is not an embeddings context.");
        return new ReadOnlySpan<float>(p, Model.EmbeddingSize).ToArray();
    }

    public void Dispose()
    {
        foreach (var a in _active) a.DangerousRelease();
        _active = [];
        Handle.Dispose();
    }
}

/// <summary>A native <c>llama_batch</c> with room for a fixed number of tokens, one sequence id per token.</summary>
internal sealed unsafe class LlamaBatch : IDisposable
{
    private LlamaBatchNative _b;

    public LlamaBatch(int capacity)
    {
        Capacity = capacity;
        _b = NativeMethods.llama_batch_init(capacity, 0, 1);
    }

    public int Capacity { get; }
    public int Count => _b.n_tokens;
    internal LlamaBatchNative Native => _b;

    public void Clear() => _b.n_tokens = 0;

    /// <summary>Adds a token; returns its index in the batch (the index for logits when <paramref name="output"/>).</summary>
    public int Add(int token, int pos, int seq, bool output)
    {
        var i = _b.n_tokens;
        if (i >= Capacity) throw new InvalidOperationException($"batch is full ({Capacity} tokens).");
        _b.token[i] = token;
        _b.pos[i] = pos;
        _b.n_seq_id[i] = 1;
        _b.seq_id[i][0] = seq;
        _b.logits[i] = output ? (sbyte)1 : (sbyte)0;
        _b.n_tokens = i + 1;
        return i;
    }

    public void Dispose()
    {
        if (_b.token == null) return;
        NativeMethods.llama_batch_free(_b);
        _b = default;
    }
}

/// <summary>A sampler chain: greedy, or top-k → top-p → temperature → seeded draw.</summary>
internal sealed class LlamaSampler : IDisposable
{
    private LlamaSampler(SafeLlamaSamplerHandle h) => Handle = h;

    public SafeLlamaSamplerHandle Handle { get; }

    public static LlamaSampler Create(float temperature, int topK, float topP, uint seed)
    {
        var p = NativeMethods.llama_sampler_chain_default_params();
        p.no_perf = 1;
        var h = new SafeLlamaSamplerHandle(NativeMethods.llama_sampler_chain_init(p));
        if (temperature <= 0)
        {
            NativeMethods.llama_sampler_chain_add(h, NativeMethods.llama_sampler_init_greedy());
        }
        else
        {
            if (topK > 0) NativeMethods.llama_sampler_chain_add(h, NativeMethods.llama_sampler_init_top_k(topK));
            if (topP is > 0 and < 1) NativeMethods.llama_sampler_chain_add(h, NativeMethods.llama_sampler_init_top_p(topP, 1));
            NativeMethods.llama_sampler_chain_add(h, NativeMethods.llama_sampler_init_temp(temperature));
            NativeMethods.llama_sampler_chain_add(h, NativeMethods.llama_sampler_init_dist(seed));
        }
        return new LlamaSampler(h);
    }

    /// <summary>Samples (and accepts) a token from batch output <paramref name="i"/> of the last decode.</summary>
    public int Sample(LlamaContext ctx, int i) => NativeMethods.llama_sampler_sample(Handle, ctx.Handle, i);

    public void Dispose() => Handle.Dispose();
}
