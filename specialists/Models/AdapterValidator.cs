using Federation.Specialists.Gguf;

namespace Federation.Specialists.Models;

/// <summary>One reason an adapter does not fit a base model.</summary>
/// <param name="Code">Stable machine code, e.g. <c>adapter.shape_mismatch</c>.</param>
/// <param name="Tensor">The adapter tensor concerned, when there is one.</param>
/// <param name="Message">What was expected, what was found.</param>
public sealed record AdapterValidationIssue(string Code, string? Tensor, string Message);

/// <summary>
/// Outcome of <see cref="AdapterValidator.Validate(GgufFile, GgufFile)"/>: valid when <see cref="Issues"/> is empty.
/// <see cref="Rank"/> is the common rank of all pairs (null when none or inconsistent).
/// </summary>
public sealed record AdapterValidationResult(
    IReadOnlyList<AdapterValidationIssue> Issues,
    int? Rank,
    float? Alpha,
    IReadOnlyList<string> TargetTensors)
{
    public bool IsValid => Issues.Count == 0;

    /// <summary>All issue messages, one per line (empty when valid).</summary>
    public string Reason => string.Join(Environment.NewLine, Issues.Select(i => i.Message));
}

/// <summary>
/// Checks that a LoRA adapter GGUF fits a base model the way llama.cpp's loader requires: same architecture,
/// <c>general.type=adapter</c>, <c>adapter.type=lora</c>, every tensor is <c>&lt;base&gt;.lora_a</c> or
/// <c>&lt;base&gt;.lora_b</c>, both halves present, the base tensor exists and is 2-D {n_in, n_out}, a is {n_in, r},
/// b is {r, n_out}, and (our rule, stricter than llama.cpp) one rank for all pairs.
/// </summary>
public static class AdapterValidator
{
    public const string SuffixA = ".lora_a";
    public const string SuffixB = ".lora_b";

    /// <summary>Reads both files and validates. Unreadable files throw <see cref="GgufFormatException"/>.</summary>
    public static AdapterValidationResult Validate(string basePath, string adapterPath) =>
        Validate(GgufFile.Read(basePath), GgufFile.Read(adapterPath));

