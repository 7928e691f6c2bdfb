using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Federation.Node.Api;

namespace Federation.Node.Tests;

/// <summary>
/// A hostile client's requests over real HTTP (issue 8): parameters the node does not implement are refused with 400
/// naming them, and text that cannot fit the model's context is refused before any work with both numbers.
/// </summary>
[Collection("node")]
public sealed class HostileRequestTests(NodeFixture node)
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string body)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var resp = await node.Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(text), $"HTTP {(int)resp.StatusCode} came with an empty body");
        return (resp.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Chat(string extra, string content = "hello") =>
        $$"""{"model":"federation","messages":[{"role":"user","content":{{JsonSerializer.Serialize(content)}}}],"max_tokens":2{{extra}}}""";

    [Theory]
    [InlineData("functions", """[{"name":"f"}]""")]
    [InlineData("function_call", """{"name":"f"}""")]
    [InlineData("logit_bias", """{"50256":-100}""")]
    [InlineData("presence_penalty", "0.5")]
    [InlineData("frequency_penalty", "-1")]
    [InlineData("audio", """{"voice":"alloy","format":"wav"}""")]
    [InlineData("modalities", """["text","audio"]""")]
    [InlineData("prediction", """{"type":"content","content":"x"}""")]
    [InlineData("web_search_options", "{}")]
    [InlineData("store", "true")]
    [InlineData("service_tier", "\"flex\"")]
    [InlineData("reasoning_effort", "\"low\"")]
    public async Task An_unimplemented_chat_parameter_is_a_400_naming_it(string name, string value)
    {
        var (status, body) = await PostAsync("/v1/chat/completions", Chat($",\"{name}\":{value}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal("request.unsupported_parameter", error.GetProperty("code").GetString());
        Assert.Equal(name, error.GetProperty("param").GetString());
        Assert.Contains($"'{name}'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/completions", "echo", "true")]
    [InlineData("/v1/completions", "best_of", "3")]
    [InlineData("/v1/completions", "suffix", "\"end\"")]
    [InlineData("/v1/completions", "logprobs", "2")]
    [InlineData("/v1/completions", "response_format", "{\"type\":\"json_object\"}")]
    [InlineData("/v1/completions", "tools", "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]")]
    [InlineData("/v1/completions", "n", "2")]
    [InlineData("/v1/embeddings", "dimensions", "8")]
    public async Task An_unimplemented_completions_or_embeddings_parameter_is_a_400_naming_it(string path, string name, string value)
    {
        var body = path == "/v1/embeddings"
            ? $$"""{"model":"federation","input":"hello","{{name}}":{{value}}}"""
            : $$"""{"model":"federation","prompt":"hello","max_tokens":2,"{{name}}":{{value}}}""";
        var (status, json) = await PostAsync(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request.unsupported_parameter", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(name, json.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Neutral_values_of_unimplemented_parameters_and_unknown_fields_are_accepted()
    {
        var (status, body) = await PostAsync("/v1/chat/completions", Chat(
            ""","tools":[],"tool_choice":"none","response_format":{"type":"text"},"logprobs":false,"logit_bias":{},"presence_penalty":0,"modalities":["text"],"user":"u1","metadata":{"a":"b"}"""));
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_a_400_context_length_exceeded_with_both_numbers()
    {
        // 300 euro signs: 300 characters (well under max_query_chars) but 900 bytes, so 900+ tokens of the byte vocabulary.
        var (status, body) = await PostAsync("/v1/completions", $$"""{"model":"federation","prompt":"{{new string('€', 300)}}","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains($"holds {ContextLimits.ContextTokens}", message, StringComparison.Ordinal);
        var tokens = int.Parse(message.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(tokens > ContextLimits.ContextTokens, message);

        var (chatStatus, chatBody) = await PostAsync("/v1/chat/completions", Chat("", new string('€', 300)));
        Assert.Equal(HttpStatusCode.BadRequest, chatStatus);
        Assert.Equal("messages", chatBody.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_embeddings_input_longer_than_the_context_is_a_400_naming_the_input()
    {
        var (status, body) = await PostAsync("/v1/embeddings", $$"""{"model":"federation","input":["short","{{new string('a', 700)}}"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("input[1]", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains($"holds {ContextLimits.ContextTokens}", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_states_the_context_and_a_query_of_the_guaranteed_length_always_fits()
    {
        var models = await node.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        var router = models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "federation").GetProperty("federation");
        Assert.Equal(ContextLimits.ContextTokens, router.GetProperty("context_length").GetInt32());
        Assert.Equal(node.Runtime.Policy.MaxQueryChars, router.GetProperty("max_query_chars").GetInt32());
        var guaranteed = router.GetProperty("guaranteed_query_chars").GetInt32();
        Assert.InRange(guaranteed, 16, ContextLimits.ContextTokens / 4);
        // the worst case per character in UTF-16: a 3-byte character (a 4-byte one takes two UTF-16 units)
        var (status, body) = await PostAsync("/v1/completions", $$"""{"model":"federation","prompt":"{{new string('€', guaranteed)}}","max_tokens":2}""");
        Assert.True(status == HttpStatusCode.OK, body.ToString());
    }

    [Theory]
    // found by the openai-request fuzz target: invalid text inside an unsupported parameter's value or name
    [InlineData("eyJtb2RlbCI6ImZlZGVyYXRpb24iLCJtZXNzYWdlcyI6W3sicm9sZSI6InVzZXIiLCJjgG50ZW50IjoieCJ9XSwidG9vbHMiOltdLCJyZXNwb25zZV9mb3JtYXQiOnsiXHVkYzAwXHVkODAwdHlwZSI6InRleHQifSwibG9ncHJvYnMiOmZhbHNlfQ==")]
    [InlineData("eyJtb2RlbCI6ImZlZGVyYXRpb24iLCJtZXNzYWdlcyI6W3sicm9sZSI6InVzZXIiLCJjb250ZW50IjoieCJ9XSwidG9vbHMiOltdLCJyZXNwb25zZV9mb3JtYXQiOnsidHlwZSI6InTPzs9leHQifSwibG9ncHJvYnMiOmZhbHNlfQ==")]
    [InlineData("eyJtb2RlbCI6ImZlZGVyYXRpb24iLCJtZXNzYWdlcyI6W3sicm9sZSI6InVzZXIiLCJjb250ZW50IjoieCJ9XSwidG9vbHMiOltdLCJyZXNwb25zZV9mb3JtYXQiOnsidFx1ZDgwMHlwZSI6InRleHQifSwibG9ncHJvYnMiOmZhbHNlfQ==")]
    public async Task Invalid_text_inside_a_parameter_value_is_a_400_not_a_500(string base64)
    {
        using var content = new ByteArrayContent(Convert.FromBase64String(base64));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var resp = await node.Http.PostAsync("/v1/chat/completions", content);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Equal("response_format", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Invalid_utf8_or_a_lone_surrogate_in_a_content_part_is_a_400_invalid_encoding()
    {
        var head = Encoding.UTF8.GetBytes("""{"model":"federation","messages":[{"role":"user","content":[{"type":"text","text":"a""");
        var tail = Encoding.UTF8.GetBytes("\"}]}]}");
        foreach (var middle in new[] { Encoding.UTF8.GetBytes("\\udc00x"), [0xFF, 0x78] })
        {
            using var content = new ByteArrayContent([.. head, .. middle, .. tail]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var resp = await node.Http.PostAsync("/v1/chat/completions", content);
            var body = await resp.Content.ReadAsStringAsync();
            Assert.True(resp.StatusCode == HttpStatusCode.BadRequest, body);
            Assert.Equal("request.invalid_encoding", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
    }
}
