namespace Federation.Canaries.Checkers;

/// <summary>What became of a check.</summary>
public enum CheckStatus
{
    /// <summary>The answer was judged; <see cref="CheckOutcome.O"/> is its score.</summary>
    Scored,

    /// <summary>Class C without a panel: nothing was judged yet (o = 0, not evidence).</summary>
    Deferred,

    /// <summary>The checker could not judge (a broken spec, an unverifiable reference snapshot, no interpreter): o = 0, not evidence.</summary>
    Invalid,
}

/// <summary>
/// The typed result of a checker: o ∈ [0,1] (seed §9.9 <c>o_a</c>), a one-line detail saying why, and a status.
/// Only <see cref="CheckStatus.Scored"/> outcomes are evidence.
/// </summary>
public readonly record struct CheckOutcome(double O, string Detail, CheckStatus Status = CheckStatus.Scored)
{
    /// <summary>A full pass.</summary>
    public static CheckOutcome Pass(string detail) => new(1, detail);

    /// <summary>A fail.</summary>
    public static CheckOutcome Fail(string detail) => new(0, detail);

    /// <summary>A check that could not be made.</summary>
    public static CheckOutcome Invalid(string detail) => new(0, detail, CheckStatus.Invalid);

    /// <summary>"scored", "deferred" or "invalid" (the JSON spelling).</summary>
    public string StatusName => Status switch
    {
        CheckStatus.Scored => "scored",
        CheckStatus.Deferred => "deferred",
        _ => "invalid",
    };
}

/// <summary>A class-C judge panel (§9.2: redundant answers compared by meaning, weighted by competence). Interface only here.</summary>
public interface IPanelJudge
{
    /// <summary>Judges <paramref name="answer"/> to <paramref name="canary"/>; o is the panel's weighted agreement.</summary>
    Task<CheckOutcome> JudgeAsync(Canary canary, string answer, CancellationToken cancellationToken);
}
