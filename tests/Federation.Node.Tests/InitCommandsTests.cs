using System.Text.Json;

namespace Federation.Node.Tests;

public sealed class InitCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-init-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Fed(args);

    [Fact]
    public void Init_creates_a_key_then_keeps_it()
    {
        var first = Run("init", "--data-dir", _dir, "--output", "json");
        Assert.Equal(0, first.Code);
        using var j1 = JsonDocument.Parse(first.Out);
        Assert.True(j1.RootElement.GetProperty("created").GetBoolean());
        Assert.Equal(Path.GetFullPath(_dir), j1.RootElement.GetProperty("data_dir").GetString());
        var id = j1.RootElement.GetProperty("node_id").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.True(File.Exists(Path.Combine(_dir, "identity", "node.key")));

        var second = Run("init", "--data-dir", _dir);
        Assert.Equal(0, second.Code);
        Assert.Equal(id, second.Out.Trim());
        Assert.Contains("kept the existing", second.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Init_with_an_exposed_key_fails_with_the_fix()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(0, Run("init", "--data-dir", _dir).Code);
        var key = Path.Combine(_dir, "identity", "node.key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var r = Run("init", "--data-dir", _dir);
        Assert.Equal(1, r.Code);
        Assert.Contains("chmod 600", r.Err, StringComparison.Ordinal);
    }
}
