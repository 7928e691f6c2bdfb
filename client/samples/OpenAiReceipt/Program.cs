using System.ClientModel;
using OpenAI;
using OpenAI.Chat;

namespace Federation.Client.Samples.OpenAiReceipt;

/// <summary>
/// Asks a Federation node through the official OpenAI .NET SDK, then verifies the answer's ledger receipt with
/// Federation.Client: the SDK gives the text and the raw body (whose <c>federation</c> object names the ledger entry).
/// </summary>
public static class Program
{
    /// <summary>Exit codes: 0 verified, 2 usage, 3 the receipt did not verify.</summary>
    public static async Task<int> Main(string[] args)
    {
        var a = SampleArgs.Parse(args, Console.Error);
        if (a is null) return 2;
        return await RunAsync(a.Endpoint, a.ApiKey, a.NodeKey, "Explain recursion in one sentence.", Console.Out);
    }

    /// <summary>One question, its answer and the receipt check, written to <paramref name="output"/>.</summary>
    public static async Task<int> RunAsync(Uri endpoint, string? apiKey, string? nodeKey, string question, TextWriter output, CancellationToken ct = default)
    {
        var openAi = new OpenAIClient(new ApiKeyCredential(apiKey ?? "none"), new OpenAIClientOptions { Endpoint = new Uri(endpoint, "/v1") });
        var chat = openAi.GetChatClient("federation");
        ClientResult<ChatCompletion> result = await chat.CompleteChatAsync(
            [new UserChatMessage(question)], new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 }, ct);
        var text = result.Value.Content.Count > 0 ? result.Value.Content[0].Text : "";
        var federation = FederationInfo.FromResponseBody(result.GetRawResponse().Content.ToString());
        await output.WriteLineAsync($"answer: {text}");
        await output.WriteLineAsync($"route: topic {federation.Route.Topic}, tier {federation.Route.Tier}, specialists {string.Join(",", federation.Route.Specialists)}; ledger entry {federation.Ledger?.Index}");

        using var client = new FederationClient(new FederationClientOptions { Endpoint = endpoint, ApiKey = apiKey, NodeKey = nodeKey });
        var receipt = await client.VerifyReceiptAsync(federation, text, FederationClient.QueryTextOf([("user", question)]), ct);
        await output.WriteLineAsync(receipt.IsValid ? $"receipt verified: {receipt.Reason}" : $"receipt REJECTED: {receipt}");
        return receipt.IsValid ? 0 : 3;
    }
}
