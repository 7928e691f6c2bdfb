using System.ComponentModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace Federation.Client.Samples.SemanticKernelChat;

/// <summary>
/// A Semantic Kernel app on a Federation node: the kernel's chat service is <see cref="FederationClient"/> (as
/// <see cref="IChatClient"/>) and a native function is registered as a plugin. Plain chat works on every node; with
/// <c>--tools</c> the native function is offered to the model as an OpenAI tool: the node's answer is a call of it
/// (tool_choice names it, so the call is grammar-constrained), the kernel runs the function, and the result goes back
/// as a <c>tool</c> message for the final answer, whose receipt is verified.
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

        ChatResponse response;
        if (offerTools)
        {
            // the kernel's native function as a tool: the model calls it, the kernel runs it, the result goes back
            var function = kernel.Plugins.GetFunction("ledger", "tree_size");
            var chat = kernel.GetRequiredService<IChatClient>();
            List<ChatMessage> messages = [new(ChatRole.User, "How many entries does the ledger hold?")];
            AIFunction tool = function; // as a tool its name is plugin-qualified ("ledger-tree_size")
            var options = new ChatOptions { MaxOutputTokens = 48, Temperature = 0, Tools = [tool], ToolMode = ChatToolMode.RequireSpecific(tool.Name) };
            var first = await chat.GetResponseAsync(messages, options, ct);
            var call = first.Messages.SelectMany(m => m.Contents).OfType<Microsoft.Extensions.AI.FunctionCallContent>().FirstOrDefault()
                ?? throw new InvalidOperationException($"the node answered without calling {tool.Name}: {first.Text}");
            await output.WriteLineAsync($"tool call: {call.Name} ({call.CallId}), finish {first.FinishReason}");
            var value = await function.InvokeAsync(kernel, new KernelArguments(), ct);
            await output.WriteLineAsync($"tool result: {value}");
            messages.AddRange(first.Messages);
            messages.Add(new ChatMessage(ChatRole.Tool, [new Microsoft.Extensions.AI.FunctionResultContent(call.CallId, value.ToString())]));
            response = await chat.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 24, Temperature = 0 }, ct);
        }
        else
        {
            var settings = new PromptExecutionSettings
            {
                ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 24, ["temperature"] = 0 },
            };
            var result = await kernel.InvokePromptAsync("Explain recursion in one sentence.", new KernelArguments(settings), cancellationToken: ct);
            response = result.GetValue<ChatResponse>() ?? throw new InvalidOperationException("the kernel returned no chat response");
        }
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
