using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Federation.Registry;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using LLama.Native;
using Microsoft.Extensions.Logging;

namespace Federation.Specialists.Engine;

/// <summary>
/// A frozen base model with hot-swapped LoRA adapters: registration, generation (whole or streamed), embeddings.
/// The base is loaded once and never modified; adapters load lazily into an LRU pool. Requests are queued to an
/// <see cref="AdapterAffinityScheduler{T}"/> and run on a pool of contexts, one worker thread per context. Greedy
/// requests are bit-reproducible: the same request gives the same bytes whatever ran before or beside it, including
/// the same-set requests whose generation steps share its decode calls (fixed padded shape, docs/engine.md).
/// </summary>
public sealed class SpecialistEngine : IDisposable
{
    private readonly BaseModel _model;
    private readonly EngineOptions _options;
    private readonly AdapterAffinityScheduler<GenerationJob> _scheduler;
    private readonly List<Thread> _workers = [];
    private readonly int _soloThreads;
    private int _busyContexts; // contexts holding at least one request now (threads follow this load)
    private readonly MachineLoad _machine;
    private readonly bool _ownsMachine, _measuresMachine;
    private readonly bool _canPreferJoin;
    private readonly Lock _embedGate = new();
    private EngineContext? _embedContext;
    private volatile bool _disposed;
    private Action<NativeLogLevel, string>? _logSink;

    private SpecialistEngine(EngineOptions options, BaseModel model, Cid baseCid)
    {
        _options = options;
        // auto (0) = Threads: measured on a quiet 2-core machine, a lone small-model request ran no faster on 2 threads
        // (its padded 2-row decode barely scales with threads; docs/benchmarks.md), so widening is opt-in
        _soloThreads = options.SoloThreads > 0 ? options.SoloThreads : options.Threads;
        _model = model;
        BaseCid = baseCid;
        Adapters = new AdapterPool(model, options.MaxResidentAdapters);
        Chat = new ChatTemplate(model.ChatTemplate);
        // Where a lone busy context gets every core, same-set requests join its wide decode rather than start a
        // second one-core context (docs/engine.md, "Threads that follow the load").
        // The machine's load is read (a 4 Hz timer on /proc) only where a lone context may widen.
        _measuresMachine = options.MachineLoad is not null || _soloThreads > options.Threads;
        _ownsMachine = options.MachineLoad is null && _measuresMachine;
        _machine = options.MachineLoad ?? (_ownsMachine ? new MachineLoad() : new MachineLoad(others: () => 0));
        _canPreferJoin = options.Contexts > 1 && _soloThreads > options.Threads;
        _scheduler = new AdapterAffinityScheduler<GenerationJob>(options.SequencesPerContext, options.MaxBypass,
            preferJoin: _canPreferJoin && MachineQuiet());
        for (var i = 0; i < options.Contexts; i++)
        {
            var ctx = EngineContext.Create(model, new ContextSettings
            {
                ContextPerSequence = options.ContextSize,
                // at least two streams: a lone sequence is decoded beside one padding row (docs/engine.md, "Determinism scheme")
                Sequences = Math.Max(2, options.SequencesPerContext),
                BatchSize = Math.Max(options.PromptChunk, Math.Max(2, options.SequencesPerContext)),
                Threads = options.Threads,
                BatchThreads = options.BatchThreads,
            });
            var worker = new ContextWorker(this, i, ctx);
            var t = new Thread(worker.Run) { IsBackground = true, Name = $"llama-context-{i}" };
            _workers.Add(t);
            t.Start();
        }
    }

    /// <summary>SHA-256 of the base model file.</summary>
    public Cid BaseCid { get; }

    /// <summary>Path of the base model.</summary>
    public string BaseModelPath => _model.Path;

    /// <summary>The adapter registry and LRU pool.</summary>
    public AdapterPool Adapters { get; }

    /// <summary>The chat formatter (model template or the plain one).</summary>
    public ChatTemplate Chat { get; }

    /// <summary>Size of the base's embedding vectors.</summary>
    public int EmbeddingSize => _model.EmbeddingSize;

    /// <summary>Number of tokens in the base's vocabulary.</summary>
    public int VocabSize => _model.VocabSize;

    /// <summary>Parameters of the base model.</summary>
    public ulong ParameterCount => _model.ParameterCount;

    /// <summary>Requests waiting for a context.</summary>
    public int QueueLength => _scheduler.Count;

