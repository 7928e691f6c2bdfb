using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Federation.Node.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Federation.Node.Auth;

/// <summary>Names of the node's authentication schemes, policies and claims.</summary>
public static class NodeAuth
{
    /// <summary>Bearer API keys on <c>/v1</c>.</summary>
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>The review page's session cookie.</summary>
    public const string ReviewCookieScheme = "ReviewCookie";

    /// <summary>Policy of <c>/v1</c>: an API key (any role), or a loopback caller while no key exists.</summary>
    public const string ClientPolicy = "client";

    /// <summary>
    /// Policy of operator actions that change what the node serves (the DIIP runner: gauntlet, soak close, activation,
    /// monitoring, rollback): an API key of role <c>operator</c>, or the loopback caller while no key exists.
    /// </summary>
    public const string OperatorPolicy = "operator";

    /// <summary>Policy of the review page's decisions: a signed-in reviewer.</summary>
    public const string ReviewerPolicy = "reviewer";

    public const string RoleClaim = ClaimTypes.Role;
    public const string KeyIdClaim = ClaimTypes.NameIdentifier;

    /// <summary>The name (and id) of the caller let in without a key on a keyless loopback node.</summary>
    public const string AnonymousLoopback = "anonymous-loopback";
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> against <see cref="ApiKeyStore"/> (cached one second). While no
/// key exists, loopback callers are let in as <c>anonymous-loopback</c> (the node refuses to listen beyond loopback
/// then). The challenge answers 401 in the OpenAI error shape with <c>invalid_api_key</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string NoKey = "No API key: send 'Authorization: Bearer <key>' with a key from 'fed keys create'.";
    private const string BadKey = "The API key is unknown or revoked; create one with 'fed keys create --name NAME'.";
    private const string LoopbackOnly = "This node has no API keys and serves loopback callers only; the operator must create a key.";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (keys.AnyActive())
        {
            if (string.IsNullOrEmpty(presented)) return Task.FromResult(AuthenticateResult.Fail(NoKey));
            if (keys.AuthenticateCached(presented) is not { } key) return Task.FromResult(AuthenticateResult.Fail(BadKey));
            return Task.FromResult(Success(key.Id, key.Name, key.Role));
        }
        if (Context.Connection.RemoteIpAddress is { } ip && !IPAddress.IsLoopback(ip))
            return Task.FromResult(AuthenticateResult.Fail(LoopbackOnly));
        return Task.FromResult(Success(NodeAuth.AnonymousLoopback, NodeAuth.AnonymousLoopback, "client"));
    }

    private AuthenticateResult Success(string id, string name, string role)
    {
        var identity = new ClaimsIdentity(
            [new Claim(NodeAuth.KeyIdClaim, id), new Claim(ClaimTypes.Name, name), new Claim(NodeAuth.RoleClaim, role)], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var message = result.Failure?.Message ?? NoKey;
        await ApiErrors.WriteAsync(Context, new ApiException(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key", message));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, new ApiException(StatusCodes.Status403Forbidden, "invalid_request_error", "permission_denied",
            "This API key may not call this endpoint."));
}
