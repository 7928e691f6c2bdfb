using System.CommandLine;
using System.Globalization;
using Federation.Governance;
using Federation.Registry.Envelopes;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed reputation ingest FILE…</c>, <c>fed reputation show --topic T [--at TIME]</c> and
/// <c>fed reputation chart --topic T --out FILE.svg</c>: the reputation book of a data dir (docs/reputation.md
/// "From audits to the table"). The book is <c>&lt;data-dir&gt;/reputation/records.jsonl</c>.
/// </summary>
public static class ReputationShowCommands
{
    /// <summary>Adds the three subcommands to the <c>reputation</c> noun.</summary>
    public static void AddTo(Command reputation)
    {
        reputation.Subcommands.Add(Ingest());
        reputation.Subcommands.Add(Show());
        reputation.Subcommands.Add(Chart());
    }

    private static Command Ingest()
    {
        var files = new Argument<string[]>("FILE") { Description = "Signed audit.record (from 'fed audit run') or reputation.slash envelopes: one JSON envelope per file, or one per line.", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("ingest", "Verify signed audit records (and slashing events) and add them to this node's reputation book; all-or-nothing, idempotent by record id.");
        cmd.Arguments.Add(files);
        cmd.SetAction(p =>
        {
            var dataDir = CliCommon.ResolveDataDir(p);
            var book = LoadBook(dataDir);
            var envelopes = new List<(string Where, SignedEnvelope Env)>();
            var problems = new List<string>();
            var scratch = LoadBook(dataDir);
            foreach (var file in p.GetValue(files)!)
            {
                if (!File.Exists(file)) throw new CliException($"file '{file}' does not exist; give the paths of audit record files (written by 'fed audit run').", ExitCodes.Usage);
                var text = File.ReadAllText(file).Trim();
                var lines = text.StartsWith('{') && !text.Contains('\n') ? [text] : text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (lines.Length > 1 && !lines.All(l => l.StartsWith('{'))) lines = [text]; // one pretty-printed envelope
                for (int i = 0; i < lines.Length; i++)
                {
                    var where = lines.Length == 1 ? file : $"{file}:{i + 1}";
                    try
                    {
                        scratch.Ingest(lines[i]); // verify and parse first; nothing is written unless every record passes
                        envelopes.Add((where, SignedEnvelope.Parse(lines[i])));
                    }
                    catch (ReputationRecordException e)
                    {
                        problems.Add($"{where}: refused: {e.Message}");
                    }
                }
            }
            if (problems.Count > 0)
            {
                foreach (var pr in problems) CliCommon.WriteError(p, pr);
                throw new CliException($"{problems.Count} record(s) refused (above); nothing was ingested. Remove or re-fetch them and retry.", ExitCodes.VerificationFailed);
            }
            var results = envelopes.Select(e => ReputationBookLog.Append(dataDir, book, e.Env)).ToArray();
            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteJson(p, new
                {
                    added = results.Count(r => r.Added),
                    existing = results.Count(r => !r.Added),
                    records = results.Select(r => new { id = r.Id, type = r.Type, topic = r.Topic, added = r.Added, evidence = r.Evidence }),
                });
            }
            else
            {
                foreach (var r in results)
                    CliCommon.WriteLine(p, $"{(r.Added ? "added" : "exists")} {r.Id} {r.Type} topic {r.Topic}: {r.Evidence} evidence item(s)");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static (Option<string> Topic, Option<string?> At, Option<string?> Policy) CommonOptions(Command cmd)
    {
        var topic = new Option<string>("--topic") { Description = "The topic whose table to compute.", Required = true };
        var at = new Option<string?>("--at") { Description = "The time tau: unix seconds or ISO 8601 (default: now)." };
        var policy = new Option<string?>("--policy") { Description = "Reputation policy with the topic's knobs (default: policies/reputation.yaml found like the routing policy)." };
        cmd.Options.Add(topic);
        cmd.Options.Add(at);
        cmd.Options.Add(policy);
        return (topic, at, policy);
    }

    private static Command Show()
    {
        var cmd = new Command("show", "The topic's reputation table (per node/specialist: N, C, C_hat, R, S, weight) at a time, from the ingested records.");
        var (topic, at, policy) = CommonOptions(cmd);
        cmd.SetAction(p =>
        {
            var t = p.GetValue(topic)!;
            var book = LoadBook(CliCommon.ResolveDataDir(p));
            RequireTopic(book, t);
            var tau = ParseAt(p.GetValue(at));
            var knobs = Knobs(p.GetValue(policy), t);
            try
            {
                if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, book.TableJson(t, tau, knobs));
                else
                {
                    CliCommon.WriteLine(p, $"topic {t} at {FormatDays(tau)}");
                    var table = book.Table(t, tau, knobs);
                    p.InvocationConfiguration.Output.Write(ReputationScenario.ToText(table));
                    if (!ReputationBook.CapMet(table, knobs))
                        CliCommon.WriteLine(p, $"note: fewer than 1/w_max = {1 / knobs.Math.WMax:0.##} nodes have R > 0, so no weighting keeps every share <= w_max {knobs.Math.WMax:0.###}; shares are equal.");
                }
            }
            catch (ReputationInputException e)
            {
                throw new CliException($"topic '{t}': {e.Message}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Chart()
    {
        var cmd = new Command("chart", "Write an SVG chart of each node/specialist's vote weight over time for a topic, from its first record to --at.");
        var (topic, at, policy) = CommonOptions(cmd);
        var outOpt = new Option<string>("--out") { Description = "The SVG file to write.", Required = true };
        var points = new Option<int>("--points") { Description = "Number of times sampled (at least 2).", DefaultValueFactory = _ => 20 };
        cmd.Options.Add(outOpt);
        cmd.Options.Add(points);
        cmd.SetAction(p =>
        {
            var t = p.GetValue(topic)!;
            var book = LoadBook(CliCommon.ResolveDataDir(p));
            RequireTopic(book, t);
            var tau = ParseAt(p.GetValue(at));
            var knobs = Knobs(p.GetValue(policy), t);
            var n = p.GetValue(points);
            if (n < 2) throw new CliException($"--points {n}: expected at least 2.", ExitCodes.Usage);
            SimResult history;
            try { history = book.History(t, tau, knobs, n); }
            catch (ReputationInputException e) { throw new CliException($"topic '{t}': {e.Message}"); }
            var first = history.Steps[0].Tau;
            var svg = ReputationSimulation.ToSvg(history, $"fed reputation chart: {t}, vote weight per node/specialist",
                $"sample ({n} from {FormatDays(first)} to {FormatDays(tau)})");
            var outPath = p.GetValue(outOpt)!;
            File.WriteAllText(outPath, svg);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { topic = t, @out = outPath, points = n, from = first * ReputationBook.SecondsPerDay, to = tau * ReputationBook.SecondsPerDay });
            else CliCommon.WriteLine(p, $"wrote {outPath} ({n} samples, {history.Steps[^1].Nodes.Count} row(s))");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The data dir's book; a log that no longer verifies is an error naming the line.</summary>
    public static ReputationBook LoadBook(string dataDir)
    {
        ReputationPolicy? policy = null;
        try { if (FindPolicy() is { } f) policy = ReputationPolicyLoader.Parse(File.ReadAllBytes(f), f); }
        catch (ReputationPolicyException) { } // an invalid policy: only the node's own key is trusted
        try { return ReputationBookLog.Load(dataDir, Auditing.AuditSignerTrust.For(dataDir, policy)); }
        catch (ReputationRecordException e) { throw new CliException($"the reputation book is damaged: {e.Message}", ExitCodes.VerificationFailed); }
    }

    private static void RequireTopic(ReputationBook book, string topic)
    {
        if (!book.Topics.Contains(topic))
            throw new CliException($"no reputation records for topic '{topic}'" +
                (book.Topics.Count > 0 ? $" (topics with records: {string.Join(", ", book.Topics)})" : "") +
                "; ingest audit records with 'fed reputation ingest FILE…'.");
    }

    /// <summary>τ in days: unix seconds or ISO 8601; now when absent.</summary>
    public static double ParseAt(string? at)
    {
        if (at is null) return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 / ReputationBook.SecondsPerDay;
        if (double.TryParse(at, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && double.IsFinite(secs))
            return secs / ReputationBook.SecondsPerDay;
        if (DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dto))
            return dto.ToUnixTimeMilliseconds() / 1000.0 / ReputationBook.SecondsPerDay;
        throw new CliException($"--at '{at}': expected unix seconds (e.g. 1796184357) or an ISO 8601 time (e.g. 2026-12-01T00:00:00Z).", ExitCodes.Usage);
    }

    /// <summary>The topic's knobs from the named policy, or policies/reputation.yaml found like the routing policy.</summary>
    public static TopicReputationKnobs Knobs(string? policyPath, string topic)
    {
        var path = policyPath ?? FindPolicy();
        if (path is null) return ReputationSimulation.DefaultKnobs;
        if (!File.Exists(path)) throw new CliException($"policy file '{path}' does not exist; pass --policy with a readable reputation policy (e.g. policies/reputation.yaml).", ExitCodes.Usage);
        try { return ReputationPolicyLoader.Parse(File.ReadAllBytes(path), path).For(topic); }
        catch (ReputationPolicyException e) { throw new CliException($"reputation policy is invalid: {e.Message.Replace('\n', ' ')}; fix it and retry.", ExitCodes.Usage); }
    }

    /// <summary>policies/reputation.yaml above the current directory, then next to the program (the build copies it); null if none.</summary>
    public static string? FindPolicy()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "policies", "reputation.yaml");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    private static string FormatDays(double days) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(days * ReputationBook.SecondsPerDay * 1000)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
