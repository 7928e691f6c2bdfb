using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Review;
using Federation.Registry.Envelopes;

namespace Federation.Node.Tests;

/// <summary>The verification gate: class-A checkers, class-C panels, T3 human review, provenance — each ledgered.</summary>
[Collection("node")]
public sealed class VerificationGateTests(NodeFixture node)
{
    private const string StrategyQuery = "what is our defense strategy for the joint venture";

    private Task<HttpResponseMessage> Chat(string content, string model = "federation", object? federation = null) =>
        node.Http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content } },
            max_tokens = 6,
            federation,
        });

    private static async Task<JsonElement> Error(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

    private ReviewService Reviews => node.App.Services.GetRequiredService<ReviewService>();
    private ReviewQueue Queue => node.App.Services.GetRequiredService<ReviewQueue>();

    [Fact]
    public async Task A_wrong_arithmetic_answer_is_withheld_with_422_and_still_ledgered()
    {
        var before = node.Runtime.Ledger.Size;
        using var resp = await Chat("compute 12 * 7 in math please");
        Assert.Equal((HttpStatusCode)422, resp.StatusCode);
        var e = await Error(resp);
        Assert.Equal("verification.failed", e.GetProperty("code").GetString());
        Assert.Contains("84", e.GetProperty("message").GetString(), StringComparison.Ordinal);
        var entries = Enumerable.Range((int)before, (int)(node.Runtime.Ledger.Size - before)).Select(i => node.Runtime.Ledger.GetEntry(i).Envelope.Payload).ToList();
        Assert.Contains(entries, p => p["verification"]["status"].AsString() == "failed" && p["route"]["topic"].AsString() == "math");
    }

    [Fact]
    public async Task A_t3_answer_waits_for_review_then_the_approved_edit_is_served_and_ledgered_with_the_reviewers_signature()
    {
        using var resp = await Chat(StrategyQuery);
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        var e = await Error(resp);
        Assert.Equal("review.pending", e.GetProperty("code").GetString());
        var id = e.GetProperty("param").GetString()!;
        var pending = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{id}");
        Assert.Equal("pending", pending.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("answer").ValueKind);

        var item = await Reviews.DecideAsync(id, approve: true, "alice", "A reviewed answer.", "fine", CancellationToken.None);
        Assert.NotNull(item.LedgerIndex);
        var done = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{id}");
        Assert.Equal("approved", done.GetProperty("status").GetString());
        Assert.Equal("A reviewed answer.", done.GetProperty("answer").GetString());

        var entry = node.Runtime.Ledger.GetEntry(item.LedgerIndex!.Value).Envelope.Payload;
        Assert.Equal("passed", entry["verification"]["status"].AsString());
        var decision = SignedEnvelope.FromJson(entry["review"]);
        Assert.True(decision.Verify().IsValid);
        Assert.Equal("approved", decision.Payload["decision"].AsString());
        using var reviewerKey = Reviews.ReviewerKey("alice");
        Assert.Equal(reviewerKey.Id, decision.Signer);
        Assert.Throws<InvalidOperationException>(() => Queue.Decide(id, false, "bob", null, "too late"));
    }

    [Fact]
    public async Task A_waiting_t3_client_gets_the_answer_when_a_reviewer_approves_in_time()
    {
        var dir = NodeFixture.TempDir("fed-node-wait");
        var (app, url) = await NodeFixture.StartAsync(new Federation.Node.Hosting.NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(60) });
        try
        {
            using var http = new HttpClient { BaseAddress = url };
            var queue = app.Services.GetRequiredService<ReviewQueue>();
            var enqueued = new TaskCompletionSource<ReviewItem>(TaskCreationOptions.RunContinuationsAsynchronously);
            queue.Enqueued += item => enqueued.TrySetResult(item);
            var call = http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = StrategyQuery } }, max_tokens = 4 });
            var pending = await enqueued.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await app.Services.GetRequiredService<ReviewService>().DecideAsync(pending.Id, true, "carol", null, null, CancellationToken.None);
            using var resp = await call;
            resp.EnsureSuccessStatusCode();
            var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(pending.Draft, body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            var fed = body.GetProperty("federation");
            Assert.Equal("carol", fed.GetProperty("review").GetProperty("reviewer").GetString());
            Assert.Equal("passed", fed.GetProperty("verification").GetProperty("status").GetString());
            // The response and the ledger entry come from one AnswerRecord: same verification, same answer hash.
            var rt = app.Services.GetRequiredService<Federation.Node.Hosting.RuntimeHolder>().Runtime!;
            var entry = rt.Ledger.GetEntry(fed.GetProperty("ledger").GetProperty("index").GetInt64()).Envelope.Payload;
            Assert.Equal(fed.GetProperty("verification").GetProperty("detail").GetString(), entry["verification"]["detail"].AsString());
            Assert.Equal(Federation.Node.Answering.AnswerRecord.Sha256(pending.Draft), entry["answer_sha256"].AsString());
        }
        finally
        {
            await NodeFixture.StopAsync(app, dir);
        }
    }

    [Fact]
    public async Task A_rejected_t3_answer_is_never_released()
    {
        using var resp = await Chat(StrategyQuery + " in europe");
        var id = (await Error(resp)).GetProperty("param").GetString()!;
        var item = await Reviews.DecideAsync(id, approve: false, "alice", null, "not acceptable", CancellationToken.None);
        Assert.Equal(ReviewStatus.Rejected, item.Status);
        var j = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{id}");
        Assert.Equal("rejected", j.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("answer").ValueKind);
        var entry = node.Runtime.Ledger.GetEntry(item.LedgerIndex!.Value).Envelope.Payload;
        Assert.Equal("rejected", entry["verification"]["status"].AsString());
        Assert.Equal(Federation.Registry.Json.JsonKind.Null, entry["answer_sha256"].Kind);
    }

    [Fact]
    public async Task A_class_c_query_goes_to_a_provenance_diverse_panel()
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/federation/route", new { query = "is this contract clause legal under the lawsuit" });
        resp.EnsureSuccessStatusCode();
        var d = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("C", d.GetProperty("verification_class").GetString());
        Assert.Equal("panel", d.GetProperty("mode").GetString());
        var ids = d.GetProperty("specialists").EnumerateArray().Select(x => x.GetString()!).ToList();
        Assert.Equal(node.Runtime.Policy.PanelSize, ids.Count);
        var provenance = ids.Select(i => (node.Runtime.Specialists[i].Ref.BaseLineage, node.Runtime.Specialists[i].Ref.Jurisdiction)).ToHashSet();
        Assert.Equal(ids.Count, provenance.Count);
        Assert.NotEmpty(d.GetProperty("trace").EnumerateArray());
    }

    [Fact]
    public async Task A_t3_query_sent_to_a_forbidden_specialist_is_refused_not_rerouted()
    {
        using var resp = await Chat(StrategyQuery, model: "general-qwen");
        Assert.Equal((HttpStatusCode)422, resp.StatusCode);
        Assert.Equal("router.provenance_forbidden", (await Error(resp)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_ledger_verifies_after_traffic()
    {
        using var resp = await Chat("hello, explain tides");
        resp.EnsureSuccessStatusCode();
        var v = node.Runtime.Ledger.VerifyAll(node.Runtime.Key.Id);
        Assert.True(v.IsValid, string.Join("; ", v.Issues.Select(i => i.Message)));
        Assert.True(v.TreeSize >= 1);
        var entry = node.Runtime.Ledger.GetEntry(v.TreeSize - 1).Envelope.Payload;
        foreach (var field in new[] { "query_sha256", "answer_sha256", "route", "policy_cid", "specialists", "memory_root", "verification", "review" })
            Assert.True(entry.AsObject().ContainsKey(field), $"answer entry lacks '{field}'");
        Assert.False(entry.AsObject().ContainsKey("query"), "bodies must not be stored unless configured");
    }
}
