using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Federation.Node.Hosting;
using OpenAI.Chat;

namespace Federation.Node.Tests;

/// <summary>Every error comes back in the OpenAI shape with the right status, and nothing stored is harmed by it.</summary>
[Collection("node")]
public sealed class ApiErrorTests(NodeFixture node)
{
    private async Task<(HttpStatusCode Status, JsonElement Error)> PostAsync(string path, string body, string? key = null, string contentType = "application/json")
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        req.Headers.Authorization = new("Bearer", key ?? node.ClientKey);
        using var resp = await node.Http.SendAsync(req);
        var json = await resp.Content.ReadFromJsonAsync<JsonElement>();
        var error = json.GetProperty("error");
        foreach (var field in new[] { "message", "type", "param", "code" }) Assert.True(error.TryGetProperty(field, out _), $"error lacks '{field}'");
        return (resp.StatusCode, error);
    }

    private async Task<(HttpStatusCode Status, JsonElement Error)> SendAsync(HttpRequestMessage req)
    {
        req.Headers.Authorization ??= new("Bearer", node.ClientKey);
        using var resp = await node.Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrEmpty(text), $"HTTP {(int)resp.StatusCode} came with an empty body");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        foreach (var field in new[] { "message", "type", "param", "code" }) Assert.True(error.TryGetProperty(field, out _), $"error lacks '{field}'");
        return (resp.StatusCode, error.Clone());
    }

    private const string Hello = """{"model":"federation","messages":[{"role":"user","content":"hello"}],"max_tokens":2}""";

    [Fact]
    public async Task A_wrong_api_key_is_401_through_the_sdk()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            node.OpenAi("fed-not-a-real-key").GetChatClient("federation").CompleteChatAsync([new UserChatMessage("hello")]));
        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task A_missing_api_key_is_401_with_code_invalid_api_key()
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Hello, Encoding.UTF8, "application/json") };
        req.Headers.Authorization = null;
        using var plain = new HttpClient { BaseAddress = node.BaseUrl };
        using var resp = await plain.SendAsync(req);
        Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
        Assert.Equal("invalid_api_key", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_unknown_model_is_404_through_the_sdk()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            node.OpenAi().GetChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("hello")]));
        Assert.Equal(404, e.Status);
        var (status, error) = await PostAsync("/v1/embeddings", """{"model":"nope","input":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model", error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"model":"federation"}""", "messages")]
    [InlineData("""{"model":"federation","messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"federation","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"federation","messages":[{"role":"user","content":"hi"}],"temperature":7}""", "temperature")]
    [InlineData("""{"model":"federation","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"federation","messages":[{"role":"user","content":"hi"}],"n":2}""", "n")]
    [InlineData("""{"model":"federation","messages":[{"role":"user","content":"hi"}],"federation":{"bogus":1}}""", "federation.bogus")]
    public async Task Malformed_or_missing_fields_are_400_naming_the_parameter(string body, string param)
    {
        var (status, error) = await PostAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Broken_json_is_400_and_the_ledger_is_untouched()
    {
        await node.SettledAsync();
        var before = node.Runtime.Ledger.Size;
        var (status, error) = await PostAsync("/v1/chat/completions", """{"model":"federation","messages":[""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request.malformed_json", error.GetProperty("code").GetString());
        Assert.Equal(before, node.Runtime.Ledger.Size);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_and_a_query_over_the_policy_limit_is_400()
    {
        var huge = "{\"model\":\"federation\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 100_000) + "\"}]}";
        var (status, error) = await PostAsync("/v1/chat/completions", huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request.too_large", error.GetProperty("code").GetString());
        var longQuery = "{\"model\":\"federation\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', node.Runtime.Policy.MaxQueryChars + 1) + "\"}]}";
        (status, error) = await PostAsync("/v1/chat/completions", longQuery);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("router.query_too_long", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_non_json_content_type_is_415()
    {
        var (status, error) = await PostAsync("/v1/chat/completions", Hello, contentType: "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("request.unsupported_media_type", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_body_without_content_type_is_415_as_documented()
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Hello));
        content.Headers.ContentType = null;
        var (status, error) = await SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content });
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("request.unsupported_media_type", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    [InlineData("/v1/embeddings")]
    [InlineData("/v1/federation/route")]
    public async Task Invalid_utf8_in_a_string_is_400_on_every_post_route(string path)
    {
        var field = path switch { "/v1/completions" => "prompt", "/v1/embeddings" => "input", _ => "query" };
        var body = Encoding.UTF8.GetBytes(path == "/v1/chat/completions"
            ? """{"model":"federation","messages":[{"role":"user","content":"X"}]}"""
            : "{\"model\":\"federation\",\"" + field + "\":\"X\"}");
        var x = Array.IndexOf(body, (byte)'X');
        var bad = body[..x].Concat(new byte[] { 0xC3, 0x28 }).Concat(body[(x + 1)..]).ToArray();   // 0xC3 0x28 is not UTF-8
        var content = new ByteArrayContent(bad);
        content.Headers.ContentType = new("application/json");
        var (status, error) = await SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = content });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request.invalid_encoding", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_lone_surrogate_escape_is_400_naming_the_field()
    {
        var (status, error) = await PostAsync("/v1/chat/completions", """{"model":"federation","messages":[{"role":"user","content":"a\ud800b"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request.invalid_encoding", error.GetProperty("code").GetString());
        Assert.Equal("messages[0].content", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_unknown_v1_path_is_404_a_wrong_method_405_and_a_bad_parameter_400_all_openai_shaped()
    {
        var (status, error) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/no/such/thing"));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("request.unknown_endpoint", error.GetProperty("code").GetString());
        (status, error) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/chat/completions"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        Assert.Equal("request.method_not_allowed", error.GetProperty("code").GetString());
        (status, _) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/federation/ledger/0/proof?size=abc"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task A_wrongly_typed_field_is_400_naming_it_and_required_provenance_has_one_shape()
    {
        var (status, error) = await PostAsync("/v1/chat/completions", """{"model":"federation","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("temperature", error.GetProperty("param").GetString());
        (status, error) = await PostAsync("/v1/chat/completions", """{"model":"federation","messages":[{"role":"user","content":"hi"}],"federation":{"required_provenance":["lineage:olmo"]}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("federation.required_provenance", error.GetProperty("param").GetString());
        (status, error) = await PostAsync("/v1/chat/completions", """{"model":"federation","messages":[{"role":"user","content":"hi"}],"federation":{"required_provenance":{"country":["EU"]}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("federation.required_provenance.country", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        var dir = NodeFixture.TempDir("fed-node-429");
        var (app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", MaxQueue = 1, AdmissionQueue = 0, ReviewWait = TimeSpan.FromSeconds(20) });
        try
        {
            using var http = new HttpClient { BaseAddress = url };
            // Another request holds the only generation slot (a T3 request waiting for review would not: HostileReviewTests).
            using var holding = await app.Services.GetRequiredService<Federation.Node.Api.AdmissionControl>().TryAcquireAsync(CancellationToken.None);
            Assert.NotNull(holding);
            using var resp = await http.PostAsync("/v1/chat/completions", new StringContent(Hello, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.TooManyRequests, resp.StatusCode);
            Assert.Equal("node.queue_full", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
            Assert.True(resp.Headers.RetryAfter?.Delta > TimeSpan.Zero, "a 429 must say when to retry (Retry-After)");
            holding!.Release();
            using var after = await http.PostAsync("/v1/chat/completions", new StringContent(Hello, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }
        finally
        {
            await NodeFixture.StopAsync(app, dir);
        }
    }

    [Fact]
    public async Task A_node_that_could_not_start_answers_503_saying_why()
    {
        var dir = NodeFixture.TempDir("fed-node-503");
        Directory.CreateDirectory(dir);
        var policy = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(policy, "version: 1\nbogus_key: 3\n");
        var (app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", PolicyPath = policy }, expectReady: false);
        try
        {
            using var http = new HttpClient { BaseAddress = url };
            using var resp = await http.PostAsync("/v1/chat/completions", new StringContent(Hello, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, resp.StatusCode);
            var msg = (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
            Assert.Contains("bad.yaml:2:1", msg, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health")).StatusCode);
            // This node has no keys: it answers loopback Host names only (DNS-rebinding defence).
            using var rebound = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            rebound.Headers.Host = "attacker.example";
            using var refused = await http.SendAsync(rebound);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("request.host_not_allowed", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }
        finally
        {
            await NodeFixture.StopAsync(app, dir);
        }
    }

    [Fact]
    public void A_node_without_keys_refuses_to_listen_beyond_loopback()
    {
        var dir = NodeFixture.TempDir("fed-node-open");
        try
        {
            var e = Assert.Throws<NodeStartException>(() => NodeHost.Build(new NodeOptions { DataDir = dir, Urls = "http://0.0.0.0:0" }));
            Assert.Contains("fed keys create", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            NodeFixture.DeleteDir(dir);
        }
    }

    [Fact]
    public async Task A_bit_flipped_adapter_is_refused_at_load_with_both_cids_and_the_node_answers_503()
    {
        var dir = NodeFixture.TempDir("fed-node-bitflip");
        var (app, _) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0" });
        await app.StopAsync();
        await app.DisposeAsync();
        var adapter = Directory.GetFiles(Path.Combine(dir, "adapters"), "*.gguf").Order(StringComparer.Ordinal).First();
        Assert.True(File.Exists(adapter + ".cid"), "the first load records each file's CID");

        // Unchanged files load again.
        (app, _) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0" });
        await app.StopAsync();
        await app.DisposeAsync();

        // One bit of tensor data (the file's last byte): still valid GGUF, so only the recorded CID can catch it.
        var bytes = await File.ReadAllBytesAsync(adapter);
        bytes[^1] ^= 0x01;
        await File.WriteAllBytesAsync(adapter, bytes);
        Uri url;
        (app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0" }, expectReady: false);
        try
        {
            using var http = new HttpClient { BaseAddress = url };
            using var resp = await http.PostAsync("/v1/chat/completions", new StringContent(Hello, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, resp.StatusCode);
            var msg = (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
            Assert.Contains(Path.GetFileName(adapter), msg, StringComparison.Ordinal);
            Assert.Contains((await File.ReadAllTextAsync(adapter + ".cid")).Trim(), msg, StringComparison.Ordinal);
            Assert.Contains("changed since this node first loaded it", msg, StringComparison.Ordinal);
        }
        finally
        {
            await NodeFixture.StopAsync(app, dir);
        }
    }
}
