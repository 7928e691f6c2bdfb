using System.Collections.Immutable;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Diip;

/// <summary>Seed §10.6 lifecycle states; <see cref="Rejected"/> and <see cref="RolledBack"/> are the exits.</summary>
public enum DiipState
{
    /// <summary>Signed by its producer, not yet submitted.</summary>
    Draft,
    /// <summary>Submitted with bond, recipe and provenance.</summary>
    Submitted,
    /// <summary>The automated gauntlet runs (holdout committed).</summary>
    Gauntlet,
    /// <summary>Champion–challenger in the shadows.</summary>
    ShadowSoak,
    /// <summary>Class 1 on an objective topic: adopted by the gauntlet, awaiting activation.</summary>
    AutoAdopt,
    /// <summary>Competence-weighted vote open.</summary>
    Vote,
    /// <summary>Vote passed; waiting out the time-lock (veto window at its start).</summary>
    TimeLock,
    /// <summary>Champion switched; incumbent kept warm.</summary>
    Active,
    /// <summary>Post-activation monitoring with the circuit-breaker.</summary>
    PostMonitoring,
    /// <summary>Done: the candidate is the champion for good.</summary>
    Finalized,
    /// <summary>Exit: refused (gauntlet, soak, vote, veto or withdrawal).</summary>
    Rejected,
    /// <summary>Exit: rolled back after activation (circuit-breaker or manual).</summary>
    RolledBack,
}

/// <summary>The event kinds (the <c>kind</c> of a <c>diip.event</c> envelope) and who must sign each.</summary>
public static class DiipEventKinds
{
    /// <summary>Producer: the signed proposal enters as a draft.</summary>
    public const string Draft = "draft";
    /// <summary>Producer: submission (bond posted).</summary>
    public const string Submit = "submit";
    /// <summary>Producer: withdraw a draft or a submitted proposal.</summary>
    public const string Withdraw = "withdraw";
    /// <summary>Authority: the gauntlet starts; data: holdout_commitment, objective.</summary>
    public const string GauntletStart = "gauntlet_start";
    /// <summary>Authority: the gauntlet's measurements (<see cref="GauntletEvidence"/>).</summary>
    public const string GauntletResult = "gauntlet_result";
    /// <summary>Authority: the shadow soak's paired counts; data: b, c, n.</summary>
    public const string SoakResult = "soak_result";
    /// <summary>Any node: a ballot; data: approve.</summary>
    public const string Vote = "vote";
    /// <summary>Any node: a prediction before the outcome; data: outcome (adopt|reject).</summary>
    public const string Predict = "predict";
    /// <summary>Authority: close the vote; data: electorate {node id: competence}.</summary>
    public const string VoteClose = "vote_close";
    /// <summary>Authority: veto during the veto window; data: reason.</summary>
    public const string Veto = "veto";
    /// <summary>Authority: switch the champion; data: incumbent, baseline_pass_rate.</summary>
    public const string Activate = "activate";
    /// <summary>Authority: a post-activation monitoring report; data: pass_rate, n, drift.</summary>
    public const string Monitor = "monitor";
    /// <summary>Authority: finalize after post-monitoring.</summary>
    public const string Finalize = "finalize";
    /// <summary>Authority: manual rollback; data: reason.</summary>
    public const string Rollback = "rollback";

    /// <summary>Every kind.</summary>
    public static readonly IReadOnlyList<string> All = [Draft, Submit, Withdraw, GauntletStart, GauntletResult, SoakResult, Vote, Predict, VoteClose, Veto, Activate, Monitor, Finalize, Rollback];
}

/// <summary>A decoded <c>diip.event</c> envelope: proposal id, kind, time (Unix ms), data and signer.</summary>
public sealed record DiipEvent(string Proposal, string Kind, long At, JsonObject Data, NodeId Signer, SignedEnvelope Envelope)
{
    /// <summary>The envelope type of every DIIP event.</summary>
    public const string EnvelopeType = "diip.event";

