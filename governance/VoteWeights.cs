namespace Federation.Governance;

/// <summary>The clipped vote weights of one topic and the clip θ that produced them (null when nothing was clipped).</summary>
public sealed record ClippedWeights(double? Theta, IReadOnlyList<double> Weights);

/// <summary>
/// Vote weights with share clipping (seed §9.9): w_i = min(R_i, θ) / Σ_j min(R_j, θ), θ "set so no node exceeds w_max of a
/// topic's vote — a structural anti-51%".
/// </summary>
/// <remarks>
/// Which θ: the top share f(θ) = min(R_max, θ)/Σ min(R_j, θ) grows with θ, so every θ ≤ θ* keeps all shares ≤ w_max; we
/// take θ* itself, the largest such θ — the clip that changes the raw proportions least. Exact solution (water-filling):
/// sort the n positive R descending, R₍₁₎ ≥ … ≥ R₍ₙ₎. If R₍₁₎/ΣR ≤ w_max nothing is clipped (θ = null). Otherwise, for
/// k = 1, 2, … (clip the top k), the k clipped shares equal w_max exactly when θ_k = w_max·S_k / (1 − k·w_max), with
/// S_k = Σ_{i&gt;k} R₍ᵢ₎; the first k with θ_k ≥ R₍ₖ₊₁₎ is the answer (then R₍ₖ₊₁₎ ≤ θ_k ≤ R₍ₖ₎, so exactly the top k are
/// clipped). When w_max·n = 1 no k &lt; n qualifies and θ = R₍ₙ₎ (every node clipped to the smallest: equal shares 1/n).
/// O(n log n), no iteration to tolerance, so every node computes the same θ bit for bit.
/// </remarks>
public static class VoteWeights
{
    /// <summary>Clips <paramref name="r"/> (raw reputations, same order in the result) so every share is ≤ <paramref name="wMax"/>.</summary>
    /// <exception cref="ReputationInputException">w_max·n &lt; 1, where n is the number of R &gt; 0 (no weighting can satisfy the cap).</exception>
    public static ClippedWeights Clip(IReadOnlyList<double> r, double wMax)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (!(wMax is > 0 and <= 1)) throw new ReputationInputException("w_max", $"expected a number in (0, 1], found {ReputationKnobs.Fmt(wMax)}");
        for (int i = 0; i < r.Count; i++)
            if (!(double.IsFinite(r[i]) && r[i] >= 0)) throw new ReputationInputException($"R[{i}]", $"expected a finite number >= 0, found {ReputationKnobs.Fmt(r[i])}");

        // Positive R, descending; ties by index so the order (and the sums) are the same everywhere.
        var pos = Enumerable.Range(0, r.Count).Where(i => r[i] > 0).OrderByDescending(i => r[i]).ThenBy(i => i).ToArray();
        int n = pos.Length;
        if (wMax * n < 1)
            throw new ReputationInputException("w_max",
                $"w_max·n < 1: w_max {ReputationKnobs.Fmt(wMax)} × {n} node(s) with R > 0 = {ReputationKnobs.Fmt(wMax * n)}, so some share must exceed w_max; " +
                $"it needs at least {(int)Math.Ceiling(1 / wMax - 1e-12)} nodes with R > 0, or a larger w_max");

        var weights = new double[r.Count];
        // suffix[k] = Σ_{i ≥ k} R₍ᵢ₎ (0-based), summed smallest first.
        var suffix = new double[n + 1];
        for (int k = n - 1; k >= 0; k--) suffix[k] = suffix[k + 1] + r[pos[k]];
        double total = suffix[0];

        if (r[pos[0]] / total <= wMax)
        {
            foreach (var i in pos) weights[i] = r[i] / total;
            return new ClippedWeights(null, weights);
        }

        double theta = r[pos[n - 1]];
        for (int k = 1; k < n && k * wMax < 1; k++)
        {
            var t = wMax * suffix[k] / (1 - k * wMax);
            if (t >= r[pos[k]]) { theta = t; break; }
        }

        double sum = 0;
        for (int k = n - 1; k >= 0; k--) sum += Math.Min(r[pos[k]], theta);
        foreach (var i in pos) weights[i] = Math.Min(r[i], theta) / sum;
        return new ClippedWeights(theta, weights);
    }
}
