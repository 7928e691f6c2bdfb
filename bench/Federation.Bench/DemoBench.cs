using System.Diagnostics;
using System.Globalization;
using Federation.Registry.Crypto;
using Federation.Specialists.Production.Demo;

namespace Federation.Bench;

/// <summary>
/// <c>demo [--profile test|full] [--recipe FILE]</c>: builds the demo federation from its recipe into a temp directory
/// and prints the wall time of each step and of the whole build (issue 9 bench: demo build time, adapter training time).
/// </summary>
internal static class DemoBench
{
    public static int Run(string[] args)
    {
        var profile = "test";
        string? recipePath = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--profile") profile = args[i + 1];
            else if (args[i] == "--recipe") recipePath = args[i + 1];
            else { Console.Error.WriteLine($"unknown option {args[i]}; expected --profile test|full or --recipe FILE"); return 2; }
        }
        recipePath ??= Find(Path.Combine("policies", "demo", $"recipe-{profile}.json"));
        var recipe = DemoRecipe.Load(recipePath);
        var dir = Path.Combine(Path.GetTempPath(), "fed-demo-bench-" + Guid.NewGuid().ToString("N"));
        using var key = NodeKey.Generate();
        var total = Stopwatch.StartNew();
        var step = Stopwatch.StartNew();
        string? current = null;
        var progress = new SyncProgress(p =>
        {
            if (p.Total == 0 || p.Step == current) return;
            if (current is not null) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{current,-28} {step.Elapsed.TotalSeconds,8:F1} s"));
            current = p.Step;
            step.Restart();
        });
        try
        {
            var fed = new DemoBuilder(recipe, key, progress).Build(dir);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"demo build ({recipe.Profile}, route {recipe.Route}, {recipe.Threads} threads): {total.Elapsed.TotalSeconds:F1} s"));
            foreach (var a in fed.Adapters)
                Console.WriteLine($"  {a.Name,-12} held-out {a.Acceptance["comparisons"][0]["candidate_accuracy"]} vs base {a.Acceptance["comparisons"][0]["reference_accuracy"]}, admitted {a.Admitted}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static string Find(string rel)
    {
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, rel))) return Path.Combine(d.FullName, rel);
        throw new FileNotFoundException($"no {rel} above '{Environment.CurrentDirectory}'; run from the repository or pass --recipe FILE.");
    }

    private sealed class SyncProgress(Action<DemoProgress> action) : IProgress<DemoProgress>
    {
        public void Report(DemoProgress value) => action(value);
    }
}
