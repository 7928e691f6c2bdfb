using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace Federation.Node.Tests;

/// <summary>The OpenAI-compatible surface, driven by the official OpenAI .NET SDK against a real node.</summary>
[Collection("node")]
public sealed class OpenAiApiTests(NodeFixture node)
{
    private static readonly ChatCompletionOptions Greedy = new() { MaxOutputTokenCount = 12, Temperature = 0 };

    [Fact]
    public async Task Chat_completion_through_the_sdk_returns_text_usage_and_length_finish()
    {
        var chat = node.OpenAi().GetChatClient("federation");
        ChatCompletion c = await chat.CompleteChatAsync([new UserChatMessage("hello, explain recursion")], Greedy);
        Assert.Equal(ChatMessageRole.Assistant, c.Role);
        Assert.Equal(12, c.Usage.OutputTokenCount);
        Assert.True(c.Usage.InputTokenCount > 0);
        Assert.Equal(ChatFinishReason.Length, c.FinishReason);
        Assert.StartsWith("chatcmpl-", c.Id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Greedy_chat_is_identical_across_calls_and_between_streamed_and_whole_answers()
    {
        var chat = node.OpenAi().GetChatClient("federation/general");
        var messages = new ChatMessage[] { new UserChatMessage("summarize the plot of a novel") };
        var a = (await chat.CompleteChatAsync(messages, Greedy)).Value.Content[0].Text;
        var b = (await chat.CompleteChatAsync(messages, Greedy)).Value.Content[0].Text;
        Assert.Equal(a, b);
        var sb = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var u in chat.CompleteChatStreamingAsync(messages, Greedy))
        {
            foreach (var part in u.ContentUpdate) sb.Append(part.Text);
            finish ??= u.FinishReason;
        }
        Assert.Equal(a, sb.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task Raw_stream_has_role_first_federation_on_the_last_chunk_usage_and_done()
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "federation",
                messages = new[] { new { role = "user", content = "hello there" } },
                max_tokens = 5,
                stream = true,
                stream_options = new { include_usage = true },
            }),
        };
        using var resp = await node.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType!.MediaType);
        var lines = (await resp.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        var last = chunks[^2];
        Assert.Equal("length", last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(last.GetProperty("federation").GetProperty("ledger").GetProperty("index").GetInt64() >= 0);
    }

    [Fact]
    public async Task Every_answer_carries_a_federation_object_whose_ledger_proof_verifies()
    {
        var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "federation",
            messages = new[] { new { role = "user", content = "fix this python function bug" } },
            max_tokens = 4,
        });
        resp.EnsureSuccessStatusCode();
        var fed = (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("federation");
        Assert.Equal("code", fed.GetProperty("route").GetProperty("topic").GetString());
        Assert.Equal(node.Runtime.Policy.Cid, fed.GetProperty("route").GetProperty("policy_cid").GetString());
        var spec = fed.GetProperty("specialists")[0];
        Assert.Equal(node.Runtime.Engine.BaseCid.ToString(), spec.GetProperty("base_cid").GetString());
        Assert.Equal(64, spec.GetProperty("adapter_cid").GetString()!.Length);
        var proofUrl = fed.GetProperty("ledger").GetProperty("proof_url").GetString()!;
        var proofJson = await node.Http.GetStringAsync(proofUrl);
        var doc = Federation.Registry.Merkle.MerkleProofJson.Parse(proofJson);
        Assert.True(Federation.Registry.Merkle.MerkleProofJson.Verify(doc).IsValid);
        var entry = JsonDocument.Parse(proofJson).RootElement.GetProperty("entry");
        Assert.Equal(fed.GetProperty("ledger").GetProperty("entry_id").GetString(), entry.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Text_completions_answer_in_the_text_completion_shape()
    {
        var resp = await node.Http.PostAsJsonAsync("/v1/completions", new { model = "federation", prompt = "hello", max_tokens = 3 });
        resp.EnsureSuccessStatusCode();
        var j = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("text_completion", j.GetProperty("object").GetString());
        Assert.Equal(3, j.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(JsonValueKind.String, j.GetProperty("choices")[0].GetProperty("text").ValueKind);
    }

    [Fact]
    public async Task Models_list_the_router_every_topic_and_every_specialist_with_cids()
    {
        var models = (await node.OpenAi().GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToHashSet();
        Assert.Contains("federation", models);
        foreach (var t in node.Runtime.Policy.Topics) Assert.Contains("federation/" + t.Id, models);
        foreach (var s in node.Runtime.Specialists.Keys) Assert.Contains(s, models);
        var raw = await node.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        var code = raw.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "code-qwen");
        Assert.Equal(node.Runtime.Specialists["code-qwen"].AdapterCid, code.GetProperty("federation").GetProperty("adapter_cid").GetString());
    }

    [Fact]
    public async Task Every_listed_model_can_be_retrieved_and_an_unknown_one_is_an_openai_404()
    {
        var client = node.OpenAi().GetOpenAIModelClient();
        var listed = (await client.GetModelsAsync()).Value.Select(m => m.Id).ToList();
        foreach (var id in listed)
            Assert.Equal(id, (await client.GetModelAsync(id)).Value.Id);
        var topic = await node.Http.GetFromJsonAsync<JsonElement>("/v1/models/federation/math");
        Assert.Equal("topic", topic.GetProperty("federation").GetProperty("kind").GetString());
        using var missing = await node.Http.GetAsync("/v1/models/no-such-model");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        var error = (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Embeddings_are_deterministic_and_equal_in_float_and_base64()
    {
        var client = node.OpenAi().GetEmbeddingClient("federation");
        var a = (await client.GenerateEmbeddingAsync("the quick brown fox")).Value.ToFloats().ToArray();   // SDK asks for base64
        var b = (await client.GenerateEmbeddingAsync("the quick brown fox")).Value.ToFloats().ToArray();
        Assert.Equal(node.Runtime.Engine.EmbeddingSize, a.Length);
        Assert.Equal(a, b);
        var raw = await node.Http.PostAsJsonAsync("/v1/embeddings", new { model = "federation", input = new[] { "the quick brown fox", "x" }, encoding_format = "float" });
        raw.EnsureSuccessStatusCode();
        var data = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        var floats = data[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
        Assert.Equal(a, floats);
    }
}
