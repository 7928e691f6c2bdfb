using System.Net;
using System.Text.Json;
using Federation.Canaries;
using Federation.Canaries.Audit;
using Federation.Canaries.Checkers;
using Federation.Canaries.Storage;
using Federation.Governance;
using Federation.Node.Cli;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary>
/// Real signed audit records: <see cref="AuditRunner"/> (canaries) runs a blind battery against the shared real node over
/// HTTP; the records are produced once per test run and shared.
/// </summary>
internal static class AuditRecords
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (SignedEnvelope Pass, SignedEnvelope Fail)? _records;

    /// <summary>Two records of topic "math" against <paramref name="node"/>: one whose canary always passes, one that always fails.</summary>
    public static async Task<(SignedEnvelope Pass, SignedEnvelope Fail)> GetAsync(NodeFixture node)
    {
        await Gate.WaitAsync();
        try
        {
            return _records ??= (await RunAsync(node, "(?s)^.*$", "pass"), await RunAsync(node, "^\\b\\B$", "fail"));
        }
        finally { Gate.Release(); }
    }

    private static async Task<SignedEnvelope> RunAsync(NodeFixture node, string pattern, string name)
    {
        var dir = NodeFixture.TempDir("fed-rep-auditor-" + name);
        try
        {
            var store = new CanaryStore(Path.Combine(dir, "canaries.db"));
            var checker = (JsonObject)CanonicalJson.Parse($$"""{"kind":"regex","pattern":{{JsonSerializer.Serialize(pattern)}}}""");
            store.Add(Canary.Create("math", CanaryClass.A, "What is 2+2? Answer with the number only.", checker, 0.8, 5, CanaryVisibility.Public), DateTimeOffset.UtcNow);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            var run = await new AuditRunner(store, new CanaryChecker(), node.Runtime.Key, http, TimeProvider.System) // the node's own key: a trusted audit signer by default
                .RunAsync(new AuditRequest(node.BaseUrl, "math", 1, ApiKey: node.ClientKey));
            return run.Record;
        }
        finally { NodeFixture.DeleteDir(dir); }
    }

    /// <summary>The same envelope JSON with one item's outcome changed (the signature no longer covers it).</summary>
    public static string Tampered(SignedEnvelope record)
    {
        var json = (JsonObject)CanonicalJson.Parse(record.ToCanonicalBytes()); // a copy: ToJson shares the payload object
        var payload = (JsonObject)json["payload"];
        var item = (JsonObject)((JsonArray)payload["items"])[0];
        item["o"] = item["o"] is JsonFloat { Value: 1.0 } or JsonInt { Value.IsOne: true } ? 0.0 : 1.0; // flip the outcome
        return System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(json));
    }

    /// <summary>τ one day after the record (days).</summary>
    public static double DayAfter(SignedEnvelope record) =>
        ((double)((JsonInt)((JsonObject)record.Payload)["finished"]).Value + 86400) / ReputationBook.SecondsPerDay;
}

[Collection("node")]
public sealed class ReputationBookTests(NodeFixture node)
{
    private static TopicReputationKnobs Knobs => ReputationShowCommands.Knobs(null, "math");

