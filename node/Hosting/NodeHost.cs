using System.Net;
using Federation.Node.Api;
using Federation.Node.Auth;
using Federation.Node.Review;
using Federation.Node.Telemetry;
using Federation.Node.Verification;

namespace Federation.Node.Hosting;

/// <summary>A node that cannot start; the message says what to change.</summary>
public sealed class NodeStartException(string message) : Exception(message);

/// <summary>
/// Builds the node's web host: the OpenAI-compatible API, the federation API, the review page and the operational
/// endpoints. Lives in the library so tests and benchmarks start the real host in-process (on 127.0.0.1, port 0).
/// </summary>
public static class NodeHost
{
    public static WebApplication Build(NodeOptions options, Action<ILoggingBuilder>? logging = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new NodeStartException(string.Join(Environment.NewLine, errors));
        Directory.CreateDirectory(options.DataDir);
        var dbPath = Path.Combine(options.DataDir, "node.db");
        var keys = new ApiKeyStore(dbPath);
        if (!keys.AnyActive() && !options.LoopbackOnly())
            throw new NodeStartException(
                $"--urls {options.Urls} listens beyond loopback, but no API key exists: anyone could call the node. " +
                "Create one with 'fed keys create --name NAME', or listen on 127.0.0.1.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        if (logging is null) builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else logging(builder.Logging);

        var holder = new RuntimeHolder();
        var queue = new ReviewQueue(dbPath);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<NodeMetrics>();
        builder.Services.AddSingleton(holder);
        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton(queue);
        builder.Services.AddSingleton(new ReviewService(queue, options.DataDir, () => holder.Runtime?.Ledger));
        builder.Services.AddSingleton(CheckerRegistry.Default());
        builder.Services.AddSingleton<ReviewSessions>();
        builder.Services.AddSingleton<FederationService>();
        builder.Services.AddHostedService<RuntimeStarter>();
        builder.Services.AddOpenApi("v1");

        var app = builder.Build();
        app.UseApiErrors();
        app.Use(Authenticate);
        app.MapOpenAi();
        app.MapFederation();
        app.MapReviewPage();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapGet("/alive", () => Results.Text("alive\n")).ExcludeFromDescription();
        app.MapGet("/health", (RuntimeHolder h) => h.Runtime is { } rt
            ? Results.Json(new { status = "ready", node_id = rt.Key.Id.ToString(), base_cid = rt.Engine.BaseCid, policy_cid = rt.Policy.Cid, ledger_size = rt.Ledger.Size, specialists = rt.Specialists.Count })
            : Results.Json(new { status = h.StartError is null ? "starting" : "failed", error = h.StartError }, statusCode: 503)).ExcludeFromDescription();
        app.MapGet("/metrics", (NodeMetrics m, RuntimeHolder h) =>
        {
            var text = m.ToPrometheusText();
            if (h.Runtime is { } rt)
                text += $"# TYPE federation_ledger_size gauge\nfederation_ledger_size {rt.Ledger.Size}\n" +
                        $"# TYPE federation_engine_queue_length gauge\nfederation_engine_queue_length {rt.Engine.QueueLength}\n" +
                        $"# TYPE federation_engine_adapter_swaps_total counter\nfederation_engine_adapter_swaps_total {rt.Engine.AdapterSwaps}\n";
            return Results.Text(text, "text/plain; version=0.0.4");
        }).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// /v1 needs a Bearer API key once any key exists; with none, only loopback callers are served (and the node
    /// refuses to listen beyond loopback, see <see cref="Build"/>).
    /// </summary>
    private static async Task Authenticate(HttpContext ctx, RequestDelegate next)
    {
        if (!ctx.Request.Path.StartsWithSegments("/v1"))
        {
            await next(ctx);
            return;
        }
        var keys = ctx.RequestServices.GetRequiredService<ApiKeyStore>();
        var header = ctx.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (keys.AnyActive())
        {
            if (presented is null)
                throw new ApiException(401, "invalid_request_error", "invalid_api_key",
                    "No API key: send 'Authorization: Bearer <key>' with a key from 'fed keys create'.");
            if (keys.AuthenticateCached(presented) is null)
                throw new ApiException(401, "invalid_request_error", "invalid_api_key",
                    "The API key is unknown or revoked; create one with 'fed keys create --name NAME'.");
        }
        else if (ctx.Connection.RemoteIpAddress is { } ip && !IPAddress.IsLoopback(ip))
        {
            throw new ApiException(401, "invalid_request_error", "invalid_api_key",
                "This node has no API keys and serves loopback callers only; the operator must create a key.");
        }
        await next(ctx);
    }
}

/// <summary>Loads the runtime after the listener is up (so /health answers "starting"), and ledgers CLI review decisions.</summary>
internal sealed class RuntimeStarter(NodeOptions options, RuntimeHolder holder, ReviewService reviews, ILogger<RuntimeStarter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            holder.Runtime = await Task.Run(() => NodeRuntime.Start(options, logger), stoppingToken);
            logger.LogInformation("node {NodeId} ready on {Urls}", holder.Runtime.Key.Id, options.Urls);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            holder.StartError = e.Message;
            logger.LogError(e, "node failed to start: {Message}", e.Message);
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        var ticks = 0L;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await reviews.LedgerPendingAsync(stoppingToken);
                if (++ticks % SthEveryTicks == 0) SignTreeHeadIfGrown(holder.Runtime);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "ledgering review decisions failed: {Message}", e.Message);
            }
        }
    }

    /// <summary>A signed tree head is published every 5 s while the ledger grows, and once more at shutdown.</summary>
    private const long SthEveryTicks = 10;

    private static void SignTreeHeadIfGrown(NodeRuntime? rt)
    {
        if (rt is null || rt.Ledger.Size == 0) return;
        if (rt.Ledger.LatestSth() is { } sth && sth.TreeSize == rt.Ledger.Size) return;
        rt.Ledger.SignTreeHead();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (holder.Runtime is { } rt)
        {
            SignTreeHeadIfGrown(rt);
            holder.Runtime = null;
            await rt.DisposeAsync();
        }
    }
}
