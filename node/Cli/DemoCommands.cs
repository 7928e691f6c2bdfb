using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Specialists.Production.Acceptance;
using Federation.Specialists.Production.Demo;
using MathNet.Numerics.Distributions;
using Spectre.Console;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed demo build [--verify] [--profile full|test] [--recipe FILE]</c> and <c>fed demo eval --target URL</c>: the
/// demo federation of issue 9, built from its recipe under <c>&lt;data-dir&gt;/demo/&lt;recipe CID&gt;</c>.
/// </summary>
internal static class DemoCommands
{
    private static readonly Option<string> Profile = CreateProfile();
    private static readonly Option<FileInfo?> RecipeFile = new("--recipe") { Description = "A recipe file instead of the shipped policies/demo/recipe-<profile>.json." };

    private static Option<string> CreateProfile()
    {
        var o = new Option<string>("--profile") { Description = "full (the demo) or test (small and fast, for tests).", DefaultValueFactory = _ => "full" };
        o.AcceptOnlyFromAmong("full", "test");
        return o;
    }

    public static Command Create()
    {
        var cmd = new Command("demo", "The demo federation: trained bases and adapters with signed manifests, built from recipes.");
        cmd.Subcommands.Add(Build());
        cmd.Subcommands.Add(Eval());
        cmd.Subcommands.Add(Ship());
        return cmd;
    }

    private static readonly Option<DirectoryInfo?> Shipped = new("--shipped") { Description = "Install from this shipped build (fed demo ship) instead of demo/shipped/<profile> or $FEDERATION_DEMO_SHIPPED." };

    /// <summary>
    /// <c>fed serve</c>'s first start: the demo of <paramref name="profile"/> under <paramref name="dataDir"/>, built
    /// (or installed from shipped weights) under the same progress display as <c>fed demo build</c>; a no-op (a check of
    /// the cached build) once it exists.
    /// </summary>
    internal static void Prepare(ParseResult p, string profile, string dataDir, string? shippedDir)
    {
        try
        {
            var recipe = DemoRecipe.Load(DemoWiring.FindRecipe(profile));
            Directory.CreateDirectory(dataDir);
            var shipped = DemoWiring.FindShipped(profile, shippedDir);
            if (DemoFederation.TryLoad(DemoBuilder.DirectoryFor(dataDir, recipe)) is not null) return; // the node verifies the cache as it starts
            if (shipped is null)
            {
                Federation.Specialists.Interop.LlamaLibrary.PreferPassiveWait(); // training follows; before llama.cpp loads
                CliCommon.WriteError(p, $"fed serve: first start: building the '{profile}' demo federation from {DemoWiring.FindRecipe(profile)} (no shipped weights found in {DemoWiring.ShippedRelativePath(profile)}); later starts reuse it");
            }
            var (key, _) = new NodeKeyStore(dataDir).LoadOrCreate();
            using (key)
            {
                var fed = WithProgress(p, shipped is null ? "build" : "install", pr => new DemoBuilder(recipe, key, pr) { ShippedDir = shipped }.BuildOrLoad(dataDir));
                CliCommon.WriteError(p, string.Create(CultureInfo.InvariantCulture,
                    $"fed serve: demo '{profile}' {(shipped is null ? $"built in {fed.BuildSeconds:F1} s" : $"installed from {shipped}")} into {fed.Directory}"));
            }
        }
        catch (Exception e) when (e is DemoShippingException or InvalidOperationException or FileNotFoundException or FormatException or ArgumentException)
        {
            throw new CliException(e.Message, ExitCodes.Usage);
        }
    }

