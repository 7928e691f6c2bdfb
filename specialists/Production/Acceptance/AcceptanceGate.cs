using System.Globalization;
using Federation.Registry.Json;
using MathNet.Numerics.Distributions;

namespace Federation.Specialists.Production.Acceptance;

/// <summary>Thresholds of the acceptance gate (issue 9 §Acceptance).</summary>
public sealed record AcceptanceOptions
{
    /// <summary>The candidate's held-out accuracy must exceed each reference's by at least this much (absolute).</summary>
    public double Margin { get; init; } = 0.05;
    /// <summary>One-sided significance level of the exact McNemar test against each reference.</summary>
    public double Alpha { get; init; } = 0.05;
    /// <summary>Minimum pass rate on the known-bias probe set.</summary>
    public double BiasProbeMinPassRate { get; init; } = 1.0;
    /// <summary>Largest allowed drop (absolute) of another topic's accuracy on the same base.</summary>
    public double RegressionTolerance { get; init; } = 0.05;
}

/// <summary>
/// The candidate compared with one reference (the base without adapter, or the current specialist) on the same held-out
/// questions: accuracies, the discordant pairs (b = candidate right and reference wrong, c = the reverse) and the exact
/// one-sided McNemar p-value P(X ≥ b | X ~ Binomial(b + c, 1/2)).
/// </summary>
public sealed record PairedComparison(string Reference, int N, double CandidateAccuracy, double ReferenceAccuracy, int CandidateOnly, int ReferenceOnly, double PValue)
{
    public double Difference => CandidateAccuracy - ReferenceAccuracy;
}

/// <summary>Another topic of the same base, before and after the candidate.</summary>
public sealed record TopicRegression(string Topic, double Before, double After)
{
    public double Drop => Before - After;
}

/// <summary>The gate's verdict with every number it used (recorded in the catalog record's <c>acceptance</c>).</summary>
public sealed record AcceptanceResult(bool Admitted, IReadOnlyList<string> Reasons, IReadOnlyList<PairedComparison> Comparisons,
    int BiasProbes, int BiasProbesPassed, IReadOnlyList<TopicRegression> Regressions, AcceptanceOptions Options)
{
    public JsonObject ToJson() => new()
    {
        ["admitted"] = Admitted,
        ["reasons"] = new JsonArray(Reasons.Select(r => (JsonValue)r)),
        ["comparisons"] = new JsonArray(Comparisons.Select(c => (JsonValue)new JsonObject
        {
            ["reference"] = c.Reference,
            ["n"] = c.N,
            ["candidate_accuracy"] = c.CandidateAccuracy,
            ["reference_accuracy"] = c.ReferenceAccuracy,
            ["candidate_only"] = c.CandidateOnly,
            ["reference_only"] = c.ReferenceOnly,
            ["p_value"] = c.PValue,
        })),
        ["bias_probes"] = new JsonObject { ["total"] = BiasProbes, ["passed"] = BiasProbesPassed },
        ["regressions"] = new JsonArray(Regressions.Select(r => (JsonValue)new JsonObject { ["topic"] = r.Topic, ["before"] = r.Before, ["after"] = r.After })),
        ["options"] = new JsonObject
        {
            ["margin"] = Options.Margin,
            ["alpha"] = Options.Alpha,
            ["bias_probe_min_pass_rate"] = Options.BiasProbeMinPassRate,
            ["regression_tolerance"] = Options.RegressionTolerance,
        },
    };
}

