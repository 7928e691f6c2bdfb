using System.Globalization;
using System.Text;
using System.Text.Json;
using Federation.Governance;
using Federation.Node.Cli;

namespace Federation.Node.Tests.Cli;

/// <summary><c>fed reputation ingest|show|chart</c> on real signed audit records (produced against the shared node), through <see cref="CliRunner"/>.</summary>
[Collection("node")]
public sealed class ReputationShowCommandsTests(NodeFixture node) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-reputation-show-").FullName;

    public void Dispose() => NodeFixture.DeleteDir(_dir);

    private string DataDir => Path.Combine(_dir, "data");

    private string Write(string name, string text)
    {
        // This data dir is the node's (its identity): the audit records the node signed are trusted (docs/reputation.md).
        Directory.CreateDirectory(Path.Combine(DataDir, "identity"));
        File.WriteAllText(Path.Combine(DataDir, "identity", "node_id"), node.Runtime.Key.Id.ToString());
        var f = Path.Combine(_dir, name);
        File.WriteAllText(f, text);
        return f;
    }

    [Fact]
    public async Task Ingest_then_show_gives_the_books_table_and_ingest_is_idempotent()
    {
        var (pass, fail) = await AuditRecords.GetAsync(node);
        var f1 = Write("pass.json", Encoding.UTF8.GetString(pass.ToCanonicalBytes()));
        var f2 = Write("fail.json", Encoding.UTF8.GetString(fail.ToCanonicalBytes()));

        var first = CliRunner.Fed("reputation", "ingest", f1, f2, "--data-dir", DataDir, "--output", "json");
        Assert.True(first.Code == 0, first.Err);
        var j = JsonDocument.Parse(first.Out).RootElement;
        Assert.Equal(2, j.GetProperty("added").GetInt32());
        Assert.Equal(pass.Id.ToString(), j.GetProperty("records")[0].GetProperty("id").GetString());

        var again = CliRunner.Fed("reputation", "ingest", f1, "--data-dir", DataDir, "--output", "json");
        Assert.Equal(0, again.Code);
        Assert.Equal(1, JsonDocument.Parse(again.Out).RootElement.GetProperty("existing").GetInt32());
        Assert.Equal(2, File.ReadAllLines(ReputationBookLog.PathIn(DataDir)).Length);

        var tau = AuditRecords.DayAfter(pass);
        var at = (tau * ReputationBook.SecondsPerDay).ToString("R", CultureInfo.InvariantCulture);
        var show = CliRunner.Fed("reputation", "show", "--topic", "math", "--at", at, "--data-dir", DataDir, "--output", "json");
        Assert.True(show.Code == 0, show.Err);
        var book = new ReputationBook();
        book.Ingest(pass);
        book.Ingest(fail);
        var expected = book.TableJson("math", double.Parse(at, CultureInfo.InvariantCulture) / ReputationBook.SecondsPerDay, ReputationShowCommands.Knobs(null, "math"));
        Assert.Equal(expected, show.Out.TrimEnd('\n', '\r'));
        var row = JsonDocument.Parse(show.Out).RootElement.GetProperty("nodes").EnumerateObject().Single();
        Assert.StartsWith(node.Runtime.Key.Id + "/", row.Name);
        Assert.Equal(2, row.Value.GetProperty("audits").GetInt32());
        Assert.False(JsonDocument.Parse(show.Out).RootElement.GetProperty("w_max_met").GetBoolean(), "one target cannot meet w_max 0.15");
        Assert.Equal(1.0, row.Value.GetProperty("weight").GetDouble());

        var text = CliRunner.Fed("reputation", "show", "--topic", "math", "--at", at, "--data-dir", DataDir);
        Assert.Equal(0, text.Code);
        Assert.Contains(row.Name, text.Out);
        Assert.Contains("shares are equal", text.Out);
    }

    [Fact]
    public async Task A_tampered_record_is_refused_with_exit_3_and_nothing_is_written()
    {
        var (pass, _) = await AuditRecords.GetAsync(node);
        var good = Write("good.json", Encoding.UTF8.GetString(pass.ToCanonicalBytes()));
        var bad = Write("bad.json", AuditRecords.Tampered(pass));
        var r = CliRunner.Fed("reputation", "ingest", good, bad, "--data-dir", DataDir);
        Assert.Equal(ExitCodes.VerificationFailed, r.Code);
        Assert.Contains("bad.json: refused", r.Err);
        Assert.Contains("does not verify", r.Err);
        Assert.False(File.Exists(ReputationBookLog.PathIn(DataDir)), "all-or-nothing: the good record was not written either");

        var show = CliRunner.Fed("reputation", "show", "--topic", "math", "--data-dir", DataDir);
        Assert.Equal(ExitCodes.Failure, show.Code);
        Assert.Contains("no reputation records for topic 'math'", show.Err);
    }

    [Fact]
    public async Task A_record_from_an_untrusted_signer_is_refused_with_exit_3_and_nothing_is_written()
    {
        var (pass, _) = await AuditRecords.GetAsync(node);
        using var stranger = Registry.Crypto.NodeKey.Generate();
        var foreign = Registry.Envelopes.SignedEnvelope.Seal(ReputationBook.AuditRecordType, pass.Payload, stranger);
        var good = Write("good.json", Encoding.UTF8.GetString(pass.ToCanonicalBytes()));
        var bad = Write("foreign.json", Encoding.UTF8.GetString(foreign.ToCanonicalBytes()));
        var r = CliRunner.Fed("reputation", "ingest", good, bad, "--data-dir", DataDir);
        Assert.Equal(ExitCodes.VerificationFailed, r.Code);
        Assert.Contains($"foreign.json: refused: record {foreign.Id}: signer {stranger.NodeId} is not a trusted audit signer", r.Err);
        Assert.DoesNotContain("good.json", r.Err);
        Assert.False(File.Exists(ReputationBookLog.PathIn(DataDir)), "all-or-nothing: the trusted record was not written either");
    }

    [Fact]
    public async Task Chart_writes_an_svg_with_one_line_per_target()
    {
        var (pass, fail) = await AuditRecords.GetAsync(node);
        var f = Write("both.jsonl", Encoding.UTF8.GetString(pass.ToCanonicalBytes()) + "\n" + Encoding.UTF8.GetString(fail.ToCanonicalBytes()) + "\n");
        Assert.Equal(0, CliRunner.Fed("reputation", "ingest", f, "--data-dir", DataDir).Code);
        var svg = Path.Combine(_dir, "chart.svg");
        var at = ((AuditRecords.DayAfter(pass) + 30) * ReputationBook.SecondsPerDay).ToString("R", CultureInfo.InvariantCulture);
        var r = CliRunner.Fed("reputation", "chart", "--topic", "math", "--at", at, "--out", svg, "--points", "5", "--data-dir", DataDir);
        Assert.True(r.Code == 0, r.Err);
        var content = File.ReadAllText(svg);
        Assert.StartsWith("<svg", content);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(content, "<polyline"));
        Assert.Contains(node.Runtime.Key.Id + "/", content);
        Assert.Contains("fed reputation chart: math", content);

        var bad = CliRunner.Fed("reputation", "show", "--topic", "math", "--at", "yesterday", "--data-dir", DataDir);
        Assert.Equal(ExitCodes.Usage, bad.Code);
        Assert.Contains("--at 'yesterday'", bad.Err);
    }
}
