using System.Net.Http.Json;
using Federation.Node.Hosting;

namespace Federation.Node.Tests;

/// <summary>After a node has served traffic and stopped, <c>fed ledger verify</c> re-checks the whole ledger.</summary>
public sealed class LedgerAfterRunTests
{
    [Fact]
    public async Task Fed_ledger_verify_passes_after_a_run_and_fails_after_tampering()
    {
        var dir = NodeFixture.TempDir("fed-node-verify");
        using var cleanup = new DirCleanup(dir);
        var (app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0" });
        using (var http = new HttpClient { BaseAddress = url })
        {
            foreach (var q in new[] { "hello", "fix this python bug", "summarize the news" })
                (await http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = q } }, max_tokens = 4 })).EnsureSuccessStatusCode();
        }
        await app.StopAsync();
        await app.DisposeAsync();

        var ok = CliRunner.Fed("ledger", "verify", "--data-dir", dir);
        Assert.True(ok.Code == 0, ok.Out + ok.Err);
        using (var ledger = Federation.Registry.Ledger.SqliteLedger.Open(Path.Combine(dir, "ledger.db"), key: null))
        {
            // the node signs a tree head at shutdown; on a mismatch the message lists what the ledger holds
            var size = ledger.LatestSth()!.TreeSize;
            Assert.True(size == 3, $"tree head size {size}, entries: {string.Join(", ", Enumerable.Range(0, (int)ledger.Size).Select(i => ledger.GetEntry(i).Envelope.Type))}");
        }

        // Flip one byte of a stored entry: verification must now fail with exit code 3.
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "ledger.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE entries SET envelope = CAST(REPLACE(CAST(envelope AS TEXT), '\"answer\"', '\"answex\"') AS BLOB) WHERE idx = 1";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        Assert.Equal(3, CliRunner.Fed("ledger", "verify", "--data-dir", dir).Code);
    }
}
