using Federation.Specialists.Interop;
using static Federation.Specialists.Training.Ggml.GgmlNative;

namespace Federation.Specialists.Training.Ggml;

/// <summary>
/// One padded batch: <see cref="B"/> sequences of <see cref="T"/> input tokens (sequence-major) and, per position,
/// the next-token label or -1 where no loss is taken (prompt and padding).
/// </summary>
internal sealed record GgmlBatch(int T, int B, int[] Tokens, int[] Labels)
{
    public int LossTokens { get; } = Labels.Count(l => l >= 0);
    public int RealTokens { get; init; }
}

/// <summary>What one graph run gave: mean loss over the loss tokens, how many of them argmax predicted, and the graph (for gradients).</summary>
internal readonly record struct StepOutput(double Loss, int Correct, int LossTokens);

/// <summary>
/// Builds and runs the forward (and backward) graph of one batch in a reusable ggml context. The context is sized by
/// a dry build without allocation, so a longer batch grows it instead of overrunning it.
/// </summary>
internal sealed unsafe class GgmlStep(GgmlLlama model, int threads) : IDisposable
{
    private const int GraphSize = 16384;
    private nint _ctx;
    private nuint _capacity;
    private nint _graph;

    public int Threads { get; } = threads;

    /// <summary>FED_GGML_PROFILE=1 prints the time of each phase of a step to stderr.</summary>
    private static readonly bool Profile = Environment.GetEnvironmentVariable("FED_GGML_PROFILE") == "1";

    /// <summary>Runs the batch; with <paramref name="backward"/> the gradients of every <c>ggml_set_param</c> tensor are then in <see cref="Gradient"/>.</summary>
    public StepOutput Run(GgmlBatch batch, bool backward)
    {
        if (batch.LossTokens == 0) throw new ArgumentException("a batch needs at least one loss token (a completion or EOS position).");
        var sw = Profile ? System.Diagnostics.Stopwatch.StartNew() : null;
        var need = Measure(batch, backward);
        var tMeasure = sw?.Elapsed.TotalMilliseconds;
        if (need > _capacity)
        {
            if (_ctx != 0) ggml_free(_ctx);
            _capacity = need + (need / 4);
            _ctx = ggml_init(new InitParams { MemSize = _capacity, NoAlloc = 0 });
            if (_ctx == 0) throw new LlamaException($"ggml_init could not allocate {_capacity} bytes for a training step.");
        }
        else
        {
            ggml_reset(_ctx); // reuse the memory (already faulted in) for this step's tensors
        }
        var tInit = sw?.Elapsed.TotalMilliseconds;
        var (tok, pos, mask, lab, logits, loss, gf) = Build(_ctx, batch, backward);
        Fill(batch, tok, pos, mask, lab);
        if (backward) ggml_graph_reset(gf);
        var tBuild = sw?.Elapsed.TotalMilliseconds;
        Compute(_ctx, gf, Threads);
        if (sw is not null)
            Console.Error.WriteLine($"ggml step T={batch.T} B={batch.B} bwd={backward} cap={_capacity >> 20}MB measure {tMeasure:F1} init {tInit - tMeasure:F1} build {tBuild - tInit:F1} compute {sw.Elapsed.TotalMilliseconds - tBuild:F1} ms");
        _graph = gf;
        var lossValue = F32(loss, 1)[0];
        var correct = 0;
        var v = model.Shape.Vocab;
        var l = F32(logits, (long)v * batch.T * batch.B);
        for (var i = 0; i < batch.Labels.Length; i++)
        {
            if (batch.Labels[i] < 0) continue;
            var row = l.Slice(i * v, v);
            var best = 0;
            for (var j = 1; j < v; j++) if (row[j] > row[best]) best = j;
            if (best == batch.Labels[i]) correct++;
        }
        return new StepOutput(lossValue, correct, batch.LossTokens);
    }