    /// <summary>Signs an event. <paramref name="at"/> comes from the caller's <see cref="TimeProvider"/> (see <see cref="Create(string, string, JsonObject, NodeKey, TimeProvider)"/>).</summary>
    public static SignedEnvelope Create(string proposal, string kind, long at, JsonObject data, NodeKey key) =>
        SignedEnvelope.Seal(EnvelopeType, new JsonObject { ["proposal"] = proposal, ["kind"] = kind, ["at"] = at, ["data"] = data }, key);

    /// <summary>Signs an event stamped with <paramref name="time"/>'s current UTC time.</summary>
    public static SignedEnvelope Create(string proposal, string kind, JsonObject data, NodeKey key, TimeProvider time) =>
        Create(proposal, kind, time.GetUtcNow().ToUnixTimeMilliseconds(), data, key);

    /// <summary>The draft event of a signed proposal (signed by the same producer).</summary>
    public static SignedEnvelope CreateDraft(SignedEnvelope proposal, long at, NodeKey producer) =>
        Create(proposal.Id.ToString(), DiipEventKinds.Draft, at, new JsonObject { ["proposal"] = proposal.ToJson() }, producer);

    /// <summary>Verifies and decodes an envelope.</summary>
    /// <exception cref="DiipException">diip.signature_invalid or diip.event_invalid.</exception>
    public static DiipEvent Decode(SignedEnvelope env)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env.Type != EnvelopeType) throw Js.Bad($"expected an envelope of type {EnvelopeType}, found {env.Type}");
        var check = env.Verify();
        if (!check.IsValid) throw new DiipException(DiipErrors.SignatureInvalid, $"event {env.Id}: {check.Message}");
        var o = Js.Obj(env.Payload, "event", ["proposal", "kind", "at", "data"]);
        var kind = Js.Str(o, "kind", "event");
        if (!DiipEventKinds.All.Contains(kind)) throw Js.Bad($"event kind '{kind}' is unknown; expected one of {string.Join(", ", DiipEventKinds.All)}");
        if (!o.TryGetValue("at", out var atv) || atv is not JsonInt ai || !ai.TryGetInt64(out var at) || at < 0) throw Js.Bad("event: expected 'at' as Unix milliseconds (an integer >= 0)");
        if (!o.TryGetValue("data", out var dv) || dv is not JsonObject data) throw Js.Bad("event: expected 'data' as a JSON object");
        return new DiipEvent(Js.Str(o, "proposal", "event"), kind, at, data, env.Signer, env);
    }
}

/// <summary>One applied event, for the history: kind, time, signer, the state before and after.</summary>
public sealed record DiipHistoryEntry(string Kind, long At, string Signer, DiipState From, DiipState To, string EventId);

/// <summary>A monitoring report and whether it tripped the circuit-breaker.</summary>
public sealed record DiipMonitorReport(long At, double PassRate, int N, double Drift, bool Tripped, string? Reason);

