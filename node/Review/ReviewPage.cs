using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Federation.Node.Api;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;

namespace Federation.Node.Review;

/// <summary>
/// The T3 review web page at <c>/review</c>: plain server-rendered HTML forms, no JavaScript framework (works with
/// scripts off). A reviewer signs in with a reviewer API key; the session is ASP.NET Core cookie authentication
/// (<see cref="NodeAuth.ReviewCookieScheme"/>: HttpOnly, SameSite=Strict, 12 hours, ended at once when the key is
/// revoked) and every decision form carries an antiforgery token (<c>AddAntiforgery</c>).
/// </summary>
public static class ReviewPage
{
    public static void MapReviewPage(this IEndpointRouteBuilder app)
    {
        var page = app.MapGroup("/review").ExcludeFromDescription();

        page.MapGet("", async (HttpContext ctx, ReviewQueue queue, IAntiforgery antiforgery, RuntimeHolder holder, TimeProvider time) =>
        {
            var flash = ctx.Request.Query["msg"].ToString();
            var auth = await ctx.AuthenticateAsync(NodeAuth.ReviewCookieScheme);
            if (!auth.Succeeded || !auth.Principal.IsInRole("reviewer")) return Html(LoginHtml(flash));
            ctx.User = auth.Principal;   // the antiforgery token is bound to the signed-in reviewer
            var csrf = antiforgery.GetAndStoreTokens(ctx).RequestToken!;
            var reviewer = auth.Principal.Identity!.Name!;
            return Html(ReviewPanelHtml.List(reviewer, csrf, queue, holder.Runtime, time.GetUtcNow(), flash));
        });

        page.MapPost("/login", async (HttpContext ctx, ApiKeyStore keys) =>
        {
            if (!ctx.Request.HasFormContentType) throw NotAForm(ctx);
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var key = keys.Authenticate(form["key"].ToString().Trim());
            if (key is null || key.Role != "reviewer")
                return Html(LoginHtml("That key is not a reviewer key. Create one with: fed keys create --name NAME --role reviewer"), StatusCodes.Status401Unauthorized);
            var identity = new ClaimsIdentity(
                [new Claim(NodeAuth.KeyIdClaim, key.Id), new Claim(ClaimTypes.Name, key.Name), new Claim(NodeAuth.RoleClaim, key.Role)],
                NodeAuth.ReviewCookieScheme);
            await ctx.SignInAsync(NodeAuth.ReviewCookieScheme, new ClaimsPrincipal(identity));
            return Results.Redirect("/review");
        }).DisableAntiforgery();

        page.MapPost("/logout", async (HttpContext ctx) =>
        {
            await ctx.SignOutAsync(NodeAuth.ReviewCookieScheme);
            return Results.Redirect("/review");
        }).DisableAntiforgery();

        page.MapPost("/{id}/{action}", async (HttpContext ctx, string id, string action, ReviewService reviews, IAntiforgery antiforgery) =>
        {
            if (!ctx.Request.HasFormContentType) throw NotAForm(ctx);
            if (!await antiforgery.IsRequestValidAsync(ctx))
                return Results.Content("The form's anti-forgery token is wrong; reload /review and try again.", "text/plain", statusCode: StatusCodes.Status403Forbidden);
            if (action is not ("approve" or "reject")) return Results.NotFound();
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var comment = NullIfEmpty(form["comment"].ToString());
            var edited = action == "approve" ? NullIfEmpty(form["answer"].ToString()) : null;
            // the panel member whose answer the reviewer approves (one form per member); absent on items without a kept panel
            var member = action == "approve" ? NullIfEmpty(form["member"].ToString()) : null;
            try
            {
                var item = await reviews.DecideAsync(id, action == "approve", ctx.User.Identity!.Name!, edited, comment, ctx.RequestAborted, member);
                var what = item.Status == ReviewStatus.Approved ? "approved" + (item.Member is { } m ? $" ({m}'s answer)" : "") : "rejected";
                return Results.Redirect("/review?msg=" + Uri.EscapeDataString($"{item.Id} {what}; ledger entry {item.LedgerIndex}."));
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException)
            {
                return Results.Redirect("/review?msg=" + Uri.EscapeDataString(e.Message));
            }
        }).RequireAuthorization(NodeAuth.ReviewerPolicy).DisableAntiforgery();   // validated above, answering 403 as documented
    }

    private static ApiException NotAForm(HttpContext ctx) => new(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error",
        "request.unsupported_media_type", $"POST {ctx.Request.Path} takes an HTML form (application/x-www-form-urlencoded); found '{ctx.Request.ContentType}'.");

    private static IResult Html(string html, int status = StatusCodes.Status200OK) => Results.Content(html, "text/html; charset=utf-8", statusCode: status);

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
}
