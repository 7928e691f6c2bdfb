using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Review;

using static Federation.Node.Tests.CliRunner;

namespace Federation.Node.Tests;

/// <summary>Health, metrics, OpenAPI, keys and the review CLI against a running node.</summary>
[Collection("node")]
public sealed class OperationsTests(NodeFixture node)
{

    [Fact]
    public async Task Health_reports_ready_with_the_nodes_identity_and_cids()
    {
        var h = await node.Http.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ready", h.GetProperty("status").GetString());
        Assert.Equal(node.Runtime.Key.Id.ToString(), h.GetProperty("node_id").GetString());
        Assert.Equal(node.Runtime.Policy.Cid, h.GetProperty("policy_cid").GetString());
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/alive")).StatusCode);
    }

    [Fact]
    public async Task Metrics_count_requests_and_tokens_in_prometheus_text()
    {
        (await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 3 })).EnsureSuccessStatusCode();
        var text = await node.Http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE federation_requests_total counter", text, StringComparison.Ordinal);
        Assert.Matches(@"federation_requests_total\{[^}]*endpoint=""chat.completions""[^}]*status=""200""[^}]*\} [1-9]", text);
        Assert.Matches(@"gen_ai_client_token_usage_total\{[^}]*gen_ai_token_type=""output""[^}]*topic=""general""[^}]*\} [1-9]", text);
        Assert.Matches(@"federation_ledger_size(\{[^}]*\})? [1-9]", text);
    }

    [Fact]
    public async Task A_request_is_traced_route_dispatch_engine_gate_ledger()
    {
        var spans = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == Federation.Node.Telemetry.NodeTelemetry.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        const string query = "explain tracing of a request in a node";
        (await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = query } }, max_tokens = 2 })).EnsureSuccessStatusCode();
        var route = spans.Last(a => a.OperationName == "route");
        var trace = spans.Where(a => a.TraceId == route.TraceId).OrderBy(a => a.StartTimeUtc).Select(a => a.OperationName).ToList();
        Assert.Equal(["route", "memory", "dispatch", "engine", "gate", "ledger"], trace);   // memory: retrieval (RAG), even when it finds nothing
    }

    [Fact]
    public void A_reviewer_name_that_could_leave_the_data_dir_is_refused()
    {
        var (code, _, err) = Fed("review", "approve", "rev_nothing", "--reviewer", "x/../../evil", "--data-dir", node.DataDir);
        Assert.Equal(1, code);
        Assert.Contains("reviewer name 'x/../../evil' is not valid", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(node.DataDir, "..", "evil")));
        Assert.Equal(1, Fed("review", "approve", "rev_nothing", "--reviewer", "..", "--data-dir", node.DataDir).Code);
    }

    [Fact]
    public async Task An_error_response_is_counted_with_its_real_status()
    {
        using (var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "no-such-model", messages = new[] { new { role = "user", content = "hello" } } }))
            Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        using (var resp = await node.Http.PostAsync("/v1/embeddings", new StringContent("{", System.Text.Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        var text = await node.Http.GetStringAsync("/metrics");
        Assert.Matches(@"federation_requests_total\{[^}]*endpoint=""chat.completions""[^}]*status=""404""[^}]*\} [1-9]", text);
        Assert.Matches(@"federation_requests_total\{[^}]*endpoint=""embeddings""[^}]*status=""400""[^}]*\} [1-9]", text);
        // ASP.NET Core's own request metric is exported beside ours.
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_signed_tree_head_is_cached_until_the_ledger_grows()
    {
        await node.SettledAsync();
        var a = await node.Http.GetFromJsonAsync<JsonElement>("/v1/federation/ledger/sth");
        var b = await node.Http.GetFromJsonAsync<JsonElement>("/v1/federation/ledger/sth");
        Assert.Equal(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(node.Runtime.Ledger.Size, a.GetProperty("tree_size").GetInt64());
        (await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = "hello again" } }, max_tokens = 2 })).EnsureSuccessStatusCode();
        var c = await node.Http.GetFromJsonAsync<JsonElement>("/v1/federation/ledger/sth");
        Assert.True(c.GetProperty("tree_size").GetInt64() > a.GetProperty("tree_size").GetInt64());
        Assert.NotEqual(a.GetProperty("id").GetString(), c.GetProperty("id").GetString());
        Assert.Equal(node.Runtime.Key.Id.ToString(), c.GetProperty("signer").GetString());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_v1_endpoints()
    {
        var doc = await node.Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        foreach (var p in new[] { "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings", "/v1/federation/route" })
            Assert.True(paths.TryGetProperty(p, out _), $"openapi lacks {p}");
        // The real shapes, not an untyped body: the chat request and answer schemas name their snake_case fields.
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var request = schemas.GetProperty("ChatCompletionRequest").GetProperty("properties");
        foreach (var f in new[] { "model", "messages", "max_tokens", "stream_options", "federation" })
            Assert.True(request.TryGetProperty(f, out _), $"ChatCompletionRequest lacks '{f}'");
        Assert.True(schemas.GetProperty("ChatCompletionResponse").GetProperty("properties").TryGetProperty("federation", out _));
        Assert.True(schemas.GetProperty("RequiredProvenance").GetProperty("properties").TryGetProperty("jurisdictions", out _));
    }

    [Fact]
    public void Keys_of_a_data_dir_are_found_by_every_command_through_one_layout()
    {
        var layout = new Federation.Node.Hosting.DataDirLayout(node.DataDir);
        Assert.True(File.Exists(layout.NodeDb));
        Assert.True(File.Exists(layout.LedgerDb));
        Assert.True(File.Exists(layout.DefaultBaseModel));
        // fed route and fed serve resolve the same default policy.
        Assert.Equal(Federation.Router.PolicyLoader.Load(Federation.Node.Hosting.PolicyLocator.Resolve(null)).Cid, node.Runtime.Policy.Cid);
    }

    [Fact]
    public void Keys_are_printed_once_and_only_their_hash_is_stored()
    {
        var dir = NodeFixture.TempDir("fed-keys");
        using var cleanup = new DirCleanup(dir);
        var (code, output, _) = Fed("keys", "create", "--name", "bob", "--data-dir", dir);
        Assert.Equal(0, code);
        var secret = output.Trim();
        Assert.StartsWith("fed-", secret, StringComparison.Ordinal);
        var db = File.ReadAllBytes(Path.Combine(dir, "node.db"));
        Assert.DoesNotContain(secret, System.Text.Encoding.ASCII.GetString(db), StringComparison.Ordinal);
        Assert.Equal(2, Fed("keys", "create", "--name", "bob", "--data-dir", dir).Code);
        var list = Fed("keys", "list", "--data-dir", dir, "-o", "json");
        Assert.DoesNotContain(secret, list.Out, StringComparison.Ordinal);
        Assert.Equal(0, Fed("keys", "revoke", "bob", "--data-dir", dir).Code);
        using var store = new Federation.Node.Auth.ApiKeyStore(Path.Combine(dir, "node.db"));
        Assert.Null(store.Authenticate(secret));
    }

    [Fact]
    public async Task A_cli_decision_while_the_node_holds_the_ledger_is_ledgered_by_the_node()
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = "strategy for defense procurement" } }, max_tokens = 3 });
        var id = (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString()!;
        var listed = Fed("review", "list", "--data-dir", node.DataDir, "-o", "json");
        Assert.Contains(id, listed.Out, StringComparison.Ordinal);
        var (code, output, err) = Fed("review", "approve", id, "--reviewer", "dave", "--data-dir", node.DataDir);
        Assert.True(code == 0, err);
        Assert.Contains("the running node will ledger it", output, StringComparison.Ordinal);
        var queue = node.App.Services.GetRequiredService<ReviewQueue>();
        // The node ledgers CLI decisions on its next tick; WaitAsync returns once the item carries its ledger index.
        var item = await queue.WaitAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.NotNull(item.LedgerIndex);
        Assert.Equal("dave", node.Runtime.Ledger.GetEntry(item.LedgerIndex!.Value).Envelope.Payload["review"]["payload"]["reviewer"].AsString());
        Assert.Equal(1, Fed("review", "reject", id, "--reviewer", "erin", "--comment", "late", "--data-dir", node.DataDir).Code);
    }
}

/// <summary>Deletes a test's directory when disposed.</summary>
internal sealed class DirCleanup(string dir) : IDisposable
{
    public void Dispose() => NodeFixture.DeleteDir(dir);
}
