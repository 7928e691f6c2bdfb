namespace Federation.Bench;
internal static class Program
{
    private static int Main(string[] args) => args switch
    {
        ["router", .. var rest] => RouterBench.Run(rest),
        ["gateway", .. var rest] => GatewayBench.Run(rest),
        ["registry", .. var rest] => RegistryBench.Run(rest),
        _ => 0,
    };
}
