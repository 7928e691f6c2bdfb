namespace Federation.Client.Samples;

/// <summary>Where the samples find the node: <c>--endpoint/--api-key/--node-key</c>, else FED_ENDPOINT, FED_API_KEY, FED_NODE_KEY.</summary>
internal sealed record SampleArgs(Uri Endpoint, string? ApiKey, string? NodeKey, bool Tools)
{
    public static SampleArgs? Parse(string[] args, TextWriter error)
    {
        string? endpoint = Environment.GetEnvironmentVariable("FED_ENDPOINT") ?? "http://127.0.0.1:8740";
        var apiKey = Environment.GetEnvironmentVariable("FED_API_KEY");
        var nodeKey = Environment.GetEnvironmentVariable("FED_NODE_KEY");
        var tools = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--endpoint": endpoint = Next(); break;
                case "--api-key": apiKey = Next(); break;
                case "--node-key": nodeKey = Next(); break;
                case "--tools": tools = true; break;
                default:
                    error.WriteLine($"unknown option '{args[i]}'; use --endpoint URL --api-key KEY [--node-key HEX] [--tools]");
                    return null;
            }
        }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            error.WriteLine($"--endpoint must be an absolute URL such as http://127.0.0.1:8740; found '{endpoint}'");
            return null;
        }
        return new SampleArgs(uri, apiKey, nodeKey, tools);
    }
}
