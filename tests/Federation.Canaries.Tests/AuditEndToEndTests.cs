using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Federation.Canaries.Audit;
using Federation.Canaries.Checkers;
using Federation.Node.Cli;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Canaries.Tests;

/// <summary>
/// A real node (<c>fed serve</c> on 127.0.0.1 port 0, the embedded default, as a child process) audited over HTTP by
/// <c>fed audit run</c>; the record verifies and the reveal re-scores identically. The default adapters are random, so
/// outcomes are mostly 0: the assertions are about consistency, not pass rate.
/// </summary>
public sealed partial class AuditEndToEndTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("fed-audit-e2e-").FullName;
    private Process? _node;
    private Uri _url = null!;
    private string _nodeId = "";

    private string NodeDir => Path.Combine(_root, "node");

    private string AuditorDir => Path.Combine(_root, "auditor");

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(NodeDir);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Federation.Node.dll"), "serve", "--demo", "none", "--urls", "http://127.0.0.1:0", "--data-dir", NodeDir })
            psi.ArgumentList.Add(a);
        _node = Process.Start(psi)!;
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        _node.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            var m = Listening().Match(e.Data);
            if (m.Success) found.TrySetResult(m.Groups[1].Value);
        };
        _node.OutputDataReceived += (_, _) => { };
        _node.BeginErrorReadLine();
        _node.BeginOutputReadLine();
        var done = await Task.WhenAny(found.Task, _node.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(2)));
        if (done != found.Task) throw new InvalidOperationException("fed serve did not start listening:\n" + log);
        _url = new Uri(found.Task.Result);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var h = await http.GetAsync(new Uri(_url, "/health"));
            var body = JsonDocument.Parse(await h.Content.ReadAsStringAsync()).RootElement;
            var status = body.GetProperty("status").GetString();
            if (status == "ready")
            {
                _nodeId = body.GetProperty("node_id").GetString()!;
                break;
            }
            if (status == "failed" || DateTime.UtcNow > deadline) throw new InvalidOperationException("node did not become ready: " + body);
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        if (_node is { HasExited: false })
        {
            _node.Kill(entireProcessTree: true);
            await _node.WaitForExitAsync();
        }
        _node?.Dispose();
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private (int Code, string Out, string Err) Fed(params string[] args) => CliTests.FedIn(AuditorDir, args);

    [Fact]
    public async Task Blind_battery_against_a_running_node_verifies_and_its_reveal_rescores_identically()
    {
        Directory.CreateDirectory(AuditorDir);
        string[][] canaries =
        [
            ["What is 12*12? Reply with the number.", """{"kind":"numeric","expected":144}""", "0.3"],
            ["What is 7+8? Reply with the number only.", """{"kind":"exact","expected":"15"}""", "0.2"],
            ["Name the number that is 2 to the power 10.", """{"kind":"regex","pattern":"\\b1024\\b"}""", "0.4"],
            ["Give a JSON object with integer fields a and b whose sum is 10.", """{"kind":"json_schema","schema":{"type":"object","required":["a","b"],"properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}}""", "0.5"],
            ["Write a Python function square(x) that returns x*x.", """{"kind":"program","language":"python","entry":"square","tests":[{"args":[3],"expected":9},{"args":[-2],"expected":4}],"timeout_ms":3000}""", "0.6"],
            ["What is 100/4? Reply with the number.", """{"kind":"numeric","expected":25,"abs_tol":0.001}""", "0.3"],
            ["What is 9-3? Reply with the number.", """{"kind":"exact","expected":"6"}""", "0.2"],
        ];
        for (var i = 0; i < canaries.Length; i++)
        {
            string[] args = ["canary", "add", "--topic", "math", "--prompt", canaries[i][0], "--checker", canaries[i][1], "--difficulty", canaries[i][2], "-o", "json"];
            var r = Fed(i % 3 == 2 ? [.. args, "--secret"] : args);
            Assert.True(r.Code == 0, r.Err);
        }
        var keyFile = Path.Combine(_root, "auditor.key");
        using var auditorKey = NodeKey.FromSeed(Enumerable.Repeat((byte)3, 32).ToArray());
        File.WriteAllText(keyFile, auditorKey.ExportSeedHex());
        var recordFile = Path.Combine(_root, "record.json");

        var run = Fed("audit", "run", "--target", _url.ToString(), "--topic", "math", "--n", "5", "--key", keyFile, "--out", recordFile, "-o", "json");
        Assert.True(run.Code == 0, run.Err);
        var summary = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal(5, summary.GetProperty("sampled").GetInt32());
        Assert.Equal(_nodeId, summary.GetProperty("target_node").GetString());
        // The seed commitment was published (written) before sampling, and the record carries the same commitment.
        var commitment = SignedEnvelope.Parse(File.ReadAllText(summary.GetProperty("commitment").GetString()!));
        Assert.True(commitment.Verify().IsValid);
        Assert.Equal(AuditRunner.SeedCommitmentType, commitment.Type);

        var record = SignedEnvelope.Parse(File.ReadAllText(recordFile));
        Assert.True(record.Verify().IsValid);
        Assert.Equal(auditorKey.NodeId, record.Signer);
        var p = record.Payload.AsObject();
        Assert.Equal(commitment.Payload["seed_commitment"], p["seed_commitment"]);
        Assert.Equal("math", p["topic"].AsString());
        Assert.Equal(_nodeId, p["target_node"].AsString());
        Assert.Equal(7, p["battery"].AsArray().Count);
        var items = p["items"].AsArray();
        Assert.Equal(5, items.Count);
        foreach (var it in items)
        {
            Assert.True(Canary.TryNumber(it["o"], out var o) && o is >= 0 and <= 1, it.ToString());
            Assert.True(Canary.TryNumber(it["difficulty"], out var d) && d is > 0 and <= 1);
            // The node's own gate withholds arithmetic answers that fail its checker (HTTP 422): recorded as
            // "unanswered" (o = 0, not evidence). Everything it does answer is scored and names its specialist.
            if (it["status"].AsString() == "unanswered")
            {
                Assert.Contains("HTTP 422", it["detail"].AsString(), StringComparison.Ordinal);
                continue;
            }
            Assert.True(it["status"].AsString() == "scored", it.ToString());
            Assert.True(it["specialist"] is JsonString { Value.Length: > 0 }, it.ToString());
            Assert.Equal(it["specialists"].AsArray()[0], it["specialist"]);
        }
        // 5 of 7 sampled and only 4 prompts are arithmetic: at least one answer is always scored.
        var scored = items.Count(i => i["status"].AsString() == "scored");
        Assert.True(scored >= 1);
        Assert.Equal(scored, summary.GetProperty("scored").GetInt32());

        var verifyRecord = Fed("audit", "verify", recordFile, "-o", "json");
        Assert.True(verifyRecord.Code == 0, verifyRecord.Out + verifyRecord.Err);
        Assert.False(JsonDocument.Parse(verifyRecord.Out).RootElement.GetProperty("revealed").GetBoolean());

        var revealFile = Path.Combine(_root, "reveal.json");
        var reveal = Fed("audit", "reveal", recordFile, "--key", keyFile, "--out", revealFile, "-o", "json");
        Assert.True(reveal.Code == 0, reveal.Err);
        var verify = Fed("audit", "verify", revealFile, "-o", "json");
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        var v = JsonDocument.Parse(verify.Out).RootElement;
        Assert.True(v.GetProperty("valid").GetBoolean());
        Assert.True(v.GetProperty("sample_honest").GetBoolean());
        Assert.Equal(scored, v.GetProperty("rescored").GetInt32());
        Assert.Equal(0, v.GetProperty("mismatches").GetInt32());

        // Re-scoring is independent of the auditor: re-run every revealed canary's checker on the revealed answer here.
        var revealEnv = SignedEnvelope.Parse(File.ReadAllText(revealFile));
        var checker = new CanaryChecker();
        var revItems = revealEnv.Payload["items"].AsArray();
        for (var i = 0; i < revItems.Count; i++)
        {
            if (items[i]["status"].AsString() != "scored") continue;
            Assert.True(Canary.TryFromJson(revItems[i]["canary"], out var c, out _));
            var o = await checker.CheckAsync(c, revItems[i]["answer"].AsString());
            Assert.Equal(Canary.TryNumber(items[i]["o"], out var recorded) ? recorded : -1, o.O);
        }

        // The reveal counted as a scored reveal of each sampled canary.
        var listed = JsonDocument.Parse(Fed("canary", "list", "--topic", "math", "-o", "json").Out).RootElement;
        Assert.Equal(scored, listed.EnumerateArray().Sum(r => r.GetProperty("scored_reveals").GetInt32()));

        // An auditor that signs a record whose items are not the seed's sample is caught on reveal.
        var dishonest = (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(p));
        var swapped = new JsonArray(dishonest["items"].AsArray().Reverse());
        dishonest["items"] = swapped;
        var fakeRecord = SignedEnvelope.Seal(AuditRunner.RecordType, dishonest, auditorKey);
        var fakeRevealPayload = (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(revealEnv.Payload));
        fakeRevealPayload["record"] = fakeRecord.ToJson();
        fakeRevealPayload["items"] = new JsonArray(fakeRevealPayload["items"].AsArray().Reverse());
        var fakeReveal = SignedEnvelope.Seal(AuditRunner.RevealType, fakeRevealPayload, auditorKey);
        var fakeCheck = await new AuditVerifier(checker).VerifyAsync(fakeReveal.ToJson());
        Assert.False(fakeCheck.IsValid);
        Assert.False(fakeCheck.SampleHonest);
        Assert.Contains(fakeCheck.Problems, x => x.Contains("sample is not the one the seed draws", StringComparison.Ordinal));

        // A tampered reveal (another seed put in after signing) fails with exit code 3: signature and seed commitment both break.
        var tampered = revealEnv.ToJson();
        ((JsonObject)tampered["payload"])["seed"] = new string('0', 64);
        File.WriteAllText(revealFile, CanonicalJson.SerializeToString(tampered));
        var bad = Fed("audit", "verify", revealFile, "-o", "json");
        Assert.Equal(ExitCodes.VerificationFailed, bad.Code);
        Assert.Contains("seed does not match the published commitment", bad.Out, StringComparison.Ordinal);
        Assert.Contains("reveal: id", bad.Out, StringComparison.Ordinal);
    }
}
