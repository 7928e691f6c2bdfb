using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Federation.Governance;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary>
/// Two real nodes on loopback, each with its own data dir, key and API keys: the auditor, and the node holding the ledger
/// whose reputation policy lists the auditor's node id under <c>auditors</c>. Both run the repository's routing policy
/// (same CID), so the auditor re-judges the node's entries under the policy they were answered with.
/// </summary>
public sealed class NeutralAuditorFixture : IAsyncLifetime
{
    public string Dir { get; } = NodeFixture.TempDir("fed-neutral-auditor");
    public WebApplication Node { get; private set; } = null!;
    public WebApplication Auditor { get; private set; } = null!;
    public Uri NodeUrl { get; private set; } = null!;
    public Uri AuditorUrl { get; private set; } = null!;
    public string NodeKey { get; private set; } = "";
    public string AuditorKey { get; private set; } = "";
    public NodeRuntime NodeRuntime => Node.Services.GetRequiredService<RuntimeHolder>().Runtime!;
    public NodeRuntime AuditorRuntime => Auditor.Services.GetRequiredService<RuntimeHolder>().Runtime!;
    public string NodeData => Path.Combine(Dir, "node");

    public async Task InitializeAsync()
    {
        var routing = Path.Combine(LiveReputationFixture.RepoRoot(), "policies", "routing.yaml");
        var auditorData = Path.Combine(Dir, "auditor");
        Directory.CreateDirectory(auditorData);
        AuditorKey = new ApiKeyStore(Path.Combine(auditorData, "node.db")).Create("challenger").Secret;
        (Auditor, AuditorUrl) = await NodeFixture.StartAsync(new NodeOptions
        {
            DataDir = auditorData, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(1), PolicyPath = routing,
        });

        var policies = Path.Combine(Dir, "policies");
        Directory.CreateDirectory(policies);
        Directory.CreateDirectory(NodeData);
        File.Copy(routing, Path.Combine(policies, "routing.yaml"));
        File.WriteAllText(Path.Combine(policies, "reputation.yaml"),
            LiveReputationFixture.ReputationYaml + $"\nauditors: [{AuditorRuntime.Key.Id}]\ntrigger_interval: 0\n");
        NodeKey = new ApiKeyStore(Path.Combine(NodeData, "node.db")).Create("challenger").Secret;
        (Node, NodeUrl) = await NodeFixture.StartAsync(new NodeOptions
        {
            DataDir = NodeData, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(1), PolicyPath = Path.Combine(policies, "routing.yaml"),
        });
    }

    public async Task DisposeAsync()
    {
        await NodeFixture.StopAsync(Node, NodeData);
        await NodeFixture.StopAsync(Auditor, Dir);
    }
}

