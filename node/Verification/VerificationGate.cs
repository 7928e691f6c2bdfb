using Federation.Node.Answering;
using Federation.Router;

namespace Federation.Node.Verification;

/// <summary>The gate's verdict: which panel answer stands for the request, and its verification.</summary>
public sealed record GateVerdict(int ChosenIndex, VerificationInfo Verification);

/// <summary>
/// The verification gate as the node sees it: the only seam between the answer path and the gate's rules. The router
/// area is to own a pure gate whose checkers come from policy; swapping it in means one new implementation of this
/// interface, registered in <see cref="Hosting.NodeHost"/>, and nothing else in the node changes.
/// </summary>
public interface IVerificationGate
{
    /// <summary>True when an answer on this route must be verified before any byte of it is released (no live streaming).</summary>
    bool MustVerifyBeforeRelease(RouteDecision decision);

    /// <summary>Judges the answers of <paramref name="decision"/>'s specialists (in their order). Pure.</summary>
    GateVerdict Judge(string query, RouteDecision decision, IReadOnlyList<string> answers, RoutingPolicy policy);
}

/// <summary>
/// Today's gate: class-A checkers per topic (<see cref="CheckerRegistry"/>, the <c>arithmetic</c> checker on
/// <c>math</c>), panel agreement for class C, human review for T3 and for panels below the agreement threshold.
/// </summary>
public sealed class CheckerVerificationGate(CheckerRegistry checkers) : IVerificationGate
{
    public bool MustVerifyBeforeRelease(RouteDecision decision) =>
        decision.Tier == TrustTier.T3 || decision.Mode == DispatchMode.Panel || checkers.For(decision.Topic).Count > 0;

    public GateVerdict Judge(string query, RouteDecision decision, IReadOnlyList<string> answers, RoutingPolicy policy)
    {
        var d = decision;
        var cls = d.Class.ToString();
        PanelInfo? panel = null;
        var index = 0;
        if (answers.Count > 1)
        {
            var report = PanelAgreement.Compare(answers.Select((a, i) => new PanelAnswer(d.Specialists[i], a)).ToList(), policy.AgreementThreshold);
            panel = PanelInfo.From(report);
            if (report.LargestAgreeingGroup.Count > 0)
                index = Math.Max(0, d.Specialists.ToList().IndexOf(report.LargestAgreeingGroup[0]));
        }
        var checks = checkers.For(d.Topic).Select(c => c.Check(query, answers[index])).ToList();
        VerificationInfo V(VerificationStatus s, string detail) => new(s, cls, checks, VerificationInfo.MemoryNotUsed, detail, panel);
        if (checks.Any(c => c.Outcome == CheckOutcome.Failed))
            return new(index, V(VerificationStatus.Failed, string.Join("; ", checks.Where(c => c.Outcome == CheckOutcome.Failed).Select(c => $"{c.Checker}: {c.Detail}"))));
        if (d.Tier == TrustTier.T3)
            return new(index, V(VerificationStatus.NeedsReview, "T3 answers need human approval"));
        if (panel is { Agreed: false })
            return new(index, V(VerificationStatus.NeedsReview, $"panel agreement {panel.MeanSimilarity:0.###} is below {panel.Threshold:0.###}: escalated to a human"));
        if (checks.Any(c => c.Outcome == CheckOutcome.Passed))
            return new(index, V(VerificationStatus.Passed, string.Join("; ", checks.Select(c => $"{c.Checker}: {c.Detail}"))));
        return panel is null
            ? new(index, V(VerificationStatus.Unchecked, "no objective checker applies; released on the specialist's trust score"))
            : new(index, V(VerificationStatus.Passed, $"panel agreement {panel.MeanSimilarity:0.###}"));
    }
}
