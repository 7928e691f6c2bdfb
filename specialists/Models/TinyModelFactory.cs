using System.Globalization;
using System.Runtime.InteropServices;
using Federation.Specialists.Gguf;

namespace Federation.Specialists.Models;

/// <summary>
/// Writes random-initialised llama-architecture GGUF models with the <see cref="ByteVocabulary"/>, loadable by
/// llama.cpp (keys and tensor layout per notes/llama-cpp-native.md). Same preset and seed → byte-identical file.
/// </summary>
public static class TinyModelFactory
{
    /// <summary>Writes a model for the named preset (<c>tiny</c> or <c>small</c>) to <paramref name="outputPath"/>.</summary>
    public static GeneratedFile Create(string preset, ulong seed, string outputPath) =>
        Create(ModelPreset.Named(preset), seed, outputPath);

    /// <summary>Writes a model for <paramref name="preset"/> to <paramref name="outputPath"/> (atomically).</summary>
    public static GeneratedFile Create(ModelPreset preset, ulong seed, string outputPath)
    {
        var w = Build(preset, seed);
        w.WriteFile(outputPath);
        var full = Path.GetFullPath(outputPath);
        return new GeneratedFile(full, FileCid.Compute(full), new FileInfo(full).Length, preset.ParameterCount);
    }

    /// <summary>The writer for a model (metadata and lazily generated tensors), for callers that write to a stream.</summary>
    public static GgufWriter Build(ModelPreset preset, ulong seed)
    {
        preset.Validate();
        var w = new GgufWriter();
        const string a = "llama";
        w.Set("general.architecture", a)
            .Set("general.name", $"federation-{preset.Name}")
            .Set("general.file_type", 0u)
            .Set("federation.preset", preset.Name)
            .Set("federation.seed", GgufValue.UInt64(seed))
            .Set($"{a}.context_length", (uint)preset.ContextLength)
            .Set($"{a}.embedding_length", (uint)preset.EmbeddingLength)
            .Set($"{a}.block_count", (uint)preset.BlockCount)
            .Set($"{a}.feed_forward_length", (uint)preset.FeedForwardLength)
            .Set($"{a}.attention.head_count", (uint)preset.HeadCount)
            .Set($"{a}.attention.head_count_kv", (uint)preset.HeadCountKv)
            .Set($"{a}.attention.layer_norm_rms_epsilon", preset.RmsNormEpsilon)
            .Set($"{a}.rope.freq_base", preset.RopeFreqBase)
            .Set($"{a}.rope.dimension_count", (uint)preset.HeadDimension)
            .Set($"{a}.vocab_size", (uint)preset.VocabSize)
            .Set("tokenizer.ggml.model", "llama")
            .Set("tokenizer.ggml.tokens", GgufValue.Array(ByteVocabulary.Tokens()))
            .Set("tokenizer.ggml.scores", GgufValue.Array(ByteVocabulary.Scores()))
            .Set("tokenizer.ggml.token_type", GgufValue.Array(ByteVocabulary.TokenTypes()))
            .Set("tokenizer.ggml.unknown_token_id", (uint)ByteVocabulary.UnknownId)
            .Set("tokenizer.ggml.bos_token_id", (uint)ByteVocabulary.BosId)
            .Set("tokenizer.ggml.eos_token_id", (uint)ByteVocabulary.EosId)
            .Set("tokenizer.ggml.add_bos_token", true)
            .Set("tokenizer.ggml.add_eos_token", false)
            .Set("tokenizer.ggml.add_space_prefix", false);

        ulong e = (ulong)preset.EmbeddingLength, f = (ulong)preset.FeedForwardLength, v = (ulong)preset.VocabSize, kv = (ulong)preset.KvWidth;
        // Embeddings have unit scale so the token identity is not drowned by the residual updates; projections are
        // scaled 1/sqrt(fan_in) so every layer's output stays O(1) and the logits vary with the input.
        Random(w, seed, "token_embd.weight", [e, v], 1.0f);
        Ones(w, "output_norm.weight", e);
        Random(w, seed, "output.weight", [e, v], FanIn(e));
        for (var i = 0; i < preset.BlockCount; i++)
        {
            var p = "blk." + i.ToString(CultureInfo.InvariantCulture) + ".";
            Ones(w, p + "attn_norm.weight", e);
            Random(w, seed, p + "attn_q.weight", [e, e], FanIn(e));
            Random(w, seed, p + "attn_k.weight", [e, kv], FanIn(e));
            Random(w, seed, p + "attn_v.weight", [e, kv], FanIn(e));
            Random(w, seed, p + "attn_output.weight", [e, e], FanIn(e));
            Ones(w, p + "ffn_norm.weight", e);
            Random(w, seed, p + "ffn_gate.weight", [e, f], FanIn(e));
            Random(w, seed, p + "ffn_up.weight", [e, f], FanIn(e));
            Random(w, seed, p + "ffn_down.weight", [f, e], FanIn(f));
        }
        return w;
    }

    private static float FanIn(ulong n) => (float)(1.0 / Math.Sqrt(n));

    private static void Ones(GgufWriter w, string name, ulong n)
    {
        var data = new float[n];
        Array.Fill(data, 1f);
        w.AddF32(name, [n], data);
    }

    /// <summary>
    /// Adds a tensor of uniform values with standard deviation <paramref name="std"/> (limit std·√3), generated when
    /// the file is written from the stream (seed, name), so nothing larger than one tensor is ever in memory.
    /// </summary>
    internal static void Random(GgufWriter w, ulong seed, string name, ulong[] shape, float std)
    {
        var count = shape.Aggregate(1UL, (acc, d) => acc * d);
        var limit = std * MathF.Sqrt(3f);
        w.AddTensor(name, GgmlType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(Uniform(seed, name, count, limit).AsSpan())));
    }

    internal static float[] Uniform(ulong seed, string name, ulong count, float limit)
    {
        var rng = SplitMix64.ForStream(seed, name);
        var data = new float[count];
        for (var i = 0; i < data.Length; i++) data[i] = rng.NextSymmetric(limit);
        return data;
    }
}
