using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Federation.Canaries;
using Federation.Canaries.Audit;
using Federation.Canaries.Checkers;
using Federation.Canaries.Storage;
using Federation.Governance;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary>
/// A node of its own (its reputation book must start empty) with the repository's routing policy and a reputation policy
/// next to it: topic <c>code</c> releases unchecked answers only at trust score ≥ 0.45, topic <c>medical</c> has no
/// w_max cap (two audited panel members would otherwise get equal shares) and releases a low-agreement panel with its
/// measured confidence (so no answer waits for a reviewer). No answer is sampled for a self-audit re-check
/// (<c>audit_rate: 0</c>) unless a test turns it on: a re-check appends to the ledger in the background. The demo specialists are random adapters, so
/// outcomes are driven by controlled class-A canaries: a regex every answer matches, and one no answer can match.
/// </summary>
public sealed class LiveReputationFixture : IAsyncLifetime
{
    public string Dir { get; } = NodeFixture.TempDir("fed-live-rep");
    public string DataDir => Path.Combine(Dir, "data");
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ClientKey { get; private set; } = "";
    public HttpClient Http { get; private set; } = null!;
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    /// <summary>The shared reputation defaults (linked from the governance tests) plus this fixture's topics.</summary>
    public const string ReputationYaml = Federation.Governance.Tests.ReputationYamlFixture.Defaults + "\n" + """
          audit_rate: 0
        topics:
          code:
            trust_threshold: 0.45
          medical:
            w_max: 1
            low_agreement: confidence
          legal:
            slash_min_mass: 1
          general:
            trust_threshold: 0.9
        """;

    public async Task InitializeAsync()
    {
        var policies = Path.Combine(Dir, "policies");
        Directory.CreateDirectory(policies);
        Directory.CreateDirectory(DataDir);
        File.Copy(Path.Combine(RepoRoot(), "policies", "routing.yaml"), Path.Combine(policies, "routing.yaml"));
        File.WriteAllText(Path.Combine(policies, "reputation.yaml"), ReputationYaml);
        var keys = new ApiKeyStore(Path.Combine(DataDir, "node.db"));
        ClientKey = keys.Create("tests").Secret;
        (App, BaseUrl) = await NodeFixture.StartAsync(new NodeOptions
        {
            DataDir = DataDir, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(1),
            PolicyPath = Path.Combine(policies, "routing.yaml"),
        });
        Http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromMinutes(2) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClientKey);
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "policies", "routing.yaml"))) return d.FullName;
        throw new InvalidOperationException("policies/routing.yaml not found above the test binaries");
    }

    /// <summary>
    /// Runs a blind battery of <paramref name="n"/> class-A canaries of <paramref name="topic"/> (difficulty 1) against
    /// <paramref name="model"/> on this node over HTTP with <see cref="AuditRunner"/>; every canary passes when
    /// <paramref name="pass"/>, none can otherwise. Returns the record and the signed reveal.
    /// </summary>
    public async Task<(SignedEnvelope Record, SignedEnvelope Reveal)> AuditAsync(string topic, string model, string[] prompts, bool pass)
    {
        var dir = NodeFixture.TempDir("fed-live-rep-auditor");
        try
        {
            var store = new CanaryStore(Path.Combine(dir, "canaries.db"));
            var checker = (JsonObject)CanonicalJson.Parse($$"""{"kind":"regex","pattern":{{JsonSerializer.Serialize(pass ? "(?s)^.*$" : "^\\b\\B$")}}}""");
            foreach (var p in prompts)
                store.Add(Canary.Create(topic, CanaryClass.A, p, checker, 1, 5, CanaryVisibility.Public), DateTimeOffset.UtcNow);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            var key = new NodeKeyStore(DataDir).Load(); // the node's own key: a trusted audit signer by default (docs/reputation.md)
            var run = await new AuditRunner(store, new CanaryChecker(), key, http, TimeProvider.System)
                .RunAsync(new AuditRequest(BaseUrl, topic, prompts.Length, model, ClientKey, MaxTokens: 8));
            return (run.Record, AuditRunner.Reveal(run.Record, run.Private, store, key));
        }
        finally { NodeFixture.DeleteDir(dir); }
    }

    /// <summary>POSTs a chat completion; returns the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> AskAsync(string model, string question)
    {
        var body = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = question } }, max_tokens = 8, temperature = 0 });
        using var r = await Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>POSTs JSON to <paramref name="path"/>; returns the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json)
    {
        using var r = await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await NodeFixture.StopAsync(App, Dir);
    }
}