    /// <summary>Most sequences one context has held at once (a group of same-set requests).</summary>
    public int PeakGroupSize => Volatile.Read(ref _peakGroup);
    private int _peakGroup;

    /// <summary>Generation decode calls that carried more than one live sequence.</summary>
    public long MultiSequenceDecodes => Interlocked.Read(ref _multiDecodes);
    private long _multiDecodes;

    /// <summary>Prompt tokens whose KV cells were reused from an earlier request of the same adapter set (not decoded again).</summary>
    public long PrefixTokensReused => Interlocked.Read(ref _prefixReused);
    private long _prefixReused;

    /// <summary>
    /// Whether other processes leave the cores to this one (their averaged load ≤ <see cref="EngineOptions.SoloThreadsMaxOtherLoad"/>):
    /// only then does a lone busy context take every core, and only then do idle contexts hand it their same-set requests.
    /// </summary>
    private bool MachineQuiet() => _machine.Others <= _options.SoloThreadsMaxOtherLoad;

    /// <summary>Other processes' CPU use over the last second, in cores, as the engine sees it (<see cref="MachineLoad"/>); null = not measured (<see cref="EngineOptions.SoloThreads"/> not above <see cref="EngineOptions.Threads"/>).</summary>
    internal double? MachineOthers => _measuresMachine ? _machine.Others : null;

    /// <summary>Whether a lone busy context now decodes with <see cref="EngineOptions.SoloThreads"/> (the machine is quiet enough).</summary>
    public bool SoloThreadsAllowed => _soloThreads > _options.Threads && MachineQuiet();

    /// <summary>Requests an idle context handed to a busy one running their set, to join its decode.</summary>
    public long RequestsHandedToBusyContext => _scheduler.HandedOff;

    /// <summary>Decode calls run on <see cref="EngineOptions.SoloThreads"/> (a lone busy context on a quiet machine).</summary>
    public long SoloThreadDecodes => Interlocked.Read(ref _soloDecodes);
    private long _soloDecodes;

    /// <summary>Adapter-set swaps performed on contexts so far.</summary>
    public long AdapterSwaps => Interlocked.Read(ref _swaps);
    private long _swaps;

