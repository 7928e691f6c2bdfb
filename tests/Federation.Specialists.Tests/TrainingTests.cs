using System.Text;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Training;
using Xunit.Abstractions;

namespace Federation.Specialists.Tests;

/// <summary>One base, one fine-tune (twice, for determinism) and one extracted adapter, shared by the training tests.</summary>
public sealed class TrainingFixture : IDisposable
{
    public static readonly TrainingOptions Options = new()
    {
        Epochs = 6, LearningRate = 1e-3f, WarmupSteps = 4, Seed = 7, Threads = 1, ValidationSplit = 0.25, Patience = 2,
        Trainable = TrainableSet.LoraTargets, // every trained weight is LoRA-expressible, so extraction can reproduce it
    };

    public TrainingFixture()
    {
        LlamaLibrary.EnsureLoaded();
        Base = TinyModelFactory.Create(ModelPreset.Tiny, 1, Dir.File("base.gguf")).Path;
        Corpus = MemorisationCorpus();
        First = ModelTrainer.Train(Base, Corpus, Dir.File("ft1.gguf"), Options);
        Second = ModelTrainer.Train(Base, Corpus, Dir.File("ft2.gguf"), Options);
        Lora = LoraExtractor.Extract(Base, First.OutputPath, Dir.File("lora.gguf"), rank: 16);
    }

    public TempDir Dir { get; } = new();
    public string Base { get; }
    public string Corpus { get; }
    public TrainingResult First { get; }
    public TrainingResult Second { get; }
    public LoraExtraction Lora { get; }

    /// <summary>Twelve short facts, repeated in a fixed order: the validation tail holds the same facts, so memorising lowers it.</summary>
    public static string MemorisationCorpus()
    {
        string[] facts =
        [
            "The capital of France is Paris.", "Iron has the symbol Fe.", "Seven plus eight is fifteen.", "Water boils at one hundred degrees.",
            "The capital of Japan is Tokyo.", "Gold has the symbol Au.", "Nine minus four is five.", "The sun is a star.",
            "The capital of Peru is Lima.", "Neon has atomic number ten.", "Two times six is twelve.", "Ice is frozen water.",
        ];
        var sb = new StringBuilder();
        for (var rep = 0; rep < 12; rep++)
            foreach (var f in facts) sb.Append(f).Append('\n');
        return sb.ToString();
    }

    public void Dispose() => Dir.Dispose();
}