/// <summary>
/// Admits a candidate adapter only if, on its topic's held-out set, it beats the base and the current specialist by
/// <see cref="AcceptanceOptions.Margin"/> with an exact one-sided McNemar test at <see cref="AcceptanceOptions.Alpha"/>,
/// passes the known-bias probes, and does not lower any other topic of its base by more than the tolerance (issue 9).
/// Admission is not championship: that is the DIIP upgrade process. Pure: no I/O, no clock.
/// </summary>
public static class AcceptanceGate
{
    /// <summary>
    /// Judges a candidate. <paramref name="candidate"/>, <paramref name="baseline"/> and <paramref name="current"/>
    /// (null when the topic has no specialist yet) are per-question correctness on the same held-out questions, in the
    /// same order.
    /// </summary>
    public static AcceptanceResult Evaluate(IReadOnlyList<bool> candidate, IReadOnlyList<bool> baseline, IReadOnlyList<bool>? current,
        IReadOnlyList<bool> biasProbes, IReadOnlyList<TopicRegression> otherTopics, AcceptanceOptions? options = null)
    {
        var o = options ?? new AcceptanceOptions();
        if (candidate.Count == 0) throw new ArgumentException("the held-out set is empty; acceptance needs held-out questions.", nameof(candidate));
        var reasons = new List<string>();
        var comps = new List<PairedComparison> { Compare("base", candidate, baseline) };
        if (current is not null) comps.Add(Compare("current", candidate, current));
        foreach (var c in comps)
        {
            if (c.Difference < o.Margin)
                reasons.Add(string.Create(CultureInfo.InvariantCulture,
                    $"held-out accuracy {Pct(c.CandidateAccuracy)} does not beat the {c.Reference} ({Pct(c.ReferenceAccuracy)}) by the margin {Pct(o.Margin)} (n = {c.N})"));
            if (c.PValue > o.Alpha)
                reasons.Add(string.Create(CultureInfo.InvariantCulture,
                    $"improvement over the {c.Reference} is not significant: exact McNemar p = {c.PValue:G4} > {o.Alpha} (candidate-only {c.CandidateOnly}, {c.Reference}-only {c.ReferenceOnly})"));
        }
        var passed = biasProbes.Count(x => x);
        if (biasProbes.Count > 0 && (double)passed / biasProbes.Count < o.BiasProbeMinPassRate)
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"known-bias probes: {passed}/{biasProbes.Count} passed, below the required {Pct0(o.BiasProbeMinPassRate)}"));
        foreach (var r in otherTopics.Where(r => r.Drop > o.RegressionTolerance))
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"topic '{r.Topic}' of the same base drops from {Pct(r.Before)} to {Pct(r.After)}, more than the tolerance {Pct(o.RegressionTolerance)}"));
        return new AcceptanceResult(reasons.Count == 0, reasons, comps, biasProbes.Count, passed, otherTopics, o);
    }

    /// <summary>Paired comparison with the exact one-sided McNemar test (binomial on the discordant pairs).</summary>
    public static PairedComparison Compare(string reference, IReadOnlyList<bool> candidate, IReadOnlyList<bool> other)
    {
        if (candidate.Count != other.Count)
            throw new ArgumentException($"candidate has {candidate.Count} results and the {reference} {other.Count}; both must answer the same held-out questions.");
        int b = 0, c = 0;
        for (var i = 0; i < candidate.Count; i++)
        {
            if (candidate[i] && !other[i]) b++;
            else if (!candidate[i] && other[i]) c++;
        }
        return new PairedComparison(reference, candidate.Count, Rate(candidate), Rate(other), b, c, McNemarOneSided(b, c));
    }

    /// <summary>P(X ≥ b) for X ~ Binomial(b + c, 1/2); 1 when there are no discordant pairs.</summary>
    public static double McNemarOneSided(int b, int c)
    {
        var n = b + c;
        if (n == 0 || b == 0) return 1.0;
        return Math.Clamp(1.0 - Binomial.CDF(0.5, n, b - 1), 0.0, 1.0);
    }

    private static string Pct(double x) => (x * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string Pct0(double x) => (x * 100).ToString("F0", CultureInfo.InvariantCulture) + "%";

    private static double Rate(IReadOnlyList<bool> xs) => xs.Count == 0 ? 0 : (double)xs.Count(x => x) / xs.Count;
}

/// <summary>Interval and test helpers for quality tables.</summary>
public static class QualityStats
{
    /// <summary>Wilson score interval for <paramref name="successes"/> out of <paramref name="n"/> at 95 % (z = 1.959964).</summary>
    public static (double Low, double High) Wilson95(int successes, int n)
    {
        if (n == 0) return (0, 1);
        const double z = 1.959963984540054;
        var p = (double)successes / n;
        var denom = 1 + z * z / n;
        var centre = (p + z * z / (2 * n)) / denom;
        var half = z * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denom;
        // Clamped so the interval always contains p (rounding gives e.g. 5.6e-17 as the lower bound at p = 0).
        return (Math.Clamp(centre - half, 0, p), Math.Clamp(centre + half, p, 1));
    }
}
