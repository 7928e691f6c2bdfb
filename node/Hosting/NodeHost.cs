using System.Net;
using System.Threading.RateLimiting;
using Federation.Memory.Http;
using Federation.Node.Answering;
using Federation.Node.Api;
using Federation.Node.Auth;
using Federation.Node.Review;
using Federation.Node.Telemetry;
using Federation.Node.Verification;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Federation.Node.Hosting;

/// <summary>A node that cannot start; the message says what to change.</summary>
public sealed class NodeStartException(string message) : Exception(message);

/// <summary>
/// Builds the node's web host from ASP.NET Core's own parts: options validated on start, API-key and cookie
/// authentication, antiforgery, the rate limiter for admission, OpenTelemetry for metrics and traces, the exception
/// handler and status-code pages for OpenAI-style errors. Lives in the library so tests and benchmarks start the real
/// host in-process (on 127.0.0.1, port 0).
/// </summary>
public static class NodeHost
{
    public static WebApplication Build(NodeOptions given, Action<ILoggingBuilder>? logging = null)
    {
        var errors = given.Validate();
        if (errors.Count > 0) throw new NodeStartException(string.Join(Environment.NewLine, errors));
        var layout = new DataDirLayout(given.DataDir);
        Directory.CreateDirectory(layout.Root);
        var keys = new ApiKeyStore(layout.NodeDb);
        var keyless = !keys.AnyActive();
        if (keyless && !given.LoopbackOnly())
            throw new NodeStartException(
                $"--urls {given.Urls} listens beyond loopback, but no API key exists: anyone could call the node. " +
                "Create one with 'fed keys create --name NAME', or listen on 127.0.0.1.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(given.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = given.MaxRequestBytes);
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failed start (port in use) is reported once by the caller (fed serve: one "fed:" line), not logged as well.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        if (logging is null) builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else logging(builder.Logging);

        var services = builder.Services;
        services.AddOptions<NodeOptions>().Configure(given.CopyTo).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<NodeOptions>>().Value);
        services.AddSingleton(layout);
        services.AddSingleton(given.Clock ?? TimeProvider.System);
        services.AddSingleton<RuntimeHolder>();
        services.AddSingleton<NodeMetrics>();
        services.AddSingleton(keys);
        services.AddSingleton(_ => new ReviewQueue(layout.NodeDb));
        services.AddSingleton(sp => new ReviewService(sp.GetRequiredService<ReviewQueue>(), layout, () => sp.GetRequiredService<RuntimeHolder>().Runtime?.Ledger));
        // The gate seam: the router's pure gate (checkers named by the policy), adapted to the node's records.
        services.AddSingleton<IVerificationGate>(new RouterVerificationGate());
        services.AddSingleton<LiveReputation>();
        services.AddSingleton<Auditing.SelfAuditQueue>(); // issue 11: self-audit re-checks and scheduled slashing triggers
        services.AddHostedService<Auditing.SelfAuditWorker>();
        services.AddSingleton<Auditing.SlashingSweep>();
        services.AddHostedService<Auditing.SlashingScheduleService>();
        services.AddSingleton<AnswerService>();
        // The memory API resolves MemoryService per request: the runtime's, or 503 node.not_ready while it loads.
        services.AddSingleton(sp => OpenAiEndpoints.Ready(sp.GetRequiredService<RuntimeHolder>()).Memory);
        services.AddHostedService<RuntimeStarter>();

        services.ConfigureHttpJsonOptions(o =>
        {
            // the generated metadata takes its names from the options in use: snake_case here as in NodeJsonContext
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, NodeJsonContext.Default);
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);   // binding errors reach ApiErrors.From
        services.AddOpenApi("v1");

        // Reviewer sessions and antiforgery tokens are protected with keys that live only in this process: a restart
        // signs reviewers out (as documented) and nothing is written outside the data dir.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(NodeAuth.ApiKeyScheme, null)
            .AddCookie(NodeAuth.ReviewCookieScheme, o =>
            {
                o.Cookie.Name = "fed_review";
                o.Cookie.Path = "/review";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.ExpireTimeSpan = TimeSpan.FromHours(12);
                o.SlidingExpiration = false;
                o.Events.OnRedirectToLogin = ctx => SignInFirst(ctx.HttpContext);
                o.Events.OnRedirectToAccessDenied = ctx => SignInFirst(ctx.HttpContext);
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    // A revoked reviewer key ends its sessions within the key cache's second.
                    var id = ctx.Principal?.FindFirst(NodeAuth.KeyIdClaim)?.Value;
                    if (id is not null && ctx.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>().IsActive(id)) return;
                    ctx.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Federation.Node.Review")
                        .ReviewerSessionRevoked(ctx.Principal?.Identity?.Name ?? "?");
                    ctx.RejectPrincipal();
                    await ctx.HttpContext.SignOutAsync(NodeAuth.ReviewCookieScheme);
                };
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(NodeAuth.ClientPolicy, p => p.AddAuthenticationSchemes(NodeAuth.ApiKeyScheme).RequireAuthenticatedUser())
            // operator actions (DIIP gauntlet, activation, rollback): an operator key, or the loopback caller of a keyless node
            .AddPolicy(NodeAuth.OperatorPolicy, p => p.AddAuthenticationSchemes(NodeAuth.ApiKeyScheme).RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.IsInRole("operator") || c.User.Identity?.Name == NodeAuth.AnonymousLoopback))
            .AddPolicy(NodeAuth.ReviewerPolicy, p => p.AddAuthenticationSchemes(NodeAuth.ReviewCookieScheme).RequireAuthenticatedUser().RequireRole("reviewer"));
        services.AddAntiforgery(o =>
        {
            o.FormFieldName = "csrf";
            o.Cookie.Name = "fed_csrf";
            o.Cookie.Path = "/review";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
        });

        services.AddSingleton(new AdmissionControl(given.MaxQueue, given.AdmissionQueue));

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("federation-node"))
            .WithMetrics(m =>
            {
                m.AddMeter(NodeMetrics.MeterPrefix + "*").AddAspNetCoreInstrumentation();
                m.AddPrometheusExporter(p => p.ScrapeResponseCacheDurationMilliseconds = 0);
                if (OtlpConfigured()) m.AddOtlpExporter();
            })
            .WithTracing(t =>
            {
                t.AddSource(NodeTelemetry.SourceName).AddAspNetCoreInstrumentation();
                if (OtlpConfigured()) t.AddOtlpExporter();
            });

