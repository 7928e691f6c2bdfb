using System.Net.Http.Json;
using Federation.Node.Answering;
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
        int tampered;
        using (var ledger = Federation.Registry.Ledger.SqliteLedger.Open(Path.Combine(dir, "ledger.db"), key: null))
        {
            // The three answers, and possibly a self-audit re-check: the gate samples answers for one at the topic's
            // audit rate, drawn from the node key and the time, so a fresh node sometimes draws one (2 of 5 full runs).
            // The tree head signed at shutdown covers every entry.
            var types = Enumerable.Range(0, (int)ledger.Size).Select(i => ledger.GetEntry(i).Envelope.Type).ToList();
            var what = $"tree head size {ledger.LatestSth()!.TreeSize}, entries: {string.Join(", ", types)}";
            Assert.True(ledger.LatestSth()!.TreeSize == ledger.Size, what);
            Assert.True(types.Count(t => t == AnswerRecord.EntryType) == 3, what);
            Assert.True(types.All(t => t is AnswerRecord.EntryType or Federation.Governance.ReputationBook.RecheckType), what);
            tampered = types.IndexOf(AnswerRecord.EntryType, 1); // an answer that is not the first entry
        }

        // Flip one byte of a stored answer entry: verification must now fail with exit code 3.
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "ledger.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"UPDATE entries SET envelope = CAST(REPLACE(CAST(envelope AS TEXT), '\"answer\"', '\"answex\"') AS BLOB) WHERE idx = {tampered}";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        Assert.Equal(3, CliRunner.Fed("ledger", "verify", "--data-dir", dir).Code);
    }
}
