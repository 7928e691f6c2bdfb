using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Federation.Node.Tests;

/// <summary>
/// <c>/explorer</c> in chromium (Playwright): topics, specialists, the ledger, and an entry's inclusion proof verified by
/// the browser's own WebCrypto — "verified" for the real proof, "failed" for the one the test hook tampers with.
/// </summary>
[Collection("node")]
public sealed class ExplorerPageTests(NodeFixture node)
{
    private async Task<long> LedgeredAnswerAsync()
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", new { model = "federation", messages = new[] { new { role = "user", content = "hello there, how are you" } }, max_tokens = 3 });
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var json = await resp.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return json.GetProperty("federation").GetProperty("ledger").GetProperty("index").GetInt64();
    }

    [Fact]
    public async Task The_browser_verifies_an_entrys_inclusion_proof_and_reports_a_tampered_one_as_failed()
    {
        await LedgeredAnswerAsync();
        var index = await LedgeredAnswerAsync();   // at least two entries: the proof has a path
        using var pw = await Playwright.CreateAsync();
        await using var browser = await PageTestSupport.LaunchAsync(pw);
        var page = await browser.NewPageAsync();

        // a wrong key is refused; a client key signs in
        await PageTestSupport.SignInToExplorerAsync(page, node.BaseUrl, "fed-wrong");
        Assert.Contains("unknown or revoked", await page.ContentAsync(), StringComparison.Ordinal);
        await page.FillAsync("#key", node.ClientKey);
        await page.ClickAsync("#login");

        var strategy = page.Locator("#topics tr[data-topic='strategy']");
        Assert.Equal("T3", await strategy.Locator(".tier").InnerTextAsync());
        Assert.Equal("C", await strategy.Locator(".class").InnerTextAsync());
        Assert.Contains("joint venture", await strategy.InnerTextAsync(), StringComparison.Ordinal);
        var specialist = page.Locator("#specialists tr[data-specialist='strategy-mistral']");
        Assert.Contains(node.Runtime.Specialists["strategy-mistral"].AdapterCid, await specialist.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("not signed yet", await specialist.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Latest signed tree head", await page.Locator("#sth").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("#reputation").CountAsync());
        Assert.Equal(1, await page.Locator("#diips").CountAsync());

        await page.Locator($"a[href='/explorer/ledger/{index}']").ClickAsync();
        var status = page.Locator("#proof-status");
        await page.WaitForFunctionAsync("document.getElementById('proof-status').dataset.result !== 'pending'");
        var text = await status.InnerTextAsync();
        Assert.Equal("verified", await status.GetAttributeAsync("data-result"));
        Assert.StartsWith("verified against tree head ", text, StringComparison.Ordinal);
        Assert.EndsWith("signed by " + node.Runtime.Key.Id, text, StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = PageTestSupport.DocsImage("explorer.png"), FullPage = true });

        // the hook is off unless its variable is set: ?tamper=1 alone changes nothing
        await page.GotoAsync(new Uri(node.BaseUrl, $"/explorer/ledger/{index}?tamper=1").ToString());
        await page.WaitForFunctionAsync("document.getElementById('proof-status').dataset.result !== 'pending'");
        Assert.Equal("verified", await status.GetAttributeAsync("data-result"));

        Environment.SetEnvironmentVariable("FEDERATION_EXPLORER_TEST_TAMPER", "1");
        try
        {
            await page.GotoAsync(new Uri(node.BaseUrl, $"/explorer/ledger/{index}?tamper=1").ToString());
            await page.WaitForFunctionAsync("document.getElementById('proof-status').dataset.result !== 'pending'");
            Assert.Equal("failed", await status.GetAttributeAsync("data-result"));
            Assert.StartsWith("failed: ", await status.InnerTextAsync(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FEDERATION_EXPLORER_TEST_TAMPER", null);
        }
    }

    [Fact]
    public async Task The_explorer_is_open_to_api_key_holders_only()
    {
        using var anon = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = node.BaseUrl };
        var login = await anon.GetStringAsync("/explorer");
        Assert.Contains("id=\"key\"", login, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"topics\"", login, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"proof-data\"", await anon.GetStringAsync("/explorer/ledger/0"), StringComparison.Ordinal);
        Assert.DoesNotContain("data-diip-id", await anon.GetStringAsync("/explorer/diips"), StringComparison.Ordinal);

        // a program sends its key as a bearer token
        var page = await node.Http.GetStringAsync("/explorer");
        Assert.Contains("id=\"topics\"", page, StringComparison.Ordinal);
        using var missing = await node.Http.GetAsync("/explorer/ledger/999999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
