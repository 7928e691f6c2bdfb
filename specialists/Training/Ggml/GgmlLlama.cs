using System.Globalization;
using Federation.Specialists.Gguf;
using Federation.Specialists.Interop;
using static Federation.Specialists.Training.Ggml.GgmlNative;

namespace Federation.Specialists.Training.Ggml;

/// <summary>Hyper-parameters of a llama-architecture GGUF, as llama.cpp reads them.</summary>
public sealed record LlamaShape(int Embedding, int Layers, int Heads, int HeadsKv, int FeedForward, int Vocab, float RmsEps, float RopeBase,
    int RopeDims, int ContextTrain, bool TiedOutput)
{
    public int HeadDim => Embedding / Heads;

    public static LlamaShape Of(GgufFile f)
    {
        var arch = f.GetStringOrNull("general.architecture");
        if (arch != "llama")
            throw new ArgumentException($"{f.Path}: the ggml training route builds the llama architecture only; this file is '{arch ?? "(none)"}'.");
        int I(string k) => Convert.ToInt32(f.Get("llama." + k).Value, CultureInfo.InvariantCulture);
        float F(string k, float d) => f.TryGetValue("llama." + k, out var v) ? Convert.ToSingle(v.Value, CultureInfo.InvariantCulture) : d;
        var emb = f.FindTensor("token_embd.weight") ?? throw new GgufFormatException($"{f.Path}: no token_embd.weight tensor");
        var e = I("embedding_length");
        var heads = I("attention.head_count");
        var kv = f.TryGetValue("llama.attention.head_count_kv", out var hk) ? Convert.ToInt32(hk.Value, CultureInfo.InvariantCulture) : heads;
        var ropeDims = f.TryGetValue("llama.rope.dimension_count", out var rd) ? Convert.ToInt32(rd.Value, CultureInfo.InvariantCulture) : e / heads;
        return new LlamaShape(e, I("block_count"), heads, kv, I("feed_forward_length"), (int)emb.Shape[1],
            F("attention.layer_norm_rms_epsilon", 1e-5f), F("rope.freq_base", 10000f), ropeDims,
            f.TryGetValue("llama.context_length", out var cl) ? Convert.ToInt32(cl.Value, CultureInfo.InvariantCulture) : 2048,
            f.FindTensor("output.weight") is null);
    }
}

/// <summary>A weight held in ggml memory: its GGUF name, ggml shape and tensor.</summary>
internal sealed record GgmlWeight(string Name, long[] Shape, nint Tensor)
{
    public long Count => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// A llama-architecture model (F32, F16 or BF16 GGUF, held as F32) in a ggml context, with optional LoRA A/B pairs,
/// and the forward graph that reproduces llama.cpp's inference numerics: RMSNorm (file eps) × weight, RoPE mode 0
/// (NORM, llama.cpp's rope type for LLM_ARCH_LLAMA) with the file's base, attention softmax(KQ·1/√head_dim + causal
/// mask) as <c>ggml_soft_max_ext</c>, SwiGLU FFN, tied or separate output. Batches are [T, B]: B right-padded
/// sequences of T tokens each, so the causal mask keeps padding out of every real position.
/// </summary>
internal sealed class GgmlLlama : IDisposable
{
    private nint _ctx;

    public LlamaShape Shape { get; }
    public GgufFile File { get; }
    /// <summary>Base weights in GGUF order.</summary>
    public IReadOnlyList<GgmlWeight> Weights { get; }
    /// <summary>LoRA pairs by base weight name (empty without <see cref="AddLora"/>).</summary>
    public IReadOnlyDictionary<string, (GgmlWeight A, GgmlWeight B)> Lora => _lora;
    public float LoraScale { get; private set; }
    private readonly Dictionary<string, GgmlWeight> _byName = [];
    private readonly Dictionary<string, (GgmlWeight A, GgmlWeight B)> _lora = [];

    private GgmlLlama(GgufFile file, LlamaShape shape, int loraRank, IReadOnlyList<string> loraTargets)
    {
        File = file;
        Shape = shape;
        LlamaLibrary.EnsureLoaded();
        var targets = loraRank > 0 ? file.Tensors.Where(t => Models.LoraAdapterFactory.IsTarget(t.Name, loraTargets)).ToList() : [];
        long bytes = file.Tensors.Sum(t => (long)t.ElementCount * 4) + targets.Sum(t => (long)((t.Shape[0] + t.Shape[1]) * (ulong)loraRank * 4));
        var mem = (nuint)(bytes + ((file.Tensors.Count + (2 * targets.Count) + 8) * ((long)ggml_tensor_overhead() + 64)) + (1 << 20));
        _ctx = ggml_init(new InitParams { MemSize = mem, MemBuffer = 0, NoAlloc = 0 });
        if (_ctx == 0) throw new LlamaException($"ggml_init could not allocate {mem} bytes for the weights of '{file.Path}'.");
        var list = new List<GgmlWeight>();
        foreach (var t in file.Tensors)
        {
            if (t.Shape.Count > 2) throw new ArgumentException($"{file.Path}: tensor '{t.Name}' has {t.Shape.Count} dimensions; the llama graph expects at most 2.");
            var shapeL = t.Shape.Select(d => (long)d).ToArray();
            var tensor = shapeL.Length == 1 ? ggml_new_tensor_1d(_ctx, TypeF32, shapeL[0]) : ggml_new_tensor_2d(_ctx, TypeF32, shapeL[0], shapeL[1]);
            file.ReadTensorFloats(t).CopyTo(F32(tensor, (long)t.ElementCount));
            var w = new GgmlWeight(t.Name, shapeL, tensor);
            list.Add(w);
            _byName[t.Name] = w;
        }
        Weights = list;
        foreach (var t in targets)
        {
            long nIn = (long)t.Shape[0], nOut = (long)t.Shape[1];
            if (loraRank > Math.Min(nIn, nOut)) throw new ArgumentException($"LoRA rank {loraRank} exceeds the smaller side of '{t.Name}' {t.ShapeText}.");
            var a = new GgmlWeight(t.Name + ".lora_a", [nIn, loraRank], ggml_new_tensor_2d(_ctx, TypeF32, nIn, loraRank));
            var b = new GgmlWeight(t.Name + ".lora_b", [loraRank, nOut], ggml_new_tensor_2d(_ctx, TypeF32, loraRank, nOut));
            _lora[t.Name] = (a, b);
        }
    }

