namespace Federation.Router.Verification;

/// <summary>What the gate decided about an answer.</summary>
public enum VerificationOutcome
{
    /// <summary>A checker confirmed it, or a panel agreed: release.</summary>
    Passed,
    /// <summary>Nothing objective applies: release on the specialist's trust score (recorded as unchecked).</summary>
    Unchecked,
    /// <summary>A class-A checker refuted it: withhold (the node answers 422 <c>verification.failed</c>).</summary>
    Failed,
    /// <summary>A human must approve it first: every T3 answer, and a class-C panel that did not agree.</summary>
    NeedsReview,
}

/// <summary>
/// The gate's verdict. Invariant: <see cref="Released"/> is true exactly for <see cref="VerificationOutcome.Passed"/> and
/// <see cref="VerificationOutcome.Unchecked"/>; a T3 verdict is never released without review.
/// </summary>
/// <param name="Outcome">The decision.</param>
/// <param name="Class">The topic's verification class.</param>
/// <param name="Tier">The tier the gate applied: the higher of the decision's and the policy's tier for the topic.</param>
/// <param name="AnswerIndex">Which answer is the one to release or review (the panel's largest agreeing group's first member; 0 without a panel).</param>
/// <param name="Checks">Every checker's result on that answer, in the policy's order.</param>
/// <param name="Panel">Panel agreement, when more than one specialist answered.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record GateVerdict(
    VerificationOutcome Outcome,
    VerificationClass Class,
    TrustTier Tier,
    int AnswerIndex,
    IReadOnlyList<CheckResult> Checks,
    PanelAgreementReport? Panel,
    string Reason)
{
    /// <summary>True when the answer may be released now.</summary>
    public bool Released => Outcome is VerificationOutcome.Passed or VerificationOutcome.Unchecked;

    /// <summary>The wire name of <see cref="Outcome"/>: <c>passed</c>, <c>unchecked</c>, <c>failed</c> or <c>needs_review</c>.</summary>
    public string Status => Outcome switch
    {
        VerificationOutcome.Passed => "passed",
        VerificationOutcome.Unchecked => "unchecked",
        VerificationOutcome.Failed => "failed",
        _ => "needs_review",
    };
}

/// <summary>
/// The verification gate (DESIGN.md request path; seed §"Verification architecture"): a pure function of (route decision,
/// answers, policy) — no clock, no I/O. In order: panel agreement when several specialists answered (the largest
/// agreeing group's first member is the answer); the topic's class-A checkers from the policy's <c>checkers</c>; a
/// refutation withholds the answer; T3 always goes to a human; a panel below <c>panel.agreement_threshold</c> goes to a
/// human; a passed check or an agreeing panel releases; otherwise the answer is released unchecked (trust score).
/// </summary>
public sealed class VerificationGate
{
    private readonly RoutingPolicy _policy;
    private readonly CheckerCatalog _catalog;

    /// <summary>A gate for <paramref name="policy"/>, resolving checker names in <paramref name="catalog"/> (default <see cref="CheckerCatalog.Builtin"/>).</summary>
    /// <exception cref="ArgumentException">The policy names a checker the catalogue lacks.</exception>
    public VerificationGate(RoutingPolicy policy, CheckerCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        _catalog = catalog ?? CheckerCatalog.Builtin;
        foreach (var t in policy.Topics)
            foreach (var c in t.Checkers)
                if (!_catalog.Contains(c))
                    throw new ArgumentException($"topic '{t.Id}' names checker '{c}', which the catalogue lacks (known: {string.Join(", ", _catalog.Names)})", nameof(catalog));
    }

    /// <summary>The policy this gate judges under.</summary>
    public RoutingPolicy Policy => _policy;

    /// <summary>
    /// True when an answer under <paramref name="decision"/> may be streamed as it is generated: nothing has to be checked
    /// before release (not T3, not a panel, no checkers for the topic).
    /// </summary>
    public bool CanStreamLive(RouteDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var topic = Topic(decision);
        return EffectiveTier(decision, topic) != TrustTier.T3 && decision.Mode != DispatchMode.Panel && decision.Specialists.Count == 1 && topic.Checkers.Count == 0;
    }

