using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Memory.Rag;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary>
/// Class B over real HTTP (issue 10, docs/memory.md §"Class B"): the `general` topic is class B in policies/routing.yaml;
/// its answers are checked against the signed fragments retrieved for them. The node's real (tiny, random) model writes
/// the answers; the seeds that make it state numbers the fragment does or does not state are found by asking, and each
/// verdict is checked against the answer text the ledger keeps (--store-bodies).
/// </summary>
public sealed class MemoryClassBTests : IAsyncLifetime, IDisposable
{
    // the fragment states 1–7; an answer stating only those agrees, one stating 0, 8, 9 or a longer number contradicts it
    private const string Fact = "Wildebeest herds counted at the Mara crossing: 1, 2, 3, 4, 5, 6 and 7 thousand.";
    private const string Question = "explain the wildebeest herds counted at the mara crossing";

    private readonly string _dir = NodeFixture.TempDir("fed-node-classb");
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var secret = new ApiKeyStore(Path.Combine(_dir, "node.db")).Create("ann").Secret;
        Uri url;
        (_app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = _dir, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(1), StoreBodies = true });
        _http = new HttpClient { BaseAddress = url };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
    }

    public async Task DisposeAsync() => await NodeFixture.StopAsync(_app, _dir);

    public void Dispose() => _http.Dispose();

    private NodeRuntime Runtime => _app.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    private JsonValue LastAnswerEntry()
    {
        for (long i = Runtime.Ledger.Size - 1; i >= 0; i--)
        {
            var e = Runtime.Ledger.GetEntry(i).Envelope;
            if (e.Type == "answer") return e.Payload;
        }
        throw new InvalidOperationException("no answer entry in the ledger");
    }

    private static JsonValue SnapshotCheck(JsonValue entry) =>
        ((JsonArray)entry["verification"]["checks"]).Single(c => c["checker"].AsString() == "memory_snapshot");

    [Fact]
    public async Task A_class_b_answer_that_contradicts_its_signed_fragment_is_withheld_and_one_that_agrees_is_released()
    {
        using var author = NodeKey.Generate();
        var f = SignedFragment.Seal(new Fragment(MemoryNamespace.Public, Fact, [], author.Id, 1_700_000_000_000), author);
        var cid = (await Runtime.Memory.PutAsync(MemoryPrincipal.Operator, [f.Envelope]))[0].Cid.ToString();
        var stated = SnapshotMatch.Numbers(Fact);

        bool agreed = false, contradicted = false;
        var seen = new List<string>();
        for (int seed = 1; seed <= 80 && !(agreed && contradicted); seed++)
        {
            using var resp = await _http.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "federation",
                messages = new[] { new { role = "user", content = Question } },
                max_tokens = 24,
                temperature = 1.0,
                seed,
            });
            var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
            var entry = LastAnswerEntry();
            var text = entry["answer"].AsString();
            var numbers = SnapshotMatch.Numbers(text);
            seen.Add($"{(int)resp.StatusCode} [{string.Join(",", numbers)}]");
            Assert.Equal("general", entry["route"]["topic"].AsString());
            Assert.Equal("B", entry["verification"]["class"].AsString());
            Assert.Equal(cid, entry["memory"]["fragments"][0]["fragment_cid"].AsString());
            var check = SnapshotCheck(entry);
            if (numbers.Count > 0 && numbers.All(n => stated.Contains(n)))
            {
                // agrees: released, the check passed and names the fragment
                Assert.True(resp.StatusCode == HttpStatusCode.OK, $"{(int)resp.StatusCode}: {body}");
                Assert.Equal(text, body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
                var v = body.GetProperty("federation").GetProperty("verification");
                Assert.Equal("passed", v.GetProperty("status").GetString());
                Assert.Contains(v.GetProperty("checks").EnumerateArray(), c => c.GetProperty("checker").GetString() == "memory_snapshot" && c.GetProperty("outcome").GetString() == "passed");
                Assert.Equal("passed", check["outcome"].AsString());
                Assert.Contains(cid, check["detail"].AsString(), StringComparison.Ordinal);
                agreed = true;
            }
            else if (numbers.Any(n => !stated.Contains(n)))
            {
                // contradicts: withheld exactly like a refuted class-A answer (422 verification.failed), and ledgered as failed
                Assert.True(resp.StatusCode == (HttpStatusCode)422, $"{(int)resp.StatusCode}: {body}");
                var error = body.GetProperty("error");
                Assert.Equal("verification.failed", error.GetProperty("code").GetString());
                Assert.Equal("verification_failed", error.GetProperty("type").GetString());
                Assert.Contains("class B", error.GetProperty("message").GetString(), StringComparison.Ordinal);
                Assert.Equal("failed", entry["verification"]["status"].AsString());
                Assert.Equal("failed", check["outcome"].AsString());
                Assert.Contains(numbers.First(n => !stated.Contains(n)), check["detail"].AsString(), StringComparison.Ordinal);
                contradicted = true;
            }
            else
            {
                // no number in the answer: nothing to compare, released as the gate decided
                Assert.True(resp.StatusCode == HttpStatusCode.OK, $"{(int)resp.StatusCode}: {body}");
                Assert.Equal("notapplicable", check["outcome"].AsString());
            }
        }
        Assert.True(agreed && contradicted, $"the model never {(agreed ? "contradicted" : "agreed with")} the fragment in 80 seeds: {string.Join("; ", seen)}");
    }

    [Fact]
    public void The_match_rule_compares_numbers_by_value()
    {
        Assert.Equal(["3000", "1.5", "7", "2026"], SnapshotMatch.Numbers("3,000 herds, 1.50 km, 07 days, in 2026"));
        Assert.Empty(SnapshotMatch.Numbers("no numbers here"));
    }
}
