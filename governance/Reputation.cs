namespace Federation.Governance;

/// <summary>One scored audit (seed §9.9): time <c>t_a</c>, difficulty <c>d_a</c> ∈ (0,1], outcome <c>o_a</c> ∈ [0,1].</summary>
/// <remarks>Only class-A (and class-B) audits are evidence: "reputation is earned on class A, spent on class C".</remarks>
public readonly record struct Audit(double Time, double Difficulty, double Outcome);

/// <summary>The knobs of §9.9 for one topic. Times (half-life, τ, t_a) share one unit; the policy file uses days.</summary>
/// <param name="HalfLife">T½ of the evidence decay; λ = ln2 / T½. Must be &gt; 0.</param>
/// <param name="Kappa">κ ≥ 0, the prior's weight in evidence units (how much evidence it takes to move away from C₀).</param>
/// <param name="C0">C₀ ∈ [0,1], the prior pass rate a node is shrunk toward.</param>
/// <param name="Gamma">γ ∈ (0,1), the sub-linear exponent on evidence mass (anti-farming).</param>
/// <param name="Beta">β ≥ 0, the slope of the stake factor.</param>
/// <param name="Stake0">stake₀ &gt; 0, the stake scale.</param>
/// <param name="GMax">g_max ≥ 1, the cap of the stake factor (seed: ×2).</param>
/// <param name="WMax">w_max ∈ (0,1], the largest vote share any node may have (seed: 10–20%).</param>
public sealed record ReputationKnobs(double HalfLife, double Kappa, double C0, double Gamma, double Beta, double Stake0, double GMax, double WMax)
{
    /// <summary>The seed's illustrative values: T½ 30 (days), κ 10, C₀ 0.5, γ 0.5, β 0.5, stake₀ 1000, g_max 2, w_max 0.15.</summary>
    public static ReputationKnobs Default { get; } = new(30, 10, 0.5, 0.5, 0.5, 1000, 2, 0.15);

    /// <summary>The first knob outside its range, as (field, message), or null when all are valid.</summary>
    public (string Field, string Message)? FirstProblem()
    {
        if (!(double.IsFinite(HalfLife) && HalfLife > 0)) return ("half_life", $"expected a number > 0, found {Fmt(HalfLife)}");
        if (!(double.IsFinite(Kappa) && Kappa >= 0)) return ("kappa", $"expected a number >= 0, found {Fmt(Kappa)}");
        if (!(C0 is >= 0 and <= 1)) return ("C0", $"expected a number in [0, 1], found {Fmt(C0)}");
        if (!(Gamma is > 0 and < 1)) return ("gamma", $"expected a number in (0, 1) (seed §9.9: sub-linear in volume), found {Fmt(Gamma)}");
        if (!(double.IsFinite(Beta) && Beta >= 0)) return ("beta", $"expected a number >= 0, found {Fmt(Beta)}");
        if (!(double.IsFinite(Stake0) && Stake0 > 0)) return ("stake0", $"expected a number > 0, found {Fmt(Stake0)}");
        if (!(double.IsFinite(GMax) && GMax >= 1)) return ("g_max", $"expected a number >= 1 (g starts at 1 with no stake), found {Fmt(GMax)}");
        if (!(WMax is > 0 and <= 1)) return ("w_max", $"expected a number in (0, 1], found {Fmt(WMax)}");
        return null;
    }

