using System.Text;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Training.Ggml;
using LLama.Native;
using Xunit.Abstractions;

namespace Federation.Specialists.Tests;

public class GgmlForwardTests(ITestOutputHelper log)
{
    /// <summary>Absolute tolerance on logits (|logit| is O(1..10) on the tiny preset); float32 sums in a different order differ by ~1e-5.</summary>
    private const float Tolerance = 1e-3f;

    [Fact]
    public void Ggml_forward_logits_equal_llama_decode_logits()
    {
        LlamaLibrary.EnsureLoaded();
        using var dir = new TempDir();
        var path = TinyModelFactory.Create(ModelPreset.Tiny, 3, dir.File("m.gguf")).Path;
        var mp = LLamaModelParams.Default();
        mp.n_gpu_layers = 0;
        using var handle = SafeLlamaModelHandle.LoadFromFile(path, mp);
        var a = handle.Tokenize("What is 37 + 48? 85", true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        var b = handle.Tokenize("Compute 91 - 26", true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        var expectedA = DecodeAll(handle, a);
        var expectedB = DecodeAll(handle, b);

        using var model = GgmlLlama.Load(path);
        using var step = new GgmlStep(model, 2);
        // Two sequences in one batch, the second right-padded: padding must not change any real position.
        var t = a.Length;
        var tokens = new int[t * 2];
        a.CopyTo(tokens, 0);
        b.CopyTo(tokens, t);
        var labels = Enumerable.Repeat(-1, t * 2).ToArray();
        labels[0] = 0;
        var logits = step.Logits(new GgmlBatch(t, 2, tokens, labels));
        var v = model.Shape.Vocab;
        var maxDiff = 0f;
        for (var i = 0; i < a.Length; i++)
            for (var j = 0; j < v; j++) maxDiff = Math.Max(maxDiff, Math.Abs(logits[(i * v) + j] - expectedA[i][j]));
        for (var i = 0; i < b.Length; i++)
            for (var j = 0; j < v; j++) maxDiff = Math.Max(maxDiff, Math.Abs(logits[((t + i) * v) + j] - expectedB[i][j]));
        var scale = expectedA.SelectMany(r => r).Max(Math.Abs);
        log.WriteLine($"max |ggml - llama_decode| over {a.Length + b.Length} positions x {v} logits: {maxDiff:G3} (max |logit| {scale:G3}, tolerance {Tolerance})");
        Assert.True(maxDiff < Tolerance, $"max abs diff {maxDiff} exceeds {Tolerance}");
        Assert.True(scale > 0.5f, "logits are not trivially small");
    }

    internal static float[][] DecodeAll(SafeLlamaModelHandle model, int[] tokens)
    {
        var cp = LLamaContextParams.Default();
        cp.n_ctx = 256;
        cp.n_batch = 256;
        cp.n_ubatch = 256;
        cp.n_threads = 2;
        cp.n_threads_batch = 2;
        cp.type_k = GGMLType.GGML_TYPE_F32;
        cp.type_v = GGMLType.GGML_TYPE_F32;
        cp.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        using var ctx = SafeLLamaContextHandle.Create(model, cp);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Length; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
        var r = ctx.Decode(batch);
        Assert.Equal(DecodeResult.Ok, r);
        return [.. Enumerable.Range(0, tokens.Length).Select(i => ctx.GetLogitsIth(i).ToArray())];
    }
}
