using System.CommandLine;
using System.Net;
using Federation.Canaries.Spore;

namespace Federation.Node.Cli;

/// <summary><c>fed spore serve|show|send</c>: the Spore-compatible peer (docs/spore.md).</summary>
internal static class SporeCommands
{
    public static Command Create()
    {
        var spore = new Command("spore", "Spore-compatible peer: experiment records, tasks, control events (docs/spore.md).");

        var listen = new Option<string>("--listen") { Description = "Where to listen, host:port (default 127.0.0.1:7470, Spore's port).", DefaultValueFactory = _ => "127.0.0.1:7470" };
        var peers = new Option<string[]>("--peer") { Description = "A peer to dial, host:port (repeatable). Loopback only unless --allow-remote.", AllowMultipleArgumentsPerToken = false };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow listening on and dialling non-loopback addresses." };
        var resync = new Option<int>("--resync") { Description = "Seconds between re-dials and re-syncs (Spore: 120; 0 turns it off).", DefaultValueFactory = _ => 120 };
        var serve = new Command("serve", "Run the Spore peer until Ctrl-C; its store is <data-dir>/spore.") { listen, peers, allowRemote, resync };
        serve.SetAction(async (p, ct) =>
        {
            var ep = ParseListen(p.GetValue(listen)!, p.GetValue(allowRemote));
            var secs = p.GetValue(resync);
            var options = new SporeNodeOptions
            {
                Listen = ep,
                Peers = p.GetValue(peers) ?? [],
                AllowNonLoopback = p.GetValue(allowRemote),
                DataDir = SporeCli.StoreDir(CliCommon.ResolveDataDir(p)),
                ResyncInterval = secs <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(secs),
            };
            await using var node = new SporeNode(options);
            node.Log += line => CliCommon.WriteError(p, line);
            try
            {
                await node.StartAsync(ct);
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message, ExitCodes.Usage);
            }
            CliCommon.WriteError(p, $"fed spore serve: listening on {node.LocalEndPoint}; store {options.DataDir} (Ctrl-C stops)");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }
            return ExitCodes.Ok;
        });

        var show = new Command("show", "Print what the peer holds: records, tasks, control events, per-task frontier, Spore reputation.");
        show.SetAction(p =>
        {
            var dir = SporeCli.StoreDir(CliCommon.ResolveDataDir(p));
            var g = new SporeGraph();
            if (Directory.Exists(dir)) new SporeStore(dir).LoadInto(g);
            var snap = SporeCli.Snapshot(g);
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, SporeJson.ToWireString(snap));
            else
            {
                CliCommon.WriteLine(p, $"{g.Records.Count} records, {g.Tasks.Count} tasks, {g.ControlEvents.Count} control events, {g.Profiles.Count} profiles");
                foreach (var t in g.Tasks.Values)
                {
                    var front = g.Frontier(t.TaskId);
                    var best = front.Count > 0 ? front[0] : null;
                    CliCommon.WriteLine(p, $"task {t.TaskId[..Math.Min(12, t.TaskId.Length)]} {t.Name} ({t.Goal}): best {(best is null ? "-" : $"{best.ValBpb} by {best.NodeId[..12]}")}");
                }
                foreach (var (id, r) in g.Reputation.OrderByDescending(kv => kv.Value.Score))
                    CliCommon.WriteLine(p, $"reputation {id[..12]} {r.Score,7:F1}  published {r.ExperimentsPublished} verified {r.ExperimentsVerified}");
            }
            return ExitCodes.Ok;
        });

        var peer = new Option<string>("--peer") { Description = "The peer to send to, host:port.", Required = true };
        var file = new Argument<string>("file") { Description = "JSON file ('-' for stdin): one item, an array, or JSON lines of records/tasks/events/profiles or {type,payload} messages." };
        var sendRemote = new Option<bool>("--allow-remote") { Description = "Allow a non-loopback peer." };
        var send = new Command("send", "Push records, tasks, control events or profiles to a peer (each is verified first).") { peer, file, sendRemote };
        send.SetAction(async (p, ct) =>
        {
            IReadOnlyList<SporeMessage> items;
            try
            {
                items = SporeCli.ReadItems(CliCommon.ReadTextArg(p, p.GetValue(file)!));
            }
            catch (SporeFormatException e)
            {
                throw new CliException($"nothing sent: {e.Rejection}", ExitCodes.VerificationFailed);
            }
            await using var node = new SporeNode(new SporeNodeOptions { AllowNonLoopback = p.GetValue(sendRemote), ResyncInterval = Timeout.InfiniteTimeSpan });
            SporeConnection c;
            try
            {
                c = await node.ConnectRawAsync(p.GetValue(peer)!, ct);
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message, ExitCodes.Usage);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                throw new CliException($"could not connect to {p.GetValue(peer)}: {e.Message}; is 'fed spore serve' running there?");
            }
            foreach (var m in items) await c.SendAsync(m, ct);
            await SporeNode.PingAsync(c, TimeSpan.FromSeconds(30), ct); // pong = every frame before it was handled
            c.Close();
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { sent = items.Count, peer = p.GetValue(peer) });
            else CliCommon.WriteLine(p, $"sent {items.Count} item(s) to {p.GetValue(peer)}");
            return ExitCodes.Ok;
        });

        spore.Subcommands.Add(serve);
        spore.Subcommands.Add(show);
        spore.Subcommands.Add(send);
        AddNodeCommands(spore);
        return spore;
    }

    // propose / verify / respond / resolve run on a node started with 'fed serve --spore-listen' (it holds the engine,
    // the node key and the Spore peer): each is one POST /v1/federation/spore/<verb>, printed as it comes back.
    private static void AddNodeCommands(Command spore)
    {
        Option<string> Url() => new("--url") { Description = "The node (fed serve --spore-listen …).", DefaultValueFactory = _ => Hosting.NodeOptions.DefaultUrl };
        Option<string?> Key() => new("--api-key") { Description = "Bearer key for the node (default: $FEDERATION_API_KEY)." };

        var task = new Option<string>("--task") { Description = "Task id or name (the shipped task is 'rosenbrock-10d'; published by the node if unknown).", Required = true };
        var topic = new Option<string?>("--topic") { Description = "Routing topic whose specialist is asked (default: spore-<task name>)." };
        var answer = new Option<string?>("--answer") { Description = "Use this answer text (FILE or '-') instead of asking a specialist; agent_model becomes 'operator'." };
        var (url1, key1) = (Url(), Key());
        var propose = new Command("propose", "Ask the routed specialist for a change to the task's artifact; run, keep/discard, sign and gossip it.") { task, topic, answer, url1, key1 };
        propose.SetAction(async (p, ct) =>
        {
            var body = new Registry.Json.JsonObject { ["task"] = p.GetValue(task)! };
            if (p.GetValue(topic) is { } t) body["topic"] = t;
            if (p.GetValue(answer) is { } a) body["answer"] = CliCommon.ReadTextArg(p, a);
            var r = await PostAsync(p, p.GetValue(url1)!, p.GetValue(key1), "propose", body, ct);
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, r.ToString());
            else
            {
                var changes = string.Join(", ", r["changes"].AsArray().Select(c => $"{c["name"].AsString()} {c["from"].AsString()} -> {c["to"].AsString()}"));
                CliCommon.WriteLine(p, $"{r["outcome"].AsString()} {r["record_id"].AsString()} (task {r["task"].AsString()}, topic {r["topic"].AsString()}, specialist {(r["specialist"] is Registry.Json.JsonString sp ? sp.Value : "operator")})");
                CliCommon.WriteLine(p, r["error"] is Registry.Json.JsonString err ? $"unusable proposal: {err.Value}" : $"changes: {changes}; metric {r["metric"]} vs parent {r["parent_metric"]}");
            }
            return ExitCodes.Ok;
        });
        spore.Subcommands.Add(propose);

        foreach (var (verb, field, what) in new[]
        {
            ("verify", "experiment_id", "Re-run an experiment: publish a verification, or a challenge when it is outside tolerance."),
            ("respond", "challenge_id", "Answer a challenge by re-running the challenged experiment."),
            ("resolve", "experiment_id", "Settle this node's challenge of an experiment with the responses held (median rule)."),
        })
        {
            var id = new Argument<string>(field == "challenge_id" ? "challenge-id" : "experiment-id") { Description = field == "challenge_id" ? "The challenge event's id." : "The experiment record's id." };
            var (url, key) = (Url(), Key());
            var cmd = new Command(verb, what) { id, url, key };
            cmd.SetAction(async (p, ct) =>
            {
                var r = await PostAsync(p, p.GetValue(url)!, p.GetValue(key), verb, new Registry.Json.JsonObject { [field] = p.GetValue(id)! }, ct);
                if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, r.ToString());
                else CliCommon.WriteLine(p, r["type"] is Registry.Json.JsonString t ? $"{t.Value} {r["id"].AsString()}" : r["detail"].AsString());
                return ExitCodes.Ok;
            });
            spore.Subcommands.Add(cmd);
        }
    }

    private static async Task<Registry.Json.JsonObject> PostAsync(ParseResult p, string url, string? apiKey, string verb, Registry.Json.JsonObject body, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new CliException($"--url must be an http(s) URL such as {Hosting.NodeOptions.DefaultUrl}, found \"{url}\"", ExitCodes.Usage);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        apiKey ??= Environment.GetEnvironmentVariable("FEDERATION_API_KEY");
        using var req = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/v1/federation/spore/" + verb))
        {
            Content = new ByteArrayContent(Registry.Json.CanonicalJson.Serialize(body)) { Headers = { ContentType = new("application/json") } },
        };
        if (!string.IsNullOrEmpty(apiKey)) req.Headers.Authorization = new("Bearer", apiKey);
        HttpResponseMessage resp;
        try
        {
            resp = await http.SendAsync(req, ct);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"could not reach {url}: {e.Message}; is 'fed serve --spore-listen …' running there?");
        }
        using (resp)
        {
            var text = await resp.Content.ReadAsStringAsync(ct);
            Registry.Json.JsonValue json;
            try { json = Registry.Json.CanonicalJson.Parse(text); }
            catch (Registry.Json.JsonParseException) { throw new CliException($"{url} answered {(int)resp.StatusCode} with a non-JSON body"); }
            if (!resp.IsSuccessStatusCode)
            {
                var msg = json is Registry.Json.JsonObject o && o.TryGetValue("error", out var e) && e is Registry.Json.JsonObject eo && eo.TryGetValue("message", out var m) && m is Registry.Json.JsonString ms ? ms.Value : text;
                throw new CliException($"fed spore {verb}: {(int)resp.StatusCode}: {msg}", (int)resp.StatusCode is 400 or 404 ? ExitCodes.Usage : ExitCodes.Failure);
            }
            return json as Registry.Json.JsonObject ?? throw new CliException($"{url} answered with JSON that is not an object");
        }
    }

    internal static IPEndPoint ParseListen(string s, bool allowRemote, string option = "--listen")
    {
        var i = s.LastIndexOf(':');
        if (i <= 0 || !IPAddress.TryParse(s[..i].Trim('[', ']'), out var ip) || !int.TryParse(s.AsSpan(i + 1), out var port) || port is < 0 or > 65535)
            throw new CliException($"{option} must be IP:port (e.g. 127.0.0.1:7470), found \"{s}\"", ExitCodes.Usage);
        if (!IPAddress.IsLoopback(ip) && !allowRemote)
            throw new CliException(option == "--listen"
                ? $"--listen {s} is not a loopback address; add --allow-remote to listen on it"
                : $"{option} {s} is not a loopback address; fed serve runs the Spore peer on loopback only (use fed spore serve --allow-remote)", ExitCodes.Usage);
        return new IPEndPoint(ip, port);
    }
}