    /// <summary>Loads the native library (if needed) and the base model, and starts the context workers.</summary>
    /// <exception cref="LlamaException">The native library cannot be loaded (the message lists what was tried and the fix).</exception>
    /// <exception cref="EngineException">The base model cannot be loaded.</exception>
    public static SpecialistEngine Open(EngineOptions options)
    {
        options.Validate();
        Action<NativeLogLevel, string>? sink = null;
        if (options.Logger is { } log)
        {
            // The native log is process-wide: the most recently opened engine with a logger receives it.
            LlamaLibrary.LogSink = sink = (level, line) => log.Log(level switch
            {
                NativeLogLevel.Error => LogLevel.Error,
                NativeLogLevel.Warning => LogLevel.Warning,
                NativeLogLevel.Information => LogLevel.Debug,
                _ => LogLevel.Trace,
            }, new EventId(3000, "llama.native"), "{NativeLine}", line);
        }
        LlamaLibrary.EnsureLoaded(options.NativeLibraryDirectory);
        if (!File.Exists(options.BaseModelPath))
            throw new EngineException($"base model '{options.BaseModelPath}' does not exist; give the path of a GGUF model.");
        var cid = FileCid.Compute(options.BaseModelPath);
        BaseModel model;
        try
        {
            model = BaseModel.Load(Path.GetFullPath(options.BaseModelPath), options.GpuLayers);
        }
        catch (LlamaException e)
        {
            throw new EngineException($"base model rejected: {e.Message}", e);
        }
        try
        {
            var engine = new SpecialistEngine(options, model, cid) { _logSink = sink };
            options.Logger?.LogInformation("Engine ready: base {Base} ({Params} params, cid {Cid}), {Contexts} contexts x {Seqs} sequences, {Threads} thread(s), llama.cpp {Version} from {Dir}",
                model.Path, model.ParameterCount, cid, options.Contexts, options.SequencesPerContext, options.Threads, LlamaLibrary.Version, LlamaLibrary.LoadedDirectory);
            return engine;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Registers an adapter after validating it against the base; see <see cref="AdapterPool.Register"/>.</summary>
    public AdapterInfo RegisterAdapter(string id, string path) => Adapters.Register(id, path);

    /// <summary>Tokenizes the prompt of a request as the engine will (chat template applied, BOS added).</summary>
    public int[] Tokenize(GenerationRequest request)
    {
        if (request.Messages is { Count: > 0 } msgs)
        {
            var text = Chat.Format(msgs);
            return _model.Tokenize(text, addSpecial: true, parseSpecial: Chat.UsesModelTemplate);
        }
        if (request.Prompt is null) throw new EngineException("a request needs a prompt or messages.");
        return _model.Tokenize(request.Prompt, addSpecial: true, parseSpecial: false);
    }

    /// <summary>Runs a request to completion. Cancellation ends it with <see cref="FinishReason.Cancelled"/>.</summary>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
        => Submit(request, null, cancellationToken).Completion.Task;

    /// <summary>Runs a request and yields text deltas (valid UTF-16, never a split character); the last delta has the result.</summary>
    public async IAsyncEnumerable<GenerationDelta> StreamAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<GenerationDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var job = Submit(request, d =>
        {
            channel.Writer.TryWrite(d);
            if (d.FinishReason is not null) channel.Writer.TryComplete();
        }, cancellationToken);
        _ = job.Completion.Task.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        // The stream is read to its end even after cancellation: the worker sends a final Cancelled delta.
        await foreach (var d in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            yield return d;
    }

    private GenerationJob Submit(GenerationRequest request, Action<GenerationDelta>? onDelta, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (request.MaxTokens < 1) throw new EngineException($"max_tokens must be >= 1 (was {request.MaxTokens}).");
        var key = Adapters.KeyOf(request.Adapters);
        var tokens = Tokenize(request);
        if (tokens.Length == 0) throw new EngineException("the prompt tokenized to nothing.");
        if (tokens.Length >= _options.ContextSize)
            throw new EngineException($"the prompt has {tokens.Length} tokens but the context holds {_options.ContextSize}; shorten it or raise EngineOptions.ContextSize.");
        var job = new GenerationJob(request, tokens, onDelta, ct);
        job.WatchCancellationWhileQueued();
        _scheduler.Enqueue(job, key);
        return job;
    }

    /// <summary>
    /// Mean-pooled embeddings of the base model (no adapter) for each input, in order. Deterministic: the same inputs
    /// give the same vectors.
    /// </summary>
    public Task<float[][]> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Task.Run(() => Embed(inputs, cancellationToken), cancellationToken);
    }

    private float[][] Embed(IReadOnlyList<string> inputs, CancellationToken ct)
    {
        var tokenized = inputs.Select(s => _model.Tokenize(s, true, false)).ToArray();
        var max = _options.ContextSize;
        foreach (var t in tokenized)
            if (t.Length == 0 || t.Length > max)
                throw new EngineException($"an embedding input has {t.Length} tokens; each must have 1..{max}.");
        var result = new float[inputs.Count][];
        lock (_embedGate)
        {
            var n = _options.EmbeddingSequences;
            _embedContext ??= EngineContext.Create(_model, new ContextSettings
            {
                ContextPerSequence = max,
                Sequences = n,
                BatchSize = max * n,
                Threads = _options.BatchThreads,
                BatchThreads = _options.BatchThreads,
                Embeddings = true,
            });
            // LLamaSharp's managed batch and Decode: its global lock only orders LLamaSharp's own decodes, which generation does not use.
            var batch = new LLamaBatch();
            for (var start = 0; start < inputs.Count; start += n)
            {
                ct.ThrowIfCancellationRequested();
                _embedContext.ClearMemory();
                batch.Clear();
                var count = Math.Min(n, inputs.Count - start);
                for (var s = 0; s < count; s++)
                {
                    var toks = tokenized[start + s];
                    for (var p = 0; p < toks.Length; p++) batch.Add(toks[p], p, (LLamaSeqId)s, true);
                }
                var rc = _embedContext.Handle.Decode(batch);
                if (rc != DecodeResult.Ok) throw new LlamaException($"llama_decode failed with status {(int)rc} ({rc}) while embedding.");
                for (var s = 0; s < count; s++) result[start + s] = _embedContext.SequenceEmbedding(s);
            }
        }
        return result;
    }

    /// <summary>Stops the workers, fails queued requests, and frees contexts, adapters and the base.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _scheduler.Close();
        foreach (var t in _workers) t.Join();
        foreach (var job in _scheduler.Drain()) job.Fail(new ObjectDisposedException(nameof(SpecialistEngine)));
        lock (_embedGate) _embedContext?.Dispose();
        Adapters.Dispose();
        _scheduler.Dispose();
        if (_logSink is not null && ReferenceEquals(LlamaLibrary.LogSink, _logSink)) LlamaLibrary.LogSink = null;
        if (_ownsMachine) _machine.Dispose();
        _model.Dispose();
    }