    internal static string Fmt(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What one node brings to the table for one topic: slashing factor S ∈ [0,1], bonded stake ≥ 0, its audits.</summary>
public sealed record NodeEvidence(string Name, double S, double Stake, IReadOnlyList<Audit> Audits);

/// <summary>One row of the reputation table (seed §9.9 names): N, C, Ĉ, R and the clipped vote weight.</summary>
public sealed record NodeReputation(string Name, double N, double C, double CHat, double R, double Weight);

/// <summary>The reputation table of one topic at time τ; <see cref="Theta"/> is null when no node was clipped.</summary>
public sealed record ReputationTable(double Tau, double? Theta, IReadOnlyList<NodeReputation> Nodes);

/// <summary>A reputation input that cannot be computed; <see cref="Field"/> names the offending field.</summary>
public sealed class ReputationInputException(string field, string message) : Exception($"{field}: {message}")
{
    /// <summary>The JSON path or knob name that is wrong (e.g. <c>nodes.A.audits[2][1]</c>, <c>w_max</c>).</summary>
    public string Field { get; } = field;
}

/// <summary>
/// Reputation math of seed §9.9, as a pure, deterministic function of records and a time τ: every node that holds the
/// same records computes the same table, bit for bit (nodes are ordered by name, audits canonically, sums in that order).
/// </summary>
public static class ReputationMath
{
    private static readonly double Ln2 = Math.Log(2);

    /// <summary>e^(−λ·age) with λ = ln2 / T½ (seed §9.9: "half-life T½ = ln2/λ").</summary>
    public static double Decay(double age, double halfLife) => Math.Exp(-Ln2 * age / halfLife);

    /// <summary>
    /// Decaying evidence mass N = Σ d_a·e^(−λ(τ−t_a)) and decaying pass rate C = Σ d_a·e^(−λ(τ−t_a))·o_a / N over the
    /// audits with t_a ≤ τ (an audit after τ does not exist yet at τ). C is 0 when N is 0 (no evidence: Ĉ is then C₀).
    /// </summary>
    public static (double N, double C) Evidence(IEnumerable<Audit> audits, double tau, double halfLife)
    {
        double n = 0, pass = 0;
        foreach (var a in Canonical(audits))
        {
            if (a.Time > tau) continue;
            var w = a.Difficulty * Decay(tau - a.Time, halfLife);
            n += w;
            pass += w * a.Outcome;
        }
        return (n, n > 0 ? pass / n : 0);
    }

    /// <summary>Shrunk competence Ĉ = (N·C + κ·C₀)/(N + κ); C₀ when N + κ = 0 (its limit as κ → 0 with no evidence).</summary>
    public static double Shrunk(double n, double c, double kappa, double c0) =>
        n + kappa > 0 ? (n * c + kappa * c0) / (n + kappa) : c0;

    /// <summary>g(stake) = min(1 + β·ln(1 + stake/stake₀), g_max): concave, capped.</summary>
    public static double StakeFactor(double stake, double beta, double stake0, double gMax) =>
        Math.Min(1 + beta * Math.Log(1 + stake / stake0), gMax);

    /// <summary>R = Ĉ·N^γ·S·g(stake).</summary>
    public static double Raw(double cHat, double n, double gamma, double s, double g) => cHat * Math.Pow(n, gamma) * s * g;

    /// <summary>
    /// The whole table at τ: per node N, C, Ĉ, R, then vote weights clipped so no share exceeds w_max (see
    /// <see cref="VoteWeights.Clip"/>). Nodes come back ordered by name (ordinal).
    /// </summary>
    /// <exception cref="ReputationInputException">A knob or record is out of range, a name repeats, or w_max·n &lt; 1.</exception>
    public static ReputationTable Compute(IEnumerable<NodeEvidence> nodes, double tau, ReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(knobs);
        if (!double.IsFinite(tau)) throw new ReputationInputException("tau", $"expected a finite number, found {ReputationKnobs.Fmt(tau)}");
        if (knobs.FirstProblem() is { } p) throw new ReputationInputException(p.Field, p.Message);
        var ordered = nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToArray();
        for (int i = 0; i < ordered.Length; i++)
        {
            var node = ordered[i];
            if (i > 0 && ordered[i - 1].Name == node.Name)
                throw new ReputationInputException($"nodes.{node.Name}", "the same node name appears twice; each node has one row");
            if (!(node.S is >= 0 and <= 1)) throw new ReputationInputException($"nodes.{node.Name}.S", $"expected a number in [0, 1], found {ReputationKnobs.Fmt(node.S)}");
            if (!(double.IsFinite(node.Stake) && node.Stake >= 0)) throw new ReputationInputException($"nodes.{node.Name}.stake", $"expected a number >= 0, found {ReputationKnobs.Fmt(node.Stake)}");
            for (int k = 0; k < node.Audits.Count; k++)
            {
                var a = node.Audits[k];
                if (!double.IsFinite(a.Time)) throw new ReputationInputException($"nodes.{node.Name}.audits[{k}][0]", "expected t_a to be a finite number");
                if (!(a.Difficulty is > 0 and <= 1)) throw new ReputationInputException($"nodes.{node.Name}.audits[{k}][1]", $"expected d_a in (0, 1], found {ReputationKnobs.Fmt(a.Difficulty)}");
                if (!(a.Outcome is >= 0 and <= 1)) throw new ReputationInputException($"nodes.{node.Name}.audits[{k}][2]", $"expected o_a in [0, 1], found {ReputationKnobs.Fmt(a.Outcome)}");
            }
        }

        var rows = new (string Name, double N, double C, double CHat, double R)[ordered.Length];
        for (int i = 0; i < ordered.Length; i++)
        {
            var node = ordered[i];
            var (n, c) = Evidence(node.Audits, tau, knobs.HalfLife);
            var cHat = Shrunk(n, c, knobs.Kappa, knobs.C0);
            var g = StakeFactor(node.Stake, knobs.Beta, knobs.Stake0, knobs.GMax);
            rows[i] = (node.Name, n, c, cHat, Raw(cHat, n, knobs.Gamma, node.S, g));
        }
        var clip = VoteWeights.Clip(rows.Select(r => r.R).ToArray(), knobs.WMax);
        return new ReputationTable(tau, clip.Theta,
            rows.Select((r, i) => new NodeReputation(r.Name, r.N, r.C, r.CHat, r.R, clip.Weights[i])).ToArray());
    }

    /// <summary>Audits in one canonical order (t, d, o) so the sums do not depend on the order records arrived in.</summary>
    private static IEnumerable<Audit> Canonical(IEnumerable<Audit> audits) =>
        audits.OrderBy(a => a.Time).ThenBy(a => a.Difficulty).ThenBy(a => a.Outcome);
}
