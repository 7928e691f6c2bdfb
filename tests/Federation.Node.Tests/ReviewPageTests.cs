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
    private const string Chromium = "/usr/bin/chromium";

    private async Task<string> PendingReviewAsync(string query)
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = query } }, max_tokens = 4 });
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        return (await resp.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString()!;
    }

    [Fact]
    public async Task A_reviewer_signs_in_approves_one_answer_with_an_edit_and_rejects_another()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/setup.sh installs Debian's chromium");
        var approveId = await PendingReviewAsync("a defense strategy for the european joint venture");
        var rejectId = await PendingReviewAsync("the security strategy for our defense partners");

        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
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

        await approveBox.Locator("textarea[name=answer]").FillAsync("Edited in the browser.");
        await approveBox.Locator("button.approve").ClickAsync();
        await page.Locator(".flash").WaitForAsync();
        Assert.Contains($"{approveId} approved", await page.Locator(".flash").InnerTextAsync(), StringComparison.Ordinal);

        var rejectBox = page.Locator($"[data-review-id='{rejectId}']");
        await rejectBox.Locator("input[name=comment]").Last.FillAsync("not for release");
        await rejectBox.Locator("button.reject").ClickAsync();
        await page.Locator(".flash").WaitForAsync();
        Assert.Contains($"{rejectId} rejected", await page.Locator(".flash").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "fed-review-page.png"), FullPage = true });

        var queue = node.App.Services.GetRequiredService<ReviewQueue>();
        var approved = queue.Get(approveId)!;
        Assert.Equal(ReviewStatus.Approved, approved.Status);
        Assert.Equal("Edited in the browser.", approved.FinalAnswer);
        Assert.Equal("alice", approved.Reviewer);
        Assert.NotNull(approved.LedgerIndex);
        var rejected = queue.Get(rejectId)!;
        Assert.Equal(ReviewStatus.Rejected, rejected.Status);
        Assert.Equal("not for release", rejected.Comment);
        var fetched = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/reviews/{approveId}");
        Assert.Equal("Edited in the browser.", fetched.GetProperty("answer").GetString());
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
