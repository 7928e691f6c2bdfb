using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using LLama.Native;

namespace Federation.Specialists.Training;

/// <summary>Which base tensors <see cref="ModelTrainer"/> trains.</summary>
public enum TrainableSet
{
    /// <summary>What llama_opt can train here: the last block's attn_q, attn_output, ffn_* and ffn_norm, output_norm and output.</summary>
    All,
    /// <summary>Only the 2-D weights of <see cref="All"/> a LoRA adapter can express (no norms): for extraction.</summary>
    LoraTargets,
}

/// <summary>Settings of one fine-tuning run.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 8;
    /// <summary>Peak learning rate (AdamW).</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Optimizer steps of linear warmup from lr/warmup to lr; then cosine decay to lr/10 at the last step.</summary>
    public int WarmupSteps { get; init; } = 4;
    /// <summary>Seed of the per-epoch order of training windows.</summary>
    public ulong Seed { get; init; }
    public int Threads { get; init; } = 1;
    /// <summary>Fraction of the tokenised corpus (its tail) held out for validation.</summary>
    public double ValidationSplit { get; init; } = 0.2;
    /// <summary>Context length of one training window (llama.cpp rounds it up to a multiple of 256).</summary>
    public int Context { get; init; } = 256;
    /// <summary>Stop when validation loss has not improved by <see cref="MinDelta"/> for this many epochs (0 = never).</summary>
    public int Patience { get; init; } = 2;
    public double MinDelta { get; init; } = 1e-4;
    public TrainableSet Trainable { get; init; } = TrainableSet.All;
    /// <summary>Examples per optimiser step (ggml route; padded, loss-masked).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Folder for per-epoch checkpoints (weights, optimiser moments, step, shuffle RNG state); null = none (ggml route).</summary>
    public string? CheckpointDir { get; init; }
    /// <summary>A checkpoint to continue from; the run must have the same base, examples and options (ggml route).</summary>
    public string? ResumeFrom { get; init; }
    /// <summary>Stop (checkpoint kept) after this epoch although the schedule is for <see cref="Epochs"/>: a staged or interrupted run (ggml route).</summary>
    public int? StopAfterEpoch { get; init; }
    /// <summary>LoRA alpha (scale alpha/r); null = the rank (ggml route).</summary>
    public float? LoraAlpha { get; init; }
    /// <summary>LoRA targets (<see cref="Models.LoraAdapterFactory.AllowedTargets"/>); null = the defaults (ggml route).</summary>
    public IReadOnlyList<string>? LoraTargets { get; init; }
    /// <summary>Clip the global gradient L2 norm to this (0 = no clipping; ggml route).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>AdamW decoupled weight decay (ggml route).</summary>
    public float WeightDecay { get; init; }

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"epochs must be at least 1 (got {Epochs}).");
        if (!(LearningRate > 0 && float.IsFinite(LearningRate))) throw new ArgumentException($"learning rate must be a positive number (got {LearningRate}).");
        if (WarmupSteps < 0) throw new ArgumentException($"warmup must be 0 or more steps (got {WarmupSteps}).");
        if (Threads < 1) throw new ArgumentException($"threads must be at least 1 (got {Threads}).");
        if (!(ValidationSplit > 0 && ValidationSplit < 1)) throw new ArgumentException($"validation split must be between 0 and 1, exclusive (got {ValidationSplit}).");
        if (Context < 8) throw new ArgumentException($"context must be at least 8 tokens (got {Context}).");
        if (Patience < 0) throw new ArgumentException($"patience must be 0 or more (got {Patience}).");
    }
}

/// <summary>Loss after one epoch (mean cross-entropy per token) and its learning rate at the end.</summary>
public sealed record EpochLoss(int Epoch, double TrainLoss, double ValidationLoss, double ValidationAccuracy, float LearningRate, double Seconds);