    /// <summary>
    /// Drives one context: takes a group, runs it, repeats. The group's live sequences share each generation decode in
    /// the fixed shape of docs/engine.md: one row per stream 0..max(top live stream, 1), in stream order, free streams
    /// carrying a padding token. So every weight product has at least two rows (llama.cpp's tinyBLAS path, whose
    /// per-element sums do not depend on the row count), each stream's attention sees one row, and the ubatch is never
    /// split: a sequence's logits are the same bits alone or beside any neighbours.
    /// </summary>
    private sealed class ContextWorker(SpecialistEngine engine, int index, EngineContext ctx)
    {
        private const int PadToken = 0;
        private string? _currentKey;
        private List<PooledAdapter> _currentAdapters = [];
        private List<float> _currentScales = [];
        private readonly GenerationJob?[] _slots = new GenerationJob?[engine._options.SequencesPerContext];
        private readonly int[] _padPos = new int[ctx.Sequences];
        // Prompt tokens whose KV cells stay at positions 0..n-1 of a free stream (prefix reuse); null = none.
        private readonly int[]?[] _kept = new int[]?[engine._options.SequencesPerContext];
        private (int Gen, int Batch) _threads = (engine._options.Threads, engine._options.BatchThreads);

        public void Run()
        {
            using var batch = new NativeBatch(ctx.BatchSize);
            try
            {
                while (true)
                {
                    var group = engine._scheduler.TakeAsync(index, _currentKey).GetAwaiter().GetResult();
                    if (group is null) break;
                    try
                    {
                        RunGroup(group.Value.Key, group.Value.Items, batch);
                    }
                    catch (Exception e)
                    {
                        engine._options.Logger?.LogError(e, "Context {Index} failed a group of {Count} request(s)", index, group.Value.Items.Count);
                        foreach (var j in _groupJobs) j.Fail(e is EngineException or LlamaException ? e : new EngineException($"generation failed: {e.Message}", e));
                        // The context's state is unknown after a failure: start from a clean adapter set next time.
                        _currentKey = null;
                    }
                    finally
                    {
                        for (var s = 0; s < _slots.Length; s++)
                            if (_slots[s] is not null) { _slots[s] = null; Occupy(-1); }
                        engine._scheduler.Done(index);
                    }
                }
            }
            finally
            {
                ctx.Dispose();
            }
        }

        private readonly List<GenerationJob> _groupJobs = [];

        private void RunGroup(string key, List<GenerationJob> jobs, NativeBatch batch)
        {
            _groupJobs.Clear();
            _groupJobs.AddRange(jobs);
            jobs = jobs.Where(j => j.TryStart()).ToList();
            if (jobs.Count == 0) return;
            // Adapters: load lazily, set on the context only when the set differs (setting clears the KV cache).
            var (adapters, scales) = engine.Adapters.Acquire(jobs[0].Request.Adapters);
            if (key != _currentKey || !SameAdapters(adapters, scales))
            {
                ctx.SetAdapters(adapters, scales);
                _currentAdapters = adapters;
                _currentScales = scales;
                _currentKey = key;
                Interlocked.Increment(ref engine._swaps);
                // setting adapters cleared the KV cache: nothing is kept, no stream holds padding
                Array.Clear(_padPos);
                Array.Clear(_kept);
            }

            var active = new List<GenerationJob>(_slots.Length);
            foreach (var job in jobs) StartJob(job, active, batch);

            while (active.Count > 0)
            {
                for (var i = active.Count - 1; i >= 0; i--)
                {
                    if (!active[i].Cancellation.IsCancellationRequested) continue;
                    active[i].Finish(FinishReason.Cancelled);
                    Release(active[i], active, i);
                }
                if (active.Count == 0) break;
                DecodeStep(batch, active.Count);
                foreach (var job in active) Step(job, job.OutputIndex);
                for (var i = active.Count - 1; i >= 0; i--)
                    if (active[i].Finished) Release(active[i], active, i);
                // Continuous batching: same-set requests that arrived meanwhile join the running group in the freed
                // sequence slots (unless someone waiting elsewhere has been passed over too often).
                var free = _slots.Count(j => j is null);
                if (free > 0)
                {
                    var joiners = engine._scheduler.TryJoin(index, key, free);
                    _groupJobs.AddRange(joiners);
                    foreach (var job in joiners)
                        if (job.TryStart()) StartJob(job, active, batch);
                }
            }
        }

