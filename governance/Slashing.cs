namespace Federation.Governance;

/// <summary>
/// The slashing factor S of seed §9.9: "1 normally, drops sharply on cheating/collusion (×0.1), recovers slowly → trust
/// leaves faster than it arrives".
/// </summary>
/// <remarks>
/// Formula (our choice; the seed gives only the ×0.1 and "recovers slowly"): S starts at 1. At each slashing event S is
/// multiplied by the slash factor f (0.1). Between events the deficit 1 − S decays with the recovery half-life T_rec
/// (μ = ln2 / T_rec): S(τ) = 1 − (1 − S(t_e⁺))·e^(−μ(τ − t_e)). With T_rec several evidence half-lives long, a slashed
/// node needs far longer to win trust back than it took to lose it. Events after τ are ignored (they have not happened).
/// </remarks>
public static class Slashing
{
    /// <summary>The seed's drop on one event.</summary>
    public const double DefaultFactor = 0.1;

    /// <summary>S at <paramref name="tau"/> given the times of the node's slashing events in this topic.</summary>
    public static double Factor(IEnumerable<double> eventTimes, double tau, double recoveryHalfLife, double factor = DefaultFactor)
    {
        ArgumentNullException.ThrowIfNull(eventTimes);
        if (!(double.IsFinite(recoveryHalfLife) && recoveryHalfLife > 0)) throw new ArgumentOutOfRangeException(nameof(recoveryHalfLife), "expected a recovery half-life > 0");
        if (!(factor is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(factor), "expected a slash factor in [0, 1]");
        double s = 1;
        double? last = null;
        foreach (var t in eventTimes.Where(t => t <= tau).OrderBy(t => t))
        {
            if (last is { } l) s = 1 - (1 - s) * ReputationMath.Decay(t - l, recoveryHalfLife);
            s *= factor;
            last = t;
        }
        if (last is { } le) s = 1 - (1 - s) * ReputationMath.Decay(tau - le, recoveryHalfLife);
        return s;
    }
}