    [Fact]
    public async Task The_node_counts_audit_records_only_from_trusted_signers()
    {
        var (pass, _) = await AuditRecords.GetAsync(node);
        var payload = (JsonObject)CanonicalJson.Parse(System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(pass.Payload)));
        payload["topic"] = "trust-signers";
        using var stranger = NodeKey.Generate();
        // logged by another path (or before the policy narrowed): kept in the log, never counted
        ReputationBookLog.Append(node.DataDir, new ReputationBook(), SignedEnvelope.Seal(ReputationBook.AuditRecordType, payload, stranger));
        using (var r = await node.Http.GetAsync("/v1/federation/reputation/trust-signers"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        var own = SignedEnvelope.Seal(ReputationBook.AuditRecordType, payload, node.Runtime.Key);
        ReputationBookLog.Append(node.DataDir, ReputationBookLog.Load(node.DataDir), own);
        using (var r = await node.Http.GetAsync("/v1/federation/reputation/trust-signers"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task A_real_audit_record_moves_the_audited_specialists_reputation()
    {
        var (pass, fail) = await AuditRecords.GetAsync(node);
        var item = (JsonObject)((JsonArray)((JsonObject)pass.Payload)["items"])[0];
        Assert.Equal("scored", ((JsonString)item["status"]).Value);
        var target = ReputationBook.Target(node.Runtime.Key.Id.ToString(), ((JsonString)item["specialist"]).Value);
        var tau = AuditRecords.DayAfter(pass);

        var book = new ReputationBook();
        var r1 = book.Ingest(pass);
        Assert.True(r1.Added);
        Assert.Equal(1, r1.Evidence);
        var afterPass = book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == target);
        var age = tau - (double)((JsonInt)item["time"]).Value / ReputationBook.SecondsPerDay;
        Assert.Equal(0.8 * ReputationMath.Decay(age, Knobs.Math.HalfLife), afterPass.N, 12);
        Assert.Equal(1.0, afterPass.C);
        Assert.True(afterPass.CHat > Knobs.Math.C0, $"a pass lifts C_hat above C0, got {afterPass.CHat}");

        book.Ingest(fail);
        var afterFail = book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == target);
        Assert.True(afterFail.C < afterPass.C, "a failed class-A canary lowers C");
        Assert.True(afterFail.CHat < afterPass.CHat);
    }

    [Fact]
    public async Task A_tampered_record_is_refused_with_the_reason_and_changes_nothing()
    {
        var (pass, _) = await AuditRecords.GetAsync(node);
        var book = new ReputationBook();
        var e = Assert.Throws<ReputationRecordException>(() => book.Ingest(AuditRecords.Tampered(pass)));
        Assert.Contains("does not verify", e.Message);
        Assert.Empty(book.Records);
        Assert.Empty(book.Topics);
    }

    [Fact]
    public async Task The_table_is_the_same_bytes_whatever_the_order_or_duplicates()
    {
        var (pass, fail) = await AuditRecords.GetAsync(node);
        var tau = AuditRecords.DayAfter(pass);
        var a = new ReputationBook();
        a.Ingest(pass);
        a.Ingest(fail);
        var b = new ReputationBook();
        b.Ingest(fail);
        b.Ingest(pass);
        Assert.False(b.Ingest(pass).Added);
        Assert.Equal(a.TableJson("math", tau, Knobs), b.TableJson("math", tau, Knobs));

        var dir = NodeFixture.TempDir("fed-rep-log");
        try
        {
            var logged = new ReputationBook();
            ReputationBookLog.Append(dir, logged, pass);
            ReputationBookLog.Append(dir, logged, fail);
            ReputationBookLog.Append(dir, logged, pass);
            Assert.Equal(2, File.ReadAllLines(ReputationBookLog.PathIn(dir)).Length);
            Assert.Equal(a.TableJson("math", tau, Knobs), ReputationBookLog.Load(dir).TableJson("math", tau, Knobs));
        }
        finally { NodeFixture.DeleteDir(dir); }
    }

    [Fact]
    public async Task A_signed_slashing_event_cuts_S_and_one_without_evidence_is_refused()
    {
        var (pass, _) = await AuditRecords.GetAsync(node);
        var item = (JsonObject)((JsonArray)((JsonObject)pass.Payload)["items"])[0];
        var specialist = ((JsonString)item["specialist"]).Value;
        var nodeId = node.Runtime.Key.Id.ToString();
        var time = ((JsonInt)item["time"]).Value;
        var tau = AuditRecords.DayAfter(pass);
        var book = new ReputationBook();
        book.Ingest(pass);
        var before = book.Table("math", tau, Knobs).Nodes.Single();

        var key = NodeKey.Generate();
        JsonObject Slash(JsonArray evidence) => new()
        {
            ["v"] = 1, ["topic"] = "math", ["node"] = nodeId, ["specialist"] = specialist, ["time"] = time,
            ["reason"] = "lost a challenge", ["evidence"] = evidence,
        };
        var e = Assert.Throws<ReputationRecordException>(() => book.Ingest(SignedEnvelope.Seal(ReputationBook.SlashType, Slash([]), key)));
        Assert.Contains("evidence", e.Message);
        book.Ingest(SignedEnvelope.Seal(ReputationBook.SlashType, Slash([pass.Id.ToString()]), key));
        var after = book.Table("math", tau, Knobs).Nodes.Single();
        Assert.Equal(before.N, after.N);
        Assert.True(after.R < before.R * 0.11, $"S ×0.1 cuts R to about a tenth: {before.R} → {after.R}");
    }

    [Fact]
    public async Task The_http_endpoint_serves_the_table_and_a_404_for_an_unknown_topic()
    {
        var (pass, fail) = await AuditRecords.GetAsync(node);
        var book = ReputationBookLog.Load(node.DataDir);
        ReputationBookLog.Append(node.DataDir, book, pass);
        ReputationBookLog.Append(node.DataDir, book, fail);
        var tau = AuditRecords.DayAfter(pass);
        var at = Math.Round(tau * ReputationBook.SecondsPerDay).ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var ok = await node.Http.GetAsync($"/v1/federation/reputation/math?at={at}");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(book.TableJson("math", double.Parse(at, System.Globalization.CultureInfo.InvariantCulture) / ReputationBook.SecondsPerDay, Knobs),
            await ok.Content.ReadAsStringAsync());

        using var missing = await node.Http.GetAsync("/v1/federation/reputation/no-such-topic");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("reputation.unknown_topic", error.GetProperty("code").GetString());
        Assert.Equal("topic", error.GetProperty("param").GetString());

        using var anon = new HttpClient { BaseAddress = node.BaseUrl };
        using var unauth = await anon.GetAsync("/v1/federation/reputation/math");
        Assert.Equal(HttpStatusCode.Unauthorized, unauth.StatusCode);
    }
    [Fact]
    public async Task A_reality_refutation_is_negative_class_A_evidence_for_the_answers_specialists()
    {
        await AuditRecords.GetAsync(node); // the audits asked the node questions, so the ledger holds answers
        var ledger = node.Runtime.Ledger;
        var index = Enumerable.Range(0, (int)ledger.Size).Select(i => (long)i).Last(i => ledger.GetEntry(i).Envelope.Type == "answer");
        var entry = (JsonObject)ledger.GetEntry(index).Envelope.Payload;
        var topic = ((JsonString)((JsonObject)entry["route"])["topic"]).Value;
        var specialist = ((JsonString)((JsonObject)((JsonArray)entry["specialists"])[0])["id"]).Value;
        var target = ReputationBook.Target(node.Runtime.Key.Id.ToString(), specialist);

        using var refuted = await node.Http.PostAsync("/v1/federation/outcomes",
            new StringContent($$"""{"ledger_index":{{index}},"verdict":"refuted"}""", System.Text.Encoding.UTF8, "application/json"));
        var text = await refuted.Content.ReadAsStringAsync();
        Assert.True(refuted.StatusCode == HttpStatusCode.OK, text);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(topic, body.GetProperty("topic").GetString());
        Assert.True(body.GetProperty("evidence").GetInt32() >= 1);

        var book = ReputationBookLog.Load(node.DataDir);
        var rec = book.Records.Single(r => r.Id.ToString() == body.GetProperty("id").GetString());
        Assert.True(rec.Verify().IsValid);
        Assert.Equal(node.Runtime.Key.Id, rec.Signer);
        var ev = book.Evidence(topic).Where(e => e.RecordId == rec.Id.ToString()).ToArray();
        Assert.Contains(ev, e => e.Target == target && e.Audit.Outcome == 0 && e.Audit.Difficulty == 1);
        var row = book.Table(topic, ev[0].Audit.Time, ReputationShowCommands.Knobs(null, topic)).Nodes.Single(n => n.Name == target);
        Assert.True(row.CHat < 0.5, $"a refutation pulls C_hat below C0: {row.CHat}");

        using var missing = await node.Http.PostAsync("/v1/federation/outcomes",
            new StringContent("""{"ledger_index":999999,"verdict":"refuted"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var badVerdict = await node.Http.PostAsync("/v1/federation/outcomes",
            new StringContent($$"""{"ledger_index":{{index}},"verdict":"maybe"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badVerdict.StatusCode);
        Assert.Equal("verdict", JsonDocument.Parse(await badVerdict.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }
}
