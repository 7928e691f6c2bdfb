using Federation.Specialists.Training;

namespace Federation.Specialists.Production;

/// <summary>
/// The one place the production line picks its <see cref="ISpecialistTrainer"/> (docs/production-line.md): everything
/// else trains through the interface.
/// </summary>
public static class TrainerSelection
{
    /// <summary>The route the demo federation's recipes use by default.</summary>
    public const TrainingRoute Default = TrainingRoute.LlamaOpt;

    public static ISpecialistTrainer For(TrainingRoute route) => route switch
    {
        TrainingRoute.LlamaOpt => new LlamaOptTrainer(),
        TrainingRoute.Ggml => new Training.Ggml.GgmlTrainer(),
        _ => throw new NotSupportedException($"training route {route} is not built into this node; use {TrainingRoute.Ggml} or {TrainingRoute.LlamaOpt}."),
    };
}