/// <summary>
/// Runs a <see cref="SporeNode"/> inside a host (for <c>fed serve</c> to run the Spore peer alongside; the lead wires
/// it with <see cref="SporeHostingExtensions.AddSporePeer"/>). Starts with the host, stops with it.
/// </summary>
public sealed class SporeHostedService(SporeNodeOptions options, ILogger<SporeHostedService> logger) : IHostedService, IAsyncDisposable
{
    private SporeNode? _node;

    /// <summary>The running node (null before start).</summary>
    public SporeNode? Node => _node;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var node = new SporeNode(options);
        node.Log += line => logger.LogInformation("{Line}", line);
        try
        {
            await node.StartAsync(cancellationToken);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
        _node = node;
        logger.LogInformation("spore peer listening on {Endpoint}", node.LocalEndPoint);
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    // Idempotent: the container disposes this object twice (as itself and as the hosted service its factory returned),
    // and SporeNode.DisposeAsync may run only once.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _node, null) is { } node) await node.DisposeAsync();
    }
}

/// <summary>Registration of the Spore peer in a host.</summary>
public static class SporeHostingExtensions
{
    /// <summary>Adds the Spore peer as a hosted service (store under <c>&lt;dataDir&gt;/spore</c> unless options say otherwise).</summary>
    public static IServiceCollection AddSporePeer(this IServiceCollection services, SporeNodeOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SporeHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<SporeHostedService>());
        services.AddSingleton<Spore.SporeProposalService>();
        services.AddHostedService<Spore.SporeAutoVerifyService>(); // idle unless NodeOptions.SporeAutoVerify
        return services;
    }
}
