using System.Text;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using Federation.Specialists.Training.Ggml;
using Federation.Specialists.Training;
using LLama.Native;
using Xunit.Abstractions;

namespace Federation.Specialists.Tests;

public class GgmlForwardTests(ITestOutputHelper log)
{
    /// <summary>Absolute tolerance on logits (|logit| is O(1..10) on the tiny preset); float32 sums in a different order differ by ~1e-5.</summary>
    private const float Tolerance = 1e-3f;

    [Fact]
    public void Ggml_forward_logits_equal_llama_decode_logits()
    {
        LlamaLibrary.EnsureLoaded();
        using var dir = new TempDir();
        var path = TinyModelFactory.Create(ModelPreset.Tiny, 3, dir.File("m.gguf")).Path;
        var mp = LLamaModelParams.Default();
        mp.n_gpu_layers = 0;
        using var handle = SafeLlamaModelHandle.LoadFromFile(path, mp);
        var a = handle.Tokenize("What is 37 + 48? 85", true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        var b = handle.Tokenize("Compute 91 - 26", true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        var expectedA = DecodeAll(handle, a);
        var expectedB = DecodeAll(handle, b);

        using var model = GgmlLlama.Load(path);
        using var step = new GgmlStep(model, 2);
        // Two sequences in one batch, the second right-padded: padding must not change any real position.
        var t = a.Length;
        var tokens = new int[t * 2];
        a.CopyTo(tokens, 0);
        b.CopyTo(tokens, t);
        var labels = Enumerable.Repeat(-1, t * 2).ToArray();
        labels[0] = 0;
        var logits = step.Logits(new GgmlBatch(t, 2, tokens, labels));
        var v = model.Shape.Vocab;
        var maxDiff = 0f;
        for (var i = 0; i < a.Length; i++)
            for (var j = 0; j < v; j++) maxDiff = Math.Max(maxDiff, Math.Abs(logits[(i * v) + j] - expectedA[i][j]));
        for (var i = 0; i < b.Length; i++)
            for (var j = 0; j < v; j++) maxDiff = Math.Max(maxDiff, Math.Abs(logits[((t + i) * v) + j] - expectedB[i][j]));
        var scale = expectedA.SelectMany(r => r).Max(Math.Abs);
        log.WriteLine($"max |ggml - llama_decode| over {a.Length + b.Length} positions x {v} logits: {maxDiff:G3} (max |logit| {scale:G3}, tolerance {Tolerance})");
        Assert.True(maxDiff < Tolerance, $"max abs diff {maxDiff} exceeds {Tolerance}");
        Assert.True(scale > 0.5f, "logits are not trivially small");
    }

    internal static float[][] DecodeAll(SafeLlamaModelHandle model, int[] tokens)
    {
        var cp = LLamaContextParams.Default();
        cp.n_ctx = 256;
        cp.n_batch = 256;
        cp.n_ubatch = 256;
        cp.n_threads = 2;
        cp.n_threads_batch = 2;
        cp.type_k = GGMLType.GGML_TYPE_F32;
        cp.type_v = GGMLType.GGML_TYPE_F32;
        cp.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        using var ctx = SafeLLamaContextHandle.Create(model, cp);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Length; i++) batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
        var r = ctx.Decode(batch);
        Assert.Equal(DecodeResult.Ok, r);
        return [.. Enumerable.Range(0, tokens.Length).Select(i => ctx.GetLogitsIth(i).ToArray())];
    }
}

/// <summary>Tiny base and ggml-route runs shared by the trainer tests (each run takes seconds on the tiny preset).</summary>
public sealed class GgmlTrainingFixture : IDisposable
{
    public static readonly TrainingOptions Options = new()
    {
        Epochs = 3, LearningRate = 3e-3f, WarmupSteps = 2, Seed = 5, Threads = 2, ValidationSplit = 0.25, Patience = 0, BatchSize = 8, Context = 64,
    };

    public GgmlTrainingFixture()
    {
        LlamaLibrary.EnsureLoaded();
        Base = TinyModelFactory.Create(ModelPreset.Tiny, 1, Dir.File("base.gguf")).Path;
        Examples = MathExamples(32, 1);
        var t = new GgmlTrainer();
        Progress = [];
        First = t.TrainModel(Base, Examples, Dir.File("full1.gguf"), Options with { CheckpointDir = Dir.File("ck1") }, new SyncProgress<TrainingProgress>(Progress.Add));
        Second = t.TrainModel(Base, Examples, Dir.File("full2.gguf"), Options);
        var stage = Options with { CheckpointDir = Dir.File("ck2"), StopAfterEpoch = 1 };
        Interrupted = t.TrainModel(Base, Examples, Dir.File("partial.gguf"), stage);
        Resumed = t.TrainModel(Base, Examples, Dir.File("resumed.gguf"), Options with { CheckpointDir = Dir.File("ck2"), ResumeFrom = Interrupted.CheckpointPath });
    }

