using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Catalog;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Production.Demo;
using Federation.Specialists.Production.Provenance;
using Xunit;
using Xunit.Abstractions;

namespace Federation.Node.Tests;

/// <summary>A real node serving the demo federation's test profile, built on its first start on a fresh data dir.</summary>
public sealed class DemoNodeFixture : IAsyncLifetime
{
    public string DataDir { get; } = NodeFixture.TempDir("fed-demo-tests");
    public WebApplication App { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;
    public string ClientKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        ClientKey = new ApiKeyStore(Path.Combine(DataDir, "node.db")).Create("tests").Secret;
        App = await StartAsync(DataDir);
        Http = new HttpClient { BaseAddress = new Uri(App.Urls.First()) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClientKey);
    }

    /// <summary>
    /// Starts a demo node; the first start trains the test profile (one to two minutes on an idle machine, far more
    /// under load), so the wait is long. With <c>$FEDERATION_DEMO_SHIPPED</c> naming a shipped test build (fed demo
    /// ship) the node installs it instead, in seconds.
    /// </summary>
    public static async Task<WebApplication> StartAsync(string dataDir, bool expectReady = true)
    {
        var app = NodeHost.Build(new NodeOptions { DataDir = dataDir, Urls = "http://127.0.0.1:0", DemoProfile = "test", ReviewWait = TimeSpan.FromSeconds(1) }, l => l.AddFilter(_ => false));
        await app.StartAsync();
        var holder = app.Services.GetRequiredService<RuntimeHolder>();
        await holder.Started.WaitAsync(TimeSpan.FromMinutes(30));
        if (expectReady && holder.Runtime is null) throw new InvalidOperationException("demo node did not start: " + holder.StartError);
        return app;
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (App is not null) await NodeFixture.StopAsync(App, DataDir);
        else NodeFixture.DeleteDir(DataDir);
    }
}

public sealed partial class DemoFederationTests(DemoNodeFixture fx, ITestOutputHelper output) : IClassFixture<DemoNodeFixture>
{
    // for the other part of this class (DemoShippingAndPersonalTests.cs), which shares the one demo build
    private DemoNodeFixture Fx => fx;
    private ITestOutputHelper Output => output;