    /// <summary>Validates <paramref name="adapter"/> against <paramref name="baseModel"/>; never throws for a mismatch.</summary>
    public static AdapterValidationResult Validate(GgufFile baseModel, GgufFile adapter)
    {
        var issues = new List<AdapterValidationIssue>();
        void Add(string code, string? tensor, string message) => issues.Add(new(code, tensor, message));

        var baseType = baseModel.GetStringOrNull("general.type");
        if (baseType == "adapter")
            Add("adapter.base_is_adapter", null, $"the base file {baseModel.Path} is itself an adapter (general.type=adapter); give the base model");

        var generalType = adapter.GetStringOrNull("general.type");
        if (generalType != "adapter")
            Add("adapter.not_adapter", null, $"general.type: expected \"adapter\", found {Show(adapter, "general.type")}");
        if (adapter.GetStringOrNull("adapter.type") != "lora")
            Add("adapter.not_lora", null, $"adapter.type: expected \"lora\", found {Show(adapter, "adapter.type")}");

        var baseArch = baseModel.GetStringOrNull("general.architecture");
        var adapterArch = adapter.GetStringOrNull("general.architecture");
        if (baseArch is null)
            Add("adapter.base_without_architecture", null, $"base model {baseModel.Path} has no general.architecture");
        else if (adapterArch != baseArch)
            Add("adapter.architecture_mismatch", null,
                $"general.architecture: base is \"{baseArch}\", adapter is {Show(adapter, "general.architecture")}");

        float? alpha = null;
        if (adapter.TryGetValue("adapter.lora.alpha", out var alphaValue))
        {
            if (alphaValue.Value is float a) alpha = a;
            else Add("adapter.alpha_type", null, $"adapter.lora.alpha: expected a float32, found {alphaValue.Describe()}");
        }

        var aTensors = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        var bTensors = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        foreach (var t in adapter.Tensors)
        {
            if (t.Name.EndsWith(SuffixA, StringComparison.Ordinal)) aTensors[t.Name[..^SuffixA.Length]] = t;
            else if (t.Name.EndsWith(SuffixB, StringComparison.Ordinal)) bTensors[t.Name[..^SuffixB.Length]] = t;
            else Add("adapter.unexpected_tensor", t.Name, $"tensor '{t.Name}': expected a name ending in {SuffixA} or {SuffixB}");
        }
        if (aTensors.Count == 0 && bTensors.Count == 0)
            Add("adapter.empty", null, "the adapter has no lora_a/lora_b tensor pairs");

        var ranks = new SortedDictionary<ulong, string>();
        var targets = new List<string>();
        foreach (var baseName in aTensors.Keys.Union(bTensors.Keys).Order(StringComparer.Ordinal))
        {
            var hasA = aTensors.TryGetValue(baseName, out var ta);
            var hasB = bTensors.TryGetValue(baseName, out var tb);
            if (!hasA || !hasB)
            {
                var (present, missing) = hasA ? (baseName + SuffixA, baseName + SuffixB) : (baseName + SuffixB, baseName + SuffixA);
                Add("adapter.unpaired_tensor", present, $"tensor '{present}' has no partner: '{missing}' is missing");
                continue;
            }
            var bt = baseModel.FindTensor(baseName);
            if (bt is null)
            {
                Add("adapter.unknown_base_tensor", ta!.Name, $"tensor '{ta.Name}' adapts '{baseName}', which the base model does not have");
                continue;
            }
            if (bt.Shape.Count != 2)
            {
                Add("adapter.base_not_matrix", ta!.Name, $"base tensor '{baseName}' has shape {bt.ShapeText}; LoRA needs a 2-D weight");
                continue;
            }
            if (ta!.Shape.Count != 2 || tb!.Shape.Count != 2)
            {
                Add("adapter.not_matrix", ta.Name,
                    $"'{ta.Name}' {ta.ShapeText} and '{tb!.Name}' {tb.ShapeText}: expected 2-D tensors");
                continue;
            }
            ulong nIn = bt.Shape[0], nOut = bt.Shape[1], r = ta.Shape[1];
            var ok = true;
            if (ta.Shape[0] != nIn)
            {
                ok = false;
                Add("adapter.shape_mismatch", ta.Name,
                    $"tensor '{ta.Name}': expected shape {{{nIn}, r}} for base '{baseName}' {bt.ShapeText}, found {ta.ShapeText}");
            }
            if (tb.Shape[1] != nOut)
            {
                ok = false;
                Add("adapter.shape_mismatch", tb.Name,
                    $"tensor '{tb.Name}': expected shape {{r, {nOut}}} for base '{baseName}' {bt.ShapeText}, found {tb.ShapeText}");
            }
            if (tb.Shape[0] != r)
            {
                ok = false;
                Add("adapter.rank_mismatch", tb.Name,
                    $"tensor '{tb.Name}' {tb.ShapeText}: expected first dimension {r}, the rank of '{ta.Name}' {ta.ShapeText}");
            }
            if (ok)
            {
                targets.Add(baseName);
                ranks.TryAdd(r, baseName);
            }
        }
        if (ranks.Count > 1)
            Add("adapter.inconsistent_rank", null,
                "expected one rank for all pairs, found " + string.Join(", ", ranks.Select(kv => $"{kv.Key} (e.g. '{kv.Value}')")));

        int? rank = ranks.Count == 1 ? (int)ranks.Keys.First() : null;
        return new AdapterValidationResult(issues, rank, alpha, targets);
    }

    private static string Show(GgufFile f, string key) =>
        f.TryGetValue(key, out var v) ? $"{v.ToDisplayString()} ({v.Describe()})" : "nothing (key absent)";
}