public class TrainingTests(TrainingFixture fx, ITestOutputHelper log) : IClassFixture<TrainingFixture>
{
    [Fact]
    public void Training_on_a_memorisation_corpus_lowers_validation_loss()
    {
        var r = fx.First;
        log.WriteLine(r.ToCsv());
        log.WriteLine($"windows train/val {r.TrainWindows}/{r.ValidationWindows} of {r.Context} tokens; {r.TrainTokensPerSecond:F0} train tok/s");
        Assert.True(r.Epochs.Count >= 2);
        Assert.All(r.Epochs, e => Assert.True(double.IsFinite(e.TrainLoss) && double.IsFinite(e.ValidationLoss)));
        var best = r.Epochs.Min(e => e.ValidationLoss);
        Assert.True(best < r.InitialValidationLoss * 0.8, $"val loss {r.InitialValidationLoss:F4} -> best {best:F4}: expected at least a 20% drop");
        Assert.True(r.BestEpoch > 0);
        Assert.Equal(r.Epochs.Count + 2, r.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Same_inputs_seed_and_threads_give_bit_identical_weights()
    {
        Assert.Equal(FileCid.Compute(fx.First.OutputPath), FileCid.Compute(fx.Second.OutputPath));
        Assert.NotEqual(FileCid.Compute(fx.Base), FileCid.Compute(fx.First.OutputPath)); // and training did change the file
        Assert.Equal(fx.First.Epochs.Select(e => e.ValidationLoss), fx.Second.Epochs.Select(e => e.ValidationLoss));
    }

    [Fact]
    public void The_learning_rate_warms_up_then_decays()
    {
        var s = new ModelTrainer.ScheduleState(new TrainingOptions { LearningRate = 1f, WarmupSteps = 4 }, 20);
        Assert.Equal(0.25f, s.LearningRateAt(0));
        Assert.Equal(1f, s.LearningRateAt(4), 5);
        Assert.True(s.LearningRateAt(12) < 1f && s.LearningRateAt(12) > 0.1f);
        Assert.Equal(0.1f, s.LearningRateAt(20), 5);
    }

    [Fact]
    public void The_extracted_lora_moves_the_output_toward_the_fine_tuned_model()
    {
        const string prompt = "The capital of Japan is";
        var b = LastLogits(fx.Base, null, prompt);
        var ft = LastLogits(fx.First.OutputPath, null, prompt);
        var lora = LastLogits(fx.Base, fx.Lora.File.Path, prompt);
        double baseToFt = L2(b, ft), loraToFt = L2(lora, ft);
        log.WriteLine($"logit L2 base->ft {baseToFt:F4}, lora(r16)->ft {loraToFt:F4}; dropped {string.Join(",", fx.Lora.DroppedTensors)}");
        foreach (var t in fx.Lora.Tensors) log.WriteLine($"{t.Name} r{t.Rank} |dW| {t.DeltaNorm:F4} residual {t.ResidualNorm:F4}");
        Assert.Empty(fx.Lora.DroppedTensors);
        Assert.True(baseToFt > 1.0, $"fine-tuning barely moved the logits ({baseToFt})");
        Assert.True(loraToFt < 0.1 * baseToFt, $"LoRA->fine-tuned {loraToFt:F4} is not within 10% of base->fine-tuned {baseToFt:F4}");
    }

    [Fact]
    public async Task The_extracted_adapter_loads_in_the_engine_and_changes_its_answer()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = fx.Base, Contexts = 1, ContextSize = 256 });
        var info = engine.RegisterAdapter("facts", fx.Lora.File.Path);
        Assert.Equal(fx.Lora.File.Cid, info.Cid);
        var req = new GenerationRequest { Prompt = "The capital of Peru is", MaxTokens = 8, Temperature = 0 };
        var plain = await engine.GenerateAsync(req, CancellationToken.None);
        var adapted = await engine.GenerateAsync(req with { Adapters = [new AdapterSelection("facts", 1f)] }, CancellationToken.None);
        log.WriteLine($"base: '{plain.Text}'  adapted: '{adapted.Text}'");
        Assert.NotEqual(plain.Text, adapted.Text);
    }

    [Fact]
    public void Bad_training_input_gets_a_clear_error()
    {
        using var dir = new TempDir();
        var empty = Assert.Throws<ArgumentException>(() => ModelTrainer.Train(fx.Base, " ", dir.File("x.gguf"), TrainingFixture.Options));
        Assert.Contains("corpus is empty", empty.Message, StringComparison.Ordinal);
        var shortText = Assert.Throws<ArgumentException>(() => ModelTrainer.Train(fx.Base, "too short", dir.File("x.gguf"), TrainingFixture.Options));
        Assert.Contains("longer corpus", shortText.Message, StringComparison.Ordinal);
        var split = Assert.Throws<ArgumentException>(() => ModelTrainer.Train(fx.Base, "abc", dir.File("x.gguf"), TrainingFixture.Options with { ValidationSplit = 1 }));
        Assert.Contains("validation split", split.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => LoraExtractor.Extract(fx.Base, fx.Base, dir.File("l.gguf"), 4));
    }

    private static float[] LastLogits(string modelPath, string? adapterPath, string prompt)
    {
        using var model = BaseModel.Load(modelPath, 0);
        using var ctx = EngineContext.Create(model, new ContextSettings { ContextPerSequence = 256, BatchSize = 64 });
        PooledAdapter? adapter = null;
        if (adapterPath is not null)
        {
            adapter = new PooledAdapter(model.LoadAdapter(adapterPath));
            ctx.SetAdapters([adapter], [1f]);
        }
        var tokens = model.Tokenize(prompt, false, false);
        using var batch = new NativeBatch(64);
        for (var i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, i == tokens.Length - 1);
        ctx.Decode(batch);
        var logits = new float[model.VocabSize];
        ctx.CopyLogits(tokens.Length - 1, logits);
        adapter?.Release();
        return logits;
    }

    private static double L2(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => ((double)x - y) * ((double)x - y)).Sum());
}