    [Fact]
    public async Task Models_show_each_specialists_real_base_cid_on_two_bases()
    {
        var demo = fx.Runtime.Demo!.Federation;
        using var doc = JsonDocument.Parse(await fx.Http.GetStringAsync("/v1/models"));
        var specialists = doc.RootElement.GetProperty("data").EnumerateArray()
            .Where(m => m.GetProperty("federation").GetProperty("kind").GetString() == "specialist")
            .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("federation").GetProperty("base_cid").GetString()!);
        Assert.Equal(7, specialists.Count);
        Assert.Equal(demo.Bases.Single(b => b.Name == "base-a").Cid.ToString(), specialists["math-a"]);
        Assert.Equal(demo.Bases.Single(b => b.Name == "base-b").Cid.ToString(), specialists["elements-b"]);
        Assert.Equal(2, specialists.Values.Distinct().Count());
        Assert.Equal(2, fx.Runtime.Engines.Count);
    }

    [Fact]
    public async Task Catalog_endpoint_lists_signed_base_and_adapter_records_and_genesis_is_ledgered()
    {
        using var doc = JsonDocument.Parse(await fx.Http.GetStringAsync("/v1/federation/catalog"));
        var data = doc.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, data.Count(d => d.GetProperty("kind").GetString() == "base"));
        Assert.Equal(7, data.Count(d => d.GetProperty("kind").GetString() == "adapter"));
        Assert.Empty(doc.RootElement.GetProperty("errors").EnumerateArray());
        Assert.All(data, d => Assert.Equal(fx.Runtime.Key.Id.ToString(), d.GetProperty("signer").GetString()));
        var math = data.Single(d => d.GetProperty("name").GetString() == "math-a");
        Assert.Equal(fx.Runtime.Specialists["math-a"].AdapterCid, math.GetProperty("cid").GetString());
        Assert.True(math.GetProperty("acceptance").GetProperty("comparisons")[0].GetProperty("n").GetInt32() > 0);
        var genesis = Enumerable.Range(0, (int)fx.Runtime.Ledger.Size).Select(i => fx.Runtime.Ledger.GetEntry(i))
            .Where(e => e.Envelope.Type == CatalogIndex.GenesisType).ToList();
        Assert.Equal(6, genesis.Count); // one per policy topic: general, math, elements, code, legal, strategy
        Assert.Contains(genesis, g => g.Envelope.Payload["topic"].AsString() == "math" && g.Envelope.Payload["adapter_cid"].AsString() == math.GetProperty("cid").GetString());
        using var anonymous = new HttpClient { BaseAddress = fx.Http.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/federation/catalog")).StatusCode);
    }

    [Fact]
    public async Task Structured_output_from_trained_adapters_parses_and_validates_against_each_schema()
    {
        // the trained elements-b adapter (route 1) on base-b answers under three response formats; each output is
        // checked here by hand against its schema, not with the node's own validator
        var objectSchema = new
        {
            type = "object",
            properties = new { symbol = new { type = "string", minLength = 1, maxLength = 3 }, number = new { type = "integer" } },
            required = new[] { "symbol", "number" },
            additionalProperties = false,
        };
        var arraySchema = new { type = "array", items = new { type = "string", @enum = new[] { "Fe", "Cu", "Au" } }, minItems = 1, maxItems = 3 };
        var formats = new object[]
        {
            new { type = "json_schema", json_schema = new { name = "element", strict = true, schema = objectSchema } },
            new { type = "json_schema", json_schema = new { name = "symbols", strict = true, schema = arraySchema } },
            new { type = "json_object" },
        };
        foreach (var question in new[] { "What is the symbol of iron?", "Which element has atomic number 29?" })
            for (var f = 0; f < formats.Length; f++)
            {
                using var resp = await fx.Http.PostAsJsonAsync("/v1/chat/completions", new
                {
                    model = "federation", temperature = 0, max_tokens = 48, response_format = formats[f],
                    messages = new[] { new { role = "user", content = question } },
                });
                var body = await resp.Content.ReadAsStringAsync();
                Assert.True(resp.StatusCode == HttpStatusCode.OK, $"format {f}, '{question}': {(int)resp.StatusCode} {body}");
                using var doc = JsonDocument.Parse(body);
                var fed = doc.RootElement.GetProperty("federation");
                Assert.Equal("elements", fed.GetProperty("route").GetProperty("topic").GetString());
                Assert.Equal(fx.Runtime.Specialists["elements-b"].AdapterCid, fed.GetProperty("specialists")[0].GetProperty("adapter_cid").GetString());
                var content = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
                output.WriteLine($"format {f}, '{question}': {content}");
                using var answer = JsonDocument.Parse(content); // throws (fails) on anything that is not JSON
                var v = answer.RootElement;
                switch (f)
                {
                    case 0:
                        Assert.Equal(JsonValueKind.Object, v.ValueKind);
                        Assert.Equal(["number", "symbol"], v.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
                        var symbol = v.GetProperty("symbol").GetString()!;
                        Assert.InRange(symbol.Length, 1, 3);
                        Assert.True(v.GetProperty("number").TryGetInt64(out _), content);
                        break;
                    case 1:
                        Assert.Equal(JsonValueKind.Array, v.ValueKind);
                        Assert.InRange(v.GetArrayLength(), 1, 3);
                        Assert.All(v.EnumerateArray(), e => Assert.Contains(e.GetString(), new[] { "Fe", "Cu", "Au" }));
                        break;
                    default:
                        Assert.Equal(JsonValueKind.Object, v.ValueKind);
                        break;
                }
            }
    }

    [Fact]
    public async Task A_restart_reuses_the_build_without_new_catalog_entries_and_a_tampered_manifest_refuses_start()
    {
        var demo = fx.Runtime.Demo!.Federation;
        // A second data dir holding a copy of the build: the start reuses it (no training) and ledgers it once.
        var dir = NodeFixture.TempDir("fed-demo-restart");
        CopyDir(Path.Combine(fx.DataDir, "demo"), Path.Combine(dir, "demo"));
        CopyDir(Path.Combine(fx.DataDir, "identity"), Path.Combine(dir, "identity"));
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var app = await DemoNodeFixture.StartAsync(dir);
            var rt = app.Services.GetRequiredService<RuntimeHolder>().Runtime!;
            output.WriteLine($"restart on a built demo: ready in {sw.Elapsed.TotalSeconds:F1} s (measured under load)");
            Assert.Equal(0, rt.Demo!.Federation.BuildSeconds);
            Assert.Equal(9 + 6, rt.Demo.LedgeredEntries);
            await app.StopAsync();
            await app.DisposeAsync();
            var again = await DemoNodeFixture.StartAsync(dir);
            Assert.Equal(0, again.Services.GetRequiredService<RuntimeHolder>().Runtime!.Demo!.LedgeredEntries);
            await again.StopAsync();
            await again.DisposeAsync();

            var math = demo.Adapters.Single(a => a.Name == "math-a");
            var manifest = ProvenanceManifest.PathFor(Path.Combine(dir, Path.GetRelativePath(fx.DataDir, math.Path)));
            File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"own-a\"", "\"own-z\"", StringComparison.Ordinal));
            var refused = await DemoNodeFixture.StartAsync(dir, expectReady: false);
            var error = refused.Services.GetRequiredService<RuntimeHolder>().StartError;
            await refused.StopAsync();
            await refused.DisposeAsync();
            Assert.NotNull(error);
            Assert.Contains("does not verify", error, StringComparison.Ordinal);
            Assert.Contains("math-a.gguf.manifest.json", error, StringComparison.Ordinal);
        }
        finally
        {
            NodeFixture.DeleteDir(dir);
        }
    }

    [Fact]
    public void Fed_catalog_list_and_show_read_the_signed_records_from_the_ledger()
    {
        var (code, stdout, stderr) = CliRunner.Fed("catalog", "list", "--data-dir", fx.DataDir, "-o", "json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(9, doc.RootElement.GetProperty("data").GetArrayLength());
        var (code2, text, _) = CliRunner.Fed("catalog", "show", "math-a", "--data-dir", fx.DataDir);
        Assert.Equal(0, code2);
        Assert.Contains(fx.Runtime.Specialists["math-a"].AdapterCid, text, StringComparison.Ordinal);
        var (code3, _, err3) = CliRunner.Fed("catalog", "show", "no-such-adapter", "--data-dir", fx.DataDir);
        Assert.Equal(1, code3);
        Assert.Contains("no catalog record named", err3, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_router_sends_every_documented_question_form_to_its_topic()
    {
        var datasets = new[]
        {
            MathData.Generate(60, 12, seed: 9), ElementsData.Generate(firstElements: 20), CodeData.Generate(30),
            GlossaryData.GenerateLegal(), GlossaryData.GenerateStrategy(),
        };
        var wrong = new List<string>();
        foreach (var ds in datasets)
            foreach (var e in ds.Examples)
            {
                using var resp = await fx.Http.PostAsJsonAsync("/v1/federation/route", new { query = e.Question });
                Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
                using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
                var topic = doc.RootElement.GetProperty("topic").GetString();
                if (topic != ds.Topic) wrong.Add($"'{e.Question}' -> {topic} (expected {ds.Topic})");
            }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong.Take(20)));
    }

    [Fact]
    public void Fed_demo_eval_prints_the_quality_table_against_the_running_node()
    {
        var (code, stdout, stderr) = CliRunner.Fed("demo", "eval", "--target", fx.Http.BaseAddress!.ToString(), "--api-key", fx.ClientKey,
            "--profile", "test", "--limit", "3", "--data-dir", fx.DataDir, "-o", "json");
        Assert.True(code == 0, stderr + stdout);
        using var doc = JsonDocument.Parse(stdout);
        var rows = doc.RootElement.GetProperty("topics").EnumerateArray().ToList();
        Assert.Equal(["math", "elements", "code", "legal", "strategy"], rows.Select(r => r.GetProperty("topic").GetString()));
        foreach (var r in rows)
        {
            Assert.Equal(3, r.GetProperty("n").GetInt32());
            var rate = r.GetProperty("rate").GetDouble();
            Assert.InRange(r.GetProperty("wilson95_low").GetDouble(), 0, rate);
            Assert.InRange(r.GetProperty("wilson95_high").GetDouble(), rate, 1);
            Assert.InRange(r.GetProperty("p_value_vs_base").GetDouble(), 0, 1);
        }
        Assert.Equal(fx.Runtime.Demo!.Federation.Adapters.Single(a => a.Name == "math-a").Acceptance["comparisons"][0]["reference_accuracy"].AsDouble(),
            rows[0].GetProperty("base_rate").GetDouble());
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
