using Federation.Node.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;

namespace Federation.Node.Explorer;

/// <summary>
/// Who may read <c>/explorer</c>: any active API key (client or reviewer role). A program sends it as
/// <c>Authorization: Bearer</c> (the node's API-key scheme); a browser signs in once with the key on the explorer's
/// form and gets the <c>fed_explorer</c> session cookie (HttpOnly, SameSite=Strict, path <c>/explorer</c>, 12 hours),
/// protected by the node's data-protection keys and dropped at once when the key is revoked. The review page's cookie is
/// scoped to <c>/review</c>, so a reviewer signs in here with the same reviewer key. Read-only: nothing here changes state.
/// </summary>
public static class ExplorerAccess
{
    public const string CookieName = "fed_explorer";
    private const string Purpose = "Federation.Node.Explorer.Session";
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>The name of the key reading the page, or null when the caller must sign in.</summary>
    public static async Task<string?> ReaderAsync(HttpContext ctx)
    {
        if (ctx.Request.Headers.Authorization.Count > 0 || !ctx.RequestServices.GetRequiredService<ApiKeyStore>().AnyActive())
        {
            var bearer = await ctx.AuthenticateAsync(NodeAuth.ApiKeyScheme);
            if (bearer.Succeeded) return bearer.Principal.Identity?.Name;
        }
        if (!ctx.Request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie)) return null;
        try
        {
            var text = Protector(ctx).Unprotect(cookie);
            var sep = text.IndexOf('\n', StringComparison.Ordinal);
            if (sep < 0) return null;
            var (id, name) = (text[..sep], text[(sep + 1)..]);
            if (ctx.RequestServices.GetRequiredService<ApiKeyStore>().IsActive(id)) return name;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // expired, or protected by keys of an earlier process: sign in again
        }
        ctx.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/explorer" });
        return null;
    }

    /// <summary>Signs a browser in with an API key from the form; false when the key is unknown or revoked.</summary>
    public static bool SignIn(HttpContext ctx, string secret)
    {
        var key = ctx.RequestServices.GetRequiredService<ApiKeyStore>().Authenticate(secret.Trim());
        if (key is null || key.Revoked) return false;
        var value = Protector(ctx).Protect(key.Id + "\n" + key.Name, Lifetime);
        ctx.Response.Cookies.Append(CookieName, value, new CookieOptions
        {
            Path = "/explorer", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = ctx.Request.IsHttps, MaxAge = Lifetime,
        });
        return true;
    }

    public static void SignOut(HttpContext ctx) => ctx.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/explorer" });

    private static ITimeLimitedDataProtector Protector(HttpContext ctx) =>
        ctx.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose).ToTimeLimitedDataProtector();

    /// <summary>The sign-in form shown instead of a page to a caller without a key.</summary>
    public static string LoginHtml(string? msg, string returnTo) => HtmlPage.Layout("Explorer — sign in", $$"""
        {{HtmlPage.Flash(msg)}}
        <p>The explorer is open to holders of this node's API keys (client or reviewer).</p>
        <form method="post" action="/explorer/login">
        <input type="hidden" name="return" value="{{HtmlPage.H(returnTo)}}">
        <label for="key">API key</label> <input type="password" name="key" id="key" autocomplete="off" required>
        <button type="submit" id="login">Sign in</button>
        </form>
        """);
}
