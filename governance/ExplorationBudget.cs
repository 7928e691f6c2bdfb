namespace Federation.Governance;

/// <summary>
/// Guaranteed exploration budget (seed §9.9 "Against reputation ossification": "the protocol reserves a share of
/// routing/audits for challengers regardless of reputation (like ε-greedy)").
/// </summary>
public static class ExplorationBudget
{
    /// <summary>
    /// Splits <paramref name="total"/> slots (audits or routing slots): ⌊total·share⌋ are reserved for newcomers, split
    /// equally (remainder to the first ones); the rest go by weight with the largest-remainder method (ties by index).
    /// With no newcomers the reserve joins the rest; with all weights 0 the rest is split equally.
    /// </summary>
    public static int[] Allocate(int total, double share, IReadOnlyList<double> weights, IReadOnlyList<bool> isNewcomer)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(isNewcomer);
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (!(share is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(share), "expected a share in [0, 1]");
        if (weights.Count != isNewcomer.Count) throw new ArgumentException("one newcomer flag per weight expected", nameof(isNewcomer));
        int n = weights.Count;
        var result = new int[n];
        if (n == 0) return result;
        var newcomers = Enumerable.Range(0, n).Where(i => isNewcomer[i]).ToArray();
        int reserved = newcomers.Length == 0 ? 0 : (int)Math.Floor(total * share + 1e-9);
        for (int k = 0; k < newcomers.Length; k++)
            result[newcomers[k]] = reserved / newcomers.Length + (k < reserved % newcomers.Length ? 1 : 0);

        int rest = total - reserved;
        double sum = weights.Sum();
        var quota = Enumerable.Range(0, n).Select(i => sum > 0 ? rest * weights[i] / sum : (double)rest / n).ToArray();
        int given = 0;
        for (int i = 0; i < n; i++)
        {
            int f = (int)Math.Floor(quota[i]);
            result[i] += f;
            given += f;
        }
        foreach (var i in Enumerable.Range(0, n).OrderByDescending(i => quota[i] - Math.Floor(quota[i])).ThenBy(i => i).Take(rest - given))
            result[i]++;
        return result;
    }
}
