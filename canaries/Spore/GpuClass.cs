using System.Text;
using System.Text.RegularExpressions;

namespace Federation.Canaries.Spore;

/// <summary>GPU classes and re-run tolerances (notes §8).</summary>
public static partial class GpuClass
{
    /// <summary>Normalises a free-text GPU model: trim, '-'/' ' → '_', upper-case, collapse '_' runs, then the class rules.</summary>
    public static string Normalize(string gpuModel)
    {
        if (string.IsNullOrEmpty(gpuModel)) return "UNKNOWN";
        var s = gpuModel.Trim().Replace('-', '_').Replace(' ', '_').ToUpperInvariant();
        s = Underscores().Replace(s, "_");
        if (s.Contains("MPS", StringComparison.Ordinal) || s.Contains("APPLE", StringComparison.Ordinal)) return "APPLE_MPS";
        if (s.StartsWith("H100", StringComparison.Ordinal)) return "H100";
        if (s.StartsWith("A100", StringComparison.Ordinal)) return "A100";
        var m = Rtx().Match(s);
        if (m.Success) return $"RTX_{m.Groups[1].Value}";
        m = Gtx().Match(s);
        if (m.Success) return $"GTX_{m.Groups[1].Value}";
        return s;
    }

    /// <summary>The tolerance of a class: H100/A100 0.0015; RTX_5090/4090 0.002; RTX_3090/3060 0.003; others 0.002.</summary>
    public static double Tolerance(string gpuClass) => gpuClass switch
    {
        "H100" or "A100" => 0.0015,
        "RTX_5090" or "RTX_4090" => 0.002,
        "RTX_3090" or "RTX_3060" => 0.003,
        _ => 0.002,
    };

    /// <summary>Whether a re-run is within tolerance: |claimed − measured| &lt;= tol.</summary>
    public static bool WithinTolerance(double claimed, double measured, string gpuClass) =>
        Math.Abs(claimed - measured) <= Tolerance(gpuClass);

    [GeneratedRegex("_+")]
    private static partial Regex Underscores();

    [GeneratedRegex("RTX_?(\\d{3,4})")]
    private static partial Regex Rtx();

    [GeneratedRegex("GTX_?(\\d{3,4})")]
    private static partial Regex Gtx();
}
