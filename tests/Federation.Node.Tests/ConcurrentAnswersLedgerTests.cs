using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Answering;

namespace Federation.Node.Tests;

/// <summary>
/// Issue 15, group commit across concurrent answers: answers that arrive together share ledger commits, and each one is
/// returned only after its own entry is durable, so every returned ledger index already holds that answer's entry.
/// </summary>
[Collection("node")]
public sealed class ConcurrentAnswersLedgerTests(NodeFixture node)
{
    [Fact]
    public async Task Concurrent_answers_each_land_in_the_ledger_before_they_return_and_the_log_verifies()
    {
        var ledger = node.Runtime.Ledger;
        var queries = Enumerable.Range(0, 6).Select(i => $"hello number {i}, explain how tides work").ToList();
        var responses = await Task.WhenAll(queries.Select(async q =>
        {
            using var r = await node.Http.PostAsJsonAsync("/v1/chat/completions",
                new { model = "federation", messages = new[] { new { role = "user", content = q } }, max_tokens = 4 });
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, text);
            var doc = JsonDocument.Parse(text).RootElement;
            var index = doc.GetProperty("federation").GetProperty("ledger").GetProperty("index").GetInt64();
            // durable before the response: the committed size already covers it, and the entry is readable
            Assert.True(ledger.Size > index);
            return (Query: q, Index: index, Content: doc.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!,
                EntryId: doc.GetProperty("federation").GetProperty("ledger").GetProperty("entry_id").GetString());
        }));
        Assert.Equal(queries.Count, responses.Select(r => r.Index).Distinct().Count());
        foreach (var r in responses)
        {
            var entry = ledger.GetEntry(r.Index);
            Assert.Equal(r.EntryId, entry.Envelope.Id.ToString());
            Assert.Equal(AnswerRecord.Sha256($"user: {r.Query}"), entry.Envelope.Payload["query_sha256"].AsString());
            Assert.Equal(AnswerRecord.Sha256(r.Content), entry.Envelope.Payload["answer_sha256"].AsString());
        }
        Assert.True(ledger.VerifyAll(node.Runtime.Key.Id).IsValid);
    }
}
