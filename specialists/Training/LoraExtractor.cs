using Federation.Specialists.Gguf;
using Federation.Specialists.Models;
using MathNet.Numerics.LinearAlgebra;

namespace Federation.Specialists.Training;

/// <summary>One extracted tensor: its rank and how much of the delta (Frobenius norm) rank r keeps.</summary>
public sealed record ExtractedTensor(string Name, int Rank, double DeltaNorm, double ResidualNorm);

/// <summary>What an extraction wrote.</summary>
public sealed record LoraExtraction(GeneratedFile File, int Rank, IReadOnlyList<ExtractedTensor> Tensors, IReadOnlyList<string> DroppedTensors);

/// <summary>
/// Turns a fine-tuned model into a LoRA adapter of its base: for each 2-D weight a LoRA can target (attn_q, attn_k,
/// attn_v, attn_output, ffn_*, output) the delta ΔW = W_ft − W_base is reduced to rank r by truncated SVD,
/// ΔW ≈ U_r S_r V_rᵀ, and written as <c>lora_b</c> = U_r S_r, <c>lora_a</c> = V_rᵀ with <c>adapter.lora.alpha</c> = r
/// (scale 1), the layout of <see cref="LoraAdapterFactory"/>. Tensors with a zero delta are left out; a changed 1-D
/// tensor (a norm) cannot be expressed by LoRA and is reported in <see cref="LoraExtraction.DroppedTensors"/>.
/// Deterministic (MathNet's managed SVD, in double precision).
/// </summary>
public static class LoraExtractor
{
    public static LoraExtraction Extract(string basePath, string fineTunedPath, string outputPath, int rank)
    {
        if (rank < 1) throw new ArgumentException($"rank must be at least 1 (got {rank}).");
        var b = GgufFile.Read(basePath);
        var f = GgufFile.Read(fineTunedPath);
        var arch = b.GetStringOrNull("general.architecture") ?? throw new GgufFormatException($"{basePath}: base model has no general.architecture");
        if (f.GetStringOrNull("general.architecture") != arch)
            throw new ArgumentException($"'{fineTunedPath}' is not the same architecture as the base '{basePath}' ({arch}).");

        var w = new GgufWriter();
        w.Set("general.architecture", arch)
            .Set("general.type", "adapter")
            .Set("general.name", $"federation-lora-extracted-r{rank}")
            .Set("adapter.type", "lora")
            .Set("adapter.lora.alpha", (float)rank)
            .Set("federation.adapter.base_cid", FileCid.Compute(b.Path).ToString());

        var done = new List<ExtractedTensor>();
        var dropped = new List<string>();
        long parameters = 0;
        foreach (var bt in b.Tensors)
        {
            var ft = f.FindTensor(bt.Name) ?? throw new ArgumentException($"'{fineTunedPath}' has no tensor '{bt.Name}': it is not a fine-tune of '{basePath}'.");
            if (!ft.Shape.SequenceEqual(bt.Shape))
                throw new ArgumentException($"tensor '{bt.Name}' is {ft.ShapeText} in the fine-tuned model but {bt.ShapeText} in the base.");
            var baseData = b.ReadTensorFloats(bt);
            var ftData = f.ReadTensorFloats(ft);
            var delta = new double[baseData.Length];
            var norm = 0.0;
            for (var i = 0; i < delta.Length; i++)
            {
                delta[i] = (double)ftData[i] - baseData[i];
                norm += delta[i] * delta[i];
            }
            if (norm == 0) continue;
            if (bt.Shape.Count != 2 || !LoraAdapterFactory.IsTarget(bt.Name, LoraAdapterFactory.AllowedTargets))
            {
                dropped.Add(bt.Name);
                continue;
            }
            int nIn = (int)bt.Shape[0], nOut = (int)bt.Shape[1];
            var r = Math.Min(rank, Math.Min(nIn, nOut));
            // ggml {n_in, n_out} with n_in contiguous = row-major n_out × n_in matrix, y = ΔW x.
            var m = Matrix<double>.Build.Dense(nOut, nIn, (i, j) => delta[(i * nIn) + j]);
            var svd = m.Svd(computeVectors: true);
            var a = new float[r * nIn];   // ggml {n_in, r}: row k = k-th right singular vector
            var bb = new float[nOut * r]; // ggml {r, n_out}: row i = U[i, 0..r) · S
            for (var k = 0; k < r; k++)
                for (var j = 0; j < nIn; j++) a[(k * nIn) + j] = (float)svd.VT[k, j];
            for (var i = 0; i < nOut; i++)
                for (var k = 0; k < r; k++) bb[(i * r) + k] = (float)(svd.U[i, k] * svd.S[k]);
            var residual = 0.0;
            for (var k = r; k < svd.S.Count; k++) residual += svd.S[k] * svd.S[k];
            w.AddF32(bt.Name[..^".weight".Length] + ".weight.lora_a", [(ulong)nIn, (ulong)r], a);
            w.AddF32(bt.Name[..^".weight".Length] + ".weight.lora_b", [(ulong)r, (ulong)nOut], bb);
            parameters += (long)r * (nIn + nOut);
            done.Add(new ExtractedTensor(bt.Name, r, Math.Sqrt(norm), Math.Sqrt(residual)));
        }
        if (done.Count == 0)
            throw new ArgumentException($"'{fineTunedPath}' does not differ from '{basePath}' in any LoRA-targetable weight; nothing to extract.");
        w.WriteFile(outputPath);
        var full = Path.GetFullPath(outputPath);
        return new LoraExtraction(new GeneratedFile(full, FileCid.Compute(full), new FileInfo(full).Length, parameters), rank, done, dropped);
    }
}