/// <summary>
/// The challenge game judged by a neutral auditor (§9.3; docs/reputation.md "Neutral auditor"): the auditor fetches the
/// disputed entry and its inclusion proof from the node over HTTP, re-judges it and signs the verdict; the node accepts it
/// only from an auditor its policy lists, slashes the loser and ledgers the whole exchange.
/// </summary>
public sealed class NeutralAuditorTests(NeutralAuditorFixture f) : IClassFixture<NeutralAuditorFixture>
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(Uri baseUrl, string key, string path, string json)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var r = await http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>A real math answer of the node, then the same entry with bodies of our choosing, signed by the node (a dishonest node's entry).</summary>
    private async Task<long> EntryAsync(string answer)
    {
        var (status, _) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/chat/completions",
            """{"model":"federation/math","messages":[{"role":"user","content":"What is 17+25?"}],"max_tokens":8,"temperature":0}""");
        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.UnprocessableEntity, status.ToString());
        var ledger = f.NodeRuntime.Ledger;
        var real = Enumerable.Range(0, (int)ledger.Size).Select(i => (long)i).Last(i => ledger.GetEntry(i).Envelope.Type == "answer");
        var payload = (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(ledger.GetEntry(real).Envelope.Payload));
        payload["query"] = "What is 17+25?";
        payload["query_sha256"] = Answering.AnswerRecord.Sha256("What is 17+25?");
        payload["answer"] = answer;
        payload["answer_sha256"] = Answering.AnswerRecord.Sha256(answer);
        return (await ledger.AppendAsync("answer", payload)).Index;
    }

    [Fact]
    public async Task A_challenge_judged_by_a_listed_auditor_is_won_by_the_challenger_and_slashes_the_specialist()
    {
        var wrong = await EntryAsync("The answer is 41.");
        var nodeId = f.NodeRuntime.Key.Id.ToString();
        var auditorId = f.AuditorRuntime.Key.Id.ToString();
        Assert.NotEqual(nodeId, auditorId);

        // The policy lists an auditor: the node no longer judges its own entries.
        var (s0, e0) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/federation/challenges", $$"""{"ledger_index":{{wrong}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, s0);
        Assert.Equal("challenge.verdict_required", e0.GetProperty("error").GetProperty("code").GetString());

        // fed challenge open --auditor: the auditor (another host, another key) judges, the node accepts and slashes.
        var size = f.NodeRuntime.Ledger.Size;
        var (code, stdout, stderr) = await Task.Run(() => CliRunner.Fed("challenge", "open", wrong.ToString(CultureInfo.InvariantCulture),
            "--target", f.NodeUrl.ToString(), "--api-key", f.NodeKey, "--auditor", f.AuditorUrl.ToString(), "--auditor-api-key", f.AuditorKey, "-o", "json"));
        Assert.True(code == 0, stderr + stdout);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("challenger_won", r.GetProperty("outcome").GetString());
        Assert.Equal(auditorId, r.GetProperty("judge").GetString());
        Assert.Equal("math-deepseek", r.GetProperty("specialist").GetString());
        Assert.Contains("auditor " + auditorId, r.GetProperty("detail").GetString());
        var ledger = f.NodeRuntime.Ledger;
        Assert.Equal(["challenge.open", "challenge.verdict", "reputation.slash", "challenge.result"],
            Enumerable.Range((int)size, (int)(ledger.Size - size)).Select(i => ledger.GetEntry(i).Envelope.Type));
        Assert.True(SignedEnvelope.TryFromJson(ledger.GetEntry(size + 1).Envelope.Payload, out var verdict, out var why), why);
        Assert.True(verdict.Verify().IsValid);
        Assert.Equal(auditorId, verdict.Signer.ToString());
        Assert.Equal("challenger_won", ((JsonString)((JsonObject)verdict.Payload)["outcome"]).Value);
        var slash = SignedEnvelope.Parse(r.GetProperty("slash").GetProperty("record").GetRawText());
        var sp = (JsonObject)slash.Payload;
        Assert.Equal(nodeId, ((JsonString)sp["node"]).Value);
        Assert.StartsWith("lost a challenge", ((JsonString)sp["reason"]).Value);
        Assert.Contains(((JsonArray)sp["evidence"]).OfType<JsonString>(), e => e.Value == "verdict:" + verdict.Id);
        var book = ReputationBookLog.Load(f.NodeData);
        var slashes = book.Slashes("math").Count;
        Assert.Contains(book.Slashes("math"), x => x.Target == nodeId + "/math-deepseek" && x.RecordId == slash.Id.ToString());

        // A verdict signed by a key the policy does not list is refused, and nothing is slashed or ledgered.
        using var stranger = Registry.Crypto.NodeKey.Generate();
        var forged = SignedEnvelope.Seal(verdict.Type, verdict.Payload, stranger);
        var before = ledger.Size;
        var (s1, e1) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/federation/challenges",
            $$"""{"ledger_index":{{wrong}},"verdict":{{Encoding.UTF8.GetString(forged.ToCanonicalBytes())}}}""");
        Assert.Equal(HttpStatusCode.Forbidden, s1);
        Assert.Equal("challenge.auditor_not_listed", e1.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(stranger.Id.ToString(), e1.GetProperty("error").GetProperty("message").GetString());
        // … as is one the node signs for itself
        var self = SignedEnvelope.Seal(verdict.Type, verdict.Payload, f.NodeRuntime.Key);
        var (s2, e2) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/federation/challenges",
            $$"""{"ledger_index":{{wrong}},"verdict":{{Encoding.UTF8.GetString(self.ToCanonicalBytes())}}}""");
        Assert.Equal(HttpStatusCode.Forbidden, s2);
        Assert.Equal("challenge.auditor_not_listed", e2.GetProperty("error").GetProperty("code").GetString());
        // … and a listed auditor's verdict about another entry does not count for this one
        var right = await EntryAsync("It is 42.");
        var (s3, e3) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/federation/challenges",
            $$"""{"ledger_index":{{right}},"verdict":{{Encoding.UTF8.GetString(verdict.ToCanonicalBytes())}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Equal("challenge.verdict_mismatch", e3.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(before + 2, ledger.Size); // only the two answer entries EntryAsync wrote
        Assert.Equal(slashes, ReputationBookLog.Load(f.NodeData).Slashes("math").Count);
    }

    [Fact]
    public async Task Against_a_right_answer_the_auditor_upholds_it_and_the_challenger_is_slashed()
    {
        var right = await EntryAsync("It is 42.");
        var (s1, judged) = await PostAsync(f.AuditorUrl, f.AuditorKey, "/v1/federation/judgements",
            $$"""{"node":"{{f.NodeUrl}}","ledger_index":{{right}},"node_api_key":"{{f.NodeKey}}"}""");
        Assert.True(s1 == HttpStatusCode.OK, judged.ToString());
        Assert.Equal("specialist_won", judged.GetProperty("outcome").GetString());
        Assert.Equal(f.AuditorRuntime.Key.Id.ToString(), judged.GetProperty("auditor").GetString());
        var (s2, result) = await PostAsync(f.NodeUrl, f.NodeKey, "/v1/federation/challenges",
            $$"""{"ledger_index":{{right}},"verdict":{{judged.GetProperty("verdict").GetRawText()}}}""");
        Assert.True(s2 == HttpStatusCode.OK, result.ToString());
        Assert.Equal("specialist_won", result.GetProperty("outcome").GetString());
        var slash = (JsonObject)CanonicalJson.Parse(result.GetProperty("slash").GetProperty("record").GetRawText());
        Assert.StartsWith("apikey:", ((JsonString)((JsonObject)slash["payload"])["node"]).Value);

        // the auditor checks what it reads: an entry that does not exist, or a node it cannot read, is not judged
        var (s3, e3) = await PostAsync(f.AuditorUrl, f.AuditorKey, "/v1/federation/judgements",
            $$"""{"node":"{{f.NodeUrl}}","ledger_index":999999,"node_api_key":"{{f.NodeKey}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, s3);
        Assert.Equal("ledger.index_out_of_range", e3.GetProperty("error").GetProperty("code").GetString());
        var (s4, e4) = await PostAsync(f.AuditorUrl, f.AuditorKey, "/v1/federation/judgements",
            $$"""{"node":"{{f.NodeUrl}}","ledger_index":{{right}},"node_api_key":"wrong"}""");
        Assert.Equal(HttpStatusCode.BadGateway, s4);
        Assert.Equal("auditor.node_refused", e4.GetProperty("error").GetProperty("code").GetString());
    }
}
