using System.Runtime.CompilerServices;
using System.Text;
using Federation.Governance;
using Federation.Governance.Diip;
using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Diip;
using Federation.Node.Hosting;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Api;

/// <summary>
/// The node's view of the DIIP book (issue 12, docs/diip.md "HTTP"): the same signed event log as <c>fed diip</c>
/// (<c>&lt;data-dir&gt;/diip/events.jsonl</c>) replayed through the same <see cref="DiipBook"/> fold. Every read replays
/// the log (so events the CLI appended are seen at once); every write holds an in-process gate and an exclusive
/// lock file (<c>diip/events.lock</c>) while it replays, applies and appends, so two writers never interleave.
/// </summary>
public sealed class DiipStore : IDisposable
{
    private static readonly ConditionalWeakTable<IServiceProvider, DiipStore> PerHost = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lazy<DiipPolicy> _policy;

    /// <summary>The environment variable naming the DIIP policy profile (as <c>fed diip --profile</c>); unset: production.</summary>
    public const string ProfileVariable = "FEDERATION_DIIP_PROFILE";

    /// <summary>The environment variable naming the DIIP policy file; unset: <c>policies/diip.yaml</c> found like the CLI finds it.</summary>
    public const string PolicyVariable = "FEDERATION_DIIP_POLICY";

    public DiipStore(string dataDir, string? policyPath = null, string? profile = null)
    {
        Log = DiipEventLog.InDataDir(dataDir);
        LockPath = Path.Combine(dataDir, "diip", "events.lock");
        _policy = new Lazy<DiipPolicy>(() => LoadPolicy(policyPath ?? Environment.GetEnvironmentVariable(PolicyVariable), profile ?? Environment.GetEnvironmentVariable(ProfileVariable)));
    }

    /// <summary>The store of a host (one per service provider, over its data dir).</summary>
    public static DiipStore For(IServiceProvider services) =>
        PerHost.GetValue(services, sp => new DiipStore(sp.GetRequiredService<DataDirLayout>().Root));

    public DiipEventLog Log { get; }
    public string LockPath { get; }

    /// <summary>The policy the bars come from (loaded on first use; an invalid one is a 503 naming <c>file:line:col</c>).</summary>
    public DiipPolicy Policy => _policy.Value;

    /// <summary>The book as the log says now.</summary>
    public DiipBook Read()
    {
        try
        {
            return DiipBook.Replay(Policy, Log.Load());
        }
        catch (DiipException e)
        {
            throw Error(e.Code, e.Reason, null);
        }
    }

