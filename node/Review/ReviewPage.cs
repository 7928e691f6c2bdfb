using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Federation.Node.Auth;

namespace Federation.Node.Review;

/// <summary>
/// The T3 review web page at <c>/review</c>: plain server-rendered HTML forms, no JavaScript framework (works with
/// scripts off). A reviewer signs in with a reviewer API key; the session lives in an HttpOnly, SameSite=Strict
/// cookie and every form carries a per-session anti-forgery token.
/// </summary>
public static class ReviewPage
{
    private const string Cookie = "fed_review";

    public static void MapReviewPage(this WebApplication app)
    {
        app.MapGet("/review", (HttpContext ctx, ReviewQueue queue, ReviewSessions sessions) =>
        {
            var s = sessions.Current(ctx, Cookie);
            var flash = ctx.Request.Query["msg"].ToString();
            return Results.Content(s is null ? LoginHtml(flash) : ListHtml(s, queue.List(ReviewStatus.Pending), queue.List(limit: 50), flash), "text/html; charset=utf-8");
        }).ExcludeFromDescription();

        app.MapPost("/review/login", async (HttpContext ctx, ApiKeyStore keys, ReviewSessions sessions) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var key = keys.Authenticate(form["key"].ToString().Trim());
            if (key is null || key.Role != "reviewer")
                return Results.Content(LoginHtml("That key is not a reviewer key. Create one with: fed keys create --name NAME --role reviewer"), "text/html; charset=utf-8", statusCode: 401);
            var sid = sessions.Start(key);
            ctx.Response.Cookies.Append(Cookie, sid, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/review" });
            return Results.Redirect("/review");
        }).DisableAntiforgery().ExcludeFromDescription();

        app.MapPost("/review/logout", (HttpContext ctx, ReviewSessions sessions) =>
        {
            if (ctx.Request.Cookies.TryGetValue(Cookie, out var sid)) sessions.End(sid);
            ctx.Response.Cookies.Delete(Cookie, new CookieOptions { Path = "/review" });
            return Results.Redirect("/review");
        }).DisableAntiforgery().ExcludeFromDescription();

        app.MapPost("/review/{id}/{action}", async (HttpContext ctx, string id, string action, ReviewService reviews, ReviewSessions sessions) =>
        {
            var s = sessions.Current(ctx, Cookie);
            if (s is null) return Results.Redirect("/review?msg=" + Uri.EscapeDataString("Sign in first."));
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(form["csrf"].ToString()), Encoding.ASCII.GetBytes(s.Csrf)))
                return Results.Content("The form's anti-forgery token is wrong; reload /review and try again.", "text/plain", statusCode: 403);
            if (action is not ("approve" or "reject")) return Results.NotFound();
            var comment = NullIfEmpty(form["comment"].ToString());
            var edited = action == "approve" ? NullIfEmpty(form["answer"].ToString()) : null;
            try
            {
                var item = await reviews.DecideAsync(id, action == "approve", s.Reviewer.Name, edited, comment, ctx.RequestAborted);
                return Results.Redirect("/review?msg=" + Uri.EscapeDataString($"{item.Id} {(item.Status == ReviewStatus.Approved ? "approved" : "rejected")}; ledger entry {item.LedgerIndex}."));
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException)
            {
                return Results.Redirect("/review?msg=" + Uri.EscapeDataString(e.Message));
            }
        }).DisableAntiforgery().ExcludeFromDescription();
    }

    private static string? NullIfEmpty(string s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string H(string? s) => HtmlEncoder.Default.Encode(s ?? "");

    private static string Page(string body) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Federation — T3 review</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}
        .item{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
        pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
        textarea{width:100%;min-height:6rem}
        .flash{background:#eef;padding:.5rem;border-radius:4px}
        table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2rem .6rem;text-align:left}
        </style></head><body>
        <h1>T3 review</h1>
        {{body}}
        </body></html>
        """;

    private static string Flash(string? msg) => string.IsNullOrEmpty(msg) ? "" : $"<p class=\"flash\" role=\"status\">{H(msg)}</p>";

    private static string LoginHtml(string? msg) => Page($$"""
        {{Flash(msg)}}
        <form method="post" action="/review/login">
        <label>Reviewer API key <input type="password" name="key" id="key" autocomplete="off" required></label>
        <button type="submit" id="login">Sign in</button>
        </form>
        """);

    private static string ListHtml(ReviewSession s, IReadOnlyList<ReviewItem> pending, IReadOnlyList<ReviewItem> recent, string? msg)
    {
        var sb = new StringBuilder();
        sb.Append(Flash(msg));
        sb.Append($"<p>Signed in as <b>{H(s.Reviewer.Name)}</b>. <form method=\"post\" action=\"/review/logout\" style=\"display:inline\"><button>Sign out</button></form></p>");
        sb.Append($"<h2>Pending ({pending.Count})</h2>");
        if (pending.Count == 0) sb.Append("<p id=\"empty\">Nothing waits for review.</p>");
        foreach (var i in pending)
        {
            sb.Append($$"""
                <div class="item" id="{{H(i.Id)}}" data-review-id="{{H(i.Id)}}">
                <p><b>{{H(i.Id)}}</b> · topic <b>{{H(i.Topic)}}</b> · {{H(i.CreatedAt.ToString("u"))}}</p>
                <h3>Query</h3><pre class="query">{{H(i.Query)}}</pre>
                <h3>Route and sources</h3><pre class="route">{{H(i.RouteJson)}}</pre>
                <form method="post" action="/review/{{H(i.Id)}}/approve">
                <input type="hidden" name="csrf" value="{{s.Csrf}}">
                <h3>Draft answer (edit before approving if needed)</h3>
                <textarea name="answer">{{H(i.Draft)}}</textarea>
                <label>Comment <input name="comment"></label>
                <button type="submit" class="approve">Approve</button>
                </form>
                <form method="post" action="/review/{{H(i.Id)}}/reject">
                <input type="hidden" name="csrf" value="{{s.Csrf}}">
                <label>Reason <input name="comment" required></label>
                <button type="submit" class="reject">Reject</button>
                </form>
                </div>
                """);
        }
        sb.Append("<h2>Recent</h2><table><tr><th>id</th><th>topic</th><th>status</th><th>reviewer</th><th>ledger</th></tr>");
        foreach (var i in recent.Where(r => r.Status != ReviewStatus.Pending))
            sb.Append($"<tr><td>{H(i.Id)}</td><td>{H(i.Topic)}</td><td class=\"status\">{(i.Status == ReviewStatus.Approved ? "approved" : "rejected")}</td><td>{H(i.Reviewer)}</td><td>{i.LedgerIndex}</td></tr>");
        sb.Append("</table>");
        return Page(sb.ToString());
    }
}

/// <summary>A signed-in reviewer: the key it signed in with and the anti-forgery token of its forms.</summary>
public sealed record ReviewSession(ApiKeyInfo Reviewer, string Csrf, DateTimeOffset Expires);

/// <summary>Review page sessions of one node (in memory: a restart signs reviewers out). They last 12 hours.</summary>
public sealed class ReviewSessions(TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);
    private readonly ConcurrentDictionary<string, ReviewSession> _sessions = new(StringComparer.Ordinal);

    public string Start(ApiKeyInfo reviewer)
    {
        var now = time.GetUtcNow();
        foreach (var (id, old) in _sessions)
            if (old.Expires <= now) _sessions.TryRemove(id, out _);
        var sid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _sessions[sid] = new ReviewSession(reviewer, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), now + Lifetime);
        return sid;
    }

    public ReviewSession? Current(HttpContext ctx, string cookie) =>
        ctx.Request.Cookies.TryGetValue(cookie, out var sid) && _sessions.TryGetValue(sid, out var s) && s.Expires > time.GetUtcNow() ? s : null;

    public void End(string sid) => _sessions.TryRemove(sid, out _);
}
