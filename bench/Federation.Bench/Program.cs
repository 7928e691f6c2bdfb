namespace Federation.Bench;

/// <summary>Benchmark entry: <c>dotnet run --project bench/Federation.Bench -c Release -- &lt;area&gt; [options]</c>.</summary>
internal static class Program
{
    private static int Usage()
    {
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Federation.Bench -- <registry|specialists|router|gateway|memory|fuzz|killtest|peer-load|training|training-quality|training-curves|demo> [options]");
        return 2;
    }

    private static async Task<int> Main(string[] args) => args switch
    {
        ["router", .. var rest] => RouterBench.Run(rest),
        ["gateway", .. var rest] => GatewayBench.Run(rest),
        ["registry", .. var rest] => RegistryBench.Run(rest),
        ["specialists", .. var rest] => await EngineBench.RunAsync(rest),
        ["memory", .. var rest] => await MemoryBench.RunAsync(rest),
        ["fuzz", .. var rest] => FuzzBench.Run(rest),
        ["killtest", .. var rest] => await KillTestBench.RunAsync(rest),
        ["peer-load", .. var rest] => await PeerLoad.RunAsync(rest),
        ["training", .. var rest] => TrainingBench.Run(rest),
        ["training-quality", .. var rest] => await TrainingBench.QualityAsync(rest),
        ["training-curves", .. var rest] => TrainingBench.Curves(rest),
        ["demo", .. var rest] => DemoBench.Run(rest),
        _ => Usage(),
    };
}