        if (given.SporeListen is { } sporeListen)
            Cli.SporeHostingExtensions.AddSporePeer(services, new Federation.Canaries.Spore.SporeNodeOptions
            {
                Listen = sporeListen,
                Peers = given.SporePeers,
                DataDir = Federation.Canaries.Spore.SporeCli.StoreDir(layout.Root),
            });

        var app = builder.Build();
        try
        {
            _ = app.Services.GetRequiredService<NodeOptions>();   // runs the validators now, not at the first request
            _ = app.Services.GetRequiredService<NodeMetrics>();   // this node's gauges report from the start
        }
        catch (OptionsValidationException e)
        {
            throw new NodeStartException(string.Join(Environment.NewLine, e.Failures));
        }

        app.Use(CountRequests);
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = ApiErrors.HandleAsync });
        app.UseStatusCodePages(ApiErrors.StatusCodeAsync);
        if (keyless) app.Use(LoopbackHostsOnly);
        app.UseRouting();
        app.Use(NameEndpoint);
        app.UseAuthorization();

        app.MapOpenAi();
        app.MapFederation();
        app.MapCatalogEndpoints();
        app.MapPersonalEndpoints(); // per-user adapters (issue 9)
        // Plane H: behind the same API-key check as /v1 (401 before any memory route); principal = the key's name.
        app.MapMemoryEndpoints(OpenAiEndpoints.MemoryPrincipalOf).RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Memory")
            .WithMetadata(new EndpointConventions.MetricName("memory"));
        app.MapReputationEndpoints();
        Spore.SporeEndpoints.MapSporeEndpoints(app);
        app.MapReviewPage();
        app.MapDiipEndpoints();
        Federation.Node.Explorer.ExplorerPage.MapExplorer(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/alive", () => TypedResults.Text("alive\n")).ExcludeFromDescription();
        app.MapGet("/health", Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>> (RuntimeHolder h) => h.Runtime is { } rt
            ? TypedResults.Ok(new HealthResponse("ready", rt.Key.Id.ToString(), rt.Engine.BaseCid.ToString(), rt.Policy.Cid, rt.Ledger.Size, rt.Specialists.Count))
            : TypedResults.Json(new HealthResponse(h.StartError is null ? "starting" : "failed", Error: h.StartError), NodeJsonContext.Default.HealthResponse,
                statusCode: StatusCodes.Status503ServiceUnavailable)).ExcludeFromDescription();
        return app;
    }

    private static bool OtlpConfigured() => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    private static Task SignInFirst(HttpContext ctx)
    {
        ctx.Response.Redirect("/review?msg=" + Uri.EscapeDataString("Sign in first."));
        return Task.CompletedTask;
    }

    private const string EndpointNameItem = "federation.metric_name";

    private static Task NameEndpoint(HttpContext ctx, RequestDelegate next)
    {
        if (ctx.GetEndpoint()?.Metadata.GetMetadata<EndpointConventions.MetricName>() is { } name) ctx.Items[EndpointNameItem] = name.Value;
        return next(ctx);
    }

    /// <summary>Counts every /v1 request with the status the client really got (errors included), after all handlers ran.</summary>
    private static async Task CountRequests(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        finally
        {
            if (ctx.Request.Path.StartsWithSegments("/v1"))
                ctx.RequestServices.GetRequiredService<NodeMetrics>().Request(
                    ctx.Items[EndpointNameItem] as string ?? "unmatched", ctx.Response.StatusCode);
        }
    }

    /// <summary>
    /// DNS-rebinding defence of a node without API keys: it serves loopback callers only, so it also answers only
    /// requests addressed to a loopback name (<c>localhost</c>, <c>127.0.0.0/8</c>, <c>[::1]</c>).
    /// </summary>
    private static Task LoopbackHostsOnly(HttpContext ctx, RequestDelegate next)
    {
        var host = ctx.Request.Host.Host;
        if (IsLoopbackName(host)) return next(ctx);
        ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Federation.Node.Http").NonLoopbackHostRefused(host);
        return ApiErrors.WriteAsync(ctx, ApiException.BadRequest("request.host_not_allowed",
            $"This node has no API keys and answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1]); found Host '{host}'. " +
            "Use a loopback address, or have the operator create a key with 'fed keys create'."));
    }

    private static bool IsLoopbackName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>Loads the runtime after the listener is up (so /health answers "starting"), ledgers CLI review decisions, publishes tree heads.</summary>
