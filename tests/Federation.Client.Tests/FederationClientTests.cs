using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Registry.Ledger;
using Microsoft.Extensions.AI;

namespace Federation.Client.Tests;

/// <summary>Federation.Client against a real node: chat, streaming, embeddings, errors and the typed federation object.</summary>
[Collection("node")]
public sealed class FederationClientTests(NodeFixture node)
{
    internal static readonly ChatOptions Short = new() { MaxOutputTokens = 8, Temperature = 0 };

    [Fact]
    public async Task Chat_response_carries_text_usage_and_the_typed_federation_object()
    {
        using var client = node.Client();
        var response = await client.GetResponseAsync("hello, explain recursion", Short);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
        Assert.Equal(8, response.Usage?.OutputTokenCount);
        var fed = response.GetFederation();
        Assert.NotNull(fed);
        Assert.Equal("general", fed.Route.Topic);
        Assert.NotEmpty(fed.Specialists);
        Assert.Equal(fed.Route.Specialists[0], fed.Specialists[0].Id);
        Assert.Matches("^[0-9a-z]+$", fed.Specialists[0].AdapterCid);
        Assert.Contains(fed.Verification.Status, new[] { "passed", "unchecked" });
        Assert.NotNull(fed.Ledger);
        Assert.Equal($"/v1/federation/ledger/{fed.Ledger.Index}/proof", fed.Ledger.ProofUrl);
    }

    [Fact]
    public async Task Streaming_yields_text_deltas_then_federation_on_the_finishing_update_and_usage_last()
    {
        using var client = node.Client();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync("hello, explain recursion", Short)) updates.Add(u);
        Assert.Equal(ChatRole.Assistant, updates[0].Role);
        var finishing = Assert.Single(updates, u => u.FinishReason is not null);
        Assert.NotNull(finishing.GetFederation());
        Assert.Contains(updates, u => u.Contents.OfType<UsageContent>().Any(c => c.Details.OutputTokenCount == 8));
        var whole = updates.ToChatResponse();
        Assert.Equal(finishing.GetFederation()!.Ledger!.Index, whole.GetFederation()!.Ledger!.Index);

        var streamed = await client.VerifyReceiptAsync(whole);
        Assert.True(streamed.IsValid, streamed.ToString());
    }

    [Fact]
    public async Task Greedy_streamed_and_whole_answers_are_the_same_text()
    {
        using var client = node.Client();
        var whole = await client.GetResponseAsync("the same words twice", Short);
        var streamed = await client.GetStreamingResponseAsync("the same words twice", Short).ToChatResponseAsync();
        Assert.Equal(whole.Text, streamed.Text);
    }

    [Fact]
    public async Task Embeddings_come_back_one_vector_per_input_in_order()
    {
        using var client = node.Client();
        IEmbeddingGenerator<string, Embedding<float>> generator = client;
        var result = await generator.GenerateAsync(["the quick brown fox", "x", "the quick brown fox"]);
        Assert.Equal(3, result.Count);
        Assert.True(result[0].Vector.Length > 0);
        Assert.Equal(result[0].Vector.ToArray(), result[2].Vector.ToArray());
        Assert.NotEqual(result[0].Vector.ToArray(), result[1].Vector.ToArray());
        Assert.True(result.Usage?.InputTokenCount > 0);
    }

    [Fact]
    public async Task A_node_error_surfaces_with_its_status_and_code()
    {
        using var client = node.Client();
        var e = await Assert.ThrowsAsync<FederationApiException>(() =>
            client.GetResponseAsync("hi", new ChatOptions { ModelId = "no-such-model", MaxOutputTokens = 4 }));
        Assert.Equal(404, e.StatusCode);
        Assert.Contains("no-such-model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_api_key_the_node_refuses_with_401()
    {
        using var client = new FederationClient(new FederationClientOptions { Endpoint = node.BaseUrl, ApiKey = "wrong" });
        var e = await Assert.ThrowsAsync<FederationApiException>(() => client.GetResponseAsync("hi", Short));
        Assert.Equal(401, e.StatusCode);
    }

    [Fact]
    public async Task Options_tools_and_response_format_are_sent_in_openai_form()
    {
        var capture = new CapturingHandler();
        using var http = new HttpClient(capture);
        using var client = node.Client(http: http);
        var tool = AIFunctionFactory.Create((string city) => "sunny", "get_weather", "The weather in a city.");
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}""").RootElement;
        try
        {
            await client.GetResponseAsync("hello", new ChatOptions
            {
                MaxOutputTokens = 4, Temperature = 0, TopK = 5, Seed = 7, StopSequences = ["\n\n"],
                Tools = [tool], ToolMode = ChatToolMode.RequireSpecific("get_weather"),
                ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "reply"),
            });
        }
        catch (FederationApiException e) when (e.StatusCode == 400)
        {
            // a node may refuse a parameter it does not support (docs/api.md); the request's shape is what is checked here
        }
        var body = JsonNode.Parse(capture.LastBody!)!;
        Assert.Equal("federation/general", (string?)body["model"]);
        Assert.Equal(4, (int?)body["max_tokens"]);
        Assert.Equal(5, (int?)body["top_k"]);
        Assert.Equal(7, (long?)body["seed"]);
        Assert.Equal("get_weather", (string?)body["tools"]![0]!["function"]!["name"]);
        Assert.Equal("string", (string?)body["tools"]![0]!["function"]!["parameters"]!["properties"]!["city"]!["type"]);
        Assert.Equal("get_weather", (string?)body["tool_choice"]!["function"]!["name"]);
        Assert.Equal("json_schema", (string?)body["response_format"]!["type"]);
        Assert.Equal("reply", (string?)body["response_format"]!["json_schema"]!["name"]);
        Assert.Equal($"Bearer {node.ApiKey}", capture.LastAuthorization);
    }

    private sealed class CapturingHandler() : DelegatingHandler(new HttpClientHandler())
    {
        public string? LastBody { get; private set; }
        public string? LastAuthorization { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null) LastBody = await request.Content.ReadAsStringAsync(cancellationToken);
            LastAuthorization = request.Headers.Authorization?.ToString();
            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public void Client_exposes_itself_and_its_metadata_as_services()
    {
        using var client = node.Client();
        IChatClient chat = client;
        Assert.Same(client, chat.GetService<IChatClient>());
        Assert.Equal("federation", chat.GetService<ChatClientMetadata>()?.ProviderName);
        Assert.Equal("federation/general", chat.GetService<ChatClientMetadata>()?.DefaultModelId);
    }

    [Fact]
    public void A_malformed_pinned_key_is_refused_at_construction_with_what_to_use()
    {
        var e = Assert.Throws<ArgumentException>(() => new FederationClient(new FederationClientOptions { Endpoint = node.BaseUrl, NodeKey = "abc" }));
        Assert.Contains("identity/node_id", e.Message, StringComparison.Ordinal);
    }
}
