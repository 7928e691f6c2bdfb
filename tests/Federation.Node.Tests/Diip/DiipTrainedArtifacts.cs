using System.Diagnostics;
using Federation.Node.Diip;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Specialists.Models;
using Federation.Specialists.Production;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Production.Demo;
using Federation.Specialists.Training;

namespace Federation.Node.Tests.Diip;

/// <summary>
/// Trained weights the DIIP end-to-end tests need, cached on disk by what made them (as <c>fed demo build</c> caches a
/// build under its recipe CID): the test profile's trained <c>base-a</c> (<c>policies/demo/recipe-test.json</c>, built by
/// <see cref="DemoBuilder"/> with that base alone — same seed, corpus, options and threads, so the same CID as the demo
/// build's <c>base-a</c>), and adapters keyed by their <see cref="DiipAdapterRecipe"/> CID. The cache root is
/// <c>$FEDERATION_TEST_CACHE</c> or <c>&lt;temp&gt;/fed-test-cache</c>, below a folder named by the CID of the trainer's
/// assembly, so a changed trainer never serves weights an older one made. Training is deterministic for the same inputs and
/// threads, so a cached file is the file a retraining would write; the reproduction test retrains regardless.
/// </summary>
public static class DiipTrainedArtifacts
{
    private static readonly Lock Gate = new();
    private static string? _baseA;

    /// <summary>Where the cached files live.</summary>
    public static string Root { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("FEDERATION_TEST_CACHE") is { Length: > 0 } r ? r : Path.Combine(Path.GetTempPath(), "fed-test-cache"),
        "trainer-" + FileCid.Compute(typeof(TrainerSelection).Assembly.Location).ToString()[..16]);

    /// <summary>The test profile's recipe.</summary>
    public static DemoRecipe TestRecipe() => DemoRecipe.Load(DemoRecipe.PathFor(Path.Combine(DiipLiveTests.RepoRoot(), "policies"), "test"));

    /// <summary>The math dataset of the test profile (operands 0..3, + and −, three forms: 90 training questions).</summary>
    public static Dataset MathDataset() => TestRecipe().Datasets.Single(d => d.Name == "math").Generate();

    /// <summary>
    /// The trained <c>base-a</c> of the test profile (path of the cached file); built on first use (seconds on an idle
    /// machine). <paramref name="log"/> receives how it was obtained.
    /// </summary>
    public static string BaseA(Action<string>? log = null)
    {
        lock (Gate)
        {
            if (_baseA is not null) return _baseA;
            var recipe = TestRecipe();
            var producer = NodeKey.FromSeedHex(new string('5', 64));
            // the recipe with base-a alone and no adapters; `with` keeps the recipe's CID, so the manifest names the test recipe
            var only = recipe with { Bases = [recipe.Bases.Single(b => b.Name == "base-a") with { Adapters = [] }] };
            var dir = Path.Combine(Root, "base-a-" + recipe.Cid.ToString()[..16]);
            var cached = DemoFederation.TryLoad(dir);
            if (cached is null || cached.Verify([producer.NodeId]) is not null)
            {
                var sw = Stopwatch.StartNew();
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                var tmp = dir + ".tmp-" + Environment.ProcessId;
                if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
                new DemoBuilder(only, producer).Build(tmp);
                Directory.CreateDirectory(Root);
                try { Directory.Move(tmp, dir); }
                catch (IOException) when (DemoFederation.TryLoad(dir) is not null) { Directory.Delete(tmp, recursive: true); } // another test process won
                cached = DemoFederation.TryLoad(dir)!;
                log?.Invoke($"base-a (test profile) trained: {sw.Elapsed.TotalSeconds:F1} s, CID {cached.Bases[0].Cid}");
            }
            else log?.Invoke($"base-a (test profile) from the cache {dir}: CID {cached.Bases[0].Cid}");
            return _baseA = cached.Bases[0].Path;
        }
    }

    /// <summary>
    /// Writes <paramref name="examples"/> as the recipe's JSONL (<paramref name="examplesPath"/>), then returns the adapter
    /// trained from <c>(base, examples, rank, options)</c> by the production line's trainer: from the cache when that recipe's
    /// CID is there, else trained now (and cached). <paramref name="seconds"/> is the training time (0 from the cache).
    /// </summary>
    public static (string Path, DiipAdapterRecipe Recipe) Adapter(string basePath, IReadOnlyList<TrainingExample> examples, string examplesPath,
        int rank, TrainingOptions options, out double seconds)
    {
        File.WriteAllLines(examplesPath, examples.Select(e => System.Text.Encoding.UTF8.GetString(
            CanonicalJson.Serialize(new JsonObject { ["prompt"] = e.Prompt, ["completion"] = e.Completion }))));
        var recipe = new DiipAdapterRecipe(TrainingRoute.Ggml, FileCid.Compute(basePath).ToString(), FileCid.Compute(examplesPath).ToString(), rank, options);
        var dir = Path.Combine(Root, "adapters");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, recipe.Cid + ".gguf");
        seconds = 0;
        if (File.Exists(path)) return (path, recipe);
        var sw = Stopwatch.StartNew();
        var tmp = path + ".tmp-" + Environment.ProcessId + ".gguf";
        TrainerSelection.For(recipe.Route).TrainAdapter(basePath, TrainingExamples.ReadJsonl(examplesPath), tmp, rank, options);
        seconds = sw.Elapsed.TotalSeconds;
        File.Move(tmp, path, overwrite: true);
        if (File.Exists(tmp + ".loss.csv")) File.Delete(tmp + ".loss.csv");
        return (path, recipe);
    }
}