/// <summary>
/// One proposal's state: a pure fold of its events. Immutable; every applied event yields a new value.
/// </summary>
public sealed record DiipStatus
{
    /// <summary>Proposal id: the CID of the signed proposal envelope.</summary>
    public required string Id { get; init; }
    /// <summary>The proposal.</summary>
    public required DiipProposal Proposal { get; init; }
    /// <summary>The signed proposal envelope.</summary>
    public required SignedEnvelope ProposalEnvelope { get; init; }
    /// <summary>The producer (signer of the proposal).</summary>
    public required string Producer { get; init; }
    /// <summary>Current state.</summary>
    public DiipState State { get; init; }
    /// <summary>Time of the last applied event (Unix ms).</summary>
    public long LastAt { get; init; }
    /// <summary>Time the current state was entered (Unix ms).</summary>
    public long StateSince { get; init; }
    /// <summary>The target topic is objective (class A): a class-1 proposal can be auto-adopted. Set at gauntlet start.</summary>
    public bool Objective { get; init; }
    /// <summary>Holdout commitment recorded at gauntlet start (commit-reveal).</summary>
    public string? HoldoutCommitment { get; init; }
    /// <summary>The gauntlet's evidence.</summary>
    public GauntletEvidence? GauntletEvidence { get; init; }
    /// <summary>The gauntlet's verdict, recomputed from the evidence under the policy.</summary>
    public GauntletVerdict? GauntletVerdict { get; init; }
    /// <summary>Shadow soak non-inferiority result.</summary>
    public NonInferiorityResult? Soak { get; init; }
    /// <summary>Ballots in order.</summary>
    public ImmutableList<DiipBallot> Ballots { get; init; } = [];
    /// <summary>Predictions (predictor, adopt?) in order.</summary>
    public ImmutableList<(string Predictor, bool Adopt)> Predictions { get; init; } = [];
    /// <summary>Predictors credited once the outcome was known.</summary>
    public IReadOnlyList<string> Credited { get; init; } = [];
    /// <summary>The vote's tally.</summary>
    public DiipTally? Tally { get; init; }
    /// <summary>The incumbent kept warm at activation.</summary>
    public string? Incumbent { get; init; }
    /// <summary>Canary pass rate before activation (the circuit-breaker's baseline).</summary>
    public double? BaselinePassRate { get; init; }
    /// <summary>Activation time (Unix ms).</summary>
    public long? ActivatedAt { get; init; }
    /// <summary>Monitoring reports.</summary>
    public ImmutableList<DiipMonitorReport> Monitoring { get; init; } = [];
    /// <summary>The bond was burned (backdoor or misrepresentation).</summary>
    public bool BondBurned { get; init; }
    /// <summary>Why the proposal left through an exit.</summary>
    public string? ExitReason { get; init; }
    /// <summary>Every applied event.</summary>
    public ImmutableList<DiipHistoryEntry> History { get; init; } = [];

    /// <summary>The rules of this proposal's class under <paramref name="policy"/>.</summary>
    public DiipClassRules Rules(DiipPolicy policy) => policy.For(Proposal.Class);

    /// <summary>True in Finalized, Rejected or RolledBack.</summary>
    public bool IsTerminal => State is DiipState.Finalized or DiipState.Rejected or DiipState.RolledBack;
}

/// <summary>The result of offering one event: accepted with the new status, or refused with a typed reason.</summary>
public sealed record DiipApplyResult(DiipStatus? Status, string? Code, string? Message)
{
    /// <summary>True when the event was accepted.</summary>
    public bool Accepted => Code is null;
}

/// <summary>
/// The DIIP lifecycle (seed §10.6) as a pure fold over signed events. <see cref="Apply"/> accepts or refuses one event
/// with a typed reason (<see cref="DiipErrors"/>); the book changes only on acceptance, so the accepted events replayed
/// in order (<see cref="Replay"/>) give the same state. Time is only what the events carry.
/// </summary>
/// <remarks>
/// Authority events (gauntlet, soak, vote close, veto, activation, monitoring, finalization, rollback) must be signed by
/// one of <see cref="Authorities"/> when that set is given (the consortium's governance keys); with none given any valid
/// signature is accepted (a single-node demo). Draft, submit and withdraw must be signed by the producer; ballots and
/// predictions by the voter or predictor they name (their signer).
/// </remarks>
public sealed class DiipBook(DiipPolicy policy, IReadOnlySet<NodeId>? authorities = null)
{
    private readonly Dictionary<string, DiipStatus> _proposals = new(StringComparer.Ordinal);
    private readonly List<SignedEnvelope> _accepted = [];

    /// <summary>The policy the bars come from.</summary>
    public DiipPolicy Policy { get; } = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>Keys allowed to sign authority events; null: any.</summary>
    public IReadOnlySet<NodeId>? Authorities { get; } = authorities;

    /// <summary>Every proposal, ordered by first event.</summary>
    public IReadOnlyList<DiipStatus> Proposals => _order.Select(id => _proposals[id]).ToArray();
    private readonly List<string> _order = [];

    /// <summary>The accepted events in order (what a store persists).</summary>
    public IReadOnlyList<SignedEnvelope> Accepted => _accepted;

    /// <summary>A proposal by id (or a unique id prefix of at least 8 characters), or null.</summary>
    public DiipStatus? Find(string idOrPrefix)
    {
        if (_proposals.TryGetValue(idOrPrefix, out var s)) return s;
        if (idOrPrefix.Length < 8) return null;
        var m = _order.Where(id => id.StartsWith(idOrPrefix, StringComparison.Ordinal)).ToArray();
        return m.Length == 1 ? _proposals[m[0]] : null;
    }