    /// <summary>
    /// Offers <paramref name="events"/> in order, all or nothing: each is verified and applied by the fold; the first
    /// refusal throws its typed error and nothing is appended. Returns the status after the last one.
    /// </summary>
    public async Task<DiipStatus> ApplyAsync(IReadOnlyList<SignedEnvelope> events, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            using var fileLock = await AcquireFileLockAsync(ct);
            var book = Read();
            DiipStatus? last = null;
            foreach (var e in events)
            {
                var r = book.Apply(e);
                if (!r.Accepted) throw Error(r.Code!, r.Message!, "envelope");
                last = r.Status;
            }
            foreach (var e in events) Log.Append(e);
            return last!;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<FileStream> AcquireFileLockAsync(CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (TryLock(LockPath) is { } f) return f;
            if (attempt >= 100) throw new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", "diip.busy",
                $"{LockPath} stayed locked for 5 s (another writer on this data dir); retry.") { RetryAfterSeconds = 1 };
            await Task.Delay(50, ct);   // another process (the CLI, a second node on this data dir) holds it
        }
    }

    /// <summary>
    /// Takes the DIIP log's exclusive write lock of <paramref name="dataDir"/> (<c>diip/events.lock</c>), waiting up to
    /// <paramref name="timeout"/>; dispose the stream to release it. For other writers of the same log (the CLI).
    /// </summary>
    /// <exception cref="TimeoutException">Another writer held it for the whole timeout.</exception>
    public static FileStream LockDataDir(string dataDir, TimeSpan timeout)
    {
        var path = Path.Combine(dataDir, "diip", "events.lock");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (TryLock(path) is { } f) return f;
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"{path} stayed locked for {timeout.TotalSeconds:0} s (another writer on this data dir); retry.");
            Thread.Sleep(50);
        }
    }

    private static FileStream? TryLock(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None is an exclusive lock between processes (flock on Unix) and between handles in this one
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static DiipPolicy LoadPolicy(string? path, string? profile)
    {
        path ??= FindPolicy() ?? throw new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", DiipErrors.PolicyInvalid,
            $"policies/diip.yaml was not found above the current directory or next to the node; set {PolicyVariable} to the DIIP policy file.");
        try
        {
            return DiipPolicyLoader.Parse(File.ReadAllBytes(path), path, string.IsNullOrEmpty(profile) ? null : profile);
        }
        catch (DiipPolicyException e)
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", DiipErrors.PolicyInvalid,
                $"The DIIP policy is invalid: {string.Join("; ", e.Errors.Select(x => x.ToString()))}. Fix it and restart the node.");
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>policies/diip.yaml above the current directory or the program's (the CLI and the node find it alike).</summary>
    public static string? FindPolicy()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "policies", "diip.yaml");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>A DIIP refusal as an OpenAI-style error with the status that fits the reason (docs/errors.md).</summary>
    public static ApiException Error(string code, string message, string? param)
    {
        var status = code switch
        {
            DiipErrors.UnknownProposal => StatusCodes.Status404NotFound,
            DiipErrors.NotAuthorized => StatusCodes.Status403Forbidden,
            DiipErrors.InvalidTransition or DiipErrors.DuplicateProposal or DiipErrors.DuplicateBallot or DiipErrors.TimeWentBackwards
                or DiipErrors.SoakTooShort or DiipErrors.VoteStillOpen or DiipErrors.TimeLockActive or DiipErrors.VetoWindowClosed
                or DiipErrors.MonitoringTooShort => StatusCodes.Status409Conflict,
            DiipErrors.LogCorrupt => StatusCodes.Status500InternalServerError,
            DiipErrors.PolicyInvalid => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status422UnprocessableEntity,   // signature_invalid, proposal_invalid, event_invalid, bond_insufficient, provenance_incomplete
        };
        var type = status switch
        {
            StatusCodes.Status403Forbidden => "permission_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        return new ApiException(status, type, code, message, param);
    }
}

