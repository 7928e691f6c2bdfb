using System.Runtime.InteropServices;
using Federation.Registry;
using Federation.Specialists.Gguf;

namespace Federation.Specialists.Models;

/// <summary>
/// Writes random LoRA adapter GGUF files for a base model, in the format llama.cpp's <c>llama_adapter_lora_init</c>
/// loads: for base weight <c>W</c> with ggml shape {n_in, n_out}, tensors <c>W.lora_a</c> {n_in, r} and
/// <c>W.lora_b</c> {r, n_out}. B is non-zero, so the adapter changes the model's output.
/// </summary>
public static class LoraAdapterFactory
{
    /// <summary>The per-block weights an adapter targets by default.</summary>
    public static IReadOnlyList<string> DefaultTargets { get; } =
        ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    /// <summary>Targets that may be named: the defaults plus <c>output</c> (the final projection).</summary>
    public static IReadOnlyList<string> AllowedTargets { get; } = [.. DefaultTargets, "output"];

    /// <summary>
    /// Writes a random adapter for the base model at <paramref name="basePath"/> to <paramref name="outputPath"/>.
    /// Alpha defaults to the rank (applied scale alpha/r = 1). Same base, rank, seed, alpha and targets → identical bytes.
    /// The base model's CID is recorded as <c>federation.adapter.base_cid</c>.
    /// </summary>
    public static GeneratedFile Create(string basePath, string outputPath, int rank, ulong seed, float? alpha = null,
        IReadOnlyList<string>? targets = null)
    {
        var baseFile = GgufFile.Read(basePath);
        var w = Build(baseFile, FileCid.Compute(baseFile.Path), rank, seed, alpha, targets, out var parameters);
        w.WriteFile(outputPath);
        var full = Path.GetFullPath(outputPath);
        return new GeneratedFile(full, FileCid.Compute(full), new FileInfo(full).Length, parameters);
    }

    /// <summary>The writer for an adapter of <paramref name="baseFile"/> (see <see cref="Create"/>).</summary>
    public static GgufWriter Build(GgufFile baseFile, Cid baseCid, int rank, ulong seed, float? alpha,
        IReadOnlyList<string>? targets, out long parameterCount)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be at least 1");
        targets ??= DefaultTargets;
        if (targets.Count == 0) throw new ArgumentException("give at least one target weight", nameof(targets));
        foreach (var t in targets)
            if (!AllowedTargets.Contains(t))
                throw new ArgumentException($"unknown LoRA target '{t}'; expected some of: {string.Join(", ", AllowedTargets)}", nameof(targets));

        var arch = baseFile.GetStringOrNull("general.architecture")
            ?? throw new GgufFormatException($"{baseFile.Path}: base model has no general.architecture");
        if (baseFile.GetStringOrNull("general.type") == "adapter")
            throw new ArgumentException($"{baseFile.Path} is an adapter, not a base model", nameof(baseFile));

        var w = new GgufWriter();
        w.Set("general.architecture", arch)
            .Set("general.type", "adapter")
            .Set("general.name", $"federation-lora-r{rank}")
            .Set("adapter.type", "lora")
            .Set("adapter.lora.alpha", alpha ?? rank)
            .Set("federation.adapter.base_cid", baseCid.ToString())
            .Set("federation.seed", GgufValue.UInt64(seed));

        var chosen = baseFile.Tensors.Where(t => IsTarget(t.Name, targets)).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException($"{baseFile.Path} has no tensors for targets {string.Join(", ", targets)}", nameof(targets));
        long parameters = 0;
        var r = (ulong)rank;
        foreach (var t in chosen)
        {
            if (t.Shape.Count != 2)
                throw new ArgumentException($"base tensor '{t.Name}' has shape {t.ShapeText}; a LoRA target must be 2-D");
            ulong nIn = t.Shape[0], nOut = t.Shape[1];
            if (r > Math.Min(nIn, nOut))
                throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank exceeds the smaller side of '{t.Name}' {t.ShapeText}");
            // A has unit-variance projections of a unit-RMS input; B scaled 0.5/sqrt(r) makes B·A·x about half the
            // size of W·x: clearly visible in the output, yet not so large that it swamps the base model.
            var aName = t.Name + ".lora_a";
            var bName = t.Name + ".lora_b";
            var aLimit = (float)(Math.Sqrt(3.0) / Math.Sqrt(nIn));
            var bLimit = (float)(0.5 * Math.Sqrt(3.0) / Math.Sqrt(r));
            w.AddTensor(aName, GgmlType.F32, [nIn, r],
                s => s.Write(MemoryMarshal.AsBytes(TinyModelFactory.Uniform(seed, aName, nIn * r, aLimit).AsSpan())));
            w.AddTensor(bName, GgmlType.F32, [r, nOut],
                s => s.Write(MemoryMarshal.AsBytes(TinyModelFactory.Uniform(seed, bName, r * nOut, bLimit).AsSpan())));
            parameters += (long)((nIn * r) + (r * nOut));
        }
        parameterCount = parameters;
        return w;
    }

    /// <summary>True when <paramref name="tensorName"/> is <c>blk.N.&lt;target&gt;.weight</c> or <c>&lt;target&gt;.weight</c> for a target.</summary>
    internal static bool IsTarget(string tensorName, IReadOnlyList<string> targets)
    {
        if (!tensorName.EndsWith(".weight", StringComparison.Ordinal)) return false;
        var stem = tensorName[..^".weight".Length];
        if (stem.StartsWith("blk.", StringComparison.Ordinal))
        {
            var dot = stem.IndexOf('.', 4);
            if (dot < 0) return false;
            var target = stem[(dot + 1)..];
            return target != "output" && targets.Contains(target);
        }
        return stem == "output" && targets.Contains("output");
    }
}