internal sealed class RuntimeStarter(NodeOptions options, RuntimeHolder holder, ReviewService reviews, IHostApplicationLifetime lifetime,
    ILogger<RuntimeStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Load nothing until the listener is bound: a node that cannot listen (port in use) must not create files first.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
            await started.Task;
        NodeRuntime rt;
        try
        {
            rt = await Task.Run(() => NodeRuntime.Start(options, logger), stoppingToken);
            holder.SetReady(rt);
            logger.NodeReady(rt.Key.Id.ToString(), options.Urls);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            holder.SetFailed(e.Message);
            logger.NodeStartFailed(e, e.Message);
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        var ticks = 0L;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await reviews.LedgerPendingAsync(stoppingToken);
                if (++ticks % SthEveryTicks == 0 && await rt.TreeHeads.PublishIfGrownAsync(stoppingToken)) logger.TreeHeadSigned(rt.Ledger.Size);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.ReviewLedgerFailed(e, e.Message);
            }
        }
    }

    /// <summary>A signed tree head is published every 5 s while the ledger grows, and once more at shutdown.</summary>
    private const long SthEveryTicks = 10;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (holder.Detach() is { } rt)
        {
            await rt.TreeHeads.PublishIfGrownAsync(CancellationToken.None);
            await rt.DisposeAsync();
        }
    }
}
