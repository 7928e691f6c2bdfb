using System.Net;
using System.Net.Sockets;

namespace Federation.Node.Tests;

/// <summary><c>fed serve</c> failures are one <c>fed:</c> line and an exit code, never a crash with a stack trace.</summary>
public sealed class ServeCommandTests
{
    [Fact]
    public void Serve_on_a_port_in_use_prints_one_fed_line_and_exits_1_without_creating_an_identity()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dir = NodeFixture.TempDir("fed-serve-busy");
        using var cleanup = new DirCleanup(dir);
        var (code, _, err) = CliRunner.Fed("serve", "--demo", "none", "--urls", $"http://127.0.0.1:{port}", "--data-dir", dir);
        Assert.Equal(1, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"fed: cannot listen on http://127.0.0.1:{port}", lines[0], StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "identity")), "nothing is loaded before the listener is bound");
    }

    [Fact]
    public void Serve_with_the_default_demo_on_a_port_in_use_fails_at_once_before_building_or_installing_anything()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dir = NodeFixture.TempDir("fed-serve-demo-busy");
        using var cleanup = new DirCleanup(dir);
        var (code, _, err) = CliRunner.Fed("serve", "--urls", $"http://127.0.0.1:{port}", "--data-dir", dir); // --demo full by default
        Assert.Equal(1, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"fed: cannot listen on http://127.0.0.1:{port}: 127.0.0.1:{port}", lines[0], StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir, "identity")), "the ports are probed before the demo is built or installed");
        Assert.False(Directory.Exists(Path.Combine(dir, "demo")));
    }
}
