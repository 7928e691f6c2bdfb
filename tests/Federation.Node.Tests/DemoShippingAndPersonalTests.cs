using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using Federation.Specialists.Production.Demo;
using Federation.Specialists.Production.Personalization;
using Xunit;

namespace Federation.Node.Tests;

/// <summary>
/// Shipped demo weights, the end-to-end math test of issue 9, and per-user adapters, all on the one test-profile build
/// of <see cref="DemoNodeFixture"/> (shared with the rest of <see cref="DemoFederationTests"/>).
/// </summary>
public sealed partial class DemoFederationTests
{
    /// <summary>Ships the fixture's build (as <c>fed demo ship</c> does) into a temp folder; the caller deletes it.</summary>
    private string ShipFixtureBuild()
    {
        var shipped = NodeFixture.TempDir("fed-demo-shipped");
        var (code, stdout, stderr) = CliRunner.Fed("demo", "ship", "--profile", "test", "--data-dir", Fx.DataDir, "--out", shipped, "-o", "json");
        Assert.True(code == 0, stderr + stdout);
        Assert.True(File.Exists(Path.Combine(shipped, DemoShipping.ProducerFile)));
        // the fixture's own build is signed by its node key; one installed from $FEDERATION_DEMO_SHIPPED keeps its producer
        var build = Fx.Runtime.Demo!.Federation.Directory;
        var producer = DemoShipping.IsShipped(build) ? DemoShipping.ReadProducer(build) : Fx.Runtime.Key.Id;
        Assert.Equal(producer.ToString(), File.ReadAllText(Path.Combine(shipped, DemoShipping.ProducerFile)).Trim());
        return shipped;
    }

    /// <summary>
    /// Issue 9: a fresh data dir installs the shipped build (no training: build_seconds 0) after checking every file,
    /// and <c>fed demo build --verify</c> then retrains from the recipe and finds every CID identical; a node on that data
    /// dir (a different node key: the shipped producer key is the trust root) starts on the installed weights.
    /// </summary>
    [Fact]
    public async Task Shipped_weights_install_verified_and_verify_rebuilds_them_bit_for_bit()
    {
        var demo = Fx.Runtime.Demo!.Federation;
        var shipped = ShipFixtureBuild();
        var dir = NodeFixture.TempDir("fed-demo-install");
        try
        {
            var (code, stdout, stderr) = CliRunner.Fed("demo", "build", "--profile", "test", "--shipped", shipped, "--verify", "--data-dir", dir, "-o", "json");
            Assert.True(code == 0, stderr + stdout);
            using (var doc = JsonDocument.Parse(stdout))
            {
                Assert.Equal(0, doc.RootElement.GetProperty("build_seconds").GetDouble());
                Assert.True(doc.RootElement.GetProperty("verified").GetProperty("identical").GetBoolean(), stdout);
                Assert.Equal(demo.Adapters.Select(a => a.Cid.ToString()), doc.RootElement.GetProperty("adapters").EnumerateArray().Select(a => a.GetProperty("cid").GetString()));
                Assert.Equal(demo.Bases.Select(a => a.Cid.ToString()), doc.RootElement.GetProperty("bases").EnumerateArray().Select(a => a.GetProperty("cid").GetString()));
            }
            Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(dir, "demo")), d => d.Contains(".tmp", StringComparison.Ordinal));
            Assert.NotEqual(Fx.Runtime.Key.Id, new NodeKeyStore(dir).Load().NodeId); // another node: trusts the shipped producer key