public sealed class LiveReputationTests(LiveReputationFixture node) : IClassFixture<LiveReputationFixture>
{
    private static readonly string[] CodePrompts = ["Write a python function that returns one.", "Fix the python bug in this function: def f(: pass"];
    private static readonly string[] MedicalPrompts = ["What is the usual dosage of ibuprofen for a patient?", "Which symptoms suggest high blood pressure?"];
    private const string MedicalQuestion = "A patient asks about the dosage of ibuprofen and its side effects.";

    private static JsonElement Reputation(JsonElement body) => body.GetProperty("federation").GetProperty("verification").GetProperty("reputation");

    [Fact]
    public async Task Audits_update_reputation_and_the_next_class_C_panels_weights_follow_it()
    {
        // Before any audit: no evidence, every panel member weighs the same.
        var (s0, b0) = await node.AskAsync("federation/medical", MedicalQuestion);
        Assert.True(s0 == HttpStatusCode.OK, b0.ToString()); // T2 with low_agreement: confidence is never held for review
        Assert.Contains(Reputation(b0).GetProperty("rule").GetString(), new[] { "panel_weighted", "panel_confidence" });
        var rep0 = Reputation(b0);
        Assert.Equal("embedding:base", rep0.GetProperty("similarity").GetString());
        var w0 = rep0.GetProperty("weights");
        Assert.All(w0.EnumerateObject(), p => Assert.Equal(0, p.Value.GetDouble()));
        Assert.Equal(3, w0.EnumerateObject().Count());
        Assert.True(rep0.GetProperty("n_eff").GetDouble() is > 1 and < 3, rep0.ToString());

        // A blind battery against panel-llama-kr that it passes, one against medical-mistral that it fails.
        var (good, goodReveal) = await node.AuditAsync("medical", "panel-llama-kr", MedicalPrompts, pass: true);
        var (bad, _) = await node.AuditAsync("medical", "medical-mistral", MedicalPrompts, pass: false);
        Assert.True(good.Verify().IsValid);
        Assert.True(bad.Verify().IsValid);
        var check = await new AuditVerifier(new CanaryChecker()).VerifyAsync(goodReveal.ToJson());
        var why = $"{check.SignatureValid}/{check.Revealed}/{check.SampleHonest}: {string.Join("; ", check.Problems)}";
        Assert.True(check.SignatureValid, why);
        Assert.True(check.Revealed, why);
        Assert.True(check.SampleHonest, why);
        Assert.Equal(MedicalPrompts.Length, check.Rescored);
        Assert.Equal(0, check.RescoreMismatches);

        // The operator ingests them into the node's book (what 'fed reputation ingest' does).
        var book = ReputationBookLog.Load(node.DataDir);
        Assert.Equal(2, ReputationBookLog.Append(node.DataDir, book, good).Evidence);
        Assert.Equal(2, ReputationBookLog.Append(node.DataDir, book, bad).Evidence);
        using (var table = await node.Http.GetAsync("/v1/federation/reputation/medical"))
        {
            var rows = JsonDocument.Parse(await table.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes");
            var id = node.Runtime.Key.Id.ToString();
            Assert.True(rows.GetProperty(id + "/panel-llama-kr").GetProperty("weight").GetDouble() > rows.GetProperty(id + "/medical-mistral").GetProperty("weight").GetDouble());
        }

        // The next class-C answer's panel is weighted by that reputation.
        var (s1, b1) = await node.AskAsync("federation/medical", MedicalQuestion);
        Assert.Equal(HttpStatusCode.OK, s1);
        var rep1 = Reputation(b1);
        var w1 = rep1.GetProperty("weights");
        var llama = w1.GetProperty("panel-llama-kr").GetDouble();
        var mistral = w1.GetProperty("medical-mistral").GetDouble();
        Assert.True(llama > mistral && mistral > 0, rep1.ToString());
        Assert.Equal(0, w1.GetProperty("panel-olmo-us").GetDouble());
        var v = rep1.GetProperty("consensus");
        Assert.True(v.GetProperty("panel-llama-kr").GetDouble() > v.GetProperty("medical-mistral").GetDouble());
        Assert.Equal(0, v.GetProperty("panel-olmo-us").GetDouble());
        Assert.True(rep1.GetProperty("n_eff").GetDouble() is >= 1 and <= 2, rep1.ToString());
        Assert.Contains(rep1.GetProperty("rule").GetString(), new[] { "panel_weighted", "panel_confidence" });
        Assert.InRange(rep1.GetProperty("agreement").GetDouble(), 0, 1);
        Assert.InRange(rep1.GetProperty("confidence").GetDouble(), 0, 1);
        Assert.Contains("reputation weight", b1.GetProperty("federation").GetProperty("route").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Release_on_trust_withholds_below_the_topics_threshold_and_releases_above()
    {
        const string question = "Write a python function that adds two numbers.";
        // Both batteries are run first, while code-qwen is at the prior (C_hat = C0 = 0.5 ≥ 0.45): answers flow.
        var (s0, b0) = await node.AskAsync("code-qwen", question);
        Assert.Equal(HttpStatusCode.OK, s0);
        var rep0 = Reputation(b0);
        Assert.Equal("trust_release", rep0.GetProperty("rule").GetString());
        Assert.Equal(0.5, rep0.GetProperty("trust_score").GetDouble(), 12);
        Assert.Equal(0.45, rep0.GetProperty("threshold").GetDouble(), 12);
        var (fail, _) = await node.AuditAsync("code", "code-qwen", CodePrompts, pass: false);
        var (pass, _) = await node.AuditAsync("code", "code-qwen", CodePrompts, pass: true);

        // Two failed class-A canaries (d = 1): C_hat = (0 + 10·0.5)/(2 + 10) ≈ 0.417 < 0.45 → withheld, 422 verification.failed.
        var book = ReputationBookLog.Load(node.DataDir);
        ReputationBookLog.Append(node.DataDir, book, fail);
        var (s1, b1) = await node.AskAsync("code-qwen", question);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, s1);
        var error = b1.GetProperty("error");
        Assert.Equal("verification.failed", error.GetProperty("code").GetString());
        Assert.Contains("trust score C_hat 0.417", error.GetProperty("message").GetString());
        Assert.Contains("trust_threshold 0.45", error.GetProperty("message").GetString());

        // Two passes on top: C_hat = (2 + 5)/(4 + 10) = 0.5 → released again, and the response says why.
        ReputationBookLog.Append(node.DataDir, book, pass);
        var (s2, b2) = await node.AskAsync("code-qwen", question);
        Assert.Equal(HttpStatusCode.OK, s2);
        var rep2 = Reputation(b2);
        Assert.Equal("trust_release", rep2.GetProperty("rule").GetString());
        Assert.Equal(0.5, rep2.GetProperty("trust_score").GetDouble(), 3);
    }

    [Fact]
    public async Task A_wrong_answer_sampled_at_rate_1_is_rechecked_off_the_hot_path_and_lowers_reputation()
    {
        var policy = Path.Combine(node.Dir, "policies", "reputation.yaml");
        var live = node.App.Services.GetRequiredService<Answering.LiveReputation>();
        var rt = node.Runtime;
        var before = live.TrustScore(rt, "math", "math-deepseek", live.Knobs("math"));
        File.WriteAllText(policy, LiveReputationFixture.ReputationYaml + "\n  math:\n    audit_rate: 1\n");
        try
        {
            // the tiny random model does not know 123457+876543 = 1000000: the class-A checker refutes it
            var (status, body) = await node.AskAsync("federation/math", "What is 123457+876543?");
            Assert.True(status == HttpStatusCode.UnprocessableEntity, body.ToString());
            var answered = Enumerable.Range(0, (int)rt.Ledger.Size).Select(i => (long)i)
                .Last(i => rt.Ledger.GetEntry(i).Envelope.Type == "answer");
            var entry = (JsonObject)rt.Ledger.GetEntry(answered).Envelope.Payload;
            Assert.True(((JsonObject)((JsonObject)entry["verification"])["reputation"])["audit_sampled"] is JsonBool { Value: true });

            // the re-check lands later, from the background worker: a signed reputation.recheck in the ledger and the book
            SignedEnvelope? recheck = null;
            for (int i = 0; i < 600 && recheck is null; i++)
            {
                for (long k = rt.Ledger.Size - 1; k > answered && recheck is null; k--)
                    if (rt.Ledger.GetEntry(k).Envelope is { Type: "reputation.recheck" } e
                        && SignedEnvelope.TryFromJson(e.Payload, out var inner, out _) && ((JsonInt)((JsonObject)inner.Payload)["ledger_index"]).Value == answered)
                        recheck = inner;
                if (recheck is null) await Task.Delay(200);
            }
            Assert.NotNull(recheck);
            Assert.True(recheck.Verify().IsValid);
            Assert.Equal(rt.Key.Id, recheck.Signer);
            var p = (JsonObject)recheck.Payload;
            Assert.Equal("failed", ((JsonString)p["outcome"]).Value);
            Assert.Equal("math-deepseek", ((JsonString)p["specialist"]).Value);
            var checks = ((JsonArray)p["checks"]).OfType<JsonObject>().ToDictionary(c => ((JsonString)c["checker"]).Value, c => ((JsonString)c["outcome"]).Value);
            Assert.Equal("failed", checks["arithmetic"]);
            Assert.Equal("passed", checks["replay"]); // greedy: the engine gives the same (wrong) answer bit for bit
            Assert.Contains(ReputationBookLog.Load(node.DataDir).Records, r => r.Id == recheck.Id);

            var after = live.TrustScore(rt, "math", "math-deepseek", live.Knobs("math"));
            Assert.True(after < before, $"trust score {before} -> {after}");
        }
        finally { File.WriteAllText(policy, LiveReputationFixture.ReputationYaml); }
    }

    [Fact]
    public async Task A_class_B_answer_its_fragment_confirms_is_released_even_below_the_trust_threshold()
    {
        // topic general (class B) has trust_threshold 0.9 here, above the prior C0 = 0.5: an answer nothing checks is
        // withheld on trust, but one the signed fragment confirms was checked, so the trust rule does not apply to it
        const string fact = "Wildebeest herds counted at the Mara crossing: 1, 2, 3, 4, 5, 6 and 7 thousand.";
        using var author = NodeKey.Generate();
        var f = Federation.Memory.SignedFragment.Seal(new Federation.Memory.Fragment(Federation.Memory.MemoryNamespace.Topic("general"), fact, [], author.Id, 1_700_000_000_000), author);
        await node.Runtime.Memory.PutAsync(Federation.Memory.Policy.MemoryPrincipal.Operator, [f.Envelope]);
        var stated = Federation.Memory.Rag.SnapshotMatch.Numbers(fact);
        bool released = false, withheld = false;
        var seen = new List<string>();
        for (int seed = 1; seed <= 80 && !(released && withheld); seed++)
        {
            var req = JsonSerializer.Serialize(new { model = "federation", messages = new[] { new { role = "user", content = "explain the wildebeest herds counted at the mara crossing" } }, max_tokens = 24, temperature = 1.0, seed });
            using var r = await node.Http.PostAsync("/v1/chat/completions", new StringContent(req, Encoding.UTF8, "application/json"));
            var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            var ledger = node.Runtime.Ledger;
            var entry = (JsonObject)Enumerable.Range(0, (int)ledger.Size).Select(i => ledger.GetEntry(ledger.Size - 1 - i).Envelope).First(e => e.Type == "answer").Payload;
            var v = (JsonObject)entry["verification"];
            Assert.Equal("general", ((JsonString)((JsonObject)entry["route"])["topic"]).Value);
            var snapshot = ((JsonArray)v["checks"]).OfType<JsonObject>().Single(c => c["checker"] is JsonString { Value: "memory_snapshot" });
            var outcome = ((JsonString)snapshot["outcome"]).Value;
            seen.Add($"{(int)r.StatusCode} {outcome}");
            if (outcome == "passed")
            {
                Assert.True(r.StatusCode == HttpStatusCode.OK, body.ToString());
                Assert.Equal("passed", body.GetProperty("federation").GetProperty("verification").GetProperty("status").GetString());
                Assert.True(!body.GetProperty("federation").GetProperty("verification").TryGetProperty("reputation", out var rep)
                    || rep.ValueKind == JsonValueKind.Null || rep.GetProperty("rule").GetString() != "trust_withheld", body.ToString());
                released = true;
            }
            else if (outcome == "notapplicable")
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
                Assert.Equal("trust_withheld", ((JsonString)((JsonObject)v["reputation"])["rule"]).Value);
                withheld = true;
            }
            else
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode); // contradicted: refuted by the fragment, not by trust
                Assert.Contains("class B", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }
        }
        Assert.True(released && withheld, $"seeds never gave both a confirmed and an unchecked answer: {string.Join("; ", seen)}");
    }

