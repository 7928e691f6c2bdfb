using System.CommandLine;
using System.Globalization;
using Federation.Specialists.Training;
using Federation.Specialists.Training.Ggml;
using Spectre.Console;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed model train</c> and <c>fed adapter train</c>. Route <c>ggml</c> (default): the project's ggml training graph,
/// every tensor trains, adapters are real LoRA A/B training. Route <c>opt</c>: llama.cpp's llama_opt on a subset, adapters
/// by truncated SVD of the deltas. Progress on stderr (Spectre.Console live bar when stderr is a terminal, plain lines
/// otherwise); loss curve as OUT.loss.csv and OUT.loss.svg. docs/production-line.md.
/// </summary>
internal static class TrainCommands
{
    /// <summary>Adds <c>train</c> to the <c>model</c> noun.</summary>
    public static Command WithModelTrain(Command model)
    {
        var o = new TrainOptions("--model", "Base model (.gguf) to fine-tune.");
        var cmd = new Command("train", "Fine-tune a GGUF model on examples or a text corpus (route ggml: every tensor; route opt: llama_opt subset) and save it as GGUF.");
        o.AddTo(cmd);
        cmd.SetAction(p =>
        {
            Federation.Specialists.Interop.LlamaLibrary.PreferPassiveWait(); // before llama.cpp loads: see the method
            var a = o.Read(p);
            var r = a.Route == "opt" && a.Corpus is { } corpus
                ? ModelCommands.Guard(() => ModelTrainer.Train(a.Model, corpus, a.Out, a.Options with { Trainable = TrainableSet.All }, line => CliCommon.WriteError(p, line)))
                : WithProgress(p, progress => Trainer(a.Route).TrainModel(a.Model, a.Examples!, a.Out, a.Options, progress));
            var (csv, svg) = LossCurve.Write(a.Out, r);
            var cid = Specialists.Models.FileCid.Compute(r.OutputPath);
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new { path = r.OutputPath, cid, route = a.Route, curve = csv, chart = svg, checkpoint = r.CheckpointPath, summary = Summary(r) });
            else
                CliCommon.WriteLine(p, $"wrote model {r.OutputPath}\n  cid        {cid}\n  route      {a.Route}\n  loss curve {csv}\n  chart      {svg}\n{Text(r)}");
            return ExitCodes.Ok;
        });
        model.Subcommands.Add(cmd);
        return model;
    }

    /// <summary>Adds <c>train</c> to the <c>adapter</c> noun.</summary>
    public static Command WithAdapterTrain(Command adapter)
    {
        var o = new TrainOptions("--base", "Base model (.gguf) the adapter is for.");
        var rank = new Option<int>("--rank") { Description = "LoRA rank r.", DefaultValueFactory = _ => 16 };
        var alpha = new Option<float?>("--alpha") { Description = "LoRA alpha (applied scale alpha/r; default r). Route ggml." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated LoRA targets (attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down,output; default all but output). Route ggml." };
        var keep = new Option<string?>("--keep-model") { Description = "Route opt: also keep the fine-tuned model at this path (default: a temporary file, deleted)." };
        var cmd = new Command("train", "Train a rank-r LoRA adapter for a frozen base (route ggml: A and B trained directly; route opt: fine-tune, then truncated SVD of the deltas).");
        o.AddTo(cmd);
        cmd.Options.Add(rank);
        cmd.Options.Add(alpha);
        cmd.Options.Add(targets);
        cmd.Options.Add(keep);
        cmd.SetAction(p =>
        {
            Federation.Specialists.Interop.LlamaLibrary.PreferPassiveWait(); // before llama.cpp loads: see the method
            var a = o.Read(p);
            var r = p.GetValue(rank);
            if (r < 1) throw new CliException($"--rank must be at least 1 (got {r}).", ExitCodes.Usage);
            var options = a.Options with
            {
                LoraAlpha = p.GetValue(alpha),
                LoraTargets = p.GetValue(targets) is { } t ? [.. t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : null,
            };
            if (a.Route == "opt")
                return OptAdapter(p, a, r, p.GetValue(keep));
            var result = WithProgress(p, progress => new GgmlTrainer().TrainAdapter(a.Model, a.Examples!, a.Out, r, options, progress));
            var (csv, svg) = LossCurve.Write(a.Out, result);
            var cid = Specialists.Models.FileCid.Compute(result.OutputPath);
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new { path = result.OutputPath, cid, route = a.Route, rank = r, curve = csv, chart = svg, checkpoint = result.CheckpointPath, summary = Summary(result) });
            else
                CliCommon.WriteLine(p, $"wrote adapter {result.OutputPath}\n  cid        {cid}\n  route      ggml (LoRA A/B trained on the frozen base, rank {r})\n  loss curve {csv}\n  chart      {svg}\n{Text(result)}");
            return ExitCodes.Ok;
        });
        adapter.Subcommands.Add(cmd);
        return adapter;
    }

    private static int OptAdapter(ParseResult p, TrainArgs a, int r, string? keep)
    {
        var modelPath = keep ?? Path.Combine(Path.GetTempPath(), "fed-ft-" + Guid.NewGuid().ToString("N") + ".gguf");
        try
        {
            var corpus = a.Corpus ?? string.Concat(a.Examples!.Select(e => e.Prompt + e.Completion + "\n"));
            var t = ModelCommands.Guard(() => ModelTrainer.Train(a.Model, corpus, modelPath, a.Options with { Trainable = TrainableSet.LoraTargets }, line => CliCommon.WriteError(p, line)));
            var (csv, svg) = LossCurve.Write(a.Out, t);
            var x = ModelCommands.Guard(() => LoraExtractor.Extract(a.Model, modelPath, a.Out, r));
            var kept = x.Tensors.Sum(e => e.DeltaNorm * e.DeltaNorm) is var d && d > 0
                ? 1 - (x.Tensors.Sum(e => e.ResidualNorm * e.ResidualNorm) / d) : 1;
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new
                {
                    path = x.File.Path, cid = x.File.Cid, route = "opt", rank = r, parameters = x.File.ParameterCount, tensors = x.Tensors.Count,
                    delta_energy_kept = kept, curve = csv, chart = svg, summary = Summary(t),
                });
            else
                CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture,
                    $"wrote adapter {x.File.Path}\n  cid        {x.File.Cid}\n  route      opt\n  rank       {r} ({x.Tensors.Count} tensors, {x.File.ParameterCount} parameters, {kept:P2} of the delta energy kept)\n  loss curve {csv}\n  chart      {svg}\n{Text(t)}"));
            return ExitCodes.Ok;
        }
        finally
        {
            if (keep is null) File.Delete(modelPath);
        }
    }

    private static ISpecialistTrainer Trainer(string route) => route == "opt" ? new LlamaOptTrainer() : new GgmlTrainer();

    /// <summary>Runs <paramref name="train"/> with a live Spectre.Console bar on an interactive stderr, else one plain line per ~2 % of the steps.</summary>
    private static TrainingResult WithProgress(ParseResult p, Func<IProgress<TrainingProgress>, TrainingResult> train)
    {
        var interactive = !Console.IsErrorRedirected && !CliCommon.IsJson(p) && p.InvocationConfiguration.Error == Console.Error;
        if (!interactive)
        {
            long every = 0;
            return ModelCommands.Guard(() => train(new LineProgress(x =>
            {
                if (every == 0) every = Math.Max(1, x.TotalSteps / 50);
                if (x.Step % every == 0 || x.Step == x.TotalSteps) CliCommon.WriteError(p, Line(x));
            })));
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        TrainingResult? result = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: 1);
                result = ModelCommands.Guard(() => train(new LineProgress(x =>
                {
                    task.MaxValue = Math.Max(1, x.TotalSteps);
                    task.Value = x.Step;
                    task.Description = Markup.Escape(Line(x));
                })));
            });
        return result!;
    }

    private static string Line(TrainingProgress x) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {x.Epoch}/{x.Epochs} step {x.Step}/{x.TotalSteps} loss {x.Loss:F4} {x.TokensPerSecond:F0} tok/s ETA ") + x.Eta.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);

    private sealed class LineProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    private static object Summary(TrainingResult r) => new
    {
        initial_val_loss = r.InitialValidationLoss,
        best_epoch = r.BestEpoch,
        best_val_loss = r.BestEpoch == 0 ? r.InitialValidationLoss : r.Epochs[r.BestEpoch - 1].ValidationLoss,
        epochs = r.Epochs.Count,
        steps = r.Steps,
        stopped_early = r.StoppedEarly,
        context = r.Context,
        train_windows = r.TrainWindows,
        val_windows = r.ValidationWindows,
        train_tokens_per_second = r.TrainTokensPerSecond,
    };

    private static string Text(TrainingResult r)
    {
        var best = r.BestEpoch == 0 ? r.InitialValidationLoss : r.Epochs[r.BestEpoch - 1].ValidationLoss;
        var unit = r.Route == TrainingRoute.Ggml ? "examples" : $"windows of {r.Context} tokens";
        return string.Create(CultureInfo.InvariantCulture,
            $"  val loss   {r.InitialValidationLoss:F4} -> {best:F4} (best epoch {r.BestEpoch} of {r.Epochs.Count}{(r.StoppedEarly ? ", stopped early" : "")})\n" +
            $"  data       {r.TrainWindows} train + {r.ValidationWindows} val {unit}\n  speed      {r.TrainTokensPerSecond:F0} train tokens/s")
            + (r.CheckpointPath is { } c ? "\n  checkpoint " + c : "");
    }

    private sealed record TrainArgs(string Route, TrainingOptions Options, string Model, string? Corpus, List<TrainingExample>? Examples, string Out);

    /// <summary>The options both train commands share.</summary>
    private sealed class TrainOptions(string modelName, string modelDescription)
    {
        private readonly Option<string> _model = new(modelName) { Description = modelDescription, Required = true };
        private readonly Option<string> _route = new("--route") { Description = "ggml (default: own ggml graph, every tensor, real LoRA) or opt (llama_opt subset + SVD).", DefaultValueFactory = _ => "ggml" };
        private readonly Option<string?> _corpus = new("--corpus") { Description = "UTF-8 text file to train on (route ggml: one example per non-blank line; route opt: windows of the whole text)." };
        private readonly Option<string?> _examples = new("--examples") { Description = "JSONL file, one {\"prompt\",\"completion\"} per line (loss on completion + EOS only with route ggml)." };
        private readonly Option<string> _out = new("--out") { Description = "Path of the .gguf file to write (loss curve: OUT.loss.csv and OUT.loss.svg).", Required = true };
        private readonly Option<int> _epochs = new("--epochs") { Description = "Maximum epochs.", DefaultValueFactory = _ => 8 };
        private readonly Option<float> _lr = new("--lr") { Description = "Peak learning rate (AdamW).", DefaultValueFactory = _ => 1e-3f };
        private readonly Option<int> _warmup = new("--warmup") { Description = "Warmup steps (linear), then cosine decay to lr/10.", DefaultValueFactory = _ => 4 };
        private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the shuffles, the validation split and (ggml) the LoRA A init.", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _threads = new("--threads") { Description = "CPU threads; same inputs, seed and threads, same weights bit for bit.", DefaultValueFactory = _ => 1 };
        private readonly Option<double> _valSplit = new("--val-split") { Description = "Share held out for validation (ggml: examples; opt: the corpus tail).", DefaultValueFactory = _ => 0.2 };
        private readonly Option<int> _patience = new("--patience") { Description = "Early stop after this many epochs without a better validation loss (0 = never).", DefaultValueFactory = _ => 2 };
        private readonly Option<int> _context = new("--context") { Description = "Route opt: tokens per window (rounded up to 256). Route ggml: the longest example allowed.", DefaultValueFactory = _ => 256 };
        private readonly Option<int> _batch = new("--batch") { Description = "Route ggml: examples per optimiser step (padded, masked).", DefaultValueFactory = _ => 8 };
        private readonly Option<string?> _checkpointDir = new("--checkpoint-dir") { Description = "Route ggml: write a checkpoint (weights, AdamW moments, step, RNG state) after every epoch to this folder." };
        private readonly Option<string?> _resume = new("--resume") { Description = "Route ggml: continue from this checkpoint (same inputs and options); the result equals an uninterrupted run." };
        private readonly Option<bool> _force = new("--force") { Description = "Overwrite OUT if it exists." };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { _model, _route, _corpus, _examples, _out, _epochs, _lr, _warmup, _seed, _threads, _valSplit, _patience, _context, _batch, _checkpointDir, _resume, _force })
                cmd.Options.Add(o);
        }

        public TrainArgs Read(ParseResult p)
        {
            var route = p.GetValue(_route)!;
            if (route is not ("ggml" or "opt")) throw new CliException($"--route must be ggml or opt (got '{route}').", ExitCodes.Usage);
            var outPath = p.GetValue(_out)!;
            ModelCommands.RefuseOverwrite(outPath, p.GetValue(_force));
            var model = p.GetValue(_model)!;
            if (!File.Exists(model)) throw new CliException($"{modelName} '{model}' does not exist; give the path of a GGUF base model.", ExitCodes.Usage);
            var corpusPath = p.GetValue(_corpus);
            var examplesPath = p.GetValue(_examples);
            if ((corpusPath is null) == (examplesPath is null))
                throw new CliException("give exactly one of --corpus FILE (text) or --examples FILE.jsonl ({\"prompt\",\"completion\"} per line).", ExitCodes.Usage);
            if (route == "opt" && (p.GetValue(_checkpointDir) is not null || p.GetValue(_resume) is not null))
                throw new CliException("--checkpoint-dir and --resume need --route ggml (llama_opt keeps no optimiser state this project can save).", ExitCodes.Usage);
            if (corpusPath is not null && !File.Exists(corpusPath)) throw new CliException($"--corpus '{corpusPath}' does not exist; give a UTF-8 text file.", ExitCodes.Usage);
            var o = new TrainingOptions
            {
                Epochs = p.GetValue(_epochs), LearningRate = p.GetValue(_lr), WarmupSteps = p.GetValue(_warmup), Seed = p.GetValue(_seed),
                Threads = p.GetValue(_threads), ValidationSplit = p.GetValue(_valSplit), Patience = p.GetValue(_patience), Context = p.GetValue(_context),
                BatchSize = p.GetValue(_batch), CheckpointDir = p.GetValue(_checkpointDir), ResumeFrom = p.GetValue(_resume),
            };
            try
            {
                o.Validate();
                if (o.BatchSize < 1) throw new ArgumentException($"--batch must be at least 1 (got {o.BatchSize}).");
                if (o.ResumeFrom is { } res && !File.Exists(res)) throw new ArgumentException($"--resume '{res}' does not exist; give a checkpoint file from --checkpoint-dir.");
                var corpus = corpusPath is null ? null : File.ReadAllText(corpusPath);
                var examples = examplesPath is not null ? TrainingExamples.ReadJsonl(examplesPath)
                    : route == "ggml" ? TrainingExamples.FromCorpusLines(corpus!) : null;
                return new TrainArgs(route, o, model, route == "opt" ? corpus : null, examples, outPath);
            }
            catch (ArgumentException e) { throw new CliException(e.Message + " (see --help)", ExitCodes.Usage); }
        }
    }
}
