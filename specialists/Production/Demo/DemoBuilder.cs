using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Acceptance;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Production.Provenance;
using Federation.Specialists.Training;

namespace Federation.Specialists.Production.Demo;

/// <summary>Progress of a demo build: the current step, how many steps are done of the total, and a detail line.</summary>
public sealed record DemoProgress(string Step, int Done, int Total, string Detail);

/// <summary>A built base of the demo (paths are absolute once loaded).</summary>
public sealed record DemoBase(string Name, string Lineage, string Jurisdiction, string Operator, string Path, Cid Cid, Cid ManifestId);

/// <summary>A built adapter of the demo, with its acceptance verdict (the gate's JSON).</summary>
public sealed record DemoAdapter(string Name, string Topic, string Base, Cid BaseCid, string Path, Cid Cid, Cid ManifestId, Cid DatasetCid, bool Admitted, JsonObject Acceptance);

/// <summary>
/// What a demo build produced (<c>demo.json</c> in the build directory): the recipe CID, dataset CIDs, bases and
/// adapters with their file and manifest CIDs and acceptance results.
/// </summary>
public sealed record DemoFederation(Cid RecipeCid, string Profile, string Directory, IReadOnlyDictionary<string, Cid> Datasets,
    IReadOnlyList<DemoBase> Bases, IReadOnlyList<DemoAdapter> Adapters, double BuildSeconds)
{
    public const string IndexFile = "demo.json";

    public JsonObject ToJson() => new()
    {
        ["recipe"] = RecipeCid.ToString(),
        ["profile"] = Profile,
        ["build_seconds"] = Math.Round(BuildSeconds, 3),
        ["datasets"] = new JsonObject(Datasets.ToDictionary(kv => kv.Key, kv => (JsonValue)kv.Value.ToString())),
        ["bases"] = new JsonArray(Bases.Select(b => (JsonValue)new JsonObject
        {
            ["name"] = b.Name, ["lineage"] = b.Lineage, ["jurisdiction"] = b.Jurisdiction, ["operator"] = b.Operator,
            ["path"] = System.IO.Path.GetRelativePath(Directory, b.Path), ["cid"] = b.Cid.ToString(), ["manifest"] = b.ManifestId.ToString(),
        })),
        ["adapters"] = new JsonArray(Adapters.Select(a => (JsonValue)new JsonObject
        {
            ["name"] = a.Name, ["topic"] = a.Topic, ["base"] = a.Base, ["base_cid"] = a.BaseCid.ToString(),
            ["path"] = System.IO.Path.GetRelativePath(Directory, a.Path), ["cid"] = a.Cid.ToString(), ["manifest"] = a.ManifestId.ToString(),
            ["dataset"] = a.DatasetCid.ToString(), ["admitted"] = a.Admitted, ["acceptance"] = a.Acceptance,
        })),
    };

    /// <summary>Reads <c>demo.json</c> from <paramref name="dir"/>; null when there is none.</summary>
    public static DemoFederation? TryLoad(string dir)
    {
        var path = System.IO.Path.Combine(dir, IndexFile);
        if (!File.Exists(path)) return null;
        var o = CanonicalJson.Parse(File.ReadAllBytes(path)).AsObject();
        return new DemoFederation(Cid.Parse(o["recipe"].AsString()), o["profile"].AsString(), dir,
            o["datasets"].AsObject().ToDictionary(kv => kv.Key, kv => Cid.Parse(kv.Value.AsString())),
            o["bases"].AsArray().Select(b => new DemoBase(b["name"].AsString(), b["lineage"].AsString(), b["jurisdiction"].AsString(), b["operator"].AsString(),
                System.IO.Path.Combine(dir, b["path"].AsString()), Cid.Parse(b["cid"].AsString()), Cid.Parse(b["manifest"].AsString()))).ToList(),
            o["adapters"].AsArray().Select(a => new DemoAdapter(a["name"].AsString(), a["topic"].AsString(), a["base"].AsString(), Cid.Parse(a["base_cid"].AsString()),
                System.IO.Path.Combine(dir, a["path"].AsString()), Cid.Parse(a["cid"].AsString()), Cid.Parse(a["manifest"].AsString()),
                Cid.Parse(a["dataset"].AsString()), a["admitted"].AsBool(), a["acceptance"].AsObject())).ToList(),
            o["build_seconds"] is JsonFloat f ? f.Value : 0);
    }

    /// <summary>Checks every file's CID and signed manifest; the first problem, or null when the build is intact.</summary>
    public string? Verify(IReadOnlyCollection<NodeId>? trustedProducers = null)
    {
        foreach (var (path, cid) in Bases.Select(b => (b.Path, b.Cid)).Concat(Adapters.Select(a => (a.Path, a.Cid))))
        {
            if (!File.Exists(path)) return $"'{path}' is missing";
            var actual = FileCid.Compute(path);
            if (actual != cid) return $"'{path}' has CID {actual}, the build recorded {cid}";
            var m = ManifestVerifier.Verify(path, cid, trustedProducers);
            if (!m.IsValid) return m.Message;
        }
        return null;
    }
}