    /// <summary>Replays stored events; a refused event means the log is not a valid history.</summary>
    /// <exception cref="DiipException">diip.log_corrupt naming the event index and the refusal.</exception>
    public static DiipBook Replay(DiipPolicy policy, IEnumerable<SignedEnvelope> events, IReadOnlySet<NodeId>? authorities = null)
    {
        var book = new DiipBook(policy, authorities);
        int i = 0;
        foreach (var e in events)
        {
            var r = book.Apply(e);
            if (!r.Accepted) throw new DiipException(DiipErrors.LogCorrupt, $"stored event #{i} ({e.Id}) does not replay: {r.Code}: {r.Message}");
            i++;
        }
        return book;
    }

    /// <summary>Offers one event. Accepted: the book records it and returns the new status. Refused: nothing changes.</summary>
    public DiipApplyResult Apply(SignedEnvelope envelope)
    {
        try
        {
            var ev = DiipEvent.Decode(envelope);
            var next = Step(ev);
            _proposals[next.Id] = next;
            if (!_order.Contains(next.Id)) _order.Add(next.Id);
            _accepted.Add(envelope);
            return new DiipApplyResult(next, null, null);
        }
        catch (DiipException e)
        {
            return new DiipApplyResult(null, e.Code, e.Reason);
        }
    }

    private static DiipException Refuse(string code, string message) => new(code, message);

    /// <summary>Unix ms as ISO-8601 UTC with the raw number, for messages.</summary>
    private static string Iso(long ms) =>
        $"{DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture)} ({ms})";

    private static DiipException Invalid(DiipStatus s, string kind, string allowed) =>
        Refuse(DiipErrors.InvalidTransition, $"'{kind}' is not allowed in state {s.State} (proposal {s.Id[..12]}); it is allowed in {allowed}");

    private void RequireAuthority(DiipEvent ev)
    {
        if (Authorities is { } a && !a.Contains(ev.Signer))
            throw Refuse(DiipErrors.NotAuthorized, $"'{ev.Kind}' must be signed by a governance authority; {ev.Signer} is not one");
    }

    private DiipStatus Step(DiipEvent ev)
    {
        if (ev.Kind == DiipEventKinds.Draft)
        {
            var d = Draft(ev);
            return d with { History = [new DiipHistoryEntry(ev.Kind, ev.At, ev.Signer.ToString(), DiipState.Draft, DiipState.Draft, ev.Envelope.Id.ToString())] };
        }
        if (!_proposals.TryGetValue(ev.Proposal, out var s))
            throw Refuse(DiipErrors.UnknownProposal, $"no proposal {ev.Proposal}; its draft event must come first");
        if (ev.At < s.LastAt)
            throw Refuse(DiipErrors.TimeWentBackwards, $"event time {Iso(ev.At)} is before the proposal's last event at {Iso(s.LastAt)}; events are applied in time order");
        var rules = s.Rules(Policy);
        var from = s.State;
        var next = ev.Kind switch
        {
            DiipEventKinds.Submit => Submit(s, ev),
            DiipEventKinds.Withdraw => Withdraw(s, ev),
            DiipEventKinds.GauntletStart => GauntletStart(s, ev),
            DiipEventKinds.GauntletResult => GauntletResult(s, ev),
            DiipEventKinds.SoakResult => SoakResult(s, ev, rules),
            DiipEventKinds.Vote => Ballot(s, ev),
            DiipEventKinds.Predict => Predict(s, ev),
            DiipEventKinds.VoteClose => VoteClose(s, ev, rules),
            DiipEventKinds.Veto => Veto(s, ev, rules),
            DiipEventKinds.Activate => Activate(s, ev, rules),
            DiipEventKinds.Monitor => Monitor(s, ev),
            DiipEventKinds.Finalize => Finalize(s, ev, rules),
            DiipEventKinds.Rollback => Rollback(s, ev),
            _ => throw Js.Bad($"event kind '{ev.Kind}' is unknown"),
        };
        return next with
        {
            LastAt = ev.At,
            StateSince = next.State != from ? ev.At : s.StateSince,
            History = next.History.Add(new DiipHistoryEntry(ev.Kind, ev.At, ev.Signer.ToString(), from, next.State, ev.Envelope.Id.ToString())),
        };
    }

