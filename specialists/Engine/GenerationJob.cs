using System.Text;
using LLama.Native;

namespace Federation.Specialists.Engine;

/// <summary>One queued request and its running state on a context.</summary>
internal sealed class GenerationJob
{
    private readonly Utf8Assembler _utf8 = new();
    private readonly StringBuilder _text = new();
    private readonly int _holdBack;
    private int _emitted;

    public GenerationJob(GenerationRequest request, int[] promptTokens, Action<GenerationDelta>? onDelta, CancellationToken ct)
    {
        Request = request;
        PromptTokens = promptTokens;
        OnDelta = onDelta;
        Cancellation = ct;
        _holdBack = request.Stop.Count == 0 ? 0 : request.Stop.Max(s => s.Length) - 1;
        Seed = request.Temperature > 0 ? request.Seed ?? (uint)Random.Shared.Next() : null;
    }

    public GenerationRequest Request { get; }
    public int[] PromptTokens { get; }
    public Action<GenerationDelta>? OnDelta { get; }
    public CancellationToken Cancellation { get; }
    public uint? Seed { get; }
    public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public List<int> Generated { get; } = [];
    public List<TokenLogprobs>? Logprobs { get; set; }
    public SafeLLamaSamplerChainHandle? Sampler { get; set; }
    public int Sequence { get; set; }
    public int Position { get; set; }
    public int PendingToken { get; set; }
    public int OutputIndex { get; set; }
    public bool Finished => Completion.Task.IsCompleted;

    private int _state; // 0 queued, 1 started on a context, 2 finished while queued
    private CancellationTokenRegistration _queuedCancel;

    /// <summary>Ends a request that is still queued as soon as its token fires (it never waits for a context).</summary>
    public void WatchCancellationWhileQueued() =>
        _queuedCancel = Cancellation.Register(static o =>
        {
            var job = (GenerationJob)o!;
            if (Interlocked.CompareExchange(ref job._state, 2, 0) == 0) job.Finish(FinishReason.Cancelled);
        }, this);

    /// <summary>Claims the job for a worker; false when it was already cancelled in the queue.</summary>
    public bool TryStart()
    {
        var started = Interlocked.CompareExchange(ref _state, 1, 0) == 0;
        _queuedCancel.Dispose();
        return started;
    }

    /// <summary>Accepts a sampled token; returns true when generation is over (and completes the job).</summary>
    public bool Accept(BaseModel model, int token, int contextLimit, TokenLogprobs? logprobs = null)
    {
        if (model.IsEndOfGeneration(token))
        {
            Finish(FinishReason.Stop);
            return true;
        }
        Generated.Add(token);
        if (logprobs is not null) (Logprobs ??= []).Add(logprobs);
        _text.Append(_utf8.Append(model.TokenToPiece(token)));
        if (Request.Stop.Count > 0)
        {
            var full = _text.ToString();
            var cut = -1;
            foreach (var s in Request.Stop)
            {
                if (s.Length == 0) continue;
                var i = full.IndexOf(s, Math.Max(0, _emitted - s.Length), StringComparison.Ordinal);
                if (i >= 0 && (cut < 0 || i < cut)) cut = i;
            }
            if (cut >= 0)
            {
                _text.Length = cut;
                Finish(FinishReason.Stop, flushUtf8: false);
                return true;
            }
        }
        if (Generated.Count >= Request.MaxTokens || Position + 1 >= contextLimit)
        {
            Finish(FinishReason.Length);
            return true;
        }
        EmitSafe();
        PendingToken = token;
        return false;
    }

    /// <summary>Emits text that can no longer become part of a stop sequence.</summary>
    private void EmitSafe()
    {
        if (OnDelta is null) return;
        var safe = _text.Length - _holdBack;
        if (safe > 0 && char.IsHighSurrogate(_text[safe - 1])) safe--;
        if (safe <= _emitted) return;
        var piece = _text.ToString(_emitted, safe - _emitted);
        _emitted = safe;
        try { OnDelta(new GenerationDelta(piece)); } catch { /* a broken consumer must not stop the worker */ }
    }

    /// <summary>
    /// LLamaSharp's sampler pipeline: greedy, or top-k → top-p → temperature → seeded draw. Greedy is an argmax over the
    /// raw logits, so greedy output is a function of the logits alone.
    /// </summary>
    public static SafeLLamaSamplerChainHandle CreateSampler(float temperature, int topK, float topP, uint seed, BaseModel? model = null, string? grammar = null)
    {
        var p = LLamaSamplerChainParams.Default();
        p.NoPerf = true;
        var chain = SafeLLamaSamplerChainHandle.Create(p);
        // the grammar first: it masks every token that would leave the grammar, then the usual pipeline picks among the rest
        if (grammar is not null && model is not null)
        {
            try
            {
                chain.AddGrammar(model.Vocab, grammar, "root");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                chain.Dispose();
                throw new EngineException($"the grammar was rejected by llama.cpp: {e.Message}", e);
            }
        }
        if (temperature <= 0)
        {
            chain.AddGreedySampler();
            return chain;
        }
        if (topK > 0) chain.AddTopK(topK);
        if (topP is > 0 and < 1) chain.AddTopP(topP, 1);
        chain.AddTemperature(temperature);
        chain.AddDistributionSampler(seed);
        return chain;
    }

    public void Finish(FinishReason reason, bool flushUtf8 = true)
    {
        if (Finished) return;
        // An incomplete trailing sequence is definitely invalid once the stream ends (unless cut by a stop sequence).
        if (flushUtf8) _text.Append(_utf8.Flush());
        var text = _text.ToString();
        var result = new GenerationResult
        {
            Text = text,
            TokenIds = Generated.ToArray(),
            PromptTokens = PromptTokens.Length,
            CompletionTokens = Generated.Count,
            FinishReason = reason,
            Seed = Seed,
            Logprobs = Request.TopLogprobs is null ? null : (IReadOnlyList<TokenLogprobs>?)Logprobs ?? [],
        };
        if (OnDelta is not null)
        {
            var rest = _emitted < text.Length ? text[_emitted..] : "";
            _emitted = text.Length;
            try { OnDelta(new GenerationDelta(rest, reason, result)); } catch { /* a broken consumer must not stop the worker */ }
        }
        Sampler?.Dispose();
        Sampler = null;
        Completion.TrySetResult(result);
    }

    public void Fail(Exception e)
    {
        Sampler?.Dispose();
        Sampler = null;
        Completion.TrySetException(e);
    }
}
