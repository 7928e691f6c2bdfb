using Federation.Governance;
using Federation.Router;

namespace Federation.Node.Verification;

/// <summary>A panel combined by reputation × independence (see <see cref="WeightedPanel.Combine"/>).</summary>
/// <param name="Consensus">v_i ∝ w_i·u_i, summing to 1.</param>
/// <param name="Independence">u_i = 1/Σ_j ρ_ij.</param>
/// <param name="Support">Σ_j v_j s_ij per answer.</param>
/// <param name="Chosen">The answer with the most support (ties: the earlier).</param>
/// <param name="Agreement">Σ_{i≠j} v_i v_j s_ij / Σ_{i≠j} v_i v_j.</param>
/// <param name="EffectiveVoters">n_eff over the reputation weights and ρ.</param>
public sealed record WeightedPanelResult(double[] Consensus, double[] Independence, double[] Support, int Chosen, double Agreement, double EffectiveVoters);

/// <summary>
/// Class-C panel math of the live path (pure): similarities by meaning, combined by reputation weight × independence
/// (docs/reputation.md "Live path"). When no member has a positive weight, every member weighs the same.
/// </summary>
public static class WeightedPanel
{
    /// <summary>Pairwise cosine similarity of embedding vectors, clipped to [0, 1] (diagonal 1).</summary>
    public static double[,] Cosines(IReadOnlyList<float[]> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        int n = vectors.Count;
        var s = new double[n, n];
        var norms = vectors.Select(v => Math.Sqrt(v.Sum(x => (double)x * x))).ToArray();
        for (int i = 0; i < n; i++)
        {
            s[i, i] = 1;
            for (int j = i + 1; j < n; j++)
            {
                double dot = 0;
                var a = vectors[i];
                var b = vectors[j];
                if (a.Length != b.Length) throw new ArgumentException("embedding vectors of different lengths", nameof(vectors));
                for (int k = 0; k < a.Length; k++) dot += (double)a[k] * b[k];
                double c = norms[i] > 0 && norms[j] > 0 ? dot / (norms[i] * norms[j]) : 0;
                s[i, j] = s[j, i] = Math.Clamp(c, 0, 1);
            }
        }
        return s;
    }

    /// <summary>Pairwise word-set Jaccard (the router's lexical measure), diagonal 1.</summary>
    public static double[,] Jaccards(IReadOnlyList<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var report = PanelAgreement.Compare(answers.Select((a, i) => new PanelAnswer(i.ToString(System.Globalization.CultureInfo.InvariantCulture), a)).ToList(), 0);
        int n = answers.Count;
        var s = new double[n, n];
        for (int i = 0; i < n; i++) s[i, i] = 1;
        foreach (var p in report.Pairs)
        {
            int i = int.Parse(p.A, System.Globalization.CultureInfo.InvariantCulture), j = int.Parse(p.B, System.Globalization.CultureInfo.InvariantCulture);
            s[i, j] = s[j, i] = p.Similarity;
        }
        return s;
    }

    /// <summary>The unweighted mean of the pairwise similarities (1 for a single answer).</summary>
    public static double MeanPair(double[,] sim)
    {
        int n = sim.GetLength(0);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) { sum += sim[i, j]; count++; }
        return count == 0 ? 1 : sum / count;
    }

    /// <summary>
    /// Combines a panel: v = normalised w·u (u from ρ, <see cref="Governance.Independence"/>); each answer's support is
    /// Σ_j v_j s_ij; the chosen answer has the most support; the weighted agreement is the v-weighted mean pairwise
    /// similarity; n_eff from w and ρ. All-zero weights count as equal weights.
    /// </summary>
    public static WeightedPanelResult Combine(double[,] sim, IReadOnlyList<double> weights, double[,] rho)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(rho);
        int n = weights.Count;
        if (sim.GetLength(0) != n || rho.GetLength(0) != n) throw new ArgumentException("one similarity row, weight and ρ row per member expected");
        IReadOnlyList<double> w = weights.Any(x => x > 0) ? weights : Enumerable.Repeat(1.0, n).ToArray();
        var u = Governance.Independence.Factors(rho);
        var v = Governance.Independence.ConsensusWeights(w, rho);
        var support = new double[n];
        int chosen = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) support[i] += v[j] * sim[i, j];
            if (support[i] > support[chosen]) chosen = i;
        }
        double num = 0, den = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j) { num += v[i] * v[j] * sim[i, j]; den += v[i] * v[j]; }
        double agreement = den > 0 ? num / den : MeanPair(sim); // one member holds all the weight: no weighted pair
        return new WeightedPanelResult(v, u, support, chosen, agreement, Governance.Independence.EffectiveVoters(w, rho));
    }
}