            var sw = System.Diagnostics.Stopwatch.StartNew();
            var app = NodeHost.Build(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", DemoProfile = "test", DemoShippedDir = shipped }, l => l.AddFilter(_ => false));
            await app.StartAsync();
            var holder = app.Services.GetRequiredService<RuntimeHolder>();
            await holder.Started.WaitAsync(TimeSpan.FromMinutes(2));
            Output.WriteLine($"node on installed shipped weights: ready in {sw.Elapsed.TotalSeconds:F1} s (measured under load)");
            try
            {
                Assert.True(holder.Runtime is not null, holder.StartError);
                Assert.Equal(Fx.Runtime.Specialists["math-a"].AdapterCid, holder.Runtime!.Specialists["math-a"].AdapterCid);
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally
        {
            NodeFixture.DeleteDir(dir);
            NodeFixture.DeleteDir(shipped);
        }
    }

    /// <summary>A shipped file changed by one byte, or an unlisted file, is refused with the file named; nothing is installed.</summary>
    [Fact]
    public void A_tampered_shipped_build_is_refused_and_nothing_is_installed()
    {
        var shipped = ShipFixtureBuild();
        var dir = NodeFixture.TempDir("fed-demo-tampered");
        try
        {
            var adapter = Path.Combine(shipped, "adapters", "math-a.gguf");
            var bytes = File.ReadAllBytes(adapter);
            bytes[^1] ^= 0x01;
            File.WriteAllBytes(adapter, bytes);
            var (code, stdout, stderr) = CliRunner.Fed("demo", "build", "--profile", "test", "--shipped", shipped, "--data-dir", dir);
            Assert.NotEqual(0, code);
            Assert.Contains("does not verify", stderr, StringComparison.Ordinal);
            Assert.Contains("math-a.gguf", stderr, StringComparison.Ordinal);
            Assert.Contains("Nothing was installed", stderr, StringComparison.Ordinal);
            Assert.True(!Directory.Exists(Path.Combine(dir, "demo")) || Directory.GetFileSystemEntries(Path.Combine(dir, "demo")).Length == 0, stdout);

            bytes[^1] ^= 0x01; // restored: the index verifies again, but an extra file is not in it
            File.WriteAllBytes(adapter, bytes);
            File.WriteAllText(Path.Combine(shipped, "adapters", "extra.gguf"), "not shipped");
            var (code2, _, stderr2) = CliRunner.Fed("demo", "build", "--profile", "test", "--shipped", shipped, "--data-dir", dir);
            Assert.NotEqual(0, code2);
            Assert.Contains("extra.gguf' is not in the signed file index", stderr2, StringComparison.Ordinal);

            // a producer key swapped for another: the index is not signed by it
            File.Delete(Path.Combine(shipped, "adapters", "extra.gguf"));
            using var other = NodeKey.Generate();
            File.WriteAllText(Path.Combine(shipped, DemoShipping.ProducerFile), other.NodeId + "\n");
            var (code3, _, stderr3) = CliRunner.Fed("demo", "build", "--profile", "test", "--shipped", shipped, "--data-dir", dir);
            Assert.NotEqual(0, code3);
            Assert.Contains("not by the shipped producer", stderr3, StringComparison.Ordinal);
            Assert.True(!Directory.Exists(Path.Combine(dir, "demo")) || Directory.GetFileSystemEntries(Path.Combine(dir, "demo")).Length == 0);
        }
        finally
        {
            NodeFixture.DeleteDir(dir);
            NodeFixture.DeleteDir(shipped);
        }
    }

    [Fact]
    public void Verify_names_every_file_whose_rebuilt_cid_differs()
    {
        var demo = Fx.Runtime.Demo!.Federation;
        Assert.Empty(DemoShipping.Compare(demo, demo));
        var other = demo.Adapters.Single(a => a.Name == "legal-b2").Cid;
        var changed = demo with { Adapters = demo.Adapters.Select(a => a.Name == "math-a" ? a with { Cid = other } : a).ToList() };
        var diffs = DemoShipping.Compare(demo, changed);
        Assert.Equal(["adapters/math-a.gguf: " + demo.Adapters.Single(a => a.Name == "math-a").Cid + " vs rebuilt " + other], diffs);
    }

    /// <summary>
    /// Issue 9's end-to-end test, exactly: the demo federation (test profile) answers <c>math</c> correctly through
    /// <c>/v1/chat/completions</c>, the class-A gate releases every answer (no 422), and each answer's ledger entry names
    /// the trained adapter's CID. The questions are the test profile's math questions (operands 0..3, every form; the
    /// test profile's adapter learns that narrow range fully, see docs/production-line.md "Test profile").
    /// </summary>
    [Fact]
    public async Task Math_through_chat_completions_is_correct_released_without_422_and_ledgers_the_trained_adapter_cid()
    {
        var adapterCid = Fx.Runtime.Specialists["math-a"].AdapterCid;
        Assert.Equal(Fx.Runtime.Demo!.Federation.Adapters.Single(a => a.Name == "math-a").Cid.ToString(), adapterCid);
        var recipe = DemoRecipe.Load(DemoWiring.FindRecipe("test"));
        var ds = recipe.Datasets.Single(d => d.Name == "math").Generate();
        var questions = ds.Train.DistinctBy(e => e.Question).Take(24).ToList();
        Assert.True(questions.Count >= 12);
        foreach (var e in questions)
        {
            using var resp = await Fx.Http.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "federation", temperature = 0, max_tokens = 8, stop = new[] { "\n" },
                messages = new[] { new { role = "user", content = e.Question } },
            });
            var body = await resp.Content.ReadAsStringAsync();
            Assert.True(resp.StatusCode == HttpStatusCode.OK, $"'{e.Question}' (expected {e.Answer}): {(int)resp.StatusCode} {body}");
            using var doc = JsonDocument.Parse(body);
            var text = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            Assert.True(DemoCheckers.Check("math", e.Question, text, e.Answer), $"'{e.Question}' answered '{text}', expected {e.Answer}");
            var fed = doc.RootElement.GetProperty("federation");
            Assert.Equal("math", fed.GetProperty("route").GetProperty("topic").GetString());
            Assert.Equal("passed", fed.GetProperty("verification").GetProperty("status").GetString());
            Assert.Equal(adapterCid, fed.GetProperty("specialists")[0].GetProperty("adapter_cid").GetString());
            var entry = Fx.Runtime.Ledger.GetEntry(fed.GetProperty("ledger").GetProperty("index").GetInt64()).Envelope.Payload;
            Assert.Equal(adapterCid, entry["specialists"][0]["adapter_cid"].AsString());
        }
        Output.WriteLine($"math through /v1/chat/completions: {questions.Count} of {questions.Count} correct and released");
    }

    /// <summary>
    /// Per-user adapters over real HTTP: consolidation without a consent is refused with the reason; alice's consents
    /// are ledgered, her adapter is trained from them, gated and bound to her for the topic it was consolidated for
    /// (<c>general</c>); it is stacked on the specialist for alice's requests on that topic (the answer and its ledger
    /// entry name it), never for bob's, and never on another topic: alice's <c>math</c> answers — served by the very same
    /// specialist on the same base, which her adapter was measured to break — keep their bytes and name no user adapter.
    /// The binding and its topics survive a reload from the ledger (what a restart does).
    /// </summary>
    [Fact]
    public async Task A_personal_adapter_is_trained_from_consented_dialogues_and_applied_only_to_its_users_requests()
    {
        var keys = new ApiKeyStore(Path.Combine(Fx.DataDir, "node.db"));
        var alice = keys.Create("alice").Secret;
        var bob = keys.Create("bob").Secret;
        using var asAlice = Client(alice);
        using var asBob = Client(bob);

        // no consent yet: refused, nothing trained
        using (var none = await asBob.PostAsJsonAsync("/v1/federation/personal-adapters", new { topic = "general" }))
        {
            var body = await none.Content.ReadAsStringAsync();
            Assert.True(none.StatusCode == HttpStatusCode.Conflict, body);
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("consent.missing", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("user 'bob' has no dialogue on topic 'general' with a recorded consent", doc.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // the CLI says the same through the node's API
        var (cliCode, _, cliErr) = CliRunner.Fed("adapter", "consolidate", "--topic", "general", "--url", Fx.Http.BaseAddress!.ToString(), "--api-key", bob);
        Assert.Equal(1, cliCode);
        Assert.Contains("409: user 'bob' has no dialogue on topic 'general'", cliErr, StringComparison.Ordinal);
        var (noKey, _, noKeyErr) = CliRunner.Fed("adapter", "personal", "--url", Fx.Http.BaseAddress!.ToString());
        if (Environment.GetEnvironmentVariable("FEDERATION_API_KEY") is null)
        {
            Assert.Equal(2, noKey);
            Assert.Contains("pass --api-key KEY", noKeyErr, StringComparison.Ordinal);
        }

        // twelve: the gate needs at least five the specialist gets wrong and the stacked adapter right (McNemar p <= 0.05)
        (string Q, string A)[] dialogues =
            [("hello, my colour?", "teal"), ("hello, my city?", "oslo"), ("hello, my pet?", "cat"),
             ("hello, my tree?", "oak"), ("hello, my sport?", "golf"), ("hello, my drink?", "tea"),
             ("hello, my car?", "saab"), ("hello, my fruit?", "pear"), ("hello, my bird?", "owl"),
             ("hello, my fish?", "cod"), ("hello, my gem?", "ruby"), ("hello, my tool?", "saw")];
        foreach (var (q, a) in dialogues)
        {
            string body;
            if (q == dialogues[0].Q)
            {
                // the first consent through the CLI (fed adapter consent), the others over HTTP
                var (code, stdout, stderr) = CliRunner.Fed("adapter", "consent", "--topic", "general", "--question", q, "--answer", a, "--url", Fx.Http.BaseAddress!.ToString(), "--api-key", alice);
                Assert.True(code == 0, stderr);
                body = stdout;
            }
            else
            {
                using var resp = await asAlice.PostAsJsonAsync("/v1/federation/consents", new { topic = "general", question = q, answer = a });
                body = await resp.Content.ReadAsStringAsync();
                Assert.True(resp.StatusCode == HttpStatusCode.OK, body);
            }
            using var doc = JsonDocument.Parse(body);
            var entry = Fx.Runtime.Ledger.GetEntry(doc.RootElement.GetProperty("ledger_index").GetInt64()).Envelope;
            Assert.Equal(Consent.EnvelopeType, entry.Type);
            Assert.Equal("alice", entry.Payload["user"].AsString());
            Assert.Equal(new Dialogue("alice", "general", q, a).Cid.ToString(), entry.Payload["dialogue"].AsString());
        }
        async Task<(string Text, JsonElement Specialist, string Entry)> Ask(HttpClient http, string question)
        {
            // the response cache off: every answer is generated with the adapters the request really selects
            using var resp = await http.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "federation", temperature = 0, max_tokens = 8, stop = new[] { "\n" },
                messages = new[] { new { role = "user", content = question } },
                federation = new { cache = false },
            });
            var body = await resp.Content.ReadAsStringAsync();
            Assert.True(resp.StatusCode == HttpStatusCode.OK, body);
            using var doc = JsonDocument.Parse(body);
            var fed = doc.RootElement.GetProperty("federation");
            var entry = Fx.Runtime.Ledger.GetEntry(fed.GetProperty("ledger").GetProperty("index").GetInt64()).Envelope.Payload.ToString();
            return (doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!, fed.GetProperty("specialists")[0].Clone(), entry);
        }
        // alice's math answers before she has a personal adapter (questions math-a learnt: released by the class-A gate)
        var math = DemoRecipe.Load(DemoWiring.FindRecipe("test")).Datasets.Single(d => d.Name == "math").Generate()
            .Train.Select(e => e.Question).Distinct().Take(3).ToArray();
        var mathBefore = new List<string>();
        foreach (var q in math) mathBefore.Add((await Ask(asAlice, q)).Text);

        // a class-C topic is answered by panels, which never get a personal adapter: refused before any training
        using (var panel = await asAlice.PostAsJsonAsync("/v1/federation/personal-adapters", new { topic = "legal" }))
        {
            var body = await panel.Content.ReadAsStringAsync();
            Assert.True(panel.StatusCode == HttpStatusCode.BadRequest, body);
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("personal.panel_topic", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        // bob still has no consent of his own: alice's dialogues never train his adapter
        using (var stillNone = await asBob.PostAsJsonAsync("/v1/federation/personal-adapters", new { topic = "general" }))
            Assert.Equal(HttpStatusCode.Conflict, stillNone.StatusCode);

        string aliceCid;
        using (var resp = await asAlice.PostAsJsonAsync("/v1/federation/personal-adapters", new { topic = "general", epochs = 16, learning_rate = 0.01, rank = 16 }))
        {
            var body = await resp.Content.ReadAsStringAsync();
            Output.WriteLine("consolidation: " + body);
            Assert.True(resp.StatusCode == HttpStatusCode.OK, body);
            using var doc = JsonDocument.Parse(body);
            Assert.Equal(dialogues.Length, doc.RootElement.GetProperty("examples").GetInt32());
            Assert.True(doc.RootElement.GetProperty("acceptance").GetProperty("admitted").GetBoolean());
            Assert.True(doc.RootElement.GetProperty("bound").GetBoolean());
            aliceCid = doc.RootElement.GetProperty("adapter_cid").GetString()!;
            var binding = Fx.Runtime.Ledger.GetEntry(doc.RootElement.GetProperty("ledger_index").GetInt64()).Envelope;
            Assert.Equal("adapter.user_binding", binding.Type);
            Assert.Equal("alice", binding.Payload["user"].AsString());
            Assert.Equal(aliceCid, binding.Payload["adapter_cid"].AsString());
            Assert.Equal(["general"], binding.Payload["topics"].AsArray().Select(t => t.AsString()));
            Assert.Equal(["general"], doc.RootElement.GetProperty("topics").EnumerateArray().Select(t => t.GetString()));
        }

        // general-topic questions (math-a answers them on base-a): alice's adapter is stacked for alice only
        foreach (var q in new[] { "hello, my colour?", "hello, my city?", "hello there" })
        {
            var (aliceText, aliceSpec, aliceEntry) = await Ask(asAlice, q);
            Assert.Equal(aliceCid, aliceSpec.GetProperty("user_adapter_cid").GetString());
            Assert.Contains(aliceCid, aliceEntry, StringComparison.Ordinal);
            var (bobText, bobSpec, bobEntry) = await Ask(asBob, q);
            Assert.False(bobSpec.TryGetProperty("user_adapter_cid", out _), $"bob's answer names a personal adapter: {bobSpec}");
            Assert.DoesNotContain(aliceCid, bobEntry, StringComparison.Ordinal);
            Output.WriteLine($"'{q}': alice '{aliceText}', bob '{bobText}'");
        }
        // math: the same specialist (math-a) on the same base, another topic: alice's adapter is not stacked there, so her
        // answers are byte-identical to her answers before it existed, and neither the answer nor its ledger entry names it
        for (var i = 0; i < math.Length; i++)
        {
            var (text, spec, entry) = await Ask(asAlice, math[i]);
            Assert.Equal("math-a", spec.GetProperty("id").GetString());
            Assert.Equal(mathBefore[i], text);
            Assert.False(spec.TryGetProperty("user_adapter_cid", out _), $"alice's math answer names a personal adapter: {spec}");
            Assert.DoesNotContain(aliceCid, entry, StringComparison.Ordinal);
            Output.WriteLine($"'{math[i]}': alice '{text}' before and after her general adapter");
        }

        using var list = JsonDocument.Parse(await asAlice.GetStringAsync("/v1/federation/personal-adapters"));
        Assert.Equal(aliceCid, list.RootElement.GetProperty("data")[0].GetProperty("adapter_cid").GetString());
        Assert.Equal(["general"], list.RootElement.GetProperty("data")[0].GetProperty("topics").EnumerateArray().Select(t => t.GetString()));
        using var bobList = JsonDocument.Parse(await asBob.GetStringAsync("/v1/federation/personal-adapters"));
        Assert.Equal(0, bobList.RootElement.GetProperty("data").GetArrayLength());

        // a restart reads the bindings back from the ledger (NodeRuntime's start does exactly this): topics included
        var baseA = Fx.Runtime.Specialists["math-a"].BaseCid;
        var reloaded = PersonalAdapters.Load(Fx.DataDir, Fx.Runtime.Ledger, Fx.Runtime.Engines);
        Assert.Equal(PersonalAdapters.AdapterIdPrefix + aliceCid, Assert.Single(reloaded.Select("alice", "general", "math-a", baseA).Skip(1)).AdapterId);
        Assert.Single(reloaded.Select("alice", "math", "math-a", baseA));
        Assert.Single(reloaded.Select("alice", (string?)null, "math-a", baseA));
        Assert.Single(reloaded.Select("bob", "general", "math-a", baseA));

        // a binding entry written before "topics" existed is read as bound to its consolidation topic only
        var old = Fx.Runtime.Ledger.GetEntry(list.RootElement.GetProperty("data")[0].GetProperty("ledger_index").GetInt64()).Envelope.Payload.AsObject();
        var oldDir = NodeFixture.TempDir("fed-personal-old-binding");
        try
        {
            await using (var oldLedger = SqliteLedger.Open(Path.Combine(oldDir, "ledger.db"), Fx.Runtime.Key))
            {
                await oldLedger.AppendAsync(PersonalAdapters.BindingType, new JsonObject
                {
                    ["user"] = "alice", ["topic"] = "general", ["specialist"] = "math-a", ["adapter_cid"] = aliceCid,
                    ["base_cid"] = baseA, ["path"] = old["path"], ["dialogues"] = old["dialogues"], ["acceptance"] = old["acceptance"],
                });
                var fromOld = PersonalAdapters.Load(Fx.DataDir, oldLedger, Fx.Runtime.Engines);
                Assert.Equal(2, fromOld.Select("alice", "general", "math-a", baseA).Count);
                Assert.Single(fromOld.Select("alice", "math", "math-a", baseA));
                Assert.Equal(["general"], PersonalAdapters.BindingsOf(oldLedger, "alice").Single()["topics"].AsArray().Select(t => t.AsString()));
            }
        }
        finally
        {
            try { Directory.Delete(oldDir, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The acceptance gate of consolidation on the adapter's own topic: carol consents to twelve math dialogues with wrong
    /// results; the adapter learns them (it beats the specialist on her dialogues) but stacked on math-a it lowers math's
    /// held-out accuracy beyond the tolerance, so it is refused with 422 <c>personal.refused</c> and the numbers, and
    /// nothing is bound: no binding listed or ledgered, and carol's math answers name no user adapter.
    /// </summary>
    [Fact]
    public async Task A_personal_adapter_that_breaks_its_own_topic_is_refused_with_the_numbers_and_not_bound()
    {
        var carol = new ApiKeyStore(Path.Combine(Fx.DataDir, "node.db")).Create("carol").Secret;
        using var asCarol = Client(carol);
        var bindingsBefore = CountBindings();
        var wrong = new List<(string Q, string A)>();
        foreach (var (a, b) in new[] { (1, 2), (2, 1), (3, 3), (2, 2), (0, 3), (3, 1) })
        {
            wrong.Add(($"What is {a} + {b}?", (a + b + 5).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            wrong.Add(($"{a}+{b}=", (a + b + 5).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        foreach (var (q, a) in wrong)
        {
            using var resp = await asCarol.PostAsJsonAsync("/v1/federation/consents", new { topic = "math", question = q, answer = a });
            Assert.True(resp.StatusCode == HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
        }
        using (var resp = await asCarol.PostAsJsonAsync("/v1/federation/personal-adapters", new { topic = "math", epochs = 16, learning_rate = 0.01, rank = 16 }))
        {
            var body = await resp.Content.ReadAsStringAsync();
            Output.WriteLine("consolidation: " + body);
            Assert.True(resp.StatusCode == HttpStatusCode.UnprocessableEntity, body);
            using var doc = JsonDocument.Parse(body);
            Assert.Equal("personal.refused", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
            var message = doc.RootElement.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Matches(@"topic 'math' of the same base drops from \d+\.\d% to \d+\.\d%, more than the tolerance 5\.0%", message);
            Assert.Contains("It is not bound; it would make the topic's own specialist worse on its held-out questions", message, StringComparison.Ordinal);
        }
        Assert.Equal(bindingsBefore, CountBindings());
        using (var list = JsonDocument.Parse(await asCarol.GetStringAsync("/v1/federation/personal-adapters")))
            Assert.Equal(0, list.RootElement.GetProperty("data").GetArrayLength());
        // the serving path selects no adapter of carol's for math (what AnswerService stacks)
        Assert.Single(Fx.Runtime.Personal.Select("carol", "math", "math-a", Fx.Runtime.Specialists["math-a"].BaseCid));

        long CountBindings()
        {
            var n = 0L;
            for (long i = 0; i < Fx.Runtime.Ledger.Size; i++)
                if (Fx.Runtime.Ledger.GetEntry(i).Envelope.Type == PersonalAdapters.BindingType) n++;
            return n;
        }
    }

    private HttpClient Client(string key)
    {
        var http = new HttpClient { BaseAddress = Fx.Http.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}
