namespace Federation.Bench;

/// <summary>Benchmark entry: <c>dotnet run --project bench/Federation.Bench -c Release -- &lt;area&gt; [options]</c>.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var area = args.Length > 0 ? args[0] : "";
        switch (area)
        {
            case "specialists":
                return await EngineBench.RunAsync(args[1..]);
            default:
                await Console.Error.WriteLineAsync("usage: Federation.Bench <area> [options]; areas: specialists");
                return area.Length == 0 ? 0 : 2;
        }
    }
}