/// <summary>
/// <c>GET/POST /v1/federation/diips…</c> (issue 12 "Surfaces"): list, status, submit a signed proposal, and record a
/// signed lifecycle event. Behind the API key like the rest of <c>/v1/federation</c> (401 without one). Bodies are signed
/// envelopes; each envelope's id and Ed25519 signature are verified before anything else, then the fold decides.
/// </summary>
public static class DiipEndpoints
{
    /// <summary>Maps the DIIP endpoints (one line in the host: <c>app.MapDiipEndpoints();</c>).</summary>
    public static RouteGroupBuilder MapDiipEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation/diips").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("DIIP")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound,
                StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);

        g.MapGet("", (HttpContext ctx) =>
        {
            var book = DiipStore.For(ctx.RequestServices).Read();
            return Json(new JsonObject { ["proposals"] = new JsonArray(book.Proposals.Select(s => (JsonValue)DiipJson.Summary(s))) });
        }).WithName("ListDiips").Metric("federation.diips");

        g.MapGet("/{id}", (string id, HttpContext ctx) =>
        {
            var store = DiipStore.For(ctx.RequestServices);
            var s = store.Read().Find(id) ?? throw Unknown(id);
            return Json(DiipJson.Status(s, store.Policy));
        }).WithName("GetDiip").Metric("federation.diips");

        g.MapPost("", async (HttpContext ctx) =>
        {
            var body = await ReadBodyAsync(ctx);
            if (body is not JsonObject o) throw ApiException.BadRequest("request.invalid_value", "Expected a JSON object {\"draft\": envelope, \"submit\": envelope (optional)}.");
            foreach (var k in o.Keys)
                if (k is not ("draft" or "submit"))
                    throw ApiException.BadRequest("request.invalid_value", $"Unknown member '{k}'; the body is {{\"draft\": envelope, \"submit\": envelope (optional)}}.", k);
            if (!o.TryGetValue("draft", out var draftJson))
                throw ApiException.BadRequest("request.missing_field", "'draft' is required: the producer's signed diip.event of kind 'draft' whose data.proposal is the signed diip.proposal envelope.", "draft");
            var draft = Envelope(draftJson, "draft");
            var events = new List<SignedEnvelope> { draft };
            // the proposal inside the draft is verified before the fold sees anything (the fold checks it again)
            if (draft.Payload is JsonObject p && p.TryGetValue("data", out var d) && d is JsonObject data && data.TryGetValue("proposal", out var pj))
                Envelope(pj, "draft.payload.data.proposal");
            else
                throw DiipStore.Error(DiipErrors.EventInvalid, "draft: expected payload.data.proposal, the signed diip.proposal envelope.", "draft");
            if (o.TryGetValue("submit", out var submitJson) && submitJson is not JsonNull) events.Add(Envelope(submitJson, "submit"));
            foreach (var e in events) NotAhead(e, ctx, e == draft ? "draft" : "submit");
            var s = await DiipStore.For(ctx.RequestServices).ApplyAsync(events, ctx.RequestAborted);
            return Json(DiipJson.Status(s, DiipStore.For(ctx.RequestServices).Policy), StatusCodes.Status201Created, $"/v1/federation/diips/{s.Id}");
        }).WithName("SubmitDiip").Metric("federation.diips");

        g.MapPost("/{id}/events", async (string id, HttpContext ctx) =>
        {
            var env = Envelope(await ReadBodyAsync(ctx), "envelope");
            NotAhead(env, ctx, "envelope");
            var store = DiipStore.For(ctx.RequestServices);
            var target = store.Read().Find(id) ?? throw Unknown(id);
            if (env.Payload is not JsonObject p || !p.TryGetValue("proposal", out var pid) || pid is not JsonString ps || ps.Value != target.Id)
                throw DiipStore.Error(DiipErrors.EventInvalid, $"the event's payload.proposal must be {target.Id}, the proposal named in the path.", "envelope");
            var s = await store.ApplyAsync([env], ctx.RequestAborted);
            // a rollback (manual, or a monitor that tripped the circuit-breaker) switches the live champion back at once
            if (s.State == DiipState.RolledBack) ctx.RequestServices.GetRequiredService<Hosting.RuntimeHolder>().Runtime?.DiipLive.Champions.Revert(s.Id);
            return Json(DiipJson.Status(s, store.Policy));
        }).WithName("RecordDiipEvent").Metric("federation.diips");

        MapOperatorEndpoints(g);
        return g;
    }

    /// <summary>
    /// The operator's triggers of the live runner (<see cref="DiipLiveRunner"/>, docs/diip.md §HTTP): each signs its event
    /// with the node key at the node's clock, and answers the proposal's status as <c>GET /v1/federation/diips/{id}</c>
    /// does. Before any measurement the event is offered to a throw-away replay of the book, so a state or time the fold
    /// refuses (409 with the fold's reason) costs no gauntlet run. Operator keys only (403 for client keys).
    /// </summary>
    private static void MapOperatorEndpoints(RouteGroupBuilder g)
    {
        var op = g.MapGroup("/{id}").RequireAuthorization(NodeAuth.OperatorPolicy)
            .ProducesProblemLike(StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable);

        op.MapPost("/gauntlet", (string id, HttpContext ctx) => Run(ctx, id, DiipEventKinds.GauntletStart,
            new JsonObject { ["holdout_commitment"] = new string('0', 64), ["objective"] = false },
            (r, s, ct) => r.RunGauntletAsync(s.Id, ct))).WithName("RunDiipGauntlet").Metric("federation.diips");

        op.MapPost("/soak/close", (string id, HttpContext ctx) => Run(ctx, id, DiipEventKinds.SoakResult,
            new JsonObject { ["b"] = 0, ["c"] = 0, ["n"] = 1 },
            (r, s, ct) => r.CloseSoakAsync(s.Id, 0, ct))).WithName("CloseDiipSoak").Metric("federation.diips");

        op.MapPost("/activate", (string id, HttpContext ctx) => Run(ctx, id, DiipEventKinds.Activate,
            new JsonObject { ["incumbent"] = "-", ["baseline_pass_rate"] = 0 },
            (r, s, ct) => { RequireWeights(ctx, s); return r.ActivateAsync(s.Id, ct); },
            // a base or policy-diff candidate has no adapter to switch: the node records the activation the fold allows
            s => new JsonObject { ["incumbent"] = s.Proposal.Incumbent.Length > 0 ? s.Proposal.Incumbent : "(current policy)", ["baseline_pass_rate"] = 0 }))
            .WithName("ActivateDiip").Metric("federation.diips");

        op.MapPost("/monitor", (string id, HttpContext ctx) => Run(ctx, id, DiipEventKinds.Monitor,
            new JsonObject { ["pass_rate"] = 1, ["n"] = 0, ["drift"] = 0 },
            (r, s, ct) => r.MonitorAsync(s.Id, ct))).WithName("MonitorDiip").Metric("federation.diips");

        op.MapPost("/rollback", async (string id, HttpContext ctx) =>
        {
            var reason = "manual rollback by the operator";
            if (ctx.Request.ContentLength is > 0 || ctx.Request.ContentType is not null)
            {
                if (await ReadBodyAsync(ctx) is not JsonObject o) throw ApiException.BadRequest("request.invalid_value", "Expected a JSON object {\"reason\": TEXT}.");
                foreach (var k in o.Keys)
                    if (k != "reason") throw ApiException.BadRequest("request.invalid_value", $"Unknown member '{k}'; the body is {{\"reason\": TEXT}}.", k);
                if (o.TryGetValue("reason", out var rv))
                {
                    if (rv is not JsonString { Value.Length: > 0 } rs || string.IsNullOrWhiteSpace(rs.Value))
                        throw ApiException.BadRequest("request.invalid_value", "'reason' must be a non-empty string: why the proposal is rolled back (it is recorded in the signed event).", "reason");
                    reason = rs.Value;
                }
            }
            return await Run(ctx, id, DiipEventKinds.Rollback, new JsonObject { ["reason"] = reason },
                (r, s, ct) => r.RollbackAsync(s.Id, reason, ct), _ => new JsonObject { ["reason"] = reason });
        }).WithName("RollbackDiip").Metric("federation.diips");

        op.MapPost("/vote/close", async (string id, HttpContext ctx) =>
        {
            var rt = OpenAiEndpoints.Ready(ctx.RequestServices.GetRequiredService<RuntimeHolder>());
            var store = DiipStore.For(ctx.RequestServices);
            var s = store.Read().Find(id) ?? throw Unknown(id);
            var live = ctx.RequestServices.GetRequiredService<LiveReputation>();
            var time = ctx.RequestServices.GetRequiredService<TimeProvider>();
            var electorate = Electorate(live, s.Proposal, live.Tau);
            var after = await store.ApplyAsync([DiipEvent.Create(s.Id, DiipEventKinds.VoteClose, new JsonObject { ["electorate"] = electorate }, rt.Key, time)], ctx.RequestAborted);
            return Json(DiipJson.Status(after, store.Policy));
        }).WithName("CloseDiipVote").Metric("federation.diips");
    }

    /// <summary>
    /// The electorate of a vote (seed §10.4): every node with evidence in the proposal's topics in this node's reputation
    /// book, weighted by its earned competence there — R = Ĉ·N^γ·S <b>without</b> the stake factor, at τ = the node's
    /// clock — summed over the proposal's topics. A node is the part of a book target before its first '/'.
    /// </summary>
    public static JsonObject Electorate(LiveReputation live, DiipProposal proposal, double tau)
    {
        var book = live.Book;
        var competence = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var topic in proposal.Topics.Distinct().Order(StringComparer.Ordinal))
        {
            var knobs = live.Knobs(topic);
            var evidence = book.Evidence(topic).Where(e => e.Audit.Time <= tau).ToArray();
            var slashes = book.Slashes(topic);
            var nodes = evidence.Select(e => NodeOf(e.Target)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(n => new NodeEvidence(n,
                    Slashing.Factor(slashes.Where(x => NodeOf(x.Target) == n).Select(x => x.Time), tau, knobs.RecoveryHalfLife, knobs.SlashFactor),
                    0, evidence.Where(e => NodeOf(e.Target) == n).Select(e => e.Audit).ToArray()));
            foreach (var (n, c) in DiipVoting.CompetenceWithoutStake(nodes, tau, knobs.Math))
                competence[n] = competence.GetValueOrDefault(n) + c;
        }
        var o = new JsonObject();
        foreach (var (n, c) in competence) o[n] = c;
        return o;
    }

    private static string NodeOf(string target) => target.IndexOf('/', StringComparison.Ordinal) is var i and >= 0 ? target[..i] : target;

    /// <summary>
    /// Offers a probe of <paramref name="kind"/> (node key, node clock) to a throw-away replay — the fold's refusal is the
    /// answer (404/409/422) — then runs the runner for adapter candidates, or records <paramref name="direct"/>'s event
    /// for the other kinds when given.
    /// </summary>
    private static async Task<IResult> Run(HttpContext ctx, string id, string kind, JsonObject probe,
        Func<DiipLiveRunner, DiipStatus, CancellationToken, Task<DiipStatus>> act, Func<DiipStatus, JsonObject>? direct = null)
    {
        var rt = OpenAiEndpoints.Ready(ctx.RequestServices.GetRequiredService<RuntimeHolder>());
        var store = DiipStore.For(ctx.RequestServices);
        var time = ctx.RequestServices.GetRequiredService<TimeProvider>();
        var book = store.Read();
        var s = book.Find(id) ?? throw Unknown(id);
        var trial = book.Apply(DiipEvent.Create(s.Id, kind, probe, rt.Key, time));
        if (!trial.Accepted && trial.Code != DiipErrors.EventInvalid) throw DiipStore.Error(trial.Code!, trial.Message!, "id");
        DiipStatus after;
        try
        {
            after = s.Proposal.CandidateKind != DiipCandidateKind.Adapter && direct is not null
                ? await store.ApplyAsync([DiipEvent.Create(s.Id, kind, direct(s), rt.Key, time)], ctx.RequestAborted)
                : await act(Runner(ctx.RequestServices, rt, store, time), s, ctx.RequestAborted);
        }
        catch (DiipException e)
        {
            throw DiipStore.Error(e.Code, e.Reason, "id");
        }
        return Json(DiipJson.Status(after, store.Policy));
    }

    /// <summary>Activation loads the candidate from the artifact store: without its weights there is nothing to serve (422).</summary>
    private static void RequireWeights(HttpContext ctx, DiipStatus s)
    {
        var artifacts = new DiipArtifacts(ctx.RequestServices.GetRequiredService<NodeOptions>().DataDir);
        if (artifacts.Find(s.Proposal.Candidate) is null)
            throw DiipStore.Error(DiipErrors.ProvenanceIncomplete,
                $"the candidate weights {s.Proposal.Candidate} are not in {artifacts.Root}; upload them with 'fed diip upload' before activating", "id");
    }

    private static readonly ConditionalWeakTable<NodeRuntime, DiipLiveRunner> Runners = new();

    /// <summary>The live runner of a running node (one per runtime: it keeps the gauntlet's report lines).</summary>
    public static DiipLiveRunner Runner(IServiceProvider services, NodeRuntime rt, DiipStore store, TimeProvider time) =>
        Runners.GetValue(rt, r =>
        {
            var options = services.GetRequiredService<NodeOptions>();
            var live = services.GetRequiredService<LiveReputation>();
            return new DiipLiveRunner(r, store, Federation.Canaries.Storage.CanaryStore.ForDataDir(options.DataDir), new DiipArtifacts(options.DataDir),
                new DiipLiveOptions(), time, async (p, ct) => await ChallengeEndpoints.SlashAsync(r, options, live, p, ct));
        });

    /// <summary>How far an event's time may run ahead of the node's clock (clock skew between signer and node).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The fold measures soak, vote, time-lock and veto window between the times events carry, so an event dated after the
    /// node's clock (beyond <see cref="MaxClockSkew"/>) could jump a time-lock: it is refused (422 <c>diip.event_invalid</c>).
    /// </summary>
    private static void NotAhead(SignedEnvelope env, HttpContext ctx, string param)
    {
        if (env.Payload is not JsonObject p || !p.TryGetValue("at", out var av) || av is not JsonInt ai || !ai.TryGetInt64(out var at)) return; // the fold explains the shape
        var now = ctx.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (at > (now + MaxClockSkew).ToUnixTimeMilliseconds())
            throw DiipStore.Error(DiipErrors.EventInvalid,
                $"{param}: the event is dated {DateTimeOffset.FromUnixTimeMilliseconds(at):yyyy-MM-ddTHH:mm:ss.fffZ} ({at}), after this node's clock {now:yyyy-MM-ddTHH:mm:ss.fffZ} (+{MaxClockSkew.TotalMinutes:0} min skew); sign events with the current time.", param);
    }

    private static ApiException Unknown(string id) =>
        DiipStore.Error(DiipErrors.UnknownProposal, $"No DIIP proposal '{id}' (or the prefix is ambiguous); GET /v1/federation/diips lists them.", "id");

    /// <summary>Reads an envelope's shape and verifies its id and signature; a failure is 422 <c>diip.signature_invalid</c>.</summary>
    private static SignedEnvelope Envelope(JsonValue json, string param)
    {
        if (!SignedEnvelope.TryFromJson(json, out var env, out var error))
            throw DiipStore.Error(DiipErrors.EventInvalid, $"{param}: {error}", param);
        var check = env.Verify();
        if (!check.IsValid)
            throw DiipStore.Error(DiipErrors.SignatureInvalid, $"{param}: envelope {env.Id} does not verify ({check}); sign the canonical bytes with the producer's Ed25519 key.", param);
        return env;
    }

    private static async Task<JsonValue> ReadBodyAsync(HttpContext ctx)
    {
        if (!ctx.Request.HasJsonContentType())
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error", "request.unsupported_media_type",
                $"Send the body as JSON with 'Content-Type: application/json'; found '{ctx.Request.ContentType}'.");
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ctx.RequestAborted);
        try
        {
            return CanonicalJson.Parse(text);
        }
        catch (FormatException e)
        {
            throw ApiException.BadRequest("request.malformed_json", $"The request body is not valid JSON ({e.Message}). Send a signed envelope as documented in docs/diip.md.");
        }
    }

    private static IResult Json(JsonValue value, int status = StatusCodes.Status200OK, string? location = null) =>
        new DiipJsonResult(value.ToString()!, status, location);

    private sealed class DiipJsonResult(string json, int status, string? location) : IResult
    {
        public Task ExecuteAsync(HttpContext ctx)
        {
            ctx.Response.StatusCode = status;
            if (location is not null) ctx.Response.Headers.Location = location;
            ctx.Response.ContentType = "application/json";
            return ctx.Response.WriteAsync(json, ctx.RequestAborted);
        }
    }
}