/// <summary>What a run produced.</summary>
public sealed record TrainingResult(string OutputPath, IReadOnlyList<EpochLoss> Epochs, int BestEpoch, double InitialValidationLoss,
    long TrainTokensPerEpoch, int Context, int TrainWindows, int ValidationWindows, double TrainTokensPerSecond, bool StoppedEarly)
{
    /// <summary>The route that produced it.</summary>
    public TrainingRoute Route { get; init; } = TrainingRoute.LlamaOpt;
    /// <summary>Optimiser steps taken in total (ggml route; windows for llama_opt).</summary>
    public long Steps { get; init; }
    /// <summary>The last checkpoint written, or null.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>The loss curve as CSV: <c>epoch,train_loss,val_loss,val_accuracy,lr,seconds</c>; epoch 0 = before training.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("epoch,train_loss,val_loss,val_accuracy,lr,seconds\n");
        sb.Append(CultureInfo.InvariantCulture, $"0,,{InitialValidationLoss:R},,,\n");
        foreach (var e in Epochs)
            sb.Append(CultureInfo.InvariantCulture, $"{e.Epoch},{e.TrainLoss:R},{e.ValidationLoss:R},{e.ValidationAccuracy:R},{e.LearningRate:R},{e.Seconds:F3}\n");
        return sb.ToString();
    }
}

/// <summary>
/// Fine-tunes a GGUF llama model on a text corpus with llama.cpp's <c>llama_opt</c> (AdamW) on the CPU and saves the
/// result as GGUF. llama.cpp 815a2a5 gives no gradient to token_embd, attn_k and attn_v, so those stay as they were.
/// Same model, corpus, options (seed, threads) → bit-identical output file.
/// </summary>
public static unsafe class ModelTrainer
{
    public static TrainingResult Train(string modelPath, string corpusText, string outputPath, TrainingOptions o, Action<string>? progress = null)
    {
        o.Validate();
        if (!File.Exists(modelPath)) throw new ArgumentException($"model file '{modelPath}' does not exist; give the path of a GGUF base model.");
        if (string.IsNullOrWhiteSpace(corpusText)) throw new ArgumentException("the corpus is empty; give a UTF-8 text file with the training text.");
        LlamaLibrary.EnsureLoaded();

        var mp = LLamaModelParams.Default();
        mp.n_gpu_layers = 0;
        mp.load_mode = LLamaLoadMode.None; // weights must live in writable memory, not a read-only file mapping
        using var model = SafeLlamaModelHandle.LoadFromFile(modelPath, mp);

        var cp = LLamaContextParams.Default();
        cp.n_ctx = (uint)o.Context;
        cp.n_batch = (uint)o.Context;
        cp.n_ubatch = (uint)o.Context;
        cp.n_seq_max = 1;
        cp.n_threads = o.Threads;
        cp.n_threads_batch = o.Threads;
        cp.type_k = GGMLType.GGML_TYPE_F32; // the backward pass needs F32 K/V
        cp.type_v = GGMLType.GGML_TYPE_F32;
        cp.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        cp.no_perf = true;
        using var ctx = SafeLLamaContextHandle.Create(model, cp);
        var nCtx = (int)LlamaImports.llama_n_ctx(ctx); // rounded up to a multiple of 256

        var tokens = model.Tokenize(corpusText, false, false, Encoding.UTF8).Select(t => (int)t).ToArray();
        var nVal = (int)Math.Round(tokens.Length * o.ValidationSplit);
        var trainTok = tokens[..^nVal];
        var valTok = tokens[^nVal..];
        var trainStarts = WindowStarts(trainTok.Length, nCtx);
        var valStarts = WindowStarts(valTok.Length, nCtx);
        if (trainStarts.Count == 0 || valStarts.Count == 0)
            throw new ArgumentException($"the corpus has {tokens.Length} tokens; with validation split {o.ValidationSplit} both parts need at least " +
                $"{nCtx + 1} tokens (one window of the context {nCtx} plus its next token). Give a longer corpus or a smaller --val-split.");

        var ndata = trainStarts.Count + valStarts.Count;
        var dataset = LlamaImports.ggml_opt_dataset_init(LlamaImports.GgmlTypeI32, LlamaImports.GgmlTypeI32, nCtx, nCtx, ndata, 1);
        var state = new ScheduleState(o, o.Epochs * trainStarts.Count);
        var handle = GCHandle.Alloc(state);
        try
        {
            var lastBlock = model.LayerCount - 1;
            var filter = (nint)((lastBlock << 1) | (o.Trainable == TrainableSet.All ? 1 : 0));
            llama_opt_init_checked(ctx, model, new LlamaImports.OptParams
            {
                NCtxTrain = 0,
                ParamFilter = &Filter,
                ParamFilterUd = filter,
                GetOptPars = &OptimizerParams,
                GetOptParsUd = GCHandle.ToIntPtr(handle),
                OptimizerType = 0,
            });

            var rng = new SplitMix64(o.Seed);
            var order = Enumerable.Range(0, trainStarts.Count).ToArray();
            // Epoch 0: validation loss of the base (every window evaluated, none trained).
            FillDataset(dataset, trainTok, trainStarts, order, valTok, valStarts, nCtx);
            var (initVal, _, _) = RunEpoch(ctx, dataset, 0, null);
            progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"epoch 0: val loss {initVal:F4}"));