        /// <summary>One generation step for every live sequence, in the fixed padded shape (see the class summary).</summary>
        private void DecodeStep(NativeBatch batch, int live)
        {
            var top = 1;
            for (var s = 0; s < _slots.Length; s++) if (_slots[s] is not null) top = Math.Max(top, s);
            batch.Clear();
            for (var s = 0; s <= top; s++)
            {
                if (s < _slots.Length && _slots[s] is { } job)
                {
                    job.OutputIndex = batch.Add(job.PendingToken, job.Position, s, output: true);
                    continue;
                }
                // A free stream carries a padding token after its kept prefix; a request taking the stream drops the padding.
                if (_padPos[s] >= ctx.ContextPerSequence - 1)
                {
                    // the stream is full (kept prefix + padding): start its padding over and give the prefix up
                    ctx.RemoveSequence(s);
                    _padPos[s] = 0;
                    if (s < _kept.Length) _kept[s] = null;
                }
                batch.Add(PadToken, _padPos[s]++, s, output: true);
            }
            FollowLoad();
            Decode(batch);
            if (live > 1) Interlocked.Increment(ref engine._multiDecodes);
        }

        private int _live; // requests on this context

        private void Occupy(int delta)
        {
            var was = _live;
            _live += delta;
            if (was == 0 && _live > 0) Interlocked.Increment(ref engine._busyContexts);
            else if (was > 0 && _live == 0) Interlocked.Decrement(ref engine._busyContexts);
        }

        /// <summary>
        /// Threads that follow the load: the engine's only busy context (nothing queued) gets
        /// <see cref="EngineOptions.SoloThreads"/> for all its requests, otherwise each context keeps
        /// <see cref="EngineOptions.Threads"/>. The count changes no logit (measured).
        /// </summary>
        private void FollowLoad()
        {
            var quiet = engine.MachineQuiet();
            if (engine._canPreferJoin && engine._scheduler.PreferJoin != quiet) engine._scheduler.PreferJoin = quiet;
            var solo = quiet && Volatile.Read(ref engine._busyContexts) <= 1 && engine._scheduler.Count == 0;
            _solo = solo && engine._soloThreads > 1;
            var want = solo ? (engine._soloThreads, engine._soloThreads) : (engine._options.Threads, engine._options.BatchThreads);
            if (want == _threads) return;
            ctx.Handle.GenerationThreads = want.Item1;
            ctx.Handle.BatchThreads = want.Item2;
            _threads = want;
        }

        private bool _solo; // this context decodes on SoloThreads (> 1) now

        /// <summary>
        /// A decode on this context: on the process's one wide-decode thread while the context runs on
        /// <see cref="EngineOptions.SoloThreads"/> (one OpenMP team for the process, see <see cref="WideDecoder"/>),
        /// else on this worker's thread.
        /// </summary>
        private void Decode(NativeBatch batch)
        {
            if (_solo && engine._options.SharedWideDecodeThread)
            {
                WideDecoder.Decode(ctx, batch);
                Interlocked.Increment(ref engine._soloDecodes);
            }
            else ctx.Decode(batch);
        }

