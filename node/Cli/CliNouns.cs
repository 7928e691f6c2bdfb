using System.CommandLine;

namespace Federation.Node.Cli;

/// <summary>The list of nouns; each noun's verbs are defined in its own file.</summary>
internal static class CliNouns
{
    public static IEnumerable<Command> All()
    {
        yield return InitCommands.Create();
        yield return ServeCommand.Create();
        yield return KeysCommands.Create();
        yield return ReviewCommands.Create();
        yield return RouteCommands.Create();
        yield return PolicyCommands.Create();
        yield return LedgerCommands.Create();
        yield return MerkleCommands.Create();
        yield return MemoryCommands.Create();
        yield return TrainCommands.WithModelTrain(ModelCommands.Create());
        yield return PersonalCommands.WithPersonal(TrainCommands.WithAdapterTrain(AdapterCommands.Create()));
        yield return GenerateCommand.Create();
        yield return ReputationCommands.Create();
        yield return ReputationCommands.CreateSim();
        yield return SporeCommands.Create();
        yield return CanaryCommands.Create();
        yield return AuditCommands.Create();
        yield return ChallengeCommands.Create();
        yield return DiipCommands.Create();
        yield return CatalogCommands.Create();
        yield return DemoCommands.Create();
        yield return VersionCommand.Create();
    }
}
