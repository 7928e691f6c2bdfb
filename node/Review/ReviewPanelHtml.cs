using System.Globalization;
using System.Text;
using System.Text.Json;
using Federation.Node.Explorer;
using Federation.Node.Hosting;
using Federation.Router;
using static Federation.Node.Explorer.HtmlPage;

namespace Federation.Node.Review;

/// <summary>
/// The signed-in reviewer's view of <c>/review</c> (issue 14 "The review page"): the queue with ages and counts; for each
/// pending T3 answer the query with the matched rule spans highlighted, the routing reason in words and the trace as a
/// list, every panel member's answer side by side with its specialist, base and adapter CIDs and provenance, the measured
/// agreement between them, the memory fragments used with their proof status, and one approve form per member (the
/// decision records which); then the reviewer's own past decisions linked to their ledger entries in the explorer.
/// Plain HTML forms with labelled controls; no script.
/// </summary>
internal static class ReviewPanelHtml
{
    private const string Style = """
        .item{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
        .panel{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.8rem}
        .member{border:1px solid #ddd;border-radius:6px;padding:.6rem;background:#fcfcfc}
        .member.draft{border-color:#88a}
        .member dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .5rem;font-size:.85em;margin:.3rem 0}
        .member dt{color:#555}.member dd{margin:0;word-break:break-all}
        textarea{width:100%;min-height:7rem;box-sizing:border-box}
        mark{background:#ffe58a;padding:0 .1em}
        .query{background:#f6f6f6;padding:.5rem;white-space:pre-wrap}
        label{display:block;margin-top:.4rem;font-size:.9em}
        """;

    private static string N(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);

    public static string List(string reviewer, string csrf, ReviewQueue queue, NodeRuntime? rt, DateTimeOffset now, string? msg)
    {
        var pending = queue.List(ReviewStatus.Pending);
        var (p, a, r) = queue.Counts();
        var sb = new StringBuilder();
        sb.Append(Flash(msg));
        sb.Append(CultureInfo.InvariantCulture, $"<p>Signed in as <b>{H(reviewer)}</b>. <form method=\"post\" action=\"/review/logout\" style=\"display:inline\"><button>Sign out</button></form></p>");

        sb.Append("<section id=\"queue\"><h2>Queue</h2>");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"counts\"><b class=\"pending-count\">{p}</b> pending");
        if (pending.Count > 0) sb.Append(CultureInfo.InvariantCulture, $", the oldest waiting <b>{Age(now - pending[0].CreatedAt)}</b>");
        sb.Append(CultureInfo.InvariantCulture, $"; {a} approved and {r} rejected so far.</p>");
        if (pending.Count > 0)
        {
            sb.Append("<table><thead><tr><th>review</th><th>topic</th><th>waiting</th><th>panel</th></tr></thead><tbody>");
            foreach (var i in pending)
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#{H(i.Id)}\">{H(i.Id)}</a></td><td>{H(i.Topic)}</td><td class=\"age\">{Age(now - i.CreatedAt)}</td><td>{Math.Max(1, i.Panel.Count)} answer(s)</td></tr>");
            sb.Append("</tbody></table>");
        }
        sb.Append("</section>");

        sb.Append(CultureInfo.InvariantCulture, $"<h2>Pending ({pending.Count})</h2>");
        if (pending.Count == 0) sb.Append("<p id=\"empty\">Nothing waits for review.</p>");
        foreach (var i in pending) Item(sb, i, queue.FactsJson(i.Id), rt, now, csrf);

