using System.CommandLine;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Microsoft.Extensions.Options;

namespace Federation.Node.Cli;

/// <summary><c>fed serve</c>: runs the node (OpenAI-compatible API, federation API, review page).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = $"Where to listen (default {NodeOptions.DefaultUrl}; ';' separates several).", DefaultValueFactory = _ => NodeOptions.DefaultUrl };
        var policy = RouteCommands.PolicyOption();
        var reviewWait = new Option<double>("--review-wait") { Description = "Seconds a T3 request waits for a human decision before a pending error.", DefaultValueFactory = _ => 30 };
        var storeBodies = new Option<bool>("--store-bodies") { Description = "Also store queries and answers in clear in the ledger (default: hashes only)." };
        var threads = new Option<int>("--threads") { Description = "Generation threads per context (1 is fastest on small busy machines).", DefaultValueFactory = _ => 1 };
        var contexts = new Option<int>("--contexts") { Description = "Engine contexts (different adapter sets run in parallel on different contexts).", DefaultValueFactory = _ => 2 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Generation requests admitted at once (generating, queued in the engine, or waiting for review).", DefaultValueFactory = _ => 64 };
        var admissionQueue = new Option<int>("--admission-queue") { Description = "Requests that wait for admission, oldest first, before new ones get 429 (with Retry-After).", DefaultValueFactory = _ => 64 };
        var ledgerSync = new Option<string>("--ledger-sync") { Description = "full: fsync every ledger commit (survives power loss); normal: survives a killed process only, faster.", DefaultValueFactory = _ => "full" };
        ledgerSync.AcceptOnlyFromAmong("full", "normal");
        var sporeListen = new Option<string?>("--spore-listen") { Description = "Also run the Spore peer (docs/spore.md) on this loopback IP:port (e.g. 127.0.0.1:7470); store <data-dir>/spore." };
        var sporePeers = new Option<string[]>("--spore-peer") { Description = "A Spore peer to dial, host:port (repeatable; with --spore-listen).", AllowMultipleArgumentsPerToken = false };
        var sporeAuto = new Option<bool>("--spore-auto-verify") { Description = "With --spore-listen: spot-check others' Spore records (p 0.05, §8), answer challenges, settle own challenges (docs/spore.md)." };
        var demo = new Option<string>("--demo") { Description = "The demo federation served (default full): built on first start under <data-dir>/demo (or installed from the shipped weights in demo/shipped/<profile>), reused later; policy default policies/demo/routing.yaml. test: the small test profile; none: the data dir's own models and policy.", DefaultValueFactory = _ => "full" };
        demo.AcceptOnlyFromAmong("full", "test", "none");
        var demoShipped = new Option<DirectoryInfo?>("--demo-shipped") { Description = "Install the demo from this shipped build (fed demo ship) instead of demo/shipped/<profile> or $FEDERATION_DEMO_SHIPPED." };
        var responseCache = new Option<int>("--response-cache") { Description = "Keep this many greedy answers in the signed response cache (a hit skips the engine, gets a fresh ledger entry naming the original); 0 = off." };
        var cmd = new Command("serve", "Run the node: OpenAI-compatible API, federation API, T3 review page.")
        {
            urls, policy, reviewWait, storeBodies, threads, contexts, maxQueue, admissionQueue, ledgerSync, sporeListen, sporePeers, sporeAuto, demo, demoShipped,
            responseCache,
        };
        cmd.SetAction(async (p, ct) =>
        {
            var options = new NodeOptions
            {
                DataDir = CliCommon.ResolveDataDir(p),
                Urls = p.GetValue(urls)!,
                PolicyPath = p.GetValue(policy)?.FullName,
                ReviewWait = TimeSpan.FromSeconds(p.GetValue(reviewWait)),
                StoreBodies = p.GetValue(storeBodies),
                Threads = p.GetValue(threads),
                Contexts = p.GetValue(contexts),
                MaxQueue = p.GetValue(maxQueue),
                AdmissionQueue = p.GetValue(admissionQueue),
                LedgerSync = p.GetValue(ledgerSync)!.ToUpperInvariant(),
                SporeListen = p.GetValue(sporeListen) is { } sl ? SporeCommands.ParseListen(sl, allowRemote: false, "--spore-listen") : null,
                SporePeers = p.GetValue(sporePeers) ?? [],
                SporeAutoVerify = p.GetValue(sporeAuto),
                DemoProfile = p.GetValue(demo) is "none" ? null : p.GetValue(demo),
                DemoShippedDir = p.GetValue(demoShipped)?.FullName,
                ResponseCacheEntries = p.GetValue(responseCache),
            };
            if (options.SporeListen is null && options.SporePeers.Count > 0)
                throw new CliException("--spore-peer needs --spore-listen (the Spore peer runs only when it listens).", ExitCodes.Usage);
            if (options.SporeListen is null && options.SporeAutoVerify)
                throw new CliException("--spore-auto-verify needs --spore-listen (the Spore peer runs only when it listens).", ExitCodes.Usage);
            // First start: train (or install the shipped weights) here, under a progress display; later starts reuse the build.
            // The ports are probed first, so a busy port fails at once instead of after a build (and creates nothing).
            if (options.DemoProfile is { } profile)
            {
                if (BusyPort(options.Urls) is { } busy)
                    throw new CliException($"cannot listen on {options.Urls}: {busy}. Pick another --urls (port 0 takes a free one) or stop the process that holds it.");
                DemoCommands.Prepare(p, profile, options.DataDir, options.DemoShippedDir);
            }
            WebApplication app;
            try
            {
                app = NodeHost.Build(options);
            }
            catch (NodeStartException e)
            {
                throw new CliException(e.Message, ExitCodes.Usage);
            }
            try
            {
                await app.StartAsync(ct);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException or OptionsValidationException)
            {
                await app.DisposeAsync();
                // Kestrel says "address already in use" (or why it cannot bind) in the innermost message.
                var reason = e.GetBaseException().Message;
                var where = options.SporeListen is null ? options.Urls : $"{options.Urls} (spore {options.SporeListen})";
                throw new CliException($"cannot listen on {where}: {reason}. Pick another --urls / --spore-listen (port 0 takes a free one) or stop the process that holds it.");
            }
            var keys = app.Services.GetRequiredService<ApiKeyStore>();
            CliCommon.WriteError(p, keys.AnyActive()
                ? $"fed serve: API keys required on /v1; data dir {options.DataDir}"
                : $"fed serve: no API keys exist, so the node serves loopback callers only without a key (create one: fed keys create --name NAME); data dir {options.DataDir}");
            CliCommon.WriteError(p, $"fed serve: listening on {string.Join(", ", app.Urls)} (Ctrl-C stops)");
            if (app.Services.GetService<SporeHostedService>()?.Node?.LocalEndPoint is { } spore)
                CliCommon.WriteError(p, $"fed serve: spore peer listening on {spore}; store {Federation.Canaries.Spore.SporeCli.StoreDir(options.DataDir)}");
            await app.WaitForShutdownAsync(ct);
            await app.DisposeAsync();
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The first URL whose fixed port cannot be bound now (with the reason), or null; port 0 and host names other than localhost are left to Kestrel.</summary>
    private static string? BusyPort(string urls)
    {
        foreach (var u in urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(u, UriKind.Absolute, out var uri) || uri.Port <= 0) continue;
            var ip = uri.Host == "localhost" ? System.Net.IPAddress.Loopback
                : System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var a) ? a : null;
            if (ip is null) continue;
            try
            {
                var l = new System.Net.Sockets.TcpListener(ip, uri.Port);
                l.Start();
                l.Stop();
            }
            catch (System.Net.Sockets.SocketException e)
            {
                return $"{ip}:{uri.Port}: {e.Message}";
            }
        }
        return null;
    }
}