    private static Command Ship()
    {
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Where to write the shipped build (default: the repository's demo/shipped/<profile>)." };
        var cmd = new Command("ship", "Write the data dir's demo build as shipped weights: the build's files, the producer's public key (producer_id) and a signed file index (files.json).") { Profile, RecipeFile, outDir };
        cmd.SetAction(p =>
        {
            var recipe = LoadRecipe(p);
            var root = CliCommon.ResolveDataDir(p);
            var keys = new NodeKeyStore(root);
            if (!keys.Exists) throw new CliException($"no node identity in {root}; build the demo there first (fed demo build --profile {p.GetValue(Profile)} --data-dir {root}).", ExitCodes.Usage);
            var build = DemoBuilder.DirectoryFor(root, recipe);
            var target = p.GetValue(outDir)?.FullName ?? Path.Combine(RepositoryRoot(), DemoWiring.ShippedRelativePath(recipe.Profile));
            using var key = keys.Load();
            try { DemoShipping.Ship(build, key, target); }
            catch (DemoShippingException e) { throw new CliException(e.Message, ExitCodes.Usage); }
            var files = Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).ToList();
            var bytes = files.Sum(f => new FileInfo(f).Length);
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject { ["directory"] = target, ["recipe"] = recipe.Cid.ToString(), ["producer"] = key.NodeId.ToString(), ["files"] = files.Count, ["bytes"] = bytes }));
            else
                CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture, $"shipped demo ({recipe.Profile}) recipe {recipe.Cid} to {target}: {files.Count} files, {bytes / 1048576.0:F1} MiB, producer {key.NodeId}"));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The repository root: the directory above the current one (or the program) that holds policies/demo.</summary>
    private static string RepositoryRoot() =>
        Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(DemoWiring.FindRecipe("test"))!)!)!;

    private static DemoRecipe LoadRecipe(ParseResult p)
    {
        var path = p.GetValue(RecipeFile)?.FullName ?? DemoWiring.FindRecipe(p.GetValue(Profile)!);
        if (!File.Exists(path)) throw new CliException($"recipe '{path}' does not exist.", ExitCodes.Usage);
        try { return DemoRecipe.Load(path); }
        catch (FormatException e) { throw new CliException(e.Message, ExitCodes.Usage); }
    }

    private static Command Build()
    {
        var verify = new Option<bool>("--verify") { Description = "Rebuild from the recipe in a temporary directory and compare every dataset, base and adapter CID bit for bit with the cached build." };
        var cmd = new Command("build", "Build the demo federation (or install the shipped weights, or reuse the cached build of the same recipe) under <data-dir>/demo.") { Profile, RecipeFile, verify, Shipped };
        cmd.SetAction(p =>
        {
            Federation.Specialists.Interop.LlamaLibrary.PreferPassiveWait(); // before llama.cpp loads: see the method
            var recipe = LoadRecipe(p);
            var root = CliCommon.ResolveDataDir(p);
            Directory.CreateDirectory(root);
            var (key, _) = new NodeKeyStore(root).LoadOrCreate();
            using (key)
            {
                string? shipped;
                try { shipped = p.GetValue(RecipeFile) is null || p.GetValue(Shipped) is not null ? DemoWiring.FindShipped(recipe.Profile, p.GetValue(Shipped)?.FullName) : null; }
                catch (FileNotFoundException e) { throw new CliException(e.Message, ExitCodes.Usage); }
                DemoFederation fed;
                try { fed = WithProgress(p, "build", pr => new DemoBuilder(recipe, key, pr) { ShippedDir = shipped }.BuildOrLoad(root)); }
                catch (InvalidOperationException e) { throw new CliException(e.Message, ExitCodes.VerificationFailed); }
                if (!p.GetValue(verify))
                {
                    Report(p, fed, null);
                    return ExitCodes.Ok;
                }
                var tmp = Path.Combine(Path.GetTempPath(), "fed-demo-verify-" + Guid.NewGuid().ToString("N"));
                try
                {
                    var again = WithProgress(p, "verify", pr => new DemoBuilder(recipe, key, pr).Build(tmp));
                    var diffs = DemoShipping.Compare(fed, again);
                    Report(p, fed, diffs);
                    return diffs.Count == 0 ? ExitCodes.Ok : ExitCodes.VerificationFailed;
                }
                finally
                {
                    try { Directory.Delete(tmp, recursive: true); } catch (IOException) { }
                }
            }
        });
        return cmd;
    }

    private static void Report(ParseResult p, DemoFederation fed, List<string>? diffs)
    {
        if (CliCommon.IsJson(p))
        {
            var o = fed.ToJson();
            o["directory"] = fed.Directory;
            if (diffs is not null) o["verified"] = new JsonObject { ["identical"] = diffs.Count == 0, ["differences"] = new JsonArray(diffs.Select(d => (JsonValue)d)) };
            CliCommon.WriteLine(p, CanonicalJson.SerializeToString(o));
            return;
        }
        CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture, $"demo ({fed.Profile}) recipe {fed.RecipeCid} in {fed.Directory}{(fed.BuildSeconds > 0 ? $", built in {fed.BuildSeconds:F1} s" : ", cached")}"));
        foreach (var b in fed.Bases) CliCommon.WriteLine(p, $"  base    {b.Name,-12} {b.Lineage,-8} {b.Jurisdiction,-3} {b.Cid}");
        foreach (var a in fed.Adapters)
        {
            var c = a.Acceptance["comparisons"].AsArray()[0];
            CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture,
                $"  adapter {a.Name,-12} {a.Topic,-8} {(a.Admitted ? "admitted" : "refused "),-8} held-out {c["candidate_accuracy"].AsDouble():P0} vs base {c["reference_accuracy"].AsDouble():P0} (p {c["p_value"].AsDouble():G3}) {a.Cid}"));
        }
        if (diffs is not null)
            CliCommon.WriteLine(p, diffs.Count == 0 ? "verify: the rebuild is identical, bit for bit (datasets, bases, adapters)." : "verify: DIFFERENT from the rebuild (installed/cached vs rebuilt from the recipe):\n  " + string.Join("\n  ", diffs));
    }

    /// <summary>Runs <paramref name="body"/> under a Spectre.Console progress display on stderr (plain lines when stderr is redirected).</summary>
    private static T WithProgress<T>(ParseResult p, string what, Func<IProgress<DemoProgress>, T> body)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(p.InvocationConfiguration.Error) });
        if (!console.Profile.Capabilities.Interactive)
            return body(new SyncProgress(d => p.InvocationConfiguration.Error.WriteLine($"{what}: [{d.Done}/{d.Total}] {d.Step} {d.Detail}")));
        T result = default!;
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(what, maxValue: 1);
                result = body(new SyncProgress(d =>
                {
                    if (d.Total > 0) task.Value = (double)d.Done / d.Total;
                    task.Description = Markup.Escape($"{what}: {d.Step} {d.Detail}");
                }));
                task.Value = 1;
            });
        return result;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and race the display).</summary>
    private sealed class SyncProgress(Action<DemoProgress> action) : IProgress<DemoProgress>
    {
        public void Report(DemoProgress value) => action(value);
    }

    private static Command Eval()
    {
        var target = new Option<string>("--target") { Description = "Base URL of a running node, e.g. http://127.0.0.1:8740.", Required = true };
        var apiKey = new Option<string?>("--api-key") { Description = "Client API key (default: $FEDERATION_API_KEY)." };
        var pin = new Option<bool>("--pin-topic") { Description = "Ask federation/<topic> instead of letting the router classify each question." };
        var limit = new Option<int>("--limit") { Description = "At most this many held-out questions per topic (0 = all).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("eval", "Reproduce the quality table against a running node over its OpenAI endpoint: held-out pass rates with Wilson 95% intervals and p-values vs the base.")
        { target, apiKey, pin, limit, Profile, RecipeFile };
        cmd.SetAction(async (p, ct) =>
        {
            var recipe = LoadRecipe(p);
            var key = p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("FEDERATION_API_KEY");
            if (!Uri.TryCreate(p.GetValue(target), UriKind.Absolute, out var baseUri))
                throw new CliException($"--target '{p.GetValue(target)}' is not an absolute URL such as http://127.0.0.1:8740.", ExitCodes.Usage);
            var built = DemoFederation.TryLoad(DemoBuilder.DirectoryFor(CliCommon.ResolveDataDir(p), recipe));
            using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(2) };
            if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var rows = new List<JsonObject>();
            foreach (var d in recipe.Datasets)
            {
                var ds = d.Generate();
                var held = ds.HeldOut.ToList();
                if (held.Count == 0) continue; // a corpus-only dataset (e.g. math-plain, the base's corpus) has nothing to score
                if (p.GetValue(limit) > 0) held = held.Take(p.GetValue(limit)).ToList();
                var pass = 0;
                foreach (var e in held)
                {
                    var body = new System.Text.Json.Nodes.JsonObject
                    {
                        ["model"] = p.GetValue(pin) ? "federation/" + ds.Topic : "federation",
                        ["temperature"] = 0,
                        ["max_tokens"] = recipe.EvalMaxTokens,
                        ["stop"] = new System.Text.Json.Nodes.JsonArray("\n"),
                        ["messages"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["role"] = "user", ["content"] = e.Question }),
                    };
                    using var resp = await http.PostAsJsonAsync("/v1/chat/completions", body, ct);
                    if (!resp.IsSuccessStatusCode) continue; // a 422 (refuted by the class-A gate) or a pending T3 review counts as a failure
                    using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync(ct));
                    var text = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
                    if (DemoCheckers.Check(ds.Topic, e.Question, text, e.Answer)) pass++;
                }
                var (lo, hi) = QualityStats.Wilson95(pass, held.Count);
                // The base's held-out rate from the build (same questions); exact one-sided binomial P(X >= pass | n, p0).
                var adapter = built?.Adapters.FirstOrDefault(a => a.Topic == ds.Topic);
                double? p0 = adapter is null ? null : adapter.Acceptance["comparisons"].AsArray()[0]["reference_accuracy"].AsDouble();
                double? pv = p0 is { } r && held.Count > 0 ? (pass == 0 ? 1.0 : 1.0 - Binomial.CDF(Math.Max(r, 0.5 / held.Count), held.Count, pass - 1)) : null;
                rows.Add(new JsonObject
                {
                    ["topic"] = ds.Topic, ["n"] = held.Count, ["passed"] = pass, ["rate"] = held.Count == 0 ? 0.0 : (double)pass / held.Count,
                    ["wilson95_low"] = lo, ["wilson95_high"] = hi, ["base_rate"] = p0 is { } b ? (JsonValue)b : (JsonValue)(string?)null, ["p_value_vs_base"] = pv is { } v ? (JsonValue)v : (JsonValue)(string?)null,
                });
            }
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject { ["recipe"] = recipe.Cid.ToString(), ["topics"] = new JsonArray(rows) }));
            else
            {
                CliCommon.WriteLine(p, $"{"topic",-10} {"n",5} {"pass",5} {"rate",7}  {"95% CI (Wilson)",-17} {"base",7} {"p vs base",10}");
                foreach (var r in rows)
                    CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture,
                        $"{r["topic"].AsString(),-10} {r["n"].AsInt64(),5} {r["passed"].AsInt64(),5} {r["rate"].AsDouble(),7:P1}  [{r["wilson95_low"].AsDouble():P1}, {r["wilson95_high"].AsDouble():P1}]  {(r["base_rate"] is JsonFloat bf ? bf.Value.ToString("P1", CultureInfo.InvariantCulture) : "n/a"),7} {(r["p_value_vs_base"] is JsonFloat pf ? pf.Value.ToString("G3", CultureInfo.InvariantCulture) : "n/a"),10}"));
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