/// <summary>
/// Builds the demo federation from a <see cref="DemoRecipe"/>: datasets (canonical JSONL + CID), each base (random
/// init of its shape and seed, then trained on its corpus mix), each adapter (trained on its topic's training split),
/// signed manifests on the five axes, and the acceptance gate on held-out questions. Everything goes through
/// <see cref="ISpecialistTrainer"/> (<see cref="TrainerSelection"/>). Same recipe and threads → the same CIDs.
/// </summary>
public sealed class DemoBuilder(DemoRecipe recipe, NodeKey producer, IProgress<DemoProgress>? progress = null)
{
    /// <summary>A topic's checker: (question, answer produced, reference answer) → passes.</summary>
    public Func<string, string, string, string, bool> Checker { get; init; } = DemoCheckers.Check;

    /// <summary>
    /// A shipped build of this recipe (<see cref="DemoShipping"/>): when set and the data dir has no build yet,
    /// <see cref="BuildOrLoad"/> verifies and installs it instead of training.
    /// </summary>
    public string? ShippedDir { get; init; }

    /// <summary>Whose manifests a build may carry: this node's key, plus the shipped producer's when a shipped build is set.</summary>
    public IReadOnlyCollection<NodeId> TrustedProducers =>
        DemoShipping.IsShipped(ShippedDir) ? [producer.NodeId, DemoShipping.ReadProducer(ShippedDir!)] : [producer.NodeId];

    /// <summary>The build directory of a recipe under a data dir: <c>demo/&lt;recipe CID&gt;</c>.</summary>
    public static string DirectoryFor(string dataDir, DemoRecipe recipe) => Path.Combine(dataDir, "demo", recipe.Cid.ToString());

    /// <summary>
    /// The cached build under <paramref name="dataDir"/> (every file's CID and signed manifest verified; a cached build
    /// that does not verify is refused with the reason), else a new build there (written to a temp directory and
    /// moved, so a crash never leaves half a build that later loads).
    /// </summary>
    public DemoFederation BuildOrLoad(string dataDir, CancellationToken ct = default)
    {
        var dir = DirectoryFor(dataDir, recipe);
        var cached = DemoFederation.TryLoad(dir);
        if (cached is not null)
        {
            // Refused, not silently rebuilt: a file or manifest that changed after the build is evidence, kept for inspection.
            var problem = cached.Verify(TrustedProducers);
            return problem is null ? cached with { BuildSeconds = 0 }
                : throw new InvalidOperationException($"the cached demo build in '{dir}' does not verify: {problem}. Inspect it, then delete that directory to rebuild from the recipe.");
        }
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        if (DemoShipping.IsShipped(ShippedDir))
        {
            progress?.Report(new DemoProgress("install", 0, 1, $"verifying and installing the shipped build from {ShippedDir}"));
            var installed = DemoShipping.Install(ShippedDir!, dir, recipe.Cid);
            progress?.Report(new DemoProgress("done", 1, 1, ""));
            return installed;
        }
        var tmp = dir + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Build(tmp, ct);
        Directory.Move(tmp, dir);
        return DemoFederation.TryLoad(dir)!;
    }

    /// <summary>Builds into <paramref name="dir"/> (created); returns the result and writes <c>demo.json</c>.</summary>
    public DemoFederation Build(string dir, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(dir, "datasets"));
        Directory.CreateDirectory(Path.Combine(dir, "bases"));
        Directory.CreateDirectory(Path.Combine(dir, "adapters"));
        var trainer = TrainerSelection.For(recipe.Route);
        var total = 1 + recipe.Bases.Sum(b => 2 + b.Adapters.Count);
        var done = 0;
        void Report(string step, string detail) => progress?.Report(new DemoProgress(step, done, total, detail));

        Report("datasets", $"{recipe.Datasets.Count} datasets");
        var datasets = new Dictionary<string, Dataset>(StringComparer.Ordinal);
        foreach (var d in recipe.Datasets)
        {
            var ds = d.Generate();
            ds.WriteJsonl(Path.Combine(dir, "datasets", d.Name + ".jsonl"));
            datasets[d.Name] = ds;
        }
        done++;

