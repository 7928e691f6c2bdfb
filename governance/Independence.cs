namespace Federation.Governance;

/// <summary>Knobs of the independence measure: prior correlation ρ₀ ∈ [0,1] and its weight m ≥ 0 in shared canaries.</summary>
public sealed record IndependenceKnobs(double Prior, double MinShared)
{
    /// <summary>ρ₀ = 0.5 (neither assume independence nor a cartel), m = 10 shared canaries.</summary>
    public static IndependenceKnobs Default { get; } = new(0.5, 10);
}

/// <summary>
/// Independence-weighted consensus (seed §10.2): "correlation is measured, not assumed: we track, across the canary history,
/// how often models agree/disagree. Those who always agree are not independent — their joint vote is down-weighted (counted
/// as nearly one)."
/// </summary>
/// <remarks>
/// Measure: for voters i, j over their shared canaries (n of them), with answer labels (an answer's cluster id or a
/// pass/fail verdict): observed agreement a = share of equal labels, chance agreement e = Σ_ℓ p_i(ℓ)·p_j(ℓ) from each
/// one's own label frequencies, Cohen's κ = (a − e)/(1 − e) clipped to [0, 1] (agreeing no more than chance = independent;
/// disagreeing more than chance is not extra independence). With no shared canaries, or e = 1 (both gave one constant
/// label: no information), κ is replaced by the prior. Then shrinkage toward the prior on little evidence:
/// ρ_ij = (n·κ + m·ρ₀)/(n + m); ρ_ii = 1.
/// Down-weighting: voter i's independence factor u_i = 1 / Σ_j ρ_ij over the panel — a group of k voters that always
/// agree (ρ = 1 among them) gets 1/k each, so together it counts as one; fully independent voters keep 1.
/// Effective number of independent voters (the design effect of correlated votes): n_eff = (Σ w_i)² / Σ_i Σ_j w_i w_j ρ_ij —
/// k independent equal voters give k, k identical ones give 1.
/// </remarks>
public static class Independence
{
    /// <summary>ρ between two voters from their labels per canary id (only shared canary ids count).</summary>
    public static double Correlation(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b, IndependenceKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(knobs);
        var shared = a.Keys.Where(b.ContainsKey).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        int n = shared.Length;
        if (n == 0) return knobs.Prior;
        int same = 0;
        var ca = new Dictionary<string, int>(StringComparer.Ordinal);
        var cb = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var k in shared)
        {
            var la = a[k];
            var lb = b[k];
            if (string.Equals(la, lb, StringComparison.Ordinal)) same++;
            ca[la] = ca.GetValueOrDefault(la) + 1;
            cb[lb] = cb.GetValueOrDefault(lb) + 1;
        }
        double agree = (double)same / n;
        double chance = 0;
        foreach (var (label, count) in ca.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (cb.TryGetValue(label, out var cbl)) chance += (double)count / n * ((double)cbl / n);
        double kappa = chance >= 1 ? knobs.Prior : Math.Clamp((agree - chance) / (1 - chance), 0, 1);
        return (n * kappa + knobs.MinShared * knobs.Prior) / (n + knobs.MinShared);
    }

    /// <summary>The symmetric ρ matrix of a panel (diagonal 1).</summary>
    public static double[,] CorrelationMatrix(IReadOnlyList<IReadOnlyDictionary<string, string>> labels, IndependenceKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(labels);
        int n = labels.Count;
        var rho = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            rho[i, i] = 1;
            for (int j = i + 1; j < n; j++) rho[i, j] = rho[j, i] = Correlation(labels[i], labels[j], knobs);
        }
        return rho;
    }

    /// <summary>u_i = 1 / Σ_j ρ_ij: how much of an independent vote voter i is worth in this panel.</summary>
    public static double[] Factors(double[,] rho)
    {
        ArgumentNullException.ThrowIfNull(rho);
        int n = rho.GetLength(0);
        var u = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < n; j++) s += rho[i, j];
            u[i] = 1 / s;
        }
        return u;
    }

    /// <summary>Consensus weights: reputation weight × independence factor, normalized to sum 1 (all zero stays zero).</summary>
    public static double[] ConsensusWeights(IReadOnlyList<double> reputationWeights, double[,] rho)
    {
        ArgumentNullException.ThrowIfNull(reputationWeights);
        var u = Factors(rho);
        if (u.Length != reputationWeights.Count) throw new ArgumentException("one reputation weight per voter expected", nameof(reputationWeights));
        var w = new double[u.Length];
        double sum = 0;
        for (int i = 0; i < w.Length; i++) sum += w[i] = reputationWeights[i] * u[i];
        if (sum > 0) for (int i = 0; i < w.Length; i++) w[i] /= sum;
        return w;
    }

    /// <summary>n_eff = (Σ w_i)² / Σ_i Σ_j w_i w_j ρ_ij; 0 when every weight is 0.</summary>
    public static double EffectiveVoters(IReadOnlyList<double> weights, double[,] rho)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(rho);
        int n = weights.Count;
        double s = 0, q = 0;
        for (int i = 0; i < n; i++)
        {
            s += weights[i];
            for (int j = 0; j < n; j++) q += weights[i] * weights[j] * rho[i, j];
        }
        return q > 0 ? s * s / q : 0;
    }
}
