using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Review;
using Microsoft.Playwright;

namespace Federation.Node.Tests;

/// <summary>The /review page in a real browser (Playwright driving Debian's chromium): sign in, approve, reject.</summary>
[Collection("node")]
public sealed class ReviewPageTests(NodeFixture node)
{
    private async Task<string> PendingReviewAsync(string query)
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = query } }, max_tokens = 4 });
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        return (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString()!;
    }

    [Fact]
    public async Task A_reviewer_reads_the_panel_approves_one_members_answer_with_an_edit_and_rejects_another()
    {
        var approveId = await PendingReviewAsync("a defense strategy for the european joint venture");
        var rejectId = await PendingReviewAsync("the security strategy for our defense partners");
        var queue = node.App.Services.GetRequiredService<ReviewQueue>();
        var panel = queue.Get(approveId)!.Panel;
        Assert.Equal(3, panel.Count);   // the T3 class-C panel: every member's answer is kept for the reviewer

        using var pw = await Playwright.CreateAsync();
        await using var browser = await PageTestSupport.LaunchAsync(pw);
        // scripts off: the page must work as plain HTML forms
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { JavaScriptEnabled = false, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(new Uri(node.BaseUrl, "/review").ToString());

        // A client key is not a reviewer key.
        await page.FillAsync("#key", node.ClientKey);
        await page.ClickAsync("#login");
        Assert.Contains("not a reviewer key", await page.ContentAsync(), StringComparison.Ordinal);

        await page.FillAsync("#key", node.ReviewerKey);
        await page.ClickAsync("#login");
        var approveBox = page.Locator($"[data-review-id='{approveId}']");
        await approveBox.WaitForAsync();
        Assert.Contains("european joint venture", await approveBox.Locator(".query").InnerTextAsync(), StringComparison.Ordinal);
        // the matched rule spans are highlighted in the query, and the trace is a list in words
        var marked = await approveBox.Locator(".query mark").AllInnerTextsAsync();
        Assert.Contains("defense", marked);
        Assert.Contains("joint venture", marked);
        Assert.Contains(await approveBox.Locator(".trace li").AllInnerTextsAsync(), li => li.Contains("rule defense of topic strategy", StringComparison.Ordinal));
        Assert.Contains("agreement", await approveBox.Locator(".agreement").InnerTextAsync(), StringComparison.Ordinal);

        // every member side by side, each with its CIDs and provenance
        var members = approveBox.Locator(".member");
        Assert.Equal(3, await members.CountAsync());
        for (var k = 0; k < 3; k++)
        {
            var id = panel[k].Specialist;
            var m = approveBox.Locator($".member[data-member='{id}']");
            var binding = node.Runtime.Specialists[id];
            var text = await m.InnerTextAsync();
            Assert.Contains(binding.BaseCid, text, StringComparison.Ordinal);
            Assert.Contains(binding.AdapterCid, text, StringComparison.Ordinal);
            Assert.Equal(binding.Ref.Jurisdiction, await m.Locator(".jurisdiction").InnerTextAsync());
            Assert.Equal(binding.Ref.BaseLineage, await m.Locator(".lineage").InnerTextAsync());
            Assert.Contains("not signed yet", await m.Locator(".manifest").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(panel[k].Text, await m.GetByLabel($"Answer of {id} (edit before approving if needed)").InputValueAsync());
        }
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = PageTestSupport.DocsImage("review.png"), FullPage = true });

        // approve the second member's answer, edited
        var chosen = panel[1].Specialist;
        var chosenBox = approveBox.Locator($".member[data-member='{chosen}']");
        await chosenBox.GetByLabel($"Answer of {chosen} (edit before approving if needed)").FillAsync("Edited in the browser.");
        await chosenBox.Locator("button.approve").ClickAsync();
        await page.Locator(".flash").WaitForAsync();
        Assert.Contains($"{approveId} approved ({chosen}'s answer)", await page.Locator(".flash").InnerTextAsync(), StringComparison.Ordinal);

        var rejectBox = page.Locator($"[data-review-id='{rejectId}']");
        await rejectBox.GetByLabel("Reason for rejecting every answer").FillAsync("not for release");
        await rejectBox.Locator("button.reject").ClickAsync();
        await page.Locator(".flash").WaitForAsync();
        Assert.Contains($"{rejectId} rejected", await page.Locator(".flash").InnerTextAsync(), StringComparison.Ordinal);

        var approved = queue.Get(approveId)!;
        Assert.Equal(ReviewStatus.Approved, approved.Status);
        Assert.Equal("Edited in the browser.", approved.FinalAnswer);
        Assert.Equal(chosen, approved.Member);
        Assert.Equal("alice", approved.Reviewer);
        Assert.NotNull(approved.LedgerIndex);
        // the ledgered, signed decision records which member was approved
        var entry = node.Runtime.Ledger.GetEntry(approved.LedgerIndex!.Value);
        var review = (Federation.Registry.Json.JsonObject)((Federation.Registry.Json.JsonObject)entry.Envelope.Payload)["review"];
        Assert.Equal(chosen, ((Federation.Registry.Json.JsonObject)review["payload"])["member"].AsString());
        var rejected = queue.Get(rejectId)!;
        Assert.Equal(ReviewStatus.Rejected, rejected.Status);
        Assert.Equal("not for release", rejected.Comment);
        var fetched = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{approveId}");
        Assert.Equal("Edited in the browser.", fetched.GetProperty("answer").GetString());

        // the reviewer's past decisions link to their ledger entries in the explorer
        var past = page.Locator($"#past tr[data-past-review='{approveId}']");
        Assert.Equal(chosen, await past.Locator(".member-name").InnerTextAsync());
        Assert.Equal($"/explorer/ledger/{approved.LedgerIndex}", await past.Locator("a").GetAttributeAsync("href"));
        Assert.Contains("approved (edited)", await past.Locator(".status").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approving_a_name_that_is_not_on_the_panel_is_refused_and_changes_nothing()
    {
        var id = await PendingReviewAsync("defense strategy for the member check");
        var reviews = node.App.Services.GetRequiredService<ReviewService>();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => reviews.DecideAsync(id, true, "alice", null, null, CancellationToken.None, member: "general-qwen"));
        Assert.Contains("not a member", e.Message, StringComparison.Ordinal);
        Assert.Equal(ReviewStatus.Pending, node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Status);
        // approving a member without an edit releases that member's answer as it is
        var panel = node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Panel;
        var item = await reviews.DecideAsync(id, true, "alice", null, null, CancellationToken.None, member: panel[2].Specialist);
        Assert.Equal(panel[2].Text, item.FinalAnswer);
        Assert.Equal(panel[2].Specialist, item.Member);
    }

    [Fact]
    public async Task Fed_review_approve_member_releases_that_members_answer_and_the_review_api_names_the_member()
    {
        var id = await PendingReviewAsync("defense strategy for the cli member check");
        var panel = node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Panel;
        Assert.True(panel.Count >= 2, "a T3 review keeps every panel member's answer");
        var shown = CliRunner.Fed("review", "show", id, "--data-dir", node.DataDir, "-o", "json");
        Assert.Equal(0, shown.Code);
        Assert.Equal(panel.Count, JsonDocument.Parse(shown.Out).RootElement.GetProperty("panel").GetArrayLength());

        var bad = CliRunner.Fed("review", "approve", id, "--reviewer", "alice", "--member", "no-such-specialist", "--data-dir", node.DataDir);
        Assert.NotEqual(0, bad.Code);
        Assert.Equal(ReviewStatus.Pending, node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Status);

        var chosen = panel[1];
        var ok = CliRunner.Fed("review", "approve", id, "--reviewer", "alice", "--member", chosen.Specialist, "--data-dir", node.DataDir, "-o", "json");
        Assert.True(ok.Code == 0, ok.Err);
        var json = JsonDocument.Parse(ok.Out).RootElement;
        Assert.Equal(chosen.Specialist, json.GetProperty("member").GetString());
        Assert.Equal(chosen.Text, json.GetProperty("final_answer").GetString());

        // the running node ledgers the decision; the review API then names the member and releases its text
        JsonElement review = default;
        for (var i = 0; i < 100; i++)
        {
            review = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{id}");
            if (review.TryGetProperty("answer", out var a) && a.ValueKind == JsonValueKind.String) break;
            await Task.Delay(100);
        }
        Assert.Equal("approved", review.GetProperty("status").GetString());
        Assert.Equal(chosen.Specialist, review.GetProperty("member").GetString());
        Assert.Equal(chosen.Text, review.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task A_decision_without_the_forms_anti_forgery_token_is_refused()
    {
        var id = await PendingReviewAsync("defense strategy review for the board");
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = node.BaseUrl };
        using var login = await http.PostAsync("/review/login", new FormUrlEncodedContent([new("key", node.ReviewerKey)]));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        using var forged = await http.PostAsync($"/review/{id}/approve", new FormUrlEncodedContent([new("csrf", "wrong"), new("answer", "x")]));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(ReviewStatus.Pending, node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Status);
    }

    [Fact]
    public async Task A_revoked_reviewers_open_session_ends_at_once_and_cannot_decide()
    {
        var id = await PendingReviewAsync("defense strategy for the revocation drill");
        var keys = node.App.Services.GetRequiredService<Federation.Node.Auth.ApiKeyStore>();
        var secret = keys.Create("revokee-" + Guid.NewGuid().ToString("N")[..6], "reviewer").Secret;
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = node.BaseUrl };
        using (var login = await http.PostAsync("/review/login", new FormUrlEncodedContent([new("key", secret)])))
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var page = await http.GetStringAsync("/review");
        var csrf = System.Text.RegularExpressions.Regex.Match(page, "name=\"csrf\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(csrf);

        Assert.True(keys.Revoke(keys.List().Single(k => k.Role == "reviewer" && k.Name.StartsWith("revokee-", StringComparison.Ordinal) && !k.Revoked).Id));
        Assert.Contains("Reviewer API key", await http.GetStringAsync("/review"), StringComparison.Ordinal);   // the login form again
        using var decide = await http.PostAsync($"/review/{id}/approve", new FormUrlEncodedContent([new("csrf", csrf), new("answer", "x")]));
        Assert.Equal(HttpStatusCode.Redirect, decide.StatusCode);
        Assert.Contains("Sign%20in%20first", decide.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(ReviewStatus.Pending, node.App.Services.GetRequiredService<ReviewQueue>().Get(id)!.Status);
    }

    [Fact]
    public async Task A_review_post_that_is_not_a_form_is_an_openai_shaped_415()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = node.BaseUrl };
        using (var notAForm = await http.PostAsync("/review/login", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, notAForm.StatusCode);
            Assert.Equal("request.unsupported_media_type", (await notAForm.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }
        using (var login = await http.PostAsync("/review/login", new FormUrlEncodedContent([new("key", node.ReviewerKey)])))
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        using var resp = await http.PostAsync("/review/rev_x/approve", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, resp.StatusCode);
        Assert.Equal("request.unsupported_media_type", (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }
}