    private DiipStatus Draft(DiipEvent ev)
    {
        if (!ev.Data.TryGetValue("proposal", out var pv)) throw Js.Bad("draft: expected data.proposal (the signed proposal envelope)");
        if (!SignedEnvelope.TryFromJson(pv, out var penv, out var err)) throw Js.Bad($"draft: data.proposal: {err}");
        if (penv.Type != DiipProposal.EnvelopeType) throw Js.Bad($"draft: data.proposal must be a {DiipProposal.EnvelopeType} envelope, found {penv.Type}");
        var check = penv.Verify();
        if (!check.IsValid) throw Refuse(DiipErrors.SignatureInvalid, $"proposal {penv.Id}: {check.Message}");
        if (penv.Signer != ev.Signer) throw Refuse(DiipErrors.SignatureInvalid, $"the draft event must be signed by the proposal's producer {penv.Signer}, found {ev.Signer}");
        if (ev.Proposal != penv.Id.ToString()) throw Js.Bad($"draft: event proposal {ev.Proposal} is not the proposal envelope's id {penv.Id}");
        if (_proposals.TryGetValue(ev.Proposal, out var existing)) throw Refuse(DiipErrors.DuplicateProposal, $"proposal {ev.Proposal} already exists (state {existing.State})");
        if (!DiipProposal.TryFromJson(penv.Payload, out var proposal, out var perr)) throw Refuse(DiipErrors.ProposalInvalid, perr);
        return new DiipStatus
        {
            Id = ev.Proposal, Proposal = proposal, ProposalEnvelope = penv, Producer = penv.Signer.ToString(),
            State = DiipState.Draft, LastAt = ev.At, StateSince = ev.At,
        };
    }

    private DiipStatus Submit(DiipStatus s, DiipEvent ev)
    {
        if (s.State != DiipState.Draft) throw Invalid(s, ev.Kind, "Draft");
        RequireProducer(s, ev);
        var p = s.Proposal;
        var min = s.Rules(Policy).Bond;
        if (p.Bond < min) throw Refuse(DiipErrors.BondInsufficient, $"bond {p.Bond} is below the class-{(int)p.Class} minimum {min} (policies/diip.yaml); post a larger bond in a new proposal");
        if (string.IsNullOrWhiteSpace(p.ProvenanceManifest) || !Federation.Registry.Cid.TryParse(p.ProvenanceManifest, out _))
            throw Refuse(DiipErrors.ProvenanceIncomplete, "provenance_manifest: expected the manifest's CID (64 hex); provenance is mandatory (seed §10.3)");
        if (p.CandidateKind != DiipCandidateKind.PolicyDiff && string.IsNullOrWhiteSpace(p.Recipe))
            throw Refuse(DiipErrors.ProvenanceIncomplete, "recipe: expected base + dataset hash + config so auditors can reproduce the weights (seed §10.2)");
        return s with { State = DiipState.Submitted };
    }

    private static void RequireProducer(DiipStatus s, DiipEvent ev)
    {
        if (ev.Signer.ToString() != s.Producer) throw Refuse(DiipErrors.SignatureInvalid, $"'{ev.Kind}' must be signed by the producer {s.Producer}, found {ev.Signer}");
    }

    private DiipStatus Withdraw(DiipStatus s, DiipEvent ev)
    {
        if (s.State is not (DiipState.Draft or DiipState.Submitted)) throw Invalid(s, ev.Kind, "Draft, Submitted (once the gauntlet runs a proposal cannot be withdrawn)");
        RequireProducer(s, ev);
        return s with { State = DiipState.Rejected, ExitReason = "withdrawn by the producer" };
    }