    /// <summary>
    /// A dishonest node's ledger entry: the real answer entry at <paramref name="index"/> with the question and an answer
    /// of our choosing as stored bodies and a "passed" verification, signed by the node's own key (what a node that lies
    /// about its answers would publish).
    /// </summary>
    private async Task<long> ForgeAsync(long index, string query, string answer)
    {
        var ledger = node.Runtime.Ledger;
        var payload = (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(ledger.GetEntry(index).Envelope.Payload));
        payload["query"] = query;
        payload["query_sha256"] = Answering.AnswerRecord.Sha256(query);
        payload["answer"] = answer;
        payload["answer_sha256"] = Answering.AnswerRecord.Sha256(answer);
        ((JsonObject)payload["verification"])["status"] = "passed";
        return (await ledger.AppendAsync("answer", payload)).Index;
    }

    private async Task<long> MathAnswerAsync()
    {
        var (status, _) = await node.AskAsync("federation/math", "What is 17+25?");
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity, status.ToString());
        var ledger = node.Runtime.Ledger;
        return Enumerable.Range(0, (int)ledger.Size).Select(i => (long)i)
            .Last(i => ledger.GetEntry(i).Envelope is { Type: "answer" } e && ((JsonObject)((JsonObject)e.Payload)["route"])["topic"] is JsonString { Value: "math" });
    }

    [Fact]
    public async Task A_challenge_against_a_wrong_answer_is_won_by_the_challenger_and_slashes_the_specialist()
    {
        var real = await MathAnswerAsync();
        var wrong = await ForgeAsync(real, "What is 17+25?", "The answer is 41.");
        var right = await ForgeAsync(real, "What is 17+25?", "It is 42.");
        var id = node.Runtime.Key.Id.ToString();
        var sizeBefore = node.Runtime.Ledger.Size;

        var (s1, won) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{wrong}}}""");
        Assert.True(s1 == HttpStatusCode.OK, won.ToString());
        Assert.Equal("challenger_won", won.GetProperty("outcome").GetString());
        Assert.Equal("math-deepseek", won.GetProperty("specialist").GetString());
        // The whole exchange is ledgered: challenge.open, reputation.slash, challenge.result.
        var ledger = node.Runtime.Ledger;
        Assert.Equal(sizeBefore + 3, ledger.Size);
        Assert.Equal(["challenge.open", "reputation.slash", "challenge.result"], Enumerable.Range((int)sizeBefore, 3).Select(i => ledger.GetEntry(i).Envelope.Type));
        var slash = SignedEnvelope.Parse(won.GetProperty("slash").GetProperty("record").GetRawText());
        Assert.True(slash.Verify().IsValid);
        Assert.Equal(id, ((JsonString)((JsonObject)slash.Payload)["node"]).Value);
        Assert.StartsWith("lost a challenge", ((JsonString)((JsonObject)slash.Payload)["reason"]).Value);
        Assert.Contains($"ledger:{wrong}:", ((JsonArray)((JsonObject)slash.Payload)["evidence"])[0].ToString());
        var book = ReputationBookLog.Load(node.DataDir);
        Assert.Contains(book.Slashes("math"), x => x.Target == id + "/math-deepseek" && x.RecordId == slash.Id.ToString());
        using (var table = await node.Http.GetAsync("/v1/federation/reputation/math"))
        {
            var row = JsonDocument.Parse(await table.Content.ReadAsStringAsync()).RootElement.GetProperty("nodes").GetProperty(id + "/math-deepseek");
            Assert.True(row.GetProperty("S").GetDouble() < 0.11, row.ToString());
        }

        // Against a right answer the specialist wins and the challenger (an API key, no node) is slashed instead.
        var (s2, lost) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{right}}}""");
        Assert.True(s2 == HttpStatusCode.OK, lost.ToString());
        Assert.Equal("specialist_won", lost.GetProperty("outcome").GetString());
        var lostSlash = (JsonObject)CanonicalJson.Parse(lost.GetProperty("slash").GetProperty("record").GetRawText());
        Assert.StartsWith("apikey:", ((JsonString)((JsonObject)lostSlash["payload"])["node"]).Value);

        // The real entry stores no bodies: the challenger must supply them, hashing to the entry.
        var (s3, missing) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{real}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Equal("challenge.body_missing", missing.GetProperty("error").GetProperty("code").GetString());
        var (s4, mismatch) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{real}},"query":"What is 1+1?","answer":"2"}""");
        Assert.Equal(HttpStatusCode.BadRequest, s4);
        Assert.Equal("challenge.body_mismatch", mismatch.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_refutation_with_the_correct_answer_becomes_a_candidate_canary()
    {
        var real = await MathAnswerAsync();
        var wrong = await ForgeAsync(real, "What is 17+25?", "The answer is 41.");
        var (status, body) = await node.PostAsync("/v1/federation/outcomes", $$"""{"ledger_index":{{wrong}},"verdict":"refuted","expected":"42"}""");
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var candidate = body.GetProperty("candidate_canary");
        Assert.Equal("reality", candidate.GetProperty("source").GetString());
        var store = new CanaryStore(Path.Combine(node.DataDir, "canaries.db"));
        Assert.True(store.TryGet(candidate.GetProperty("cid").GetString()!, out var rec));
        Assert.Equal("What is 17+25?", rec.Canary.Prompt);
        Assert.Equal(CanaryClass.A, rec.Canary.Class);
        Assert.Equal(CanaryVisibility.Secret, rec.Canary.Visibility);
        Assert.StartsWith($"ledger:{wrong}:", rec.Canary.Source!.Ref);

        // A checker that also passes the released answer cannot show it was wrong.
        var (s2, e2) = await node.PostAsync("/v1/federation/outcomes", $$$"""{"ledger_index":{{{wrong}}},"verdict":"refuted","expected":"42","checker":{"kind":"regex","pattern":"\\d"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Equal("outcome.not_refuted", e2.GetProperty("error").GetProperty("code").GetString());
        // Without stored bodies the question must be supplied, and must be the one the entry answered.
        var (s3, e3) = await node.PostAsync("/v1/federation/outcomes", $$"""{"ledger_index":{{real}},"verdict":"refuted","expected":"42","prompt":"What is 1+1?"}""");
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Equal("outcome.prompt_mismatch", e3.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Failing_class_A_beyond_the_threshold_triggers_a_signed_ledgered_slash_once()
    {
        string[] prompts = ["Is this contract clause a liability?", "Does GDPR compliance apply to this lawsuit?"];
        var (fail, _) = await node.AuditAsync("legal", "legal-olmo", prompts, pass: false);
        var book = ReputationBookLog.Load(node.DataDir);
        ReputationBookLog.Append(node.DataDir, book, fail);
        var (s1, first) = await node.PostAsync("/v1/federation/reputation/legal/triggers", "{}");
        Assert.True(s1 == HttpStatusCode.OK, first.ToString());
        var slash = Assert.Single(first.GetProperty("slashes").EnumerateArray());
        Assert.Equal("legal-olmo", slash.GetProperty("specialist").GetString());
        Assert.StartsWith("failing class A", slash.GetProperty("reason").GetString());
        var entry = node.Runtime.Ledger.GetEntry(slash.GetProperty("index").GetInt64()).Envelope;
        Assert.Equal("reputation.slash", entry.Type);
        var (_, second) = await node.PostAsync("/v1/federation/reputation/legal/triggers", "{}");
        Assert.Empty(second.GetProperty("slashes").EnumerateArray());
    }

    [Fact]
    public async Task A_greedy_answer_replays_bit_for_bit_and_a_forged_one_loses_its_challenge()
    {
        var options = node.App.Services.GetRequiredService<NodeOptions>();
        options.StoreBodies = true; // the entry then records the generation request (tests of this class run one at a time)
        long index;
        try
        {
            var (status, body) = await node.AskAsync("code-olmo", "Write a python function that multiplies two numbers.");
            Assert.True(status == HttpStatusCode.OK, body.ToString());
            index = body.GetProperty("federation").GetProperty("ledger").GetProperty("index").GetInt64();
        }
        finally { options.StoreBodies = false; }
        var entry = (JsonObject)node.Runtime.Ledger.GetEntry(index).Envelope.Payload;
        var request = (JsonObject)entry["request"];
        Assert.Equal(0.0, ((JsonValue)request["temperature"]) switch { JsonInt i => (double)i.Value, JsonFloat f => f.Value, _ => -1 });

        var (s1, upheld) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{index}}}""");
        Assert.True(s1 == HttpStatusCode.OK, upheld.ToString());
        Assert.Equal("specialist_won", upheld.GetProperty("outcome").GetString());
        Assert.Contains("bit for bit", upheld.GetProperty("detail").GetString());

        // The same entry with another answer, signed by the node as a dishonest node would: the replay exposes it.
        var forged = await ForgeAsync(index, ((JsonString)entry["query"]).Value, "def multiply(a, b): return a + b");
        var (s2, won) = await node.PostAsync("/v1/federation/challenges", $$"""{"ledger_index":{{forged}}}""");
        Assert.True(s2 == HttpStatusCode.OK, won.ToString());
        Assert.Equal("challenger_won", won.GetProperty("outcome").GetString());
        Assert.Equal("code-olmo", won.GetProperty("specialist").GetString());
        var slash = (JsonObject)CanonicalJson.Parse(won.GetProperty("slash").GetProperty("record").GetRawText());
        Assert.Equal("code-olmo", ((JsonString)((JsonObject)slash["payload"])["specialist"]).Value);
    }

    [Fact]
    public async Task Fed_challenge_open_disputes_a_ledgered_answer_over_HTTP()
    {
        var real = await MathAnswerAsync();
        var wrong = await ForgeAsync(real, "What is 17+25?", "The answer is 41.");
        var url = node.BaseUrl.ToString();
        var (code, stdout, stderr) = await Task.Run(() => CliRunner.Fed("challenge", "open", wrong.ToString(System.Globalization.CultureInfo.InvariantCulture), "--target", url, "--api-key", node.ClientKey, "-o", "json"));
        Assert.True(code == 0, stderr + stdout);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("challenger_won", r.GetProperty("outcome").GetString());
        Assert.Equal("reputation.slash", node.Runtime.Ledger.GetEntry(r.GetProperty("slash").GetProperty("index").GetInt64()).Envelope.Type);

        var (code2, _, err2) = await Task.Run(() => CliRunner.Fed("challenge", "open", real.ToString(System.Globalization.CultureInfo.InvariantCulture), "--target", url, "--api-key", node.ClientKey));
        Assert.Equal(2, code2);
        Assert.Contains("challenge.body_missing", err2);
    }
}
