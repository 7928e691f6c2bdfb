using Microsoft.Playwright;

namespace Federation.Node.Tests;

/// <summary>Shared by the page tests: Debian's chromium under Playwright, and where the docs' screenshots go.</summary>
internal static class PageTestSupport
{
    public const string Chromium = "/usr/bin/chromium";

    public static async Task<IBrowser> LaunchAsync(IPlaywright pw)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/setup.sh installs Debian's chromium");
        return await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary><c>docs/img/NAME</c> in the repository the tests were built from (the screenshots the docs link to).</summary>
    public static string DocsImage(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Federation.sln")))
            {
                var img = Path.Combine(dir.FullName, "docs", "img");
                Directory.CreateDirectory(img);
                return Path.Combine(img, name);
            }
        throw new DirectoryNotFoundException("the repository root (Federation.sln) is not above the test binaries");
    }

    /// <summary>Signs a page in on the explorer's form with <paramref name="key"/>.</summary>
    public static async Task SignInToExplorerAsync(IPage page, Uri baseUrl, string key, string path = "/explorer")
    {
        await page.GotoAsync(new Uri(baseUrl, path).ToString());
        await page.FillAsync("#key", key);
        await page.ClickAsync("#login");
    }
}