    private DiipStatus GauntletStart(DiipStatus s, DiipEvent ev)
    {
        if (s.State != DiipState.Submitted) throw Invalid(s, ev.Kind, "Submitted");
        RequireAuthority(ev);
        var o = Js.Obj(ev.Data, "gauntlet_start", ["holdout_commitment", "objective"]);
        var commit = Js.Str(o, "holdout_commitment", "gauntlet_start");
        if (!Federation.Registry.Cid.TryParse(commit, out _, out var err)) throw Js.Bad($"gauntlet_start.holdout_commitment: expected a SHA-256 commitment (64 hex), {err}");
        return s with { State = DiipState.Gauntlet, HoldoutCommitment = commit, Objective = Js.Bool(o, "objective", "gauntlet_start") };
    }

    private DiipStatus GauntletResult(DiipStatus s, DiipEvent ev)
    {
        if (s.State != DiipState.Gauntlet) throw Invalid(s, ev.Kind, "Gauntlet");
        RequireAuthority(ev);
        var evidence = GauntletEvidence.FromJson(ev.Data);
        if (evidence.Holdout is { } ho)
        {
            // Commit-reveal: numbers measured on a holdout other than the one committed at gauntlet_start are not trusted.
            if (!string.Equals(ho.Commitment(), s.HoldoutCommitment, StringComparison.Ordinal))
                throw Js.Bad($"gauntlet_result.holdout: the revealed salt and canaries hash to {ho.Commitment()}, not to the commitment {s.HoldoutCommitment} published at gauntlet_start");
            if (evidence.HeadToHead is { } hh && hh.N != ho.Canaries.Count)
                throw Js.Bad($"gauntlet_result.head_to_head.n: {hh.N} items, but the revealed holdout has {ho.Canaries.Count} canaries");
        }
        var verdict = DiipGauntlet.Judge(s.Proposal, evidence, Policy);
        var next = s with { GauntletEvidence = evidence, GauntletVerdict = verdict };
        return verdict.Passed
            ? next with { State = DiipState.ShadowSoak }
            : Decided(next with { State = DiipState.Rejected, BondBurned = verdict.BurnBond, ExitReason = "gauntlet: " + string.Join("; ", verdict.Reasons) }, adopted: false);
    }

    private DiipStatus SoakResult(DiipStatus s, DiipEvent ev, DiipClassRules rules)
    {
        if (s.State != DiipState.ShadowSoak) throw Invalid(s, ev.Kind, "ShadowSoak");
        RequireAuthority(ev);
        var soaked = TimeSpan.FromMilliseconds(ev.At - s.StateSince);
        if (soaked < rules.Soak)
            throw Refuse(DiipErrors.SoakTooShort, $"the shadow soak has run {DiipPolicyLoader.FormatDuration(TimeSpan.FromSeconds((long)soaked.TotalSeconds))}; class {(int)s.Proposal.Class} needs at least {DiipPolicyLoader.FormatDuration(rules.Soak)} (profile {Policy.Profile}); report again at or after {Iso(s.StateSince + (long)rules.Soak.TotalMilliseconds)}");
        var counts = Js.Counts(Js.Obj(ev.Data, "soak_result", ["b", "c", "n"]), "soak_result");
        var r = DiipStatistics.NonInferiority(counts, Policy.Gauntlet.NonInferiorityMargin, Policy.Gauntlet.Alpha);
        var next = s with { Soak = r };
        if (!r.Passed)
            return Decided(next with { State = DiipState.Rejected, ExitReason = $"shadow soak: the challenger is worse on live traffic (lower bound {r.LowerBound:0.####} <= -margin {-r.Margin})" }, adopted: false);
        // Seed §10.4: measurement settles class 1 on objective topics; everything else goes to a vote.
        return s.Proposal.Class == DiipClass.TopicAdapter && s.Objective
            ? Decided(next with { State = DiipState.AutoAdopt }, adopted: true)
            : next with { State = DiipState.Vote };
    }

    private static DiipStatus Decided(DiipStatus s, bool adopted) =>
        s with { Credited = DiipVoting.Credited(s.Predictions, adopted) };

    private static DiipStatus Ballot(DiipStatus s, DiipEvent ev)
    {
        if (s.State != DiipState.Vote) throw Invalid(s, ev.Kind, "Vote");
        var approve = Js.Bool(Js.Obj(ev.Data, "vote", ["approve"]), "approve", "vote");
        var voter = ev.Signer.ToString();
        if (s.Ballots.Any(b => b.Voter == voter)) throw Refuse(DiipErrors.DuplicateBallot, $"{voter} has already voted on {s.Id[..12]}; one ballot per node");
        return s with { Ballots = s.Ballots.Add(new DiipBallot(voter, approve)) };
    }

