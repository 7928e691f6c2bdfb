using System.CommandLine;
using System.Globalization;
using Federation.Specialists.Training;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed model train</c> (fine-tune a GGUF base on a text corpus with llama.cpp's llama_opt) and <c>fed adapter train</c>
/// (fine-tune, then extract a rank-r LoRA by truncated SVD of the weight deltas). docs/production-line.md.
/// </summary>
internal static class TrainCommands
{
    /// <summary>Adds <c>train</c> to the <c>model</c> noun.</summary>
    public static Command WithModelTrain(Command model)
    {
        var o = new TrainOptions("--model", "Base model (.gguf) to fine-tune.");
        var cmd = new Command("train", "Fine-tune a GGUF model on a text corpus (llama_opt, AdamW, CPU) and save the result as GGUF.");
        o.AddTo(cmd);
        cmd.SetAction(p =>
        {
            var (options, basePath, corpus, outPath) = o.Read(p);
            var r = Run(p, basePath, corpus, outPath, options with { Trainable = TrainableSet.All });
            var curve = WriteCurve(outPath, r);
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new { path = r.OutputPath, cid = Specialists.Models.FileCid.Compute(r.OutputPath), curve, summary = Summary(r) });
            else
                CliCommon.WriteLine(p, $"wrote model {r.OutputPath}\n  cid        {Specialists.Models.FileCid.Compute(r.OutputPath)}\n  loss curve {curve}\n{Text(r)}");
            return ExitCodes.Ok;
        });
        model.Subcommands.Add(cmd);
        return model;
    }

    /// <summary>Adds <c>train</c> to the <c>adapter</c> noun.</summary>
    public static Command WithAdapterTrain(Command adapter)
    {
        var o = new TrainOptions("--base", "Base model (.gguf) the adapter is for.");
        var rank = new Option<int>("--rank") { Description = "LoRA rank r of the extracted adapter (alpha = r).", DefaultValueFactory = _ => 16 };
        var keep = new Option<string?>("--keep-model") { Description = "Also keep the fine-tuned model at this path (default: a temporary file, deleted)." };
        var cmd = new Command("train", "Fine-tune the base's LoRA-expressible weights on a corpus, then extract a rank-r LoRA adapter (truncated SVD of the deltas).");
        o.AddTo(cmd);
        cmd.Options.Add(rank);
        cmd.Options.Add(keep);
        cmd.SetAction(p =>
        {
            var (options, basePath, corpus, outPath) = o.Read(p);
            var r = p.GetValue(rank);
            if (r < 1) throw new CliException($"--rank must be at least 1 (got {r}).", ExitCodes.Usage);
            var modelPath = p.GetValue(keep) ?? Path.Combine(Path.GetTempPath(), "fed-ft-" + Guid.NewGuid().ToString("N") + ".gguf");
            try
            {
                var t = Run(p, basePath, corpus, modelPath, options with { Trainable = TrainableSet.LoraTargets });
                var curve = WriteCurve(outPath, t);
                var x = ModelCommands.Guard(() => LoraExtractor.Extract(basePath, modelPath, outPath, r));
                var kept = x.Tensors.Sum(e => e.DeltaNorm * e.DeltaNorm) is var d && d > 0
                    ? 1 - (x.Tensors.Sum(e => e.ResidualNorm * e.ResidualNorm) / d) : 1;
                if (CliCommon.IsJson(p))
                    CliCommon.WriteJson(p, new
                    {
                        path = x.File.Path, cid = x.File.Cid, rank = r, parameters = x.File.ParameterCount, tensors = x.Tensors.Count,
                        delta_energy_kept = kept, curve, summary = Summary(t),
                    });
                else
                    CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture,
                        $"wrote adapter {x.File.Path}\n  cid        {x.File.Cid}\n  rank       {r} ({x.Tensors.Count} tensors, {x.File.ParameterCount} parameters, {kept:P2} of the delta energy kept)\n  loss curve {curve}\n{Text(t)}"));
                return ExitCodes.Ok;
            }
            finally
            {
                if (p.GetValue(keep) is null) File.Delete(modelPath);
            }
        });
        adapter.Subcommands.Add(cmd);
        return adapter;
    }

    private static TrainingResult Run(ParseResult p, string basePath, string corpus, string outPath, TrainingOptions o) =>
        ModelCommands.Guard(() => ModelTrainer.Train(basePath, corpus, outPath, o, line => CliCommon.WriteError(p, line)));

    private static string WriteCurve(string outPath, TrainingResult r)
    {
        var csv = Path.GetFullPath(outPath) + ".loss.csv";
        File.WriteAllText(csv, r.ToCsv());
        return csv;
    }

    private static object Summary(TrainingResult r) => new
    {
        initial_val_loss = r.InitialValidationLoss,
        best_epoch = r.BestEpoch,
        best_val_loss = r.BestEpoch == 0 ? r.InitialValidationLoss : r.Epochs[r.BestEpoch - 1].ValidationLoss,
        epochs = r.Epochs.Count,
        stopped_early = r.StoppedEarly,
        context = r.Context,
        train_windows = r.TrainWindows,
        val_windows = r.ValidationWindows,
        train_tokens_per_second = r.TrainTokensPerSecond,
    };

    private static string Text(TrainingResult r)
    {
        var best = r.BestEpoch == 0 ? r.InitialValidationLoss : r.Epochs[r.BestEpoch - 1].ValidationLoss;
        return string.Create(CultureInfo.InvariantCulture,
            $"  val loss   {r.InitialValidationLoss:F4} -> {best:F4} (best epoch {r.BestEpoch} of {r.Epochs.Count}{(r.StoppedEarly ? ", stopped early" : "")})\n" +
            $"  data       {r.TrainWindows} train + {r.ValidationWindows} val windows of {r.Context} tokens\n  speed      {r.TrainTokensPerSecond:F0} train tokens/s");
    }

    /// <summary>The options both train commands share.</summary>
    private sealed class TrainOptions(string modelName, string modelDescription)
    {
        private readonly Option<string> _model = new(modelName) { Description = modelDescription, Required = true };
        private readonly Option<string> _corpus = new("--corpus") { Description = "UTF-8 text file to train on (tokenised with the model's tokenizer).", Required = true };
        private readonly Option<string> _out = new("--out") { Description = "Path of the .gguf file to write (the loss curve goes to OUT.loss.csv).", Required = true };
        private readonly Option<int> _epochs = new("--epochs") { Description = "Maximum epochs.", DefaultValueFactory = _ => 8 };
        private readonly Option<float> _lr = new("--lr") { Description = "Peak learning rate (AdamW).", DefaultValueFactory = _ => 1e-3f };
        private readonly Option<int> _warmup = new("--warmup") { Description = "Warmup steps (linear), then cosine decay to lr/10.", DefaultValueFactory = _ => 4 };
        private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the per-epoch order of training windows.", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _threads = new("--threads") { Description = "CPU threads; same seed and threads, same weights bit for bit.", DefaultValueFactory = _ => 1 };
        private readonly Option<double> _valSplit = new("--val-split") { Description = "Fraction of the corpus (its tail) held out for validation.", DefaultValueFactory = _ => 0.2 };
        private readonly Option<int> _patience = new("--patience") { Description = "Early stop after this many epochs without a better validation loss (0 = never).", DefaultValueFactory = _ => 2 };
        private readonly Option<int> _context = new("--context") { Description = "Tokens per training window (rounded up to a multiple of 256).", DefaultValueFactory = _ => 256 };
        private readonly Option<bool> _force = new("--force") { Description = "Overwrite OUT if it exists." };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { _model, _corpus, _out, _epochs, _lr, _warmup, _seed, _threads, _valSplit, _patience, _context, _force })
                cmd.Options.Add(o);
        }

        public (TrainingOptions Options, string Model, string Corpus, string Out) Read(ParseResult p)
        {
            var outPath = p.GetValue(_out)!;
            ModelCommands.RefuseOverwrite(outPath, p.GetValue(_force));
            var model = p.GetValue(_model)!;
            if (!File.Exists(model)) throw new CliException($"{modelName} '{model}' does not exist; give the path of a GGUF base model.", ExitCodes.Usage);
            var corpusPath = p.GetValue(_corpus)!;
            if (!File.Exists(corpusPath)) throw new CliException($"--corpus '{corpusPath}' does not exist; give a UTF-8 text file.", ExitCodes.Usage);
            var o = new TrainingOptions
            {
                Epochs = p.GetValue(_epochs), LearningRate = p.GetValue(_lr), WarmupSteps = p.GetValue(_warmup), Seed = p.GetValue(_seed),
                Threads = p.GetValue(_threads), ValidationSplit = p.GetValue(_valSplit), Patience = p.GetValue(_patience), Context = p.GetValue(_context),
            };
            try { o.Validate(); }
            catch (ArgumentException e) { throw new CliException(e.Message + " (see --help)", ExitCodes.Usage); }
            return (o, model, File.ReadAllText(corpusPath), outPath);
        }
    }
}