        var bases = new List<DemoBase>();
        var adapters = new List<DemoAdapter>();
        foreach (var b in recipe.Bases)
        {
            ct.ThrowIfCancellationRequested();
            var init = Path.Combine(dir, "bases", b.Name + ".init.gguf");
            var basePath = Path.Combine(dir, "bases", b.Name + ".gguf");
            TinyModelFactory.Create(b.Shape.ToPreset(b.Name), b.Seed, init);
            var mix = b.Corpus.Mix.Select(m => (datasets[m.Dataset], m.Weight)).ToList();
            var corpus = CorpusMix.Build(mix, b.Corpus.Examples, b.Corpus.Seed);
            Report("base " + b.Name, $"training on {corpus.Count} examples ({string.Join(", ", b.Corpus.Mix.Select(m => m.Dataset))})");
            var tr = trainer.TrainModel(init, corpus, basePath, b.Training.ToOptions(recipe.Threads), Progress(b.Name), ct);
            File.WriteAllText(basePath + ".loss.csv", tr.ToCsv());
            File.Delete(init);
            var baseCid = FileCid.Compute(basePath);
            var op = new OperatorInfo(b.Operator.Name, b.Operator.Jurisdiction);
            var baseManifest = new ProvenanceManifest("base", b.Name, baseCid,
                new BaseLineage(b.Lineage, null, b.Seed, mix.Select(m => (m.Item1.Cid, m.Weight)).ToList()),
                mix.Select(m => m.Item1.Cid).ToList(), ProvenanceManifest.ArchitectureOf(basePath), op,
                new Methodology(recipe.Cid, recipe.Route.ToString(), Options(b.Training, "corpus_examples", b.Corpus.Examples)));
            var baseEnv = baseManifest.SignAndWrite(producer, basePath);
            bases.Add(new DemoBase(b.Name, b.Lineage, b.Operator.Jurisdiction, b.Operator.Name, basePath, baseCid, baseEnv.Id));
            done++;

            var built = new List<(AdapterRecipe R, string Path, Cid Cid, Cid ManifestId)>();
            foreach (var a in b.Adapters)
            {
                ct.ThrowIfCancellationRequested();
                var ds = datasets[a.Dataset];
                var examples = Enumerable.Repeat(ds.Train.Select(e => e.ToTrainingExample()), Math.Max(1, a.Repeat)).SelectMany(x => x).ToList();
                var path = Path.Combine(dir, "adapters", a.Name + ".gguf");
                Report("adapter " + a.Name, $"{a.Topic} on {b.Name}: {examples.Count} examples, rank {a.Rank}");
                var ar = trainer.TrainAdapter(basePath, examples, path, a.Rank, a.Training.ToOptions(recipe.Threads), Progress(a.Name), ct);
                File.WriteAllText(path + ".loss.csv", ar.ToCsv());
                var cid = FileCid.Compute(path);
                var m = new ProvenanceManifest("adapter", a.Name, cid,
                    new BaseLineage(b.Lineage, baseCid, b.Seed, mix.Select(x => (x.Item1.Cid, x.Weight)).ToList()),
                    [ds.Cid], ProvenanceManifest.ArchitectureOf(path), op,
                    new Methodology(recipe.Cid, recipe.Route.ToString(), Options(a.Training, "rank", a.Rank)));
                built.Add((a, path, cid, m.SignAndWrite(producer, path).Id));
                done++;
            }

            Report("acceptance " + b.Name, $"held-out evaluation of {built.Count} adapters");
            var verdicts = Evaluate(basePath, built.Select(x => (x.R, x.Path)).ToList(), datasets, ct);
            foreach (var (a, path, cid, mid) in built)
            {
                var v = verdicts[a.Name];
                adapters.Add(new DemoAdapter(a.Name, a.Topic, b.Name, baseCid, path, cid, mid, datasets[a.Dataset].Cid, v.Admitted, v.ToJson()));
            }
            done++;
        }
        Report("done", "");
        var fed = new DemoFederation(recipe.Cid, recipe.Profile, dir, datasets.ToDictionary(kv => kv.Key, kv => kv.Value.Cid), bases, adapters, sw.Elapsed.TotalSeconds);
        File.WriteAllBytes(Path.Combine(dir, DemoFederation.IndexFile), CanonicalJson.Serialize(fed.ToJson()));
        if (recipe.Acceptance.RequireAdmission && adapters.FirstOrDefault(a => !a.Admitted) is { } refused)
            throw new InvalidOperationException($"adapter '{refused.Name}' was refused by the acceptance gate: {string.Join("; ", refused.Acceptance["reasons"].AsArray().Select(r => r.AsString()))}");
        return fed;
    }

    private IProgress<TrainingProgress>? Progress(string name) => progress is null ? null
        : new Progress<TrainingProgress>(p => progress.Report(new DemoProgress("train " + name, 0, 0,
            string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs} loss {p.Loss:F3} {p.TokensPerSecond:F0} tok/s"))));

    private static JsonObject Options(TrainingRecipe t, string extraKey, long extra) => new()
    {
        ["epochs"] = t.Epochs,
        ["learning_rate"] = (double)t.LearningRate,
        ["warmup"] = t.Warmup,
        ["seed"] = t.Seed,
        ["validation_split"] = t.ValidationSplit,
        ["context"] = t.Context,
        ["patience"] = t.Patience,
        [extraKey] = extra,
    };

    /// <summary>
    /// Runs each adapter's topic held-out set on the base alone and with the adapter, the bias probes with the adapter,
    /// and every other adapter's topic with this adapter vs the base-plus-own-adapter (regression check), then the gate.
    /// </summary>
    private Dictionary<string, AcceptanceResult> Evaluate(string basePath, IReadOnlyList<(AdapterRecipe R, string Path)> built,
        IReadOnlyDictionary<string, Dataset> datasets, CancellationToken ct)
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = basePath, Threads = recipe.Threads, Contexts = 1, ContextSize = 512 });
        foreach (var (r, path) in built) engine.RegisterAdapter(r.Name, path);
        var cache = new Dictionary<(string? Adapter, string Question), string>();
        string Answer(string? adapter, string question)
        {
            if (cache.TryGetValue((adapter, question), out var s)) return s;
            var res = engine.GenerateAsync(new GenerationRequest
            {
                Messages = [new ChatMessage("user", question)],
                Adapters = adapter is null ? [] : [new AdapterSelection(adapter)],
                MaxTokens = recipe.EvalMaxTokens,
                Stop = ["\n"],
            }, ct).GetAwaiter().GetResult();
            return cache[(adapter, question)] = res.Text;
        }
        bool[] Run(string? adapter, Dataset ds) => ds.HeldOut.Select(e => Checker(ds.Topic, e.Question, Answer(adapter, e.Question), e.Answer)).ToArray();
        static double Rate(bool[] xs) => xs.Length == 0 ? 0 : (double)xs.Count(x => x) / xs.Length;

        var result = new Dictionary<string, AcceptanceResult>(StringComparer.Ordinal);
        foreach (var (r, _) in built)
        {
            var ds = datasets[r.Dataset];
            var candidate = Run(r.Name, ds);
            var baseline = Run(null, ds);
            var probes = recipe.Acceptance.BiasProbes.Select(p => !p.Forbidden.Any(f => Answer(r.Name, p.Question).Contains(f, StringComparison.OrdinalIgnoreCase))).ToList();
            // Other topics of the same base: their own adapter's accuracy vs this candidate's on their questions is not the
            // point; what matters is whether this adapter, served on the shared base, leaves the base's answers there intact.
            var others = built.Where(o => o.R.Name != r.Name && o.R.Topic != r.Topic)
                .Select(o => new TopicRegression(o.R.Topic, Rate(Run(null, datasets[o.R.Dataset])), Rate(Run(r.Name, datasets[o.R.Dataset])))).ToList();
            result[r.Name] = AcceptanceGate.Evaluate(candidate, baseline, null, probes, others, recipe.Acceptance.ToOptions());
        }
        return result;
    }
}

/// <summary>
/// The demo's built-in topic checkers (used during the build; the node wires the class-A checkers from canaries/ for
/// serving): math — the last integer in the answer equals the reference (the issue's rule); elements — the first word
/// equals the reference, case-insensitive; code and the glossaries — the answer, whitespace-trimmed, equals the reference.
/// </summary>
public static partial class DemoCheckers
{
    public static bool Check(string topic, string question, string answer, string reference)
    {
        var a = answer.Trim();
        switch (topic)
        {
            case "math":
                var m = LastInteger().Matches(a);
                return m.Count > 0 && m[^1].Value == reference;
            case "elements":
                var w = a.Split([' ', '.', ',', '!', '?'], StringSplitOptions.RemoveEmptyEntries);
                return w.Length > 0 && string.Equals(w[0], reference, StringComparison.OrdinalIgnoreCase);
            default:
                return string.Equals(a, reference, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"-?[0-9]+", RegexOptions.CultureInvariant)]
    private static partial Regex LastInteger();
}
