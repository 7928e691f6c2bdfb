using System.Diagnostics;

namespace Federation.Client.Tests;

/// <summary>
/// A second ecosystem's client: tests/npm/openai.test.mjs drives the node with the npm <c>openai</c> package (chat,
/// streaming, tools, structured output). The package is installed with <c>npm ci</c> from the committed lock file;
/// a missing Node.js or a failed install is a failure, not a skip.
/// </summary>
[Collection("node")]
public sealed class NpmOpenAiTests(NodeFixture node)
{
    [Fact]
    public async Task The_npm_openai_package_drives_chat_streaming_tools_and_structured_output()
    {
        var dir = Path.Combine(RepoRoot(), "tests", "npm");
        var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir, TimeSpan.FromMinutes(5));
        Assert.True(install.Code == 0, "npm ci failed:\n" + install.Output);
        var run = await RunAsync("node", ["openai.test.mjs"], dir, TimeSpan.FromMinutes(3),
            ("FEDERATION_URL", node.BaseUrl.ToString()), ("FEDERATION_API_KEY", node.ApiKey));
        Assert.True(run.Code == 0, "the npm openai test failed:\n" + run.Output);
        Assert.Matches(@"npm openai .*: 8 checks passed", run.Output);
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Federation.sln"))) return d.FullName;
        throw new InvalidOperationException("Federation.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string dir, TimeSpan timeout, params (string Key, string Value)[] env)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {timeout}\n{await stdout}\n{await stderr}");
        }
        return (p.ExitCode, await stdout + await stderr);
    }
}
