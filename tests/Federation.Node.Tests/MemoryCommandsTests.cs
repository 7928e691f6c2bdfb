using System.Text.Json;

namespace Federation.Node.Tests;

/// <summary><c>fed memory …</c> end to end in-process: put, import, search, prove, offline verify, isolation.</summary>
public sealed class MemoryCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-memory-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Fed([.. args, "--data-dir", _dir]);

    [Fact]
    public void A_put_fragment_is_found_proved_and_verified_offline_and_a_tampered_proof_exits_3()
    {
        Assert.Equal(0, Run("init").Code);
        var put = Run("memory", "put", "--namespace", "public", "--text", "The Rhine flows through Basel.", "--output", "json");
        Assert.True(put.Code == 0, put.Err);
        var cid = JsonDocument.Parse(put.Out).RootElement.GetProperty("fragment_cid").GetString()!;

        var lines = Path.Combine(_dir, "in.jsonl");
        File.WriteAllText(lines, "{\"content\":\"Basel is in Switzerland.\",\"metadata\":{\"src\":\"atlas\"}}\n{\"content\":\"Zurich is the largest Swiss city.\"}\n");
        var import = Run("memory", "import", "--namespace", "topic:geo", lines, "--output", "json");
        Assert.True(import.Code == 0, import.Err);
        Assert.Equal(2, JsonDocument.Parse(import.Out).RootElement.GetProperty("appended").GetInt32());

        var search = Run("memory", "search", "Rhine Basel", "--output", "json");
        Assert.Equal(0, search.Code);
        Assert.Equal(cid, JsonDocument.Parse(search.Out).RootElement.GetProperty("hits")[0].GetProperty("fragment_cid").GetString());

        var prove = Run("memory", "prove", cid);
        Assert.True(prove.Code == 0, prove.Err);
        var proofFile = Path.Combine(_dir, "proof.json");
        File.WriteAllText(proofFile, prove.Out);
        var ok = CliRunner.Fed("memory", "verify", "--proof", proofFile, "--output", "json"); // no --data-dir: no database needed
        Assert.Equal(0, ok.Code);
        Assert.True(JsonDocument.Parse(ok.Out).RootElement.GetProperty("holds").GetBoolean());

        File.WriteAllText(proofFile, prove.Out.Replace("Rhine", "Rhone", StringComparison.Ordinal));
        var bad = CliRunner.Fed("memory", "verify", "--proof", proofFile);
        Assert.Equal(3, bad.Code);
        Assert.Contains("fragment_cid_mismatch", bad.Err, StringComparison.Ordinal);

        var root = Run("memory", "root", "--output", "json");
        Assert.Equal(2, JsonDocument.Parse(root.Out).RootElement.GetProperty("namespaces").GetInt32());
    }

    [Fact]
    public void Another_users_namespace_is_refused_with_the_rule()
    {
        Assert.Equal(0, Run("init").Code);
        Assert.Equal(0, Run("memory", "put", "--as", "alice", "--namespace", "user:alice", "--text", "private note").Code);
        var read = Run("memory", "search", "--as", "bob", "-n", "user:alice", "note");
        Assert.Equal(1, read.Code);
        Assert.Contains("user.private", read.Err, StringComparison.Ordinal);
        var write = Run("memory", "put", "--as", "bob", "--namespace", "user:alice", "--text", "x");
        Assert.Contains("user.private", write.Err, StringComparison.Ordinal);
        var usage = Run("memory", "put", "--namespace", "nowhere", "--text", "x");
        Assert.Equal(2, usage.Code);
        Assert.Contains("user:<id>, topic:<id> or public", usage.Err, StringComparison.Ordinal);
    }
}
