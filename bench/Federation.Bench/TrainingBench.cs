using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Training;
using Federation.Specialists.Training.Ggml;

namespace Federation.Bench;

/// <summary>
/// Training benchmarks (docs/production-line.md).
/// <c>training</c>: training tokens/s of both routes in one run on the same math examples: route 1 (ggml graph, full
/// model and LoRA) and route 2 (llama_opt). Options <c>--models tiny,small</c>, <c>--threads 1,2</c>, <c>--examples N</c>.
/// <c>training-quality</c>: the math spike: trains on generated "What is A + B?" / "Compute A - B" / "A+B=" examples
/// (A, B in 0..999) and reports held-out exact match (greedy through the real engine, last integer of the answer)
/// after each epoch with the wall time. Options <c>--preset</c>, <c>--mode full|adapter</c>, <c>--form plain|scratch</c>,
/// <c>--examples N</c>, <c>--epochs N</c>, <c>--lr X</c>, <c>--batch N</c>, <c>--threads N</c>, <c>--rank R</c>.
/// </summary>
internal static partial class TrainingBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var threadList = (Arg(args, "--threads") ?? "1,2").Split(',').Select(t => int.Parse(t, Inv)).ToArray();
        var n = int.Parse(Arg(args, "--examples") ?? "256", Inv);
        LlamaLibrary.EnsureLoaded();
        var dir = Path.Combine(Path.GetTempPath(), "fed-train-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Console.WriteLine($"training tokens/s, {Environment.ProcessorCount} cores, threads {string.Join(',', threadList)}, load average {LoadAverage()} (measured under load)");
            foreach (var name in (Arg(args, "--models") ?? "tiny").Split(','))
            foreach (var threads in threadList)
            {
                var basePath = TinyModelFactory.Create(ModelPreset.Named(name), 1, Path.Combine(dir, name + ".gguf")).Path;
                var examples = MathExamples(n, 1, scratch: false);
                var o = new TrainingOptions { Epochs = 1, LearningRate = 1e-3f, WarmupSteps = 2, Seed = 1, Threads = threads, ValidationSplit = 0.1, Patience = 0, BatchSize = 16, Context = 64 };
                Console.WriteLine($" {name}, {threads} thread(s), {examples.Count} math examples, batch 16 (ggml) / 256-token windows (llama_opt):");
                Measure($"{name} route 1 ggml, full model (every tensor)", () => new GgmlTrainer().TrainModel(basePath, examples, Path.Combine(dir, "g.gguf"), o));
                Measure($"{name} route 1 ggml, LoRA r16 (A/B only)", () => new GgmlTrainer().TrainAdapter(basePath, examples, Path.Combine(dir, "a.gguf"), 16, o));
                Measure($"{name} route 2 llama_opt, last block + head", () => new LlamaOptTrainer().TrainModel(basePath, examples, Path.Combine(dir, "o.gguf"), o with { Context = 256, ValidationSplit = 0.2 }));
            }
            Console.WriteLine($"load average at the end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Measure(string label, Func<TrainingResult> run)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var r = run();
        var wall = sw.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var tokens = r.TrainTokensPerEpoch * r.Epochs.Count;
        Console.WriteLine(string.Create(Inv, $"  {label,-48} {r.TrainTokensPerSecond,8:F0} train tok/s (training loop), {tokens / Math.Max(cpu, 1e-9),8:F0} tok/CPU-s over the whole run ({tokens} tokens, {wall:F1} s wall)"));
    }

    public static async Task<int> QualityAsync(string[] args)
    {
        var preset = Arg(args, "--preset") ?? "tiny";
        var mode = Arg(args, "--mode") ?? "full";
        var formName = Arg(args, "--form") ?? "plain";
        var scratch = formName == "scratch";
        var steps = formName == "steps"; // MathData's worked format through the chat template, as the demo trains it
        var maxOperand = int.Parse(Arg(args, "--max-operand") ?? "999", Inv);
        var maxTokens = int.Parse(Arg(args, "--max-tokens") ?? (steps ? "40" : "16"), Inv);
        var heldN = int.Parse(Arg(args, "--held-out") ?? "200", Inv);
        var n = int.Parse(Arg(args, "--examples") ?? "4000", Inv);
        var epochs = int.Parse(Arg(args, "--epochs") ?? "4", Inv);
        var threads = int.Parse(Arg(args, "--threads") ?? "2", Inv);
        var rank = int.Parse(Arg(args, "--rank") ?? "16", Inv);
        var o = new TrainingOptions
        {
            Epochs = epochs, LearningRate = float.Parse(Arg(args, "--lr") ?? "3e-3", Inv), WarmupSteps = 20, Seed = 1, Threads = threads,
            ValidationSplit = 0.05, Patience = 0, BatchSize = int.Parse(Arg(args, "--batch") ?? "32", Inv), Context = steps ? 128 : 64,
            LoraTargets = Arg(args, "--targets")?.Split(','),
        };
        LlamaLibrary.EnsureLoaded();
        var dir = Path.Combine(Path.GetTempPath(), "fed-train-quality-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var basePath = Arg(args, "--base") ?? TinyModelFactory.Create(ModelPreset.Named(preset), 1, Path.Combine(dir, "base.gguf")).Path;
            List<TrainingExample> train, heldOut;
            if (steps)
            {
                var ds = MathData.Generate(n, heldN, maxOperand, 1, format: MathFormat.Steps);
                train = ds.Train.Select(e => e.ToTrainingExample()).ToList();
                heldOut = ds.HeldOut.Select(e => e.ToTrainingExample()).ToList();
            }
            else
            {
                train = MathExamples(n, 1, scratch);
                var seen = train.Select(e => e.Prompt).ToHashSet();
                heldOut = MathExamples(400, 99, scratch).Where(e => !seen.Contains(e.Prompt)).Take(heldN).ToList();
            }
            Console.WriteLine($"math spike: preset {preset}, mode {mode}, form {formName}, {n} examples, {epochs} epochs, batch {o.BatchSize}, lr {o.LearningRate}, threads {threads}, load average {LoadAverage()} (measured under load)");
            Console.WriteLine($"  base (no training): exact {await ExactAsync(basePath, null, heldOut, maxTokens):P1}");
            var ck = Path.Combine(dir, "ck");
            var sw = Stopwatch.StartNew();
            string? resume = null;
            var trainer = new GgmlTrainer();
            for (var e = 1; e <= epochs; e++)
            {
                var stage = o with { CheckpointDir = ck, ResumeFrom = resume, StopAfterEpoch = e };
                var outPath = Path.Combine(dir, $"out{e}.gguf");
                var r = mode == "adapter" ? trainer.TrainAdapter(basePath, train, outPath, rank, stage) : trainer.TrainModel(basePath, train, outPath, stage);
                resume = r.CheckpointPath;
                var wall = sw.Elapsed.TotalSeconds; // since training started: training, validation and the earlier epochs' held-out evaluations
                var exact = mode == "adapter" ? await ExactAsync(basePath, outPath, heldOut, maxTokens) : await ExactAsync(outPath, null, heldOut, maxTokens);
                if (Arg(args, "--keep") is { } keep) File.Copy(outPath, keep, overwrite: true);
                var last = r.Epochs[^1];
                Console.WriteLine(string.Create(Inv, $"  epoch {e}: {wall,6:F0} s wall since start, val loss {last.ValidationLoss:F4}, val token acc {last.ValidationAccuracy:P1}, held-out exact {exact:P1}, {r.TrainTokensPerSecond:F0} train tok/s"));
            }
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// <c>training-curves --build DIR [--out DIR]</c>: every <c>*.loss.csv</c> a demo build wrote (bases and adapters)
    /// as an SVG chart (<see cref="LossCurve.Svg"/>) plus one summary line each: epochs, validation loss before and
    /// after, last validation token accuracy, training seconds.
    /// </summary>
    public static int Curves(string[] args)
    {
        var dir = Arg(args, "--build");
        if (dir is null || !Directory.Exists(dir))
        {
            Console.Error.WriteLine("training-curves: give --build DIR, a demo build directory (<data-dir>/demo/<recipe CID>).");
            return 2;
        }
        var outDir = Arg(args, "--out") ?? dir;
        Directory.CreateDirectory(outDir);
        foreach (var csv in Directory.EnumerateFiles(dir, "*.loss.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var epochs = new List<EpochLoss>();
            var init = double.NaN;
            foreach (var line in File.ReadLines(csv).Skip(1))
            {
                var c = line.Split(',');
                if (c.Length < 6) continue;
                static double D(string x) => x.Length == 0 ? double.NaN : double.Parse(x, Inv);
                var e = int.Parse(c[0], Inv);
                if (e == 0) init = D(c[2]);
                else epochs.Add(new EpochLoss(e, D(c[1]), D(c[2]), D(c[3]), (float)D(c[4]), D(c[5])));
            }
            var r = new TrainingResult("", epochs, 0, init, 0, 0, 0, 0, 0, false) { Route = TrainingRoute.Ggml };
            var name = Path.GetFileName(csv).Replace(".gguf.loss.csv", "", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(outDir, name + ".loss.svg"), LossCurve.Svg(r));
            var last = epochs.Count > 0 ? epochs[^1] : null;
            Console.WriteLine(string.Create(Inv, $"{name,-12} epochs {epochs.Count,3}  val loss {init:F3} -> {last?.ValidationLoss ?? double.NaN:F3}  val token acc {last?.ValidationAccuracy ?? double.NaN:P1}  {epochs.Sum(x => x.Seconds),7:F0} s training"));
        }
        return 0;
    }

    /// <summary>Greedy answers through the real engine; the last integer in the answer must equal the result.</summary>
    private static async Task<double> ExactAsync(string model, string? adapter, List<TrainingExample> heldOut, int maxTokens)
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = model, Contexts = 1, ContextSize = 128, Threads = 2, BatchThreads = 2 });
        if (adapter is not null) engine.RegisterAdapter("math", adapter);
        var ok = 0;
        foreach (var e in heldOut)
        {
            var g = await engine.GenerateAsync(new GenerationRequest
            {
                Prompt = e.Prompt, MaxTokens = maxTokens, Stop = ["\n"], Adapters = adapter is null ? [] : [new AdapterSelection("math")],
            });
            var want = LastInt(e.Completion);
            if (want is not null && LastInt(g.Text) == want) ok++;
        }
        return (double)ok / heldOut.Count;
    }

    private static string? LastInt(string s) => IntPattern().Matches(s) is { Count: > 0 } m ? m[^1].Value.TrimStart('+') : null;

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex IntPattern();

    /// <summary>
    /// "What is A + B?\n" / "Compute A - B\n" / "A+B=" / "A-B=" with A, B in 0..999. Scratch form: the result's digits
    /// reversed first (least significant first, how addition is carried out), then " = " and the answer.
    /// </summary>
    internal static List<TrainingExample> MathExamples(int n, ulong seed, bool scratch)
    {
        var rng = new SplitMix64(seed);
        var list = new List<TrainingExample>(n);
        for (var i = 0; i < n; i++)
        {
            var a = (int)(rng.NextUInt64() % 1000);
            var b = (int)(rng.NextUInt64() % 1000);
            var form = (int)(rng.NextUInt64() % 4);
            var plus = form is 0 or 2;
            var c = plus ? a + b : a - b;
            var prompt = form switch
            {
                0 => $"What is {a} + {b}?\n",
                1 => $"Compute {a} - {b}\n",
                2 => $"{a}+{b}=",
                _ => $"{a}-{b}=",
            };
            var answer = c.ToString(Inv);
            if (scratch)
            {
                var digits = Math.Abs(c).ToString(Inv).Reverse().ToArray();
                answer = (c < 0 ? "-" : "") + new string(digits) + " = " + answer;
            }
            list.Add(new TrainingExample(prompt, answer));
        }
        return list;
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