    private static DiipStatus Predict(DiipStatus s, DiipEvent ev)
    {
        if (s.State is not (DiipState.Submitted or DiipState.Gauntlet or DiipState.ShadowSoak or DiipState.Vote))
            throw Invalid(s, ev.Kind, "Submitted, Gauntlet, ShadowSoak, Vote (a prediction is filed before the outcome)");
        var outcome = Js.Str(Js.Obj(ev.Data, "predict", ["outcome"]), "outcome", "predict");
        if (outcome is not ("adopt" or "reject")) throw Js.Bad($"predict.outcome: expected adopt or reject, found '{outcome}'");
        var who = ev.Signer.ToString();
        if (s.Predictions.Any(p => p.Predictor == who)) throw Refuse(DiipErrors.DuplicateBallot, $"{who} has already filed a prediction on {s.Id[..12]}");
        return s with { Predictions = s.Predictions.Add((who, outcome == "adopt")) };
    }

    private DiipStatus VoteClose(DiipStatus s, DiipEvent ev, DiipClassRules rules)
    {
        if (s.State != DiipState.Vote) throw Invalid(s, ev.Kind, "Vote");
        RequireAuthority(ev);
        if (TimeSpan.FromMilliseconds(ev.At - s.StateSince) < rules.VotePeriod)
            throw Refuse(DiipErrors.VoteStillOpen, $"the vote must stay open {DiipPolicyLoader.FormatDuration(rules.VotePeriod)}; close it at or after {Iso(s.StateSince + (long)rules.VotePeriod.TotalMilliseconds)}");
        var eo = Js.Obj(ev.Data, "vote_close", ["electorate"]);
        if (!eo.TryGetValue("electorate", out var el) || el is not JsonObject em) throw Js.Bad("vote_close: expected electorate as {node id: competence without stake}");
        var competence = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var k in em.Keys)
        {
            var c = Js.Num(em, k, "vote_close.electorate");
            if (!(c >= 0)) throw Js.Bad($"vote_close.electorate.{k}: expected competence >= 0, found {c}");
            competence[k] = c;
        }
        var tally = DiipVoting.Tally(competence, s.Ballots, s.Producer, rules.Threshold, rules.Quorum, Policy.Voting);
        var next = s with { Tally = tally };
        if (tally.Passed) return Decided(next with { State = DiipState.TimeLock }, adopted: true);
        var why = !tally.QuorumMet ? $"quorum not met: turnout {tally.Turnout:0.###} < {rules.Quorum}" : $"approval {tally.Approval:0.###} < threshold {rules.Threshold}";
        return Decided(next with { State = DiipState.Rejected, ExitReason = "vote: " + why }, adopted: false);
    }

    private DiipStatus Veto(DiipStatus s, DiipEvent ev, DiipClassRules rules)
    {
        if (s.State != DiipState.TimeLock) throw Invalid(s, ev.Kind, "TimeLock");
        RequireAuthority(ev);
        var closes = s.StateSince + (long)rules.VetoWindow.TotalMilliseconds;
        if (ev.At >= closes) throw Refuse(DiipErrors.VetoWindowClosed, $"the veto window ({DiipPolicyLoader.FormatDuration(rules.VetoWindow)} from the time-lock's start) closed at {Iso(closes)}; the veto at {Iso(ev.At)} is too late");
        var reason = Js.Str(Js.Obj(ev.Data, "veto", ["reason"]), "reason", "veto");
        return s with { State = DiipState.Rejected, ExitReason = $"vetoed: {reason}" };
    }

    private DiipStatus Activate(DiipStatus s, DiipEvent ev, DiipClassRules rules)
    {
        if (s.State is not (DiipState.AutoAdopt or DiipState.TimeLock)) throw Invalid(s, ev.Kind, "AutoAdopt, TimeLock");
        RequireAuthority(ev);
        if (s.State == DiipState.TimeLock && ev.At < s.StateSince + (long)rules.TimeLock.TotalMilliseconds)
            throw Refuse(DiipErrors.TimeLockActive, $"the time-lock ({DiipPolicyLoader.FormatDuration(rules.TimeLock)}) ends at {Iso(s.StateSince + (long)rules.TimeLock.TotalMilliseconds)}; activation at {Iso(ev.At)} is too early");
        var o = Js.Obj(ev.Data, "activate", ["incumbent", "baseline_pass_rate"]);
        var baseline = Js.Num(o, "baseline_pass_rate", "activate");
        if (baseline is < 0 or > 1) throw Js.Bad($"activate.baseline_pass_rate: expected a number in [0, 1], found {baseline}");
        return s with { State = DiipState.Active, Incumbent = Js.Str(o, "incumbent", "activate"), BaselinePassRate = baseline, ActivatedAt = ev.At };
    }

    private DiipStatus Monitor(DiipStatus s, DiipEvent ev)
    {
        if (s.State is not (DiipState.Active or DiipState.PostMonitoring)) throw Invalid(s, ev.Kind, "Active, PostMonitoring");
        RequireAuthority(ev);
        var o = Js.Obj(ev.Data, "monitor", ["pass_rate", "n", "drift"]);
        var rate = Js.Num(o, "pass_rate", "monitor");
        if (rate is < 0 or > 1) throw Js.Bad($"monitor.pass_rate: expected a number in [0, 1], found {rate}");
        var n = Js.Int(o, "n", "monitor");
        var drift = Js.Num(o, "drift", "monitor");
        var (trip, reason) = DiipCircuitBreaker.Evaluate(s.BaselinePassRate ?? 0, rate, n, drift, Policy.Monitoring);
        var report = new DiipMonitorReport(ev.At, rate, n, drift, trip, reason);
        var next = s with { Monitoring = s.Monitoring.Add(report) };
        return trip
            ? next with { State = DiipState.RolledBack, ExitReason = $"circuit-breaker: {reason}; incumbent {s.Incumbent} restored" }
            : next with { State = DiipState.PostMonitoring };
    }

    private DiipStatus Finalize(DiipStatus s, DiipEvent ev, DiipClassRules rules)
    {
        if (s.State != DiipState.PostMonitoring) throw Invalid(s, ev.Kind, "PostMonitoring");
        RequireAuthority(ev);
        var ends = (s.ActivatedAt ?? s.StateSince) + (long)rules.PostMonitoring.TotalMilliseconds;
        if (ev.At < ends) throw Refuse(DiipErrors.MonitoringTooShort, $"post-monitoring must last {DiipPolicyLoader.FormatDuration(rules.PostMonitoring)} from activation; finalize at or after {Iso(ends)}");
        return s with { State = DiipState.Finalized };
    }

    private DiipStatus Rollback(DiipStatus s, DiipEvent ev)
    {
        if (s.State is not (DiipState.Active or DiipState.PostMonitoring)) throw Invalid(s, ev.Kind, "Active, PostMonitoring");
        RequireAuthority(ev);
        var reason = Js.Str(Js.Obj(ev.Data, "rollback", ["reason"]), "reason", "rollback");
        return s with { State = DiipState.RolledBack, ExitReason = $"manual rollback: {reason}; incumbent {s.Incumbent} restored" };
    }
}

/// <summary>Post-activation circuit-breaker (seed §10.5: "a post-deploy regression triggers auto-rollback").</summary>
public static class DiipCircuitBreaker
{
    /// <summary>Trips when the live canary pass rate fell more than the allowed drop below the baseline (on enough samples), or drift is too high.</summary>
    public static (bool Trip, string? Reason) Evaluate(double baseline, double passRate, int n, double drift, DiipMonitoringRules rules)
    {
        if (drift > rules.MaxDrift) return (true, $"drift {drift:0.###} > {rules.MaxDrift}");
        if (n >= rules.MinSamples && baseline - passRate > rules.MaxPassRateDrop)
            return (true, $"live canary pass rate {passRate:0.###} on {n} canaries fell {baseline - passRate:0.###} below the baseline {baseline:0.###} (allowed {rules.MaxPassRateDrop})");
        return (false, null);
    }
}