    public TempDir Dir { get; } = new();
    public string Base { get; }
    public List<TrainingExample> Examples { get; }
    public List<TrainingProgress> Progress { get; }
    public TrainingResult First { get; }
    public TrainingResult Second { get; }
    public TrainingResult Interrupted { get; }
    public TrainingResult Resumed { get; }

    /// <summary>"What is A + B?" → "C" style pairs with small operands (the production generator lives with the demo).</summary>
    public static List<TrainingExample> MathExamples(int n, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var list = new List<TrainingExample>();
        for (var i = 0; i < n; i++)
        {
            var a = (int)(rng.NextUInt64() % 10);
            var b = (int)(rng.NextUInt64() % 10);
            list.Add(new TrainingExample($"What is {a} + {b}?\n", (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

public class GgmlTrainerTests(GgmlTrainingFixture fx, ITestOutputHelper log) : IClassFixture<GgmlTrainingFixture>
{
    [Fact]
    public void Training_lowers_validation_loss_and_reports_progress()
    {
        var r = fx.First;
        log.WriteLine(r.ToCsv());
        Assert.Equal(TrainingRoute.Ggml, r.Route);
        Assert.Equal(3, r.Epochs.Count);
        Assert.True(r.Epochs[^1].ValidationLoss < r.InitialValidationLoss * 0.8,
            $"validation loss {r.InitialValidationLoss:F4} -> {r.Epochs[^1].ValidationLoss:F4} did not fall by 20 %");
        Assert.Equal(24, r.TrainWindows);
        Assert.Equal(8, r.ValidationWindows);
        Assert.Equal(r.Steps, fx.Progress.Count);
        Assert.Equal(9, r.Steps); // 3 epochs x ceil(24 / 8)
        Assert.All(fx.Progress, p => Assert.True(double.IsFinite(p.Loss) && p.TokensPerSecond > 0));
        Assert.Equal(TimeSpan.Zero, fx.Progress[^1].Eta);
    }

    [Fact]
    public void Same_inputs_seed_and_threads_give_bit_identical_weights()
    {
        Assert.Equal(FileCid.Compute(fx.First.OutputPath), FileCid.Compute(fx.Second.OutputPath));
        Assert.NotEqual(FileCid.Compute(fx.Base), FileCid.Compute(fx.First.OutputPath));
    }

    [Fact]
    public void A_resumed_run_equals_the_uninterrupted_run()
    {
        Assert.Single(fx.Interrupted.Epochs);
        Assert.EndsWith("epoch-0001.ckpt", fx.Interrupted.CheckpointPath);
        Assert.Equal(3, fx.Resumed.Epochs.Count);
        Assert.Equal(fx.First.Epochs.Select(e => e.ValidationLoss), fx.Resumed.Epochs.Select(e => e.ValidationLoss));
        Assert.Equal(FileCid.Compute(fx.First.OutputPath), FileCid.Compute(fx.Resumed.OutputPath));
        Assert.NotEqual(FileCid.Compute(fx.First.OutputPath), FileCid.Compute(fx.Interrupted.OutputPath));
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_of_other_options()
    {
        var e = Assert.Throws<ArgumentException>(() => new GgmlTrainer().TrainModel(fx.Base, fx.Examples, fx.Dir.File("x.gguf"),
            GgmlTrainingFixture.Options with { Seed = 6, ResumeFrom = fx.Interrupted.CheckpointPath }));
        Assert.Contains("different base, example set or options", e.Message);
        Assert.False(File.Exists(fx.Dir.File("x.gguf")));
    }

    [Fact]
    public void Full_model_training_changes_every_tensor_including_token_embd_attn_k_and_attn_v()
    {
        var before = Gguf.GgufFile.Read(fx.Base);
        var after = Gguf.GgufFile.Read(fx.First.OutputPath);
        Assert.Equal(before.Tensors.Select(t => t.Name), after.Tensors.Select(t => t.Name));
        foreach (var t in before.Tensors)
        {
            var a = before.ReadTensorFloats(t);
            var b = after.ReadTensorFloats(after.FindTensor(t.Name)!);
            var changed = a.Zip(b).Count(p => p.First != p.Second);
            Assert.True(changed > 0, $"{t.Name} did not change");
        }
        // token_embd rows of bytes that never occur in the examples get no gradient (get_rows), yet the used rows move.
        Assert.Contains(after.Metadata, kv => kv.Key == "federation.training.route");
    }
}

public class GgmlAdapterTrainingTests(ITestOutputHelper log)
{
    [Fact]
    public async Task A_trained_lora_adapter_makes_the_engine_answer_the_trained_completion()
    {
        LlamaLibrary.EnsureLoaded();
        using var dir = new TempDir();
        var basePath = TinyModelFactory.Create(ModelPreset.Tiny, 1, dir.File("base.gguf")).Path;
        (string Q, string A)[] pairs = [("What is 2 + 3?\n", "5"), ("Compute 9 - 1\n", "8"), ("4+3=", "7")];
        var examples = Enumerable.Range(0, 4).SelectMany(_ => pairs).Select(p => new TrainingExample(p.Q, p.A)).ToList();
        var o = new TrainingOptions
        {
            Epochs = 8, LearningRate = 2e-2f, WarmupSteps = 2, Seed = 9, Threads = 2, ValidationSplit = 0.25, Patience = 0, BatchSize = 3, Context = 32,
        };
        var r = new GgmlTrainer().TrainAdapter(basePath, examples, dir.File("math.gguf"), rank: 8, o);
        log.WriteLine(r.ToCsv());

        var adapter = Gguf.GgufFile.Read(r.OutputPath);
        Assert.Equal(FileCid.Compute(basePath).ToString(), adapter.GetStringOrNull("federation.adapter.base_cid"));
        Assert.Equal(2 * 4 * 7, adapter.Tensors.Count); // A and B for 7 targets in 4 blocks
        Assert.Contains(adapter.Tensors, t => t.Name == "blk.0.attn_k.weight.lora_a");

        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = basePath, Contexts = 1, ContextSize = 128 });
        engine.RegisterAdapter("math", r.OutputPath);
        foreach (var (q, a) in pairs)
        {
            var plain = await engine.GenerateAsync(new GenerationRequest { Prompt = q, MaxTokens = 4 });
            var tuned = await engine.GenerateAsync(new GenerationRequest { Prompt = q, MaxTokens = 4, Adapters = [new AdapterSelection("math")] });
            log.WriteLine($"{q.TrimEnd()} base: '{plain.Text}' adapter: '{tuned.Text}' ({tuned.FinishReason})");
            Assert.NotEqual(a, plain.Text);
            Assert.Equal(a, tuned.Text);
        }
    }
}

public class TrainingInputAndCurveTests
{
    [Fact]
    public void Jsonl_examples_are_read_and_bad_lines_are_refused_with_file_and_line()
    {
        using var dir = new TempDir();
        var good = dir.File("ok.jsonl");
        File.WriteAllText(good, "{\"prompt\":\"What is 1 + 2?\\n\",\"completion\":\"3\",\"topic\":\"math\"}\n\n{\"prompt\":\"\",\"completion\":\"x\"}\n");
        var list = TrainingExamples.ReadJsonl(good);
        Assert.Equal([new TrainingExample("What is 1 + 2?\n", "3"), new TrainingExample("", "x")], list);

        var bad = dir.File("bad.jsonl");
        File.WriteAllText(bad, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\"}\n");
        var e = Assert.Throws<ArgumentException>(() => TrainingExamples.ReadJsonl(bad));
        Assert.Contains("bad.jsonl:2", e.Message);
        Assert.Contains("\"completion\"", e.Message);
        File.WriteAllText(bad, "not json\n");
        Assert.Contains("bad.jsonl:1: not valid JSON", Assert.Throws<ArgumentException>(() => TrainingExamples.ReadJsonl(bad)).Message);
        Assert.Equal(["one", "two"], TrainingExamples.FromCorpusLines("one\r\n\n  \ntwo\n").Select(x => x.Completion));
    }

    [Fact]
    public void Loss_curve_svg_is_deterministic_and_plots_both_curves()
    {
        var r = new TrainingResult("x", [new EpochLoss(1, 3.0, 2.5, 0.4, 1e-3f, 1.0), new EpochLoss(2, 2.0, 2.2, 0.5, 5e-4f, 1.0)], 2, 4.0, 100, 64, 8, 2, 50, false)
        { Route = TrainingRoute.Ggml };
        var a = LossCurve.Svg(r);
        Assert.Equal(a, LossCurve.Svg(r));
        Assert.StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"", a);
        Assert.Equal(2, a.Split("<polyline").Length - 1);
        Assert.Contains("points=\"48.0,24.0 ", a); // epoch 0, the highest loss (4.0) at the top-left
        using var dir = new TempDir();
        var (csv, svg) = LossCurve.Write(dir.File("m.gguf"), r);
        Assert.StartsWith("epoch,train_loss,val_loss", File.ReadAllText(csv));
        Assert.Equal(a, File.ReadAllText(svg));
    }
}
