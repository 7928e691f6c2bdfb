using Federation.Memory.Rag;
using Federation.Node.Answering;
using Federation.Router;

namespace Federation.Node.Verification;

/// <summary>
/// Class B in the live path (issue 10, "fact vs. signed snapshot"; docs/memory.md §"Class B"): an answer on a class-B
/// topic that was given signed fragments is checked against them with <see cref="SnapshotMatch"/>; a contradiction is
/// withheld exactly like a refuted class-A answer (status failed, HTTP 422 <c>verification.failed</c>, ledgered).
/// </summary>
public static class MemorySnapshotCheck
{
    /// <summary>The checker name in <c>verification.checks</c>.</summary>
    public const string Name = "memory_snapshot";

    /// <summary>True when the answer under <paramref name="decision"/> must be checked against <paramref name="rag"/> before release.</summary>
    public static bool Applies(RouteDecision decision, RagContext? rag) => decision.Class == VerificationClass.B && rag is { Hits.Count: > 0 };

    /// <summary>Adds the class-B check to <paramref name="v"/>: a contradiction fails it; agreement passes an unchecked answer.</summary>
    public static VerificationInfo Apply(VerificationInfo v, RouteDecision decision, RagContext? rag, string answer)
    {
        if (!Applies(decision, rag)) return v;
        var verdict = SnapshotMatch.Check(answer, rag!.Hits);
        var outcome = verdict.Outcome switch
        {
            SnapshotOutcome.Agrees => CheckOutcome.Passed,
            SnapshotOutcome.Contradicts => CheckOutcome.Failed,
            _ => CheckOutcome.NotApplicable,
        };
        var checks = v.Checks.Append(new CheckResult(Name, outcome, verdict.Detail)).ToList();
        return verdict.Outcome switch
        {
            SnapshotOutcome.Contradicts => v with { Status = VerificationStatus.Failed, Checks = checks, Detail = verdict.Detail },
            SnapshotOutcome.Agrees when v.Status == VerificationStatus.Unchecked => v with { Status = VerificationStatus.Passed, Checks = checks, Detail = verdict.Detail },
            _ => v with { Checks = checks },
        };
    }
}
