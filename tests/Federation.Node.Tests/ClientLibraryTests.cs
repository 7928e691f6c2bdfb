using System.ClientModel;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using MeaiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using MeaiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Federation.Node.Tests;

/// <summary>
/// The clients the design card names, pointed at a real node beside the OpenAI SDK tests: Semantic Kernel's OpenAI
/// connector (chat, streaming, embeddings) and Microsoft.Extensions.AI's <see cref="IChatClient"/> and
/// <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/>. Greedy decoding makes their answers comparable to the SDK's.
/// </summary>
[Collection("node")]
public sealed class ClientLibraryTests(NodeFixture node)
{
    private const string Question = "summarize the plot of a short story";

    private async Task<string> SdkAnswerAsync(string model, int maxTokens)
    {
        var c = await node.OpenAi().GetChatClient(model).CompleteChatAsync([new UserChatMessage(Question)],
            new ChatCompletionOptions { MaxOutputTokenCount = maxTokens, Temperature = 0 });
        return c.Value.Content[0].Text;
    }

#pragma warning disable SKEXP0010 // the endpoint overload of the OpenAI connector is how SK points at an OpenAI-compatible server
    private Kernel SemanticKernel() => Kernel.CreateBuilder()
        .AddOpenAIChatCompletion("federation/general", new Uri(node.BaseUrl, "/v1"), node.ClientKey)
        .AddOpenAIEmbeddingGenerator("federation", new OpenAIClient(new ApiKeyCredential(node.ClientKey),
            new OpenAIClientOptions { Endpoint = new Uri(node.BaseUrl, "/v1") }))
        .Build();
#pragma warning restore SKEXP0010

    [Fact]
    public async Task Semantic_kernel_chat_and_streaming_give_the_sdks_greedy_answer()
    {
        var expected = await SdkAnswerAsync("federation/general", 8);
        var chat = SemanticKernel().GetRequiredService<IChatCompletionService>();
        var settings = new OpenAIPromptExecutionSettings { MaxTokens = 8, Temperature = 0 };
        var history = new ChatHistory();
        history.AddUserMessage(Question);

        var whole = await chat.GetChatMessageContentAsync(history, settings);
        Assert.Equal(expected, whole.Content);
        Assert.Equal(AuthorRole.Assistant, whole.Role);

        var streamed = new StringBuilder();
        await foreach (var part in chat.GetStreamingChatMessageContentsAsync(history, settings))
            streamed.Append(part.Content);
        Assert.Equal(expected, streamed.ToString());
    }

    [Fact]
    public async Task Semantic_kernel_embeddings_equal_the_sdks()
    {
        var generator = SemanticKernel().GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var embeddings = await generator.GenerateAsync(["the quick brown fox", "lazy dog"]);
        Assert.Equal(2, embeddings.Count);
        var sdk = (await node.OpenAi().GetEmbeddingClient("federation").GenerateEmbeddingAsync("the quick brown fox")).Value.ToFloats().ToArray();
        Assert.Equal(sdk, embeddings[0].Vector.ToArray());
        Assert.Equal(node.Runtime.Engine.EmbeddingSize, embeddings[1].Vector.Length);
    }

    private IChatClient ExtensionsAiChat(string model) =>
        new ChatClient(model, new ApiKeyCredential(node.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(node.BaseUrl, "/v1") }).AsIChatClient();

    [Fact]
    public async Task Extensions_ai_chat_client_gets_text_usage_and_finish_reason_and_streams_the_same_text()
    {
        var expected = await SdkAnswerAsync("federation/general", 6);
        using var client = ExtensionsAiChat("federation/general");
        var options = new ChatOptions { MaxOutputTokens = 6, Temperature = 0 };
        var response = await client.GetResponseAsync([new MeaiChatMessage(MeaiChatRole.User, Question)], options);
        Assert.Equal(expected, response.Text);
        Assert.Equal(6, response.Usage?.OutputTokenCount);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);

        var streamed = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync([new MeaiChatMessage(MeaiChatRole.User, Question)], options))
            streamed.Append(update.Text);
        Assert.Equal(expected, streamed.ToString());
    }

    [Fact]
    public async Task Extensions_ai_sees_a_t3_review_wait_as_a_409_error_not_an_answer()
    {
        using var client = ExtensionsAiChat("federation");
        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.GetResponseAsync("what is our defense strategy for the joint venture", new ChatOptions { MaxOutputTokens = 3 }));
        Assert.Equal(409, e.Status);
    }

    [Fact]
    public async Task Extensions_ai_embedding_generator_matches_the_sdk()
    {
        using var generator = new EmbeddingClient("federation", new ApiKeyCredential(node.ClientKey),
            new OpenAIClientOptions { Endpoint = new Uri(node.BaseUrl, "/v1") }).AsIEmbeddingGenerator();
        var v = await generator.GenerateVectorAsync("the quick brown fox");
        var sdk = (await node.OpenAi().GetEmbeddingClient("federation").GenerateEmbeddingAsync("the quick brown fox")).Value.ToFloats().ToArray();
        Assert.Equal(sdk, v.ToArray());
    }
}
