using System.Text.Json;
using Federation.Node;
using Federation.Node.Cli;

namespace Federation.Canaries.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-canary-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    internal static (int Code, string Out, string Err) FedIn(string dataDir, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = FedCli.Run(["--data-dir", dataDir, .. args], o, e);
        return (code, o.ToString(), e.ToString());
    }

    private (int Code, string Out, string Err) Fed(params string[] args) => FedIn(_dir, args);

    private static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    [Fact]
    public void Canary_add_list_commit_reveal_verify_and_retire_work_with_json_output()
    {
        var add = Fed("canary", "add", "--topic", "math", "--prompt", "2+2?", "--checker", """{"kind":"exact","expected":"4"}""", "--difficulty", "0.7", "--lifespan", "2", "-o", "json");
        Assert.True(add.Code == 0, add.Err);
        var pub = Json(add.Out);
        Assert.Equal("public", pub.GetProperty("visibility").GetString());
        Assert.True(pub.GetProperty("added").GetBoolean());
        Assert.Equal(JsonValueKind.Null, pub.GetProperty("commitment").ValueKind);

        var sec = Json(Fed("canary", "add", "--topic", "math", "--prompt", "3*3?", "--checker", """{"kind":"numeric","expected":9}""", "--secret", "-o", "json").Out);
        var cid = sec.GetProperty("cid").GetString()!;
        var commitment = sec.GetProperty("commitment").GetString()!;
        Assert.Equal(64, commitment.Length);

        var list = Json(Fed("canary", "list", "--topic", "math", "-o", "json").Out);
        Assert.Equal(2, list.GetArrayLength());
        var pubRow = list.EnumerateArray().Single(r => r.GetProperty("visibility").GetString() == "public");
        Assert.Equal(0.7, pubRow.GetProperty("weight").GetDouble(), 12);
        Assert.Equal("active", pubRow.GetProperty("state").GetString());
        var secRow = list.EnumerateArray().Single(r => r.GetProperty("visibility").GetString() == "secret");
        Assert.Equal(0, secRow.GetProperty("reward_weight").GetDouble());

        var commit = Fed("canary", "commit", cid[..12], "-o", "json");
        Assert.Equal(commitment, Json(commit.Out).GetProperty("commitment").GetString());
        var pubCommit = Fed("canary", "commit", pubRow.GetProperty("cid").GetString()!);
        Assert.Equal(ExitCodes.Failure, pubCommit.Code);
        Assert.Contains("is public", pubCommit.Err, StringComparison.Ordinal);

        var reveal = Fed("canary", "reveal", cid);
        Assert.Equal(0, reveal.Code);
        var revealFile = Path.Combine(_dir, "reveal.json");
        File.WriteAllText(revealFile, reveal.Out);
        var ok = Fed("canary", "reveal", "--verify", revealFile, "--commitment", commitment, "-o", "json");
        Assert.Equal(0, ok.Code);
        Assert.Equal(cid, Json(ok.Out).GetProperty("cid").GetString());
        var bad = Fed("canary", "reveal", "--verify", revealFile, "--commitment", new string('0', 64));
        Assert.Equal(ExitCodes.VerificationFailed, bad.Code);
        Assert.Contains("does NOT verify", bad.Out, StringComparison.Ordinal);

        var retire = Json(Fed("canary", "retire", cid, "--reason", "leaked", "-o", "json").Out);
        Assert.Equal("retired", retire.GetProperty("state").GetString());
        Assert.Equal("leaked", retire.GetProperty("reason").GetString());
    }

    [Fact]
    public void Canary_add_with_bad_input_says_what_is_wrong()
    {
        var notJson = Fed("canary", "add", "--topic", "m", "--prompt", "p", "--checker", "{kind:exact}");
        Assert.Equal(ExitCodes.Usage, notJson.Code);
        Assert.Contains("--checker is not valid JSON", notJson.Err, StringComparison.Ordinal);
        var badDiff = Fed("canary", "add", "--topic", "m", "--prompt", "p", "--checker", """{"kind":"exact","expected":"x"}""", "--difficulty", "2");
        Assert.Equal(ExitCodes.Usage, badDiff.Code);
        Assert.Contains("difficulty must be in (0,1]", badDiff.Err, StringComparison.Ordinal);
        var unknown = Fed("canary", "retire", "deadbeefdeadbeef");
        Assert.Equal(ExitCodes.Failure, unknown.Code);
        Assert.Contains("fed canary list", unknown.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Canary_import_is_all_or_nothing_and_accepts_reveals()
    {
        var good = """{"topic":"code","class":"A","prompt":"p1","checker":{"kind":"regex","pattern":"ok"},"difficulty":0.4,"lifespan":3}""";
        var bad = """{"topic":"code","class":"A","prompt":"p2","checker":{"kind":"regex","pattern":"ok"},"difficulty":0,"lifespan":3}""";
        var file = Path.Combine(_dir, "in.jsonl");
        File.WriteAllText(file, good + "\n" + bad + "\n");
        var r = Fed("canary", "import", file);
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains("entry 1: canary difficulty must be in (0,1]", r.Err, StringComparison.Ordinal);
        Assert.Equal("[]", Fed("canary", "list", "-o", "json").Out.Trim());

        // A reveal from another node imports with its salt, so the commitment it was published under still holds.
        var other = Directory.CreateTempSubdirectory("fed-canary-cli-other-").FullName;
        var sec = Json(FedIn(other, "canary", "add", "--topic", "code", "--prompt", "p3", "--checker", """{"kind":"exact","expected":"x"}""", "--secret", "-o", "json").Out);
        var reveal = FedIn(other, "canary", "reveal", sec.GetProperty("cid").GetString()!).Out.Trim();
        Directory.Delete(other, true);
        File.WriteAllText(file, "[" + good + "," + reveal + "]");
        var imported = Json(Fed("canary", "import", file, "-o", "json").Out);
        Assert.Equal(2, imported.GetProperty("imported").GetInt32());
        var row = imported.GetProperty("canaries").EnumerateArray().Single(c => c.GetProperty("visibility").GetString() == "secret");
        Assert.Equal(sec.GetProperty("commitment").GetString(), row.GetProperty("commitment").GetString());
        Assert.Equal(0, Json(Fed("canary", "import", file, "-o", "json").Out).GetProperty("imported").GetInt32());
    }

    [Fact]
    public void Audit_rate_prints_the_break_even_and_recommended_rates()
    {
        var run = Fed("audit", "rate", "--gain", "1", "--penalty", "9", "-o", "json");
        Assert.True(run.Code == 0, run.Err);
        var r = Json(run.Out);
        Assert.Equal(0.1, r.GetProperty("minimum").GetDouble(), 12);
        Assert.Equal(0.15, r.GetProperty("recommended").GetDouble(), 12);
        var bad = Fed("audit", "rate", "--gain", "0", "--penalty", "0");
        Assert.Equal(ExitCodes.Usage, bad.Code);
        Assert.Contains("nothing to deter", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Audit_run_without_canaries_for_the_topic_says_how_to_add_them()
    {
        var key = Path.Combine(_dir, "auditor.key");
        File.WriteAllText(key, new string('1', 64));
        var r = Fed("audit", "run", "--target", "http://127.0.0.1:9", "--topic", "nothing", "--key", key);
        Assert.Equal(ExitCodes.Failure, r.Code);
        Assert.Contains("fed canary add --topic nothing", r.Err, StringComparison.Ordinal);
        var badUrl = Fed("audit", "run", "--target", "not a url", "--topic", "x", "--key", key);
        Assert.Equal(ExitCodes.Usage, badUrl.Code);
    }
}
