using System.CommandLine;
using Federation.Canaries;
using Federation.Canaries.Lifecycle;
using Federation.Canaries.Storage;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary><c>fed canary add|import|list|commit|reveal|retire</c>: the node's canary registry (docs/canaries.md).</summary>
internal static class CanaryCommands
{
    public static Command Create()
    {
        var canary = new Command("canary", "Manage control tasks (canaries) in <data-dir>/canaries.db: add, import, list, commit, reveal, retire.");
        canary.Subcommands.Add(Add());
        canary.Subcommands.Add(Import());
        canary.Subcommands.Add(List());
        canary.Subcommands.Add(Commit());
        canary.Subcommands.Add(Reveal());
        canary.Subcommands.Add(Retire());
        return canary;
    }

    private static Command Add()
    {
        var topic = new Option<string>("--topic") { Description = "The topic the canary tests (a routing-policy topic id).", Required = true };
        var cls = new Option<string>("--class") { Description = "A objective, B reference, C consensus.", DefaultValueFactory = _ => "A" };
        cls.AcceptOnlyFromAmong("A", "B", "C");
        var prompt = new Option<string>("--prompt") { Description = "What is sent to the audited specialist.", Required = true };
        var checker = new Option<string>("--checker") { Description = "The checker as JSON, or @FILE (e.g. {\"kind\":\"exact\",\"expected\":\"4\"}).", Required = true };
        var difficulty = new Option<double>("--difficulty") { Description = "Difficulty d in (0,1].", DefaultValueFactory = _ => 0.5 };
        var lifespan = new Option<int>("--lifespan") { Description = "Scored reveals before it retires.", DefaultValueFactory = _ => 5 };
        var secret = new Option<bool>("--secret") { Description = "Keep it in the secret reserve: published only as a salted commitment, used only for blind audits." };
        var cmd = new Command("add", "Add one canary; prints its CID (and its commitment when secret).") { topic, cls, prompt, checker, difficulty, lifespan, secret };
        cmd.SetAction(p =>
        {
            var text = p.GetValue(checker)!;
            if (text.StartsWith('@')) text = CliCommon.ReadTextArg(p, text[1..]);
            JsonValue spec;
            try
            {
                spec = CanonicalJson.Parse(text);
            }
            catch (FormatException e)
            {
                throw new CliException($"--checker is not valid JSON: {e.Message}", ExitCodes.Usage);
            }
            if (spec is not JsonObject so) throw new CliException("--checker must be a JSON object {\"kind\": …}; see docs/canaries.md.", ExitCodes.Usage);
            if (!Canary.TryParseClass(p.GetValue(cls), out var c)) throw new CliException("--class must be A, B or C.", ExitCodes.Usage);
            Canary made;
            try
            {
                made = Canary.Create(p.GetValue(topic)!, c, p.GetValue(prompt)!, so, p.GetValue(difficulty), p.GetValue(lifespan),
                    p.GetValue(secret) ? CanaryVisibility.Secret : CanaryVisibility.Public, new CanarySource(CanarySource.Authored));
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message, ExitCodes.Usage);
            }
            var (rec, added) = Open(p).Add(made, DateTimeOffset.UtcNow);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, Summary(rec, added));
            else CliCommon.WriteLine(p, $"{(added ? "added" : "already present")} {rec.Canary.Cid}{(rec.Commitment is null ? "" : $" (secret; commitment {rec.Commitment})")}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A JSON array of canaries (or of reveals {commitment,salt,canary}), or one per line (JSONL); '-' reads stdin." };
        var secret = new Option<bool>("--secret") { Description = "Import every canary into the secret reserve (overrides each one's visibility)." };
        var cmd = new Command("import", "Import canaries from a file; nothing is imported unless every entry is valid.") { file, secret };
        cmd.SetAction(p =>
        {
            var text = CliCommon.ReadTextArg(p, p.GetValue(file)!);
            var entries = new List<JsonValue>();
            try
            {
                var trimmed = text.TrimStart();
                if (trimmed.StartsWith('[')) entries.AddRange(CanonicalJson.Parse(text).AsArray());
                else
                    foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
                        entries.Add(CanonicalJson.Parse(line));
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new CliException($"'{p.GetValue(file)}' is neither a JSON array nor JSON lines: {e.Message}", ExitCodes.Usage);
            }
            var parsed = new List<(Canary Canary, byte[]? Salt)>();
            var errors = new List<string>();
            for (var i = 0; i < entries.Count; i++)
            {
                if (entries[i] is JsonObject o && o.ContainsKey("salt"))
                {
                    if (CanaryCommitment.TryVerifyReveal(o, null, out var rc, out var re)) parsed.Add((rc, Convert.FromHexString(o["salt"].AsString())));
                    else errors.Add($"entry {i}: {re}");
                }
                else if (Canary.TryFromJson(entries[i], out var c, out var error))
                {
                    parsed.Add((p.GetValue(secret) ? c.WithVisibility(CanaryVisibility.Secret) : c, null));
                }
                else errors.Add($"entry {i}: {error}");
            }
            if (errors.Count > 0)
                throw new CliException($"nothing imported; fix these entries:\n  {string.Join("\n  ", errors)}", ExitCodes.Usage);
            var store = Open(p);
            var now = DateTimeOffset.UtcNow;
            var results = parsed.Select(x => store.Add(x.Canary, now, x.Canary.Visibility == CanaryVisibility.Secret ? x.Salt : null)).ToList();
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new { imported = results.Count(r => r.Added), existing = results.Count(r => !r.Added), canaries = results.Select(r => Summary(r.Record, r.Added)) });
            else
                CliCommon.WriteLine(p, $"imported {results.Count(r => r.Added)} canaries ({results.Count(r => !r.Added)} already present)");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command List()
    {
        var topic = new Option<string?>("--topic") { Description = "Only this topic." };
        var cmd = new Command("list", "List canaries with their state, use and current weight.") { topic };
        cmd.SetAction(p =>
        {
            var all = Open(p).List(p.GetValue(topic));
            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteJson(p, all.Select(r => new
                {
                    cid = r.Canary.Cid.ToString(),
                    topic = r.Canary.Topic,
                    @class = r.Canary.Class.ToString(),
                    visibility = r.Canary.Visibility == CanaryVisibility.Secret ? "secret" : "public",
                    difficulty = r.Canary.Difficulty,
                    lifespan = r.Canary.Lifespan,
                    state = r.State,
                    scored_reveals = r.Usage.ScoredReveals,
                    attempts = r.Usage.Attempts,
                    pass_rate = r.Usage.Attempts == 0 ? (double?)null : r.Usage.PassRate,
                    weight = CanaryLifecycle.Weight(r.Canary, r.Usage),
                    reward_weight = CanaryLifecycle.RewardWeight(r.Canary, r.Usage),
                    commitment = r.Commitment,
                    committed = r.Committed,
                    revealed = r.Revealed,
                    source = r.Canary.Source?.Kind,
                }));
            }
            else
            {
                foreach (var r in all)
                    CliCommon.WriteLine(p, $"{r.Canary.Cid.ToString()[..16]}  {r.Canary.Topic,-14} {r.Canary.Class} {(r.Canary.Visibility == CanaryVisibility.Secret ? "secret" : "public"),-6} d={r.Canary.Difficulty:0.###} w={CanaryLifecycle.Weight(r.Canary, r.Usage):0.###} {r.State,-8} {r.Usage.ScoredReveals}/{r.Canary.Lifespan}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Commit()
    {
        var id = new Argument<string>("id") { Description = "The canary's CID (or a unique prefix of at least 8 characters)." };
        var cmd = new Command("commit", "Print the commitment of a secret canary, SHA-256(salt ‖ canary), to publish instead of the canary.") { id };
        cmd.SetAction(p =>
        {
            var store = Open(p);
            var commitment = Wrap(() => store.Commit(p.GetValue(id)!));
            var rec = store.Get(commitment);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { commitment, topic = rec.Canary.Topic });
            else CliCommon.WriteLine(p, commitment);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Reveal()
    {
        var id = new Argument<string?>("id") { Description = "The secret canary's CID or commitment.", Arity = ArgumentArity.ZeroOrOne };
        var verify = new Option<string?>("--verify") { Description = "Instead: check a reveal file {commitment,salt,canary} ('-' for stdin)." };
        var commitment = new Option<string?>("--commitment") { Description = "With --verify: the published commitment to check against (default: the one in the file)." };
        var cmd = new Command("reveal", "Reveal a secret canary (prints {commitment,salt,canary}), or verify a reveal with --verify FILE.") { id, verify, commitment };
        cmd.SetAction(p =>
        {
            if (p.GetValue(verify) is { } file)
            {
                JsonValue json;
                try
                {
                    json = CanonicalJson.Parse(CliCommon.ReadTextArg(p, file));
                }
                catch (FormatException e)
                {
                    throw new CliException($"'{file}' is not JSON: {e.Message}", ExitCodes.Usage);
                }
                var ok = CanaryCommitment.TryVerifyReveal(json, p.GetValue(commitment), out var c, out var error);
                if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { valid = ok, cid = c?.Cid.ToString(), error });
                else CliCommon.WriteLine(p, ok ? $"reveal verifies: canary {c!.Cid}" : $"reveal does NOT verify: {error}");
                return ok ? ExitCodes.Ok : ExitCodes.VerificationFailed;
            }
            var which = p.GetValue(id) ?? throw new CliException("give the canary's id, or --verify FILE to check a reveal.", ExitCodes.Usage);
            var reveal = Wrap(() => Open(p).Reveal(which));
            CliCommon.WriteLine(p, CanonicalJson.SerializeToString(reveal));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Retire()
    {
        var id = new Argument<string>("id") { Description = "The canary's CID or commitment." };
        var reason = new Option<string>("--reason") { Description = "Why (kept in the store).", DefaultValueFactory = _ => "retired by operator" };
        var cmd = new Command("retire", "Retire a canary: its weight becomes 0 and it leaves every battery.") { id, reason };
        cmd.SetAction(p =>
        {
            var rec = Wrap(() => Open(p).Retire(p.GetValue(id)!, p.GetValue(reason)!));
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { cid = rec.Canary.Cid.ToString(), state = rec.State, reason = rec.RetireReason });
            else CliCommon.WriteLine(p, $"retired {rec.Canary.Cid}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static object Summary(CanaryRecord r, bool added) => new
    {
        cid = r.Canary.Cid.ToString(),
        topic = r.Canary.Topic,
        @class = r.Canary.Class.ToString(),
        visibility = r.Canary.Visibility == CanaryVisibility.Secret ? "secret" : "public",
        commitment = r.Commitment,
        added,
    };

    internal static T Wrap<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (CanaryStoreException e)
        {
            throw new CliException(e.Message);
        }
    }

    internal static CanaryStore Open(ParseResult p)
    {
        var dir = CliCommon.ResolveDataDir(p);
        Directory.CreateDirectory(dir);
        return CanaryStore.ForDataDir(dir);
    }
}