            var epochs = new List<EpochLoss>();
            var best = initVal;
            var bestEpoch = 0;
            var sinceBest = 0;
            var trainSeconds = 0.0;
            var stoppedEarly = false;
            for (var epoch = 1; epoch <= o.Epochs; epoch++)
            {
                Shuffle(order, rng);
                FillDataset(dataset, trainTok, trainStarts, order, valTok, valStarts, nCtx);
                var sw = Stopwatch.StartNew();
                var (val, acc, train) = RunEpoch(ctx, dataset, trainStarts.Count, state);
                var secs = sw.Elapsed.TotalSeconds;
                trainSeconds += secs;
                epochs.Add(new EpochLoss(epoch, train, val, acc, state.LastLr, secs));
                progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch}/{o.Epochs}: train loss {train:F4}, val loss {val:F4}, val acc {acc:F3}, lr {state.LastLr:G3}, {trainStarts.Count * nCtx / secs:F0} tok/s"));
                if (val < best - o.MinDelta)
                {
                    best = val;
                    bestEpoch = epoch;
                    sinceBest = 0;
                    Save(model, outputPath); // the best-validation weights are what the run delivers
                }
                else if (o.Patience > 0 && ++sinceBest >= o.Patience)
                {
                    stoppedEarly = epoch < o.Epochs;
                    break;
                }
            }
            if (bestEpoch == 0) Save(model, outputPath); // nothing improved: deliver the last weights, the curve says so
            var trained = (long)trainStarts.Count * nCtx;
            return new TrainingResult(Path.GetFullPath(outputPath), epochs, bestEpoch, initVal, trained, nCtx, trainStarts.Count, valStarts.Count,
                trained * epochs.Count / Math.Max(trainSeconds, 1e-9), stoppedEarly);
        }
        finally
        {
            LlamaImports.ggml_opt_dataset_free(dataset);
            handle.Free();
        }
    }

    private static void llama_opt_init_checked(SafeLLamaContextHandle ctx, SafeLlamaModelHandle model, LlamaImports.OptParams p) =>
        LlamaImports.llama_opt_init(ctx, model, p);

    private static void Save(SafeLlamaModelHandle model, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp";
        model.SaveToFile(tmp);
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Non-overlapping windows of <paramref name="n"/> tokens, each with its next token as the last label.</summary>
    private static List<int> WindowStarts(int length, int n)
    {
        var starts = new List<int>();
        for (var s = 0; s + n + 1 <= length; s += n) starts.Add(s);
        return starts;
    }

    private static void Shuffle(int[] a, SplitMix64 rng)
    {
        for (var i = a.Length - 1; i > 0; i--)
        {
            var j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    private static void FillDataset(nint dataset, int[] trainTok, List<int> trainStarts, int[] order, int[] valTok, List<int> valStarts, int n)
    {
        var data = (int*)LlamaImports.ggml_get_data(LlamaImports.ggml_opt_dataset_data(dataset));
        var labels = (int*)LlamaImports.ggml_get_data(LlamaImports.ggml_opt_dataset_labels(dataset));
        var row = 0;
        foreach (var k in order) Copy(trainTok, trainStarts[k], row++);
        foreach (var s in valStarts) Copy(valTok, s, row++);

        void Copy(int[] src, int start, int r)
        {
            src.AsSpan(start, n).CopyTo(new Span<int>(data + ((long)r * n), n));
            src.AsSpan(start + 1, n).CopyTo(new Span<int>(labels + ((long)r * n), n));
        }
    }

    /// <summary>One pass: trains on the first <paramref name="split"/> windows, then evaluates the rest.</summary>
    private static (double Val, double Acc, double Train) RunEpoch(SafeLLamaContextHandle ctx, nint dataset, int split, ScheduleState? state)
    {
        var rTrain = LlamaImports.ggml_opt_result_init();
        var rEval = LlamaImports.ggml_opt_result_init();
        try
        {
            delegate* unmanaged<byte, nint, nint, nint, long, long, long, void> cb = &AfterTrainStep;
            _current = state;
            LlamaImports.llama_opt_epoch(ctx, dataset, rTrain, rEval, split, state is null ? null : cb, null);
            LlamaImports.ggml_opt_result_loss(rEval, out var val, out _);
            LlamaImports.ggml_opt_result_accuracy(rEval, out var acc, out _);
            var train = double.NaN;
            if (split > 0) LlamaImports.ggml_opt_result_loss(rTrain, out train, out _);
            return (val, acc, train);
        }
        finally
        {
            LlamaImports.ggml_opt_result_free(rTrain);
            LlamaImports.ggml_opt_result_free(rEval);
        }
    }

    // The run whose train callback is live: llama_opt_epoch's callback has no user data, and ggml calls it on the thread
    // that called llama_opt_epoch, so a thread-static lets runs on different threads proceed side by side.
    [ThreadStatic] private static ScheduleState? _current;

    [UnmanagedCallersOnly]
    private static void AfterTrainStep(byte train, nint optCtx, nint dataset, nint result, long ibatch, long ibatchMax, long tStartUs)
    {
        if (train != 0 && _current is { } s) s.Step++;
    }

    [UnmanagedCallersOnly]
    private static LlamaImports.OptimizerParams OptimizerParams(nint userdata)
    {
        var s = (ScheduleState)GCHandle.FromIntPtr(userdata).Target!;
        var lr = s.LearningRateAt(s.Step);
        s.LastLr = lr;
        return new LlamaImports.OptimizerParams
        {
            AdamAlpha = lr, AdamBeta1 = 0.9f, AdamBeta2 = 0.999f, AdamEps = 1e-8f, AdamWd = 0f,
            SgdAlpha = lr, SgdWd = 0f,
        };
    }

    [UnmanagedCallersOnly]
    private static byte Filter(nint tensor, nint userdata)
    {
        var name = Marshal.PtrToStringUTF8(LlamaImports.ggml_get_name(tensor)) ?? "";
        return IsTrainable(name, (userdata & 1) == 1 ? TrainableSet.All : TrainableSet.LoraTargets, (int)(userdata >> 1)) ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// Whether <paramref name="name"/> is trained in <paramref name="set"/>. Only the last block (and the head) can train
    /// in llama.cpp 815a2a5: a weight in block i feeds block i+1's K/V, whose in-place write into the KV cache
    /// (<c>ggml_set_rows</c>) has no backward, and <c>ggml_build_backward_expand</c> aborts the process
    /// (GGML_ASSERT "!node->view_src ..."). In the last block, attn_norm feeds its own K/V, so it stays frozen too.
    /// </summary>
    internal static bool IsTrainable(string name, TrainableSet set, int lastBlock)
    {
        if (name is "output.weight") return true;
        if (name is "output_norm.weight") return set == TrainableSet.All;
        var prefix = "blk." + lastBlock.ToString(CultureInfo.InvariantCulture) + ".";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var rest = name[prefix.Length..];
        return rest is "attn_q.weight" or "attn_output.weight" or "ffn_gate.weight" or "ffn_up.weight" or "ffn_down.weight"
            || (set == TrainableSet.All && rest is "ffn_norm.weight");
    }

    /// <summary>Learning-rate schedule: linear warmup, then cosine decay to a tenth of the peak at the last step.</summary>
    internal sealed class ScheduleState(TrainingOptions o, int totalSteps)
    {
        public int Step;
        public float LastLr;

        public float LearningRateAt(int step)
        {
            if (o.WarmupSteps > 0 && step < o.WarmupSteps) return o.LearningRate * (step + 1) / o.WarmupSteps;
            var decay = Math.Max(1, totalSteps - o.WarmupSteps);
            var t = Math.Clamp((double)(step - o.WarmupSteps) / decay, 0, 1);
            return (float)(o.LearningRate * (0.1 + (0.9 * 0.5 * (1 + Math.Cos(Math.PI * t)))));
        }
    }
}