        sb.Append("<section id=\"past\"><h2>Your past decisions</h2>");
        var mine = queue.DecidedBy(reviewer);
        if (mine.Count == 0) sb.Append("<p>None yet.</p>");
        else
        {
            sb.Append("<table><thead><tr><th>review</th><th>topic</th><th>decision</th><th>member</th><th>decided</th><th>ledger entry</th></tr></thead><tbody>");
            foreach (var i in mine)
            {
                var decision = i.Status == ReviewStatus.Approved ? "approved" : "rejected";
                var edited = i.Status == ReviewStatus.Approved && i.Member is { } m && i.Panel.FirstOrDefault(x => x.Specialist == m) is { } pm && pm.Text != i.FinalAnswer ? " (edited)" : "";
                var ledger = i.LedgerIndex is { } li ? $"<a href=\"/explorer/ledger/{li}\">entry {li} in the explorer</a>" : "not ledgered yet";
                sb.Append(CultureInfo.InvariantCulture, $"<tr data-past-review=\"{H(i.Id)}\"><td>{H(i.Id)}</td><td>{H(i.Topic)}</td><td class=\"status\">{decision}{edited}</td><td class=\"member-name\">{H(i.Member ?? "—")}</td><td>{H(i.DecidedAt?.ToString("u", CultureInfo.InvariantCulture))}</td><td>{ledger}</td></tr>");
            }
            sb.Append("</tbody></table>");
        }
        sb.Append("</section>");
        return Layout("T3 review", sb.ToString(), Style);
    }

    private static void Item(StringBuilder sb, ReviewItem i, string? factsJson, NodeRuntime? rt, DateTimeOffset now, string csrf)
    {
        using var route = Parse(i.RouteJson);
        using var facts = Parse(factsJson);
        var routeEl = route?.RootElement;
        var tier = Str(routeEl, "tier");
        var cls = Str(routeEl, "verification_class");
        sb.Append(CultureInfo.InvariantCulture, $"<article class=\"item\" id=\"{H(i.Id)}\" data-review-id=\"{H(i.Id)}\" aria-labelledby=\"h-{H(i.Id)}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<h3 id=\"h-{H(i.Id)}\">{H(i.Id)} · topic <b>{H(i.Topic)}</b>{(tier is null ? "" : $" · {H(tier)}")}{(cls is null ? "" : $" · class {H(cls)}")} · waiting {Age(now - i.CreatedAt)}</h3>");

        // the query with every matched rule's text highlighted
        var trace = routeEl is { } re && re.TryGetProperty("trace", out var t) && t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().ToList() : [];
        sb.Append("<h4>Query</h4><div class=\"query\">").Append(Highlight(i.Query, trace.Select(x => Str(x, "text")).OfType<string>())).Append("</div>");

        sb.Append("<h4>Why this route</h4>");
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"reason\">{H(Str(routeEl, "reason") ?? "no reason recorded")}.");
        if (routeEl is { } r2 && r2.TryGetProperty("score", out var score) && score.ValueKind == JsonValueKind.Number)
            sb.Append(CultureInfo.InvariantCulture, $" Score {N(score.GetDouble())}");
        if (routeEl is { } r3 && r3.TryGetProperty("runner_up", out var ru) && ru.ValueKind == JsonValueKind.Object)
            sb.Append(CultureInfo.InvariantCulture, $"; runner-up {H(Str(ru, "topic"))} at {N(ru.GetProperty("score").GetDouble())}");
        sb.Append(CultureInfo.InvariantCulture, $". Mode {H(Str(routeEl, "mode") ?? "?")}.</p>");
        if (trace.Count == 0) sb.Append("<p class=\"muted\">No rule matched (default topic).</p>");
        else
        {
            sb.Append("<ul class=\"trace\">");
            foreach (var m in trace)
                sb.Append(CultureInfo.InvariantCulture, $"<li>rule <code>{H(Str(m, "rule"))}</code> of topic <b>{H(Str(m, "topic"))}</b> ({H(Str(m, "kind"))} “{H(Str(m, "pattern"))}”, weight {N(m.TryGetProperty("weight", out var w) ? w.GetDouble() : 0)}) matched “<mark>{H(Str(m, "text"))}</mark>” in the {H(Str(m, "role"))} text</li>");
            sb.Append("</ul>");
        }

        // every panel member side by side (an item queued before panels were kept shows its one draft)
        var panel = i.Panel.Count > 0 ? i.Panel : [new PanelDraft(FirstSpecialist(facts) ?? "draft", i.Draft)];
        var verification = facts?.RootElement.TryGetProperty("verification", out var v) == true ? v : (JsonElement?)null;
        var threshold = verification is { } ve && ve.TryGetProperty("panel", out var pe) && pe.ValueKind == JsonValueKind.Object ? pe.GetProperty("threshold").GetDouble()
            : rt?.Policy.AgreementThreshold ?? 0.5;
        sb.Append(CultureInfo.InvariantCulture, $"<h4>Panel: {panel.Count} answer(s)</h4>");
        if (panel.Count > 1)
        {
            var report = PanelAgreement.Compare(panel.Select(x => new PanelAnswer(x.Specialist, x.Text)).ToList(), threshold);
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"agreement\">Measured agreement (word-set Jaccard): mean <b>{N(report.MeanSimilarity)}</b> against the threshold {N(threshold)} — {(report.Agreed ? "they agree" : "they do not agree")}; largest agreeing group: {H(string.Join(", ", report.LargestAgreeingGroup))}.</p><ul class=\"pairs\">");
            foreach (var pair in report.Pairs) sb.Append(CultureInfo.InvariantCulture, $"<li>{H(pair.A)} ↔ {H(pair.B)}: {N(pair.Similarity)}</li>");
            sb.Append("</ul>");
        }
        else sb.Append("<p class=\"agreement muted\">One answer: no agreement to measure.</p>");
        sb.Append("<div class=\"panel\">");
        for (var k = 0; k < panel.Count; k++)
        {
            var m = panel[k];
            var prov = rt is null ? null : SpecialistProvenance.Of(rt, m.Specialist);
            var isDraft = m.Text == i.Draft;
            var fid = $"{i.Id}-{k}";
            sb.Append(CultureInfo.InvariantCulture, $"<section class=\"member{(isDraft ? " draft" : "")}\" data-member=\"{H(m.Specialist)}\" aria-label=\"answer of {H(m.Specialist)}\">");
            sb.Append(CultureInfo.InvariantCulture, $"<h5>{H(m.Specialist)}{(isDraft ? " <span class=\"muted\">(the gate's draft)</span>" : "")}</h5><dl>");
            if (prov is null) sb.Append("<dt>provenance</dt><dd class=\"muted\">unknown to this node now</dd>");
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"<dt>base CID</dt><dd class=\"cid\">{H(prov.BaseCid)}</dd><dt>adapter CID</dt><dd class=\"cid\">{H(prov.AdapterCid)}</dd>");
                sb.Append(CultureInfo.InvariantCulture, $"<dt>lineage</dt><dd class=\"lineage\">{H(prov.Lineage)}</dd><dt>jurisdiction</dt><dd class=\"jurisdiction\">{H(prov.Jurisdiction)}</dd>");
                sb.Append(prov.Signed
                    ? $"<dt>manifest</dt><dd class=\"cid\">{H(prov.ManifestCid)} signed by {H(prov.ManifestSigner)}</dd>"
                    : $"<dt>manifest</dt><dd class=\"manifest muted\">{SpecialistProvenance.NotSignedYet} (lineage and jurisdiction {H(prov.Source)})</dd>");
            }
            sb.Append("</dl>");
            sb.Append(CultureInfo.InvariantCulture, $"""
                <form method="post" action="/review/{H(i.Id)}/approve">
                <input type="hidden" name="csrf" value="{H(csrf)}">
                <input type="hidden" name="member" value="{H(m.Specialist)}">
                <label for="answer-{H(fid)}">Answer of {H(m.Specialist)} (edit before approving if needed)</label>
                <textarea id="answer-{H(fid)}" name="answer">{H(m.Text)}</textarea>
                <label for="comment-{H(fid)}">Comment (optional)</label>
                <input id="comment-{H(fid)}" name="comment">
                <button type="submit" class="approve" data-member="{H(m.Specialist)}">Approve {H(m.Specialist)}'s answer</button>
                </form></section>
                """);
        }
        sb.Append("</div>");

        sb.Append("<h4>Memory used</h4>");
        var proofs = verification is { } vv && vv.TryGetProperty("memory_proofs", out var mp) ? mp.GetString() : null;
        if (facts?.RootElement.TryGetProperty("memory", out var mem) == true && mem.ValueKind == JsonValueKind.Object && mem.TryGetProperty("fragments", out var frags))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p>Memory root <code>{H(Str(mem, "global_root"))}</code>; every fragment's proof was {(proofs == "verified" ? "<span class=\"ok\">verified</span>" : H(proofs ?? "not checked"))} by the node before use.</p><ul class=\"memory\">");
            foreach (var f in frags.EnumerateArray())
                sb.Append(CultureInfo.InvariantCulture, $"<li><code>{H(Str(f, "fragment_cid"))}</code> in <b>{H(Str(f, "namespace"))}</b>, score {N(f.TryGetProperty("score", out var sc) && sc.ValueKind == JsonValueKind.Number ? sc.GetDouble() : 0)} — proof {(proofs == "verified" ? "verified" : H(proofs ?? "unknown"))}</li>");
            sb.Append("</ul>");
        }
        else sb.Append("<p class=\"memory muted\">No memory fragments were put into the prompt.</p>");

        sb.Append(CultureInfo.InvariantCulture, $"""
            <form method="post" action="/review/{H(i.Id)}/reject">
            <input type="hidden" name="csrf" value="{H(csrf)}">
            <label for="reject-{H(i.Id)}">Reason for rejecting every answer</label>
            <input id="reject-{H(i.Id)}" name="comment" required>
            <button type="submit" class="reject">Reject</button>
            </form></article>
            """);
    }

    private static string? FirstSpecialist(JsonDocument? facts) =>
        facts?.RootElement.TryGetProperty("specialists", out var s) == true && s.ValueKind == JsonValueKind.Array && s.GetArrayLength() > 0
            ? Str(s[0], "id") : null;

    private static JsonDocument? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try { return JsonDocument.Parse(json); }
        catch (JsonException) { return null; }
    }

    private static string? Str(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The query, HTML-encoded, with every occurrence of each matched text in <c>&lt;mark&gt;</c> (overlaps merged).</summary>
    internal static string Highlight(string query, IEnumerable<string> matched)
    {
        var marks = new bool[query.Length];
        foreach (var text in matched.Where(x => x.Length > 0).Distinct(StringComparer.Ordinal))
            for (var at = query.IndexOf(text, StringComparison.Ordinal); at >= 0; at = query.IndexOf(text, at + 1, StringComparison.Ordinal))
                for (var k = at; k < at + text.Length; k++) marks[k] = true;
        var sb = new StringBuilder();
        var pos = 0;
        while (pos < query.Length)
        {
            var end = pos;
            while (end < query.Length && marks[end] == marks[pos]) end++;
            var part = H(query[pos..end]);
            sb.Append(marks[pos] ? $"<mark>{part}</mark>" : part);
            pos = end;
        }
        return sb.ToString();
    }
}
