using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Federation.Node.Answering;
using Federation.Router;
using RouterGate = Federation.Router.Verification;

namespace Federation.Node.Verification;

/// <summary>Outcome of one objective (class A) check, as the ledger and the response record it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckOutcome>))]
public enum CheckOutcome
{
    [JsonStringEnumMemberName("passed")] Passed,
    [JsonStringEnumMemberName("failed")] Failed,
    // the name the ledger has always recorded (lower-cased enum name)
    [JsonStringEnumMemberName("notapplicable")] NotApplicable,
}

/// <summary>What a checker found (the wire form of the router's <see cref="RouterGate.CheckResult"/>).</summary>
public sealed record CheckResult(string Checker, CheckOutcome Outcome, string Detail)
{
    public static CheckResult From(RouterGate.CheckResult c) => new(c.Checker, c.Outcome switch
    {
        RouterGate.CheckOutcome.Passed => CheckOutcome.Passed,
        RouterGate.CheckOutcome.Failed => CheckOutcome.Failed,
        _ => CheckOutcome.NotApplicable,
    }, c.Detail);
}

/// <summary>The gate's verdict: which panel answer stands for the request, and its verification.</summary>
public sealed record GateVerdict(int ChosenIndex, VerificationInfo Verification);

/// <summary>
/// The verification gate as the node sees it: the only seam between the answer path and the gate's rules
/// (registered once in <see cref="Hosting.NodeHost"/>).
/// </summary>
public interface IVerificationGate
{
    /// <summary>True when an answer on this route may be streamed as it is generated (nothing to check before release).</summary>
    bool CanStreamLive(RouteDecision decision, RoutingPolicy policy);

    /// <summary>Judges the answers of <paramref name="decision"/>'s specialists (in their order) to <paramref name="query"/>. Pure.</summary>
    GateVerdict Judge(RouteDecision decision, RouteQuery query, IReadOnlyList<string> answers, RoutingPolicy policy);
}

/// <summary>
/// The router's pure gate (<see cref="RouterGate.VerificationGate"/>: policy-named class-A checkers, panel agreement,
/// T3 and low-agreement panels to a human) adapted to the node's records. One gate per loaded policy, built on first use
/// (the policy is loaded after the host starts, so it cannot be built at registration).
/// </summary>
public sealed class RouterVerificationGate : IVerificationGate
{
    private readonly ConditionalWeakTable<RoutingPolicy, RouterGate.VerificationGate> _gates = new();

    private RouterGate.VerificationGate For(RoutingPolicy policy) => _gates.GetValue(policy, p => new RouterGate.VerificationGate(p));

    public bool CanStreamLive(RouteDecision decision, RoutingPolicy policy) => For(policy).CanStreamLive(decision);

    public GateVerdict Judge(RouteDecision decision, RouteQuery query, IReadOnlyList<string> answers, RoutingPolicy policy)
    {
        var v = For(policy).Evaluate(decision, query, answers.Select((a, i) => new PanelAnswer(decision.Specialists[i], a)).ToList());
        var status = v.Outcome switch
        {
            RouterGate.VerificationOutcome.Passed => VerificationStatus.Passed,
            RouterGate.VerificationOutcome.Unchecked => VerificationStatus.Unchecked,
            RouterGate.VerificationOutcome.Failed => VerificationStatus.Failed,
            _ => VerificationStatus.NeedsReview,
        };
        return new GateVerdict(v.AnswerIndex, new VerificationInfo(status, v.Class.ToString(), v.Checks.Select(CheckResult.From).ToList(),
            VerificationInfo.MemoryNotUsed, v.Reason, v.Panel is null ? null : PanelInfo.From(v.Panel)));
    }
}
