using System.Diagnostics;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Production;
using Federation.Specialists.Training;
using Xunit.Abstractions;

namespace Federation.Node.Tests.Diip;

public class DiipProbeExperiment(ITestOutputHelper log)
{
    [Fact]
    public async Task Measure()
    {
        LlamaLibrary.EnsureLoaded();
        var dir = Path.Combine(Path.GetTempPath(), "diip-exp-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var basePath = TinyModelFactory.Create(ModelPreset.Tiny, 20261122, Path.Combine(dir, "base.gguf")).Path;
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = basePath, Contexts = 1, ContextSize = 256 });
        var k = 0;
        foreach (var (task, epochs, lr, rank, output) in new[] { ("succ", 3, 2e-2f, 8, false), ("succ", 14, 2e-2f, 8, false), ("copy", 14, 2e-2f, 8, false) })
        {
            var qs = new List<(string Q, string A)>();
            string[] fs = ["What is {0} + {1}?", "Compute {0} + {1}", "{0}+{1}="];
            var b = task == "succ" ? 1 : 0;
            for (int a = 0; a < 20; a++) for (int f = 0; f < 3; f++) qs.Add((string.Format(fs[f], a, b), (a + b).ToString()));
            var ex = qs.Select(p => new TrainingExample(ChatTemplate.FormatPlain([new ChatMessage("user", p.Q)]), " " + p.A)).ToList();
            var sw = Stopwatch.StartNew();
            var o = new TrainingOptions { Epochs = epochs, LearningRate = lr, WarmupSteps = 2, Seed = 3, Threads = 2, ValidationSplit = 0.05, Patience = 0, BatchSize = 5, Context = 64,
                LoraTargets = output ? [.. LoraAdapterFactory.DefaultTargets, "output"] : null };
            var path = Path.Combine(dir, $"a{k}.gguf");
            TrainerSelection.For(TrainingRoute.Ggml).TrainAdapter(basePath, ex, path, rank, o);
            var t = sw.Elapsed.TotalSeconds;
            engine.RegisterAdapter($"a{k}", path);
            int pass = 0;
            foreach (var (q, a) in qs)
            {
                var r = await engine.GenerateAsync(new GenerationRequest { Messages = [new ChatMessage("user", q)], MaxTokens = 4, Stop = ["\n"], Adapters = [new AdapterSelection($"a{k}")] });
                if (r.Text.Trim() == a) pass++;
            }
            log.WriteLine($"task {task} epochs {epochs} lr {lr} rank {rank} output {output}: train {t:F1}s, pass {pass}/{qs.Count}");
            k++;
        }
        Directory.Delete(dir, true);
    }
}
