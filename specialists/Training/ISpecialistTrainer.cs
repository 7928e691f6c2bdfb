namespace Federation.Specialists.Training;

/// <summary>
/// One supervised example: <see cref="Prompt"/> exactly as the engine renders it at inference (e.g. through
/// <see cref="Engine.ChatTemplate"/>), and the <see cref="Completion"/> the model must produce after it. Trainers that
/// support it put the loss on the completion and the end-of-sequence token only.
/// </summary>
public sealed record TrainingExample(string Prompt, string Completion);

/// <summary>Which training route produced a model or adapter (see docs/production-line.md).</summary>
public enum TrainingRoute
{
    /// <summary>Route 1: the project's own ggml training graph (every tensor; real LoRA A/B training).</summary>
    Ggml,
    /// <summary>Route 2: llama.cpp's <c>llama_opt</c> on a tensor subset, then truncated SVD into a LoRA adapter.</summary>
    LlamaOpt,
}

/// <summary>Progress of a run, reported after each optimiser step (or coarser).</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double Loss, double TokensPerSecond, TimeSpan Eta);

/// <summary>
/// The contract the production line (demo build, catalog, acceptance) trains through. Same inputs, options (seed,
/// threads) → bit-identical output file.
/// </summary>
public interface ISpecialistTrainer
{
    TrainingRoute Route { get; }

    /// <summary>Trains the model at <paramref name="modelPath"/> on <paramref name="examples"/>; writes the best-validation model to <paramref name="outputPath"/>.</summary>
    TrainingResult TrainModel(string modelPath, IReadOnlyList<TrainingExample> examples, string outputPath, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Trains a rank-<paramref name="rank"/> LoRA adapter for the frozen base; writes a LoRA GGUF in <see cref="Models.LoraAdapterFactory"/>'s layout.</summary>
    TrainingResult TrainAdapter(string basePath, IReadOnlyList<TrainingExample> examples, string outputPath, int rank, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// Route 2 behind <see cref="ISpecialistTrainer"/>: the examples become one corpus (prompt + completion + newline per
/// example, loss on every token), <see cref="ModelTrainer"/> fine-tunes, and <see cref="LoraExtractor"/> extracts the
/// adapter. Its limits (only the last block and the output head train) are in docs/production-line.md.
/// </summary>
public sealed class LlamaOptTrainer : ISpecialistTrainer
{
    public TrainingRoute Route => TrainingRoute.LlamaOpt;

    public TrainingResult TrainModel(string modelPath, IReadOnlyList<TrainingExample> examples, string outputPath, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        ModelTrainer.Train(modelPath, Corpus(examples), outputPath, options);

    public TrainingResult TrainAdapter(string basePath, IReadOnlyList<TrainingExample> examples, string outputPath, int rank, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var tuned = Path.Combine(Path.GetTempPath(), "fed-ft-" + Guid.NewGuid().ToString("N") + ".gguf");
        try
        {
            var r = ModelTrainer.Train(basePath, Corpus(examples), tuned, options with { Trainable = TrainableSet.LoraTargets });
            LoraExtractor.Extract(basePath, tuned, outputPath, rank);
            return r with { OutputPath = outputPath };
        }
        finally
        {
            File.Delete(tuned);
        }
    }

    private static string Corpus(IReadOnlyList<TrainingExample> examples) =>
        string.Concat(examples.Select(e => e.Prompt + e.Completion + "\n"));
}
