using Federation.Registry;
using Federation.Specialists.Gguf;

namespace Federation.Specialists.Models;

/// <summary>One metadata entry for display: key, type in words, rendered value (long arrays shortened).</summary>
public sealed record MetadataEntry(string Key, string Type, string Value);

/// <summary>One tensor for display: name, ggml type, shape in ggml order, element and byte counts.</summary>
public sealed record TensorEntry(string Name, string Type, IReadOnlyList<ulong> Shape, ulong Elements, ulong Bytes);

/// <summary>
/// What <c>fed model inspect</c> / <c>fed adapter inspect</c> show about a GGUF file: identity (CID = SHA-256 of the
/// bytes), layout, metadata, tensors and parameter count. For adapters (<c>general.type=adapter</c>)
/// also the LoRA rank (null if the pairs disagree) and alpha. Reading it never loads tensor data.
/// </summary>
public sealed record ModelInfo(
    string Path,
    Cid Cid,
    long FileBytes,
    uint Version,
    uint Alignment,
    string? Architecture,
    string? Name,
    string Kind,
    ulong ParameterCount,
    int? LoraRank,
    float? LoraAlpha,
    IReadOnlyList<MetadataEntry> Metadata,
    IReadOnlyList<TensorEntry> Tensors)
{
    /// <summary>Reads <paramref name="path"/>'s header and hashes the file.</summary>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    public static ModelInfo Inspect(string path)
    {
        var f = GgufFile.Read(path);
        return From(f, FileCid.Compute(f.Path));
    }

    /// <summary>Builds the description of an already-read file whose CID is known.</summary>
    public static ModelInfo From(GgufFile f, Cid cid)
    {
        var kind = f.GetStringOrNull("general.type") ?? "model";
        int? rank = null;
        float? alpha = null;
        if (kind == "adapter")
        {
            var ranks = f.Tensors.Where(t => t.Name.EndsWith(AdapterValidator.SuffixA, StringComparison.Ordinal) && t.Shape.Count == 2)
                .Select(t => t.Shape[1]).Distinct().ToList();
            if (ranks.Count == 1) rank = (int)ranks[0];
            if (f.TryGetValue("adapter.lora.alpha", out var a) && a.Value is float af) alpha = af;
        }
        return new ModelInfo(
            f.Path, cid, f.FileLength, f.Version, f.Alignment,
            f.GetStringOrNull("general.architecture"), f.GetStringOrNull("general.name"), kind, f.ParameterCount, rank, alpha,
            f.Metadata.Select(kv => new MetadataEntry(kv.Key, kv.Value.Describe(), kv.Value.ToDisplayString())).ToList(),
            f.Tensors.Select(t => new TensorEntry(t.Name, t.Type.ToString(), t.Shape, t.ElementCount, t.ByteSize)).ToList());
    }
}