    public static GgmlLlama Load(string path, int loraRank = 0, IReadOnlyList<string>? loraTargets = null)
    {
        var f = GgufFile.Read(path);
        return new GgmlLlama(f, LlamaShape.Of(f), loraRank, loraTargets ?? Models.LoraAdapterFactory.DefaultTargets);
    }

    public GgmlWeight this[string name] => _byName.TryGetValue(name, out var w) ? w
        : throw new GgufFormatException($"{File.Path}: the llama graph needs tensor '{name}', which the file does not have.");

    /// <summary>Sets the LoRA scale applied to B·A·x: alpha / rank, as llama.cpp applies an adapter at scale 1.</summary>
    public void SetLoraScale(float alpha, int rank) => LoraScale = alpha / rank;

    /// <summary>
    /// Builds the logits [V, T·B] of <paramref name="tokens"/> (I32 [T·B], sequence-major) with positions
    /// <paramref name="positions"/> (I32 [T]) and causal mask <paramref name="mask"/> (F32 [T, T]) in <paramref name="ctx"/>.
    /// </summary>
    public nint Forward(nint ctx, nint tokens, nint positions, nint mask, int t, int b)
    {
        var s = Shape;
        var hd = s.HeadDim;
        var kqScale = 1f / MathF.Sqrt(hd);
        var x = ggml_get_rows(ctx, this["token_embd.weight"].Tensor, tokens); // [E, T·B]
        for (var l = 0; l < s.Layers; l++)
        {
            var p = "blk." + l.ToString(CultureInfo.InvariantCulture) + ".";
            var cur = ggml_mul(ctx, ggml_rms_norm(ctx, x, s.RmsEps), this[p + "attn_norm.weight"].Tensor);
            var q = ggml_reshape_4d(ctx, Linear(ctx, p + "attn_q.weight", cur), hd, s.Heads, t, b);
            var k = ggml_reshape_4d(ctx, Linear(ctx, p + "attn_k.weight", cur), hd, s.HeadsKv, t, b);
            var v = ggml_reshape_4d(ctx, Linear(ctx, p + "attn_v.weight", cur), hd, s.HeadsKv, t, b);
            q = ggml_rope_ext(ctx, q, positions, 0, s.RopeDims, RopeModeNorm, s.ContextTrain, s.RopeBase, 1f, 0f, 1f, 32f, 1f);
            k = ggml_rope_ext(ctx, k, positions, 0, s.RopeDims, RopeModeNorm, s.ContextTrain, s.RopeBase, 1f, 0f, 1f, 32f, 1f);
            q = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3)); // [hd, T, H, B]
            k = ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3)); // [hd, T, Hkv, B]
            var vt = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3)); // [T, hd, Hkv, B]
            var kq = ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, q), mask, kqScale, 0f); // [Tk, Tq, H, B]
            var kqv = ggml_mul_mat(ctx, vt, kq); // [hd, Tq, H, B]
            var merged = ggml_reshape_2d(ctx, ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3)), s.Embedding, (long)t * b);
            x = ggml_add(ctx, x, Linear(ctx, p + "attn_output.weight", merged));

            cur = ggml_mul(ctx, ggml_rms_norm(ctx, x, s.RmsEps), this[p + "ffn_norm.weight"].Tensor);
            var gate = ggml_silu(ctx, Linear(ctx, p + "ffn_gate.weight", cur));
            var up = Linear(ctx, p + "ffn_up.weight", cur);
            x = ggml_add(ctx, x, Linear(ctx, p + "ffn_down.weight", ggml_mul(ctx, gate, up)));
        }
        x = ggml_mul(ctx, ggml_rms_norm(ctx, x, s.RmsEps), this["output_norm.weight"].Tensor);
        return Linear(ctx, s.TiedOutput ? "token_embd.weight" : "output.weight", x);
    }

    /// <summary>W·x, plus (alpha/r)·B·(A·x) where a LoRA pair targets W (llama.cpp's order: lora_b × (lora_a × x)).</summary>
    private nint Linear(nint ctx, string weight, nint x)
    {
        var y = ggml_mul_mat(ctx, this[weight].Tensor, x);
        if (_lora.TryGetValue(weight, out var ab))
            y = ggml_add(ctx, y, ggml_scale(ctx, ggml_mul_mat(ctx, ab.B.Tensor, ggml_mul_mat(ctx, ab.A.Tensor, x)), LoraScale));
        return y;
    }

    public void Dispose()
    {
        if (_ctx != 0) ggml_free(_ctx);
        _ctx = 0;
    }
}
