using System.Diagnostics;
using System.Text.Json;
using Federation.Node.Cli;
using Federation.Registry.Crypto;
using Federation.Registry.Ledger;

namespace Federation.Node.Tests.Cli;

public sealed class LedgerCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-ledger-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private (int Code, string Out, string Err) Fed(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = FedCli.Run(["--data-dir", _dir, .. args], o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string WritePayload(string json)
    {
        var f = Path.Combine(_dir, $"payload-{Guid.NewGuid():N}.json");
        File.WriteAllText(f, json);
        return f;
    }

    [Fact]
    public void Ledger_commands_without_a_node_key_tell_to_run_fed_init()
    {
        var (code, _, err) = Fed("ledger", "sth");
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("run 'fed init'", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Append_show_prove_consistency_sth_and_verify_work_end_to_end()
    {
        new NodeKeyStore(_dir).LoadOrCreate().Key.Dispose();
        var payload = WritePayload("""{"b": 2, "a": [1, "x"]}""");
        for (int i = 0; i < 9; i++)
        {
            var (code, output, err) = Fed("ledger", "append", "--type", "operator.note", "--json", payload, "-o", "json");
            Assert.True(code == 0, err);
            Assert.Equal(i, JsonDocument.Parse(output).RootElement.GetProperty("index").GetInt64());
        }
        var show = Fed("ledger", "show", "4", "-o", "json");
        Assert.Equal(0, show.Code);
        var env = JsonDocument.Parse(show.Out).RootElement.GetProperty("envelope");
        Assert.Equal("operator.note", env.GetProperty("type").GetString());
        Assert.Equal(2, env.GetProperty("payload").GetProperty("b").GetInt32());

        var sth = Fed("ledger", "sth", "-o", "json");
        Assert.Equal(0, sth.Code);
        var sthDoc = JsonDocument.Parse(sth.Out).RootElement;
        Assert.Equal(9, sthDoc.GetProperty("tree_size").GetInt64());

        // Ledger proofs are checked by the auditor's verifier.
        var prove = Fed("ledger", "prove", "3", "--size", "7", "-o", "json");
        Assert.Equal(0, prove.Code);
        var proofFile = Path.Combine(_dir, "proof.json");
        File.WriteAllText(proofFile, prove.Out);
        Assert.Equal(0, Fed("merkle", "verify", "--proof", proofFile).Code);
        var full = JsonDocument.Parse(Fed("ledger", "prove", "8", "-o", "json").Out).RootElement;
        Assert.Equal(sthDoc.GetProperty("root").GetString(), full.GetProperty("root").GetString());

        var cons = Fed("ledger", "consistency", "3", "9", "-o", "json");
        Assert.Equal(0, cons.Code);
        File.WriteAllText(proofFile, cons.Out);
        Assert.Equal(0, Fed("merkle", "verify", "--proof", proofFile).Code);
        File.WriteAllText(proofFile, cons.Out.Replace("\"size1\":3", "\"size1\":4", StringComparison.Ordinal));
        var bad = Fed("merkle", "verify", "--proof", proofFile);
        Assert.Equal(ExitCodes.VerificationFailed, bad.Code);
        Assert.Contains("does not hold", bad.Err, StringComparison.Ordinal);

        var verify = Fed("ledger", "verify");
        Assert.True(verify.Code == 0, verify.Err);
        Assert.Contains("ok: 9 entries", verify.Out, StringComparison.Ordinal);

        var outOfRange = Fed("ledger", "prove", "9");
        Assert.Equal(ExitCodes.Usage, outOfRange.Code);
        Assert.Contains("outside the tree of 9 entries", outOfRange.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_exits_3_when_an_entry_was_altered()
    {
        new NodeKeyStore(_dir).LoadOrCreate().Key.Dispose();
        var payload = WritePayload("""{"note": "hello"}""");
        Assert.Equal(0, Fed("ledger", "append", "--type", "t", "--json", payload, "--count", "5").Code);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir, "ledger.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE entries SET envelope = CAST(replace(CAST(envelope AS TEXT), 'hello', 'hallo') AS BLOB) WHERE idx = 2";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var v = Fed("ledger", "verify", "-o", "json");
        Assert.Equal(ExitCodes.VerificationFailed, v.Code);
        var doc = JsonDocument.Parse(v.Out).RootElement;
        Assert.False(doc.GetProperty("valid").GetBoolean());
        Assert.Contains(doc.GetProperty("issues").EnumerateArray(), i => i.GetProperty("problem").GetString() == "SignatureInvalid" && i.GetProperty("index").GetInt64() == 2);
    }

    /// <summary>
    /// Torn-write recovery: a real `fed ledger append --count` child process is killed with SIGKILL in the middle of
    /// appending; every index it acknowledged (printed after commit) must be present with the same leaf hash, and the
    /// log must open and verify. Repeated at several kill points, appending to the same log each time.
    /// </summary>
    [Fact]
    public async Task Ledger_killed_mid_append_loses_nothing_acknowledged_and_verifies()
    {
        using var key = new NodeKeyStore(_dir).LoadOrCreate().Key;
        var payload = WritePayload("""{"crash": "test", "pad": "0123456789abcdef0123456789abcdef"}""");
        var fedDll = typeof(FedCli).Assembly.Location;
        long before = 0;
        foreach (int killAfter in new[] { 1, 300, 3000 })
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { fedDll, "--data-dir", _dir, "ledger", "append", "--type", "crash.test", "--json", payload, "--count", "1000000", "-o", "json" })
                psi.ArgumentList.Add(a);
            using var child = Process.Start(psi)!;
            var acked = new Dictionary<long, string>();
            while (acked.Count < killAfter)
            {
                var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                if (line is null) Assert.Fail($"the child exited early: {await child.StandardError.ReadToEndAsync()}");
                var r = JsonDocument.Parse(line).RootElement;
                acked[r.GetProperty("index").GetInt64()] = r.GetProperty("leaf_hash").GetString()!;
            }
            child.Kill(entireProcessTree: false); // SIGKILL on Unix: no flush, no dispose
            await child.WaitForExitAsync();
            // Receipts printed between our last read and the kill are acknowledged too.
            string? more;
            while ((more = await child.StandardOutput.ReadLineAsync()) is not null)
                if (more.StartsWith('{')) { var r = JsonDocument.Parse(more).RootElement; acked[r.GetProperty("index").GetInt64()] = r.GetProperty("leaf_hash").GetString()!; }

            await using var ledger = SqliteLedger.Open(Path.Combine(_dir, "ledger.db"), key);
            Assert.True(ledger.Size >= acked.Keys.Max() + 1, $"log holds {ledger.Size} entries but index {acked.Keys.Max()} was acknowledged");
            Assert.True(ledger.Size > before);
            foreach (var (index, leafHash) in acked)
                Assert.Equal(leafHash, Convert.ToHexStringLower(ledger.GetEntry(index).LeafHash));
            var v = ledger.VerifyAll();
            Assert.True(v.IsValid, string.Join("\n", v.Issues));
            before = ledger.Size;
        }
    }
}