    /// <summary>Judges the answers to <paramref name="query"/>; the checkers read <see cref="RouteQuery.CheckText"/>.</summary>
    public GateVerdict Evaluate(RouteDecision decision, RouteQuery query, IReadOnlyList<PanelAnswer> answers)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Evaluate(decision, query.CheckText, answers);
    }

    /// <summary>
    /// Judges <paramref name="answers"/> (one per specialist of <paramref name="decision"/>, in its order) to the question
    /// <paramref name="question"/> under this gate's policy.
    /// </summary>
    /// <exception cref="ArgumentException">The decision was made under another policy, names an unknown topic, or the answers do not match its specialists.</exception>
    public GateVerdict Evaluate(RouteDecision decision, string question, IReadOnlyList<PanelAnswer> answers)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(answers);
        if (decision.PolicyCid != _policy.Cid)
            throw new ArgumentException($"the decision was made under policy {decision.PolicyCid}, this gate judges under {_policy.Cid}", nameof(decision));
        var topic = Topic(decision);
        if (answers.Count == 0 || answers.Count != decision.Specialists.Count)
            throw new ArgumentException($"expected one answer per specialist of the decision ({decision.Specialists.Count}), found {answers.Count}", nameof(answers));
        for (int i = 0; i < answers.Count; i++)
            if (answers[i].SpecialistId != decision.Specialists[i])
                throw new ArgumentException($"answer {i} is from '{answers[i].SpecialistId}', expected '{decision.Specialists[i]}' (the decision's order)", nameof(answers));

        var tier = EffectiveTier(decision, topic);
        var cls = topic.Class;
        PanelAgreementReport? panel = null;
        int index = 0;
        if (answers.Count > 1)
        {
            panel = PanelAgreement.Compare(answers, _policy.AgreementThreshold);
            if (panel.LargestAgreeingGroup.Count > 0)
                for (int i = 0; i < answers.Count; i++)
                    if (answers[i].SpecialistId == panel.LargestAgreeingGroup[0]) { index = i; break; }
        }
        var checks = new List<CheckResult>(topic.Checkers.Count);
        foreach (var name in topic.Checkers) checks.Add(_catalog.Get(name).Check(question, answers[index].Text));

        GateVerdict V(VerificationOutcome o, string reason) => new(o, cls, tier, index, checks, panel, reason);
        var failed = checks.Where(c => c.Outcome == CheckOutcome.Failed).ToList();
        if (failed.Count > 0)
            return V(VerificationOutcome.Failed, string.Join("; ", failed.Select(c => $"{c.Checker}: {c.Detail}")));
        if (tier == TrustTier.T3)
            return V(VerificationOutcome.NeedsReview, "T3 answers need human approval");
        if (panel is { Agreed: false })
            return V(VerificationOutcome.NeedsReview, $"panel agreement {Fmt(panel.MeanSimilarity)} is below {Fmt(panel.Threshold)}: escalated to a human");
        if (checks.Any(c => c.Outcome == CheckOutcome.Passed))
            return V(VerificationOutcome.Passed, string.Join("; ", checks.Select(c => $"{c.Checker}: {c.Detail}")));
        if (panel is not null)
            return V(VerificationOutcome.Passed, $"panel agreement {Fmt(panel.MeanSimilarity)}");
        return V(VerificationOutcome.Unchecked, checks.Count == 0
            ? "no objective checker applies; released on the specialist's trust score"
            : $"no checker applied ({string.Join("; ", checks.Select(c => $"{c.Checker}: {c.Detail}"))}); released on the specialist's trust score");
    }

    private TopicPolicy Topic(RouteDecision d) =>
        _policy.TopicsById.TryGetValue(d.Topic, out var t) ? t : throw new ArgumentException($"the decision names topic '{d.Topic}', which policy {_policy.Cid} does not declare", nameof(d));

    // A decision can only raise the tier the policy gives its topic, never lower it.
    private static TrustTier EffectiveTier(RouteDecision d, TopicPolicy t) => d.Tier > t.Tier ? d.Tier : t.Tier;

    private static string Fmt(double d) => d.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
