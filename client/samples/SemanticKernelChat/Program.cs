using System.ComponentModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace Federation.Client.Samples.SemanticKernelChat;

/// <summary>
/// A Semantic Kernel app on a Federation node: the kernel's chat service is <see cref="FederationClient"/> (as
/// <see cref="IChatClient"/>) and a native function is registered as a plugin. Plain chat works on every node; with
/// <c>--tools</c> the function is offered to the model as a tool (sent as OpenAI <c>tools</c>), which only a node that
/// honours tools acts on — this node does not implement tool calling yet and refuses the request with 400
/// <c>request.unsupported_parameter</c> naming <c>tools</c>.
/// </summary>
public static class Program
{
    /// <summary>Exit codes: 0 answered and verified, 2 usage, 3 the receipt did not verify.</summary>
    public static async Task<int> Main(string[] args)
    {
        var a = SampleArgs.Parse(args, Console.Error);
        if (a is null) return 2;
        return await RunAsync(a.Endpoint, a.ApiKey, a.NodeKey, a.Tools, Console.Out);
    }

    /// <summary>Builds the kernel, calls the native function, asks one question and verifies the answer's receipt.</summary>
    public static async Task<int> RunAsync(Uri endpoint, string? apiKey, string? nodeKey, bool offerTools, TextWriter output, CancellationToken ct = default)
    {
        using var client = new FederationClient(new FederationClientOptions { Endpoint = endpoint, ApiKey = apiKey, NodeKey = nodeKey, Model = "federation" });
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IChatClient>(client);
        builder.Plugins.AddFromObject(new LedgerPlugin(client), "ledger");
        var kernel = builder.Build();

        // The native function runs in-process through the kernel, with or without a model.
        var size = await kernel.InvokeAsync<long>("ledger", "tree_size", cancellationToken: ct);
        await output.WriteLineAsync($"native function ledger.tree_size: {size}");

        var settings = new PromptExecutionSettings
        {
            ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 24, ["temperature"] = 0 },
            FunctionChoiceBehavior = offerTools ? FunctionChoiceBehavior.Auto() : null,
        };
        var result = await kernel.InvokePromptAsync("Explain recursion in one sentence.", new KernelArguments(settings), cancellationToken: ct);
        var response = result.GetValue<ChatResponse>() ?? throw new InvalidOperationException("the kernel returned no chat response");
        var federation = response.GetFederation();
        await output.WriteLineAsync($"answer: {response.Text}");
        await output.WriteLineAsync($"route: topic {federation?.Route.Topic}, tier {federation?.Route.Tier}; ledger entry {federation?.Ledger?.Index}");
        var receipt = await client.VerifyReceiptAsync(response, ct);
        await output.WriteLineAsync(receipt.IsValid ? $"receipt verified: {receipt.Reason}" : $"receipt REJECTED: {receipt}");
        return receipt.IsValid ? 0 : 3;
    }
}

/// <summary>A native function: the size of the node's ledger, from its signed tree head.</summary>
public sealed class LedgerPlugin(FederationClient client)
{
    /// <summary>How many entries the node's ledger holds now.</summary>
    [KernelFunction("tree_size"), Description("Returns how many entries the Federation node's ledger holds.")]
    public async Task<long> TreeSizeAsync(CancellationToken cancellationToken) =>
        (await client.GetTreeHeadAsync(cancellationToken)).TreeSize;
}