        /// <summary>
        /// Decodes a job's prompt alone and samples its first token. Prefix reuse: the free stream whose kept prompt
        /// shares the longest prefix with this one is taken, and only the rest is decoded. Exact because a prompt
        /// token's cells do not depend on where chunks start as long as no chunk has a single token
        /// (<see cref="ChunkEnd"/>; a one-row chunk takes ggml's other kernel path), so at least two tokens are always
        /// decoded again (EngineDeterminismTests, GenerationTests: a reused-prefix answer equals the cold one bit for bit).
        /// </summary>
        private void StartJob(GenerationJob job, List<GenerationJob> active, NativeBatch batch)
        {
            if (job.Cancellation.IsCancellationRequested) { job.Finish(FinishReason.Cancelled); return; }
            var toks = job.PromptTokens;
            var (s, reuse) = PickSlot(toks);
            // keep the reused prefix, drop the rest of the stream (the earlier request's tail, padding)
            ctx.RemoveFrom(s, reuse);
            _padPos[s] = 0;
            _kept[s] = null;
            _slots[s] = job;
            Occupy(+1);
            if (reuse > 0) Interlocked.Add(ref engine._prefixReused, reuse);
            job.Sequence = s;
            job.Sampler = GenerationJob.CreateSampler(job.Request.Temperature, job.Request.TopK, job.Request.TopP, job.Seed ?? 0, ctx.Model, job.Request.Grammar);
            // Only this sequence is in these batches: the prompt's decode shapes depend on the request alone.
            var last = 0;
            for (var p = reuse; p < toks.Length;)
            {
                if (p > reuse && job.Cancellation.IsCancellationRequested)
                {
                    // Cancelled during a long prompt: stop between chunks and give the slot back.
                    job.Finish(FinishReason.Cancelled);
                    Free(s, keep: 0);
                    return;
                }
                batch.Clear();
                var end = ChunkEnd(p, toks.Length, engine._options.PromptChunk);
                for (var i = p; i < end; i++) last = batch.Add(toks[i], i, s, output: i == toks.Length - 1);
                FollowLoad();
                Decode(batch);
                p = end;
            }
            job.Position = toks.Length;
            var logits = job.Request.TopLogprobs is { } n ? LogprobReader.Read(ctx, last, n) : null;
            var token = (int)job.Sampler.Sample(ctx.Handle, last);
            active.Add(job);
            var peak = Volatile.Read(ref engine._peakGroup);
            while (active.Count > peak && Interlocked.CompareExchange(ref engine._peakGroup, active.Count, peak) != peak) peak = Volatile.Read(ref engine._peakGroup);
            if (job.Accept(ctx.Model, token, ctx.ContextPerSequence, logits?.For(token))) Release(job, active, active.Count - 1);
        }

        /// <summary>End of the prompt chunk starting at <paramref name="p"/>: at most <paramref name="chunk"/> tokens, and never a one-token chunk after it.</summary>
        internal static int ChunkEnd(int p, int length, int chunk)
        {
            var end = Math.Min(length, p + chunk);
            // a single token left over: take one token less now, so the last chunk has two
            if (chunk >= 2 && length - end == 1 && end - p >= 2) end--;
            return end;
        }

        /// <summary>The free stream to run <paramref name="toks"/> on and how many of its leading tokens it already holds.</summary>
        private (int Slot, int Reuse) PickSlot(int[] toks)
        {
            // a cold prompt's chunks never have one token (ChunkEnd), so a warm one must decode at least two tokens again
            var max = engine._options.PromptChunk >= 2 ? toks.Length - 2 : toks.Length - 1;
            int best = -1, bestReuse = -1;
            for (var s = 0; s < _slots.Length; s++)
            {
                if (_slots[s] is not null) continue;
                var reuse = 0;
                if (_kept[s] is { } k)
                {
                    var n = Math.Min(Math.Min(k.Length, max), toks.Length);
                    while (reuse < n && k[reuse] == toks[reuse]) reuse++;
                }
                if (reuse > bestReuse) (best, bestReuse) = (s, reuse);
            }
            return (best, Math.Max(0, bestReuse));
        }

        /// <summary>Frees stream <paramref name="s"/>, keeping the cells of its first <paramref name="keep"/> prompt tokens for reuse.</summary>
        private void Free(int s, int keep)
        {
            var job = _slots[s];
            ctx.RemoveFrom(s, keep);
            _padPos[s] = keep;
            _kept[s] = keep > 0 && job is not null ? job.PromptTokens[..keep] : null;
            _slots[s] = null;
            Occupy(-1);
        }

        private void Release(GenerationJob job, List<GenerationJob> active, int index)
        {
            // The prompt's cells were made by prompt chunks (the generated tokens' by one-row-per-stream steps, a
            // different path), so only the prompt is kept for the next request on this stream.
            Free(job.Sequence, job.PromptTokens.Length);
            active.RemoveAt(index);
        }

        private void Step(GenerationJob job, int outputIndex)
        {
            job.Position++;
            var logits = job.Request.TopLogprobs is { } n ? LogprobReader.Read(ctx, outputIndex, n) : null;
            var token = (int)job.Sampler!.Sample(ctx.Handle, outputIndex);
            job.Accept(ctx.Model, token, ctx.ContextPerSequence, logits?.For(token));
        }

        private bool SameAdapters(List<PooledAdapter> adapters, List<float> scales)
        {
            if (adapters.Count != _currentAdapters.Count) return false;
            for (var i = 0; i < adapters.Count; i++)
                if (!ReferenceEquals(adapters[i], _currentAdapters[i]) || scales[i] != _currentScales[i]) return false;
            return true;
        }
    }
}
