using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Api;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Node.Review;

namespace Federation.Node.Tests;

/// <summary>
/// A node with two generation slots and a long review wait, so T3 requests that hold a slot while waiting would lock
/// everyone out (issue 8); keys are made per test so per-key bounds do not leak between tests.
/// </summary>
public sealed class ReviewNodeFixture : IAsyncLifetime
{
    public string DataDir { get; } = NodeFixture.TempDir("fed-node-reviews");
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ReviewerKey { get; private set; } = "";
    public ReviewQueue Queue => App.Services.GetRequiredService<ReviewQueue>();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        ReviewerKey = new ApiKeyStore(Path.Combine(DataDir, "node.db")).Create("rita", "reviewer").Secret;
        (App, BaseUrl) = await NodeFixture.StartAsync(new NodeOptions
        {
            DataDir = DataDir, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(120), MaxQueue = 2, AdmissionQueue = 256,
        });
    }

    /// <summary>A new client key and an HTTP client that sends it.</summary>
    public HttpClient Client(string name)
    {
        var secret = new ApiKeyStore(Path.Combine(DataDir, "node.db")).Create(name + "-" + Guid.NewGuid().ToString("N")[..6]).Secret;
        return With(secret);
    }

    public HttpClient With(string secret)
    {
        var http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    public async Task DisposeAsync() => await NodeFixture.StopAsync(App, DataDir);
}

/// <summary>Hostile use of T3 review over real HTTP: waiting must not starve others, bounds per key, async mode, who reads what.</summary>
public sealed class HostileReviewTests(ReviewNodeFixture node) : IClassFixture<ReviewNodeFixture>
{
    private const string T3 = "what is our defense strategy for the joint venture";

    private static object Chat(string content, bool async = false) => async
        ? new { model = "federation", messages = new[] { new { role = "user", content } }, max_tokens = 2, federation = new { review = "async" } }
        : new { model = "federation", messages = new[] { new { role = "user", content } }, max_tokens = 2 };

    [Fact]
    public async Task Sixty_four_t3_requests_waiting_for_review_do_not_block_a_t1_client()
    {
        var clients = Enumerable.Range(0, 4).Select(i => node.Client("t3-" + i)).ToList();
        var before = node.Queue.List(ReviewStatus.Pending, 10_000).Count;
        var queued = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnQueued(ReviewItem _)
        {
            if (Interlocked.Increment(ref queued) == 64) all.TrySetResult();
        }
        node.Queue.Enqueued += OnQueued;
        using var cancel = new CancellationTokenSource();
        var waiting = new List<Task<HttpResponseMessage>>();
        try
        {
            foreach (var c in clients)
                for (var i = 0; i < 16; i++) waiting.Add(c.PostAsJsonAsync("/v1/chat/completions", Chat($"{T3} number {waiting.Count}"), cancel.Token));
            await all.Task.WaitAsync(TimeSpan.FromMinutes(3));
            Assert.Equal(before + 64, node.Queue.List(ReviewStatus.Pending, 10_000).Count);

            // All 64 are now waiting for a human; none holds one of the node's two generation slots.
            Assert.Equal(0, node.App.Services.GetRequiredService<AdmissionControl>().InUse);
            using var t1 = node.Client("t1");
            var sw = Stopwatch.StartNew();
            using var resp = await t1.PostAsJsonAsync("/v1/chat/completions", Chat("hello there"));
            Assert.True(resp.StatusCode == HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"the T1 answer took {sw.Elapsed}");
            Assert.All(waiting, w => Assert.False(w.IsCompleted, "a T3 request stopped waiting before its reviewer decided"));
        }
        finally
        {
            node.Queue.Enqueued -= OnQueued;
            await cancel.CancelAsync();
            foreach (var w in waiting)
            {
                try { (await w).Dispose(); } catch (OperationCanceledException) { }
            }
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public async Task The_seventeenth_pending_review_of_one_key_is_a_429_with_retry_after_and_other_keys_are_unaffected()
    {
        using var greedy = node.Client("greedy");
        for (var i = 0; i < AdmissionControl.DefaultMaxPendingReviewsPerKey; i++)
        {
            using var r = await greedy.PostAsJsonAsync("/v1/chat/completions", Chat($"{T3} {i}", async: true));
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        }
        using var over = await greedy.PostAsJsonAsync("/v1/chat/completions", Chat(T3 + " once more", async: true));
        Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        Assert.NotNull(over.Headers.RetryAfter);
        var error = (await over.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("review.too_many_pending", error.GetProperty("code").GetString());
        Assert.Contains($"at most {AdmissionControl.DefaultMaxPendingReviewsPerKey}", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The same key still gets non-T3 answers, and another key still gets T3 reviews.
        using var t1 = await greedy.PostAsJsonAsync("/v1/chat/completions", Chat("hello there"));
        Assert.Equal(HttpStatusCode.OK, t1.StatusCode);
        using var modest = node.Client("modest");
        using var other = await modest.PostAsJsonAsync("/v1/chat/completions", Chat(T3, async: true));
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
    }

    [Fact]
    public async Task Async_review_answers_409_at_once_and_only_the_requester_or_a_reviewer_reads_it()
    {
        using var owner = node.Client("owner");
        var sw = Stopwatch.StartNew();
        using var resp = await owner.PostAsJsonAsync("/v1/chat/completions", Chat(T3, async: true));
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "async mode waited for the reviewer (the node's review wait is 120 s)");
        Assert.NotNull(resp.Headers.RetryAfter);
        var error = (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("review.pending", error.GetProperty("code").GetString());
        var id = error.GetProperty("param").GetString()!;

        using (var mine = await owner.GetAsync($"/v1/federation/reviews/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
            Assert.Equal("pending", (await mine.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }
        using var stranger = node.Client("stranger");
        using (var theirs = await stranger.GetAsync($"/v1/federation/reviews/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
            Assert.Equal("review.not_found", (await theirs.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }
        using var reviewer = node.With(node.ReviewerKey);
        using (var read = await reviewer.GetAsync($"/v1/federation/reviews/{id}"))
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        await node.App.Services.GetRequiredService<ReviewService>().DecideAsync(id, true, "rita", "approved text", null, CancellationToken.None);
        var done = await owner.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{id}");
        Assert.Equal("approved", done.GetProperty("status").GetString());
        Assert.Equal("approved text", done.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task An_unknown_review_mode_is_a_400_naming_it()
    {
        using var c = node.Client("mode");
        using var resp = await c.PostAsJsonAsync("/v1/chat/completions",
            new { model = "federation", messages = new[] { new { role = "user", content = T3 } }, federation = new { review = "later" } });
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Equal("federation.review", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
    }
}