    /// <summary>Logits [V, T·B] of a forward-only run (for the numerics check).</summary>
    public float[] Logits(GgmlBatch batch)
    {
        var need = Measure(batch, false);
        if (_ctx != 0) ggml_free(_ctx);
        _capacity = need + (need / 4);
        _ctx = ggml_init(new InitParams { MemSize = _capacity, NoAlloc = 0 });
        var (tok, pos, mask, lab, logits, _, gf) = Build(_ctx, batch, false);
        Fill(batch, tok, pos, mask, lab);
        Compute(_ctx, gf, Threads);
        return F32(logits, (long)model.Shape.Vocab * batch.T * batch.B).ToArray();
    }

    /// <summary>The gradient of <paramref name="param"/> from the last backward run, or an empty span when it got none.</summary>
    public Span<float> Gradient(GgmlWeight param)
    {
        var g = ggml_graph_get_grad(_graph, param.Tensor);
        return g == 0 ? [] : F32(g, param.Count);
    }

    private nuint Measure(GgmlBatch batch, bool backward)
    {
        var meta = (ggml_tensor_overhead() * (GraphSize * 3)) + ggml_graph_overhead_custom(GraphSize, backward ? (byte)1 : (byte)0);
        var dry = ggml_init(new InitParams { MemSize = meta, NoAlloc = 1 });
        try
        {
            Build(dry, batch, backward);
            nuint data = 0;
            for (var t = ggml_get_first_tensor(dry); t != 0; t = ggml_get_next_tensor(dry, t)) data += ggml_nbytes(t) + 64;
            // Work buffer of the CPU ops (softmax / cross-entropy rows per thread) plus slack.
            var work = (nuint)((Threads + 1) * (model.Shape.Vocab + (batch.T * 4) + 64) * 4 * 8) + (8u << 20);
            return meta + data + work;
        }
        finally
        {
            ggml_free(dry);
        }
    }

    private (nint Tok, nint Pos, nint Mask, nint Lab, nint Logits, nint Loss, nint Graph) Build(nint ctx, GgmlBatch batch, bool backward)
    {
        var n = (long)batch.T * batch.B;
        var tok = ggml_new_tensor_1d(ctx, TypeI32, n);
        var pos = ggml_new_tensor_1d(ctx, TypeI32, batch.T);
        var mask = ggml_new_tensor_2d(ctx, TypeF32, batch.T, batch.T);
        var lab = ggml_new_tensor_2d(ctx, TypeF32, model.Shape.Vocab, n);
        var logits = model.Forward(ctx, tok, pos, mask, batch.T, batch.B);
        // ggml's cross-entropy is the mean over all T·B rows; label rows are zero off the loss positions, so rescale to the mean over loss tokens.
        var loss = ggml_scale(ctx, ggml_cross_entropy_loss(ctx, logits, lab), (float)n / batch.LossTokens);
        var gf = ggml_new_graph_custom(ctx, GraphSize, backward ? (byte)1 : (byte)0);
        ggml_build_forward_expand(gf, loss);
        if (backward)
        {
            ggml_set_loss(loss);
            ggml_build_backward_expand(ctx, gf, 0);
        }
        return (tok, pos, mask, lab, logits, loss, gf);
    }

    private void Fill(GgmlBatch batch, nint tok, nint pos, nint mask, nint lab)
    {
        batch.Tokens.CopyTo(I32(tok, batch.Tokens.Length));
        var p = I32(pos, batch.T);
        for (var i = 0; i < batch.T; i++) p[i] = i;
        var m = F32(mask, (long)batch.T * batch.T);
        for (var q = 0; q < batch.T; q++)
            for (var k = 0; k < batch.T; k++)
                m[(q * batch.T) + k] = k <= q ? 0f : float.NegativeInfinity;
        var v = model.Shape.Vocab;
        var l = F32(lab, (long)v * batch.Labels.Length);
        l.Clear();
        for (var i = 0; i < batch.Labels.Length; i++)
            if (batch.Labels[i] >= 0) l[(i * v) + batch.Labels[i]] = 1f;
    }

    public void Dispose()
    {
        if (_ctx != 0) ggml_free(_ctx);
        _ctx = 0;
    }
}
