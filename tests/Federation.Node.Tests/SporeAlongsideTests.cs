using System.Net;
using System.Net.Sockets;
using Federation.Node.Hosting;

namespace Federation.Node.Tests;

/// <summary><c>fed serve --spore-listen</c>: the Spore peer runs alongside the node, starts and stops with it.</summary>
public sealed class SporeAlongsideTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task The_spore_peer_listens_while_the_node_runs_and_stops_with_it()
    {
        var dir = NodeFixture.TempDir("fed-node-spore");
        var port = FreePort();
        var (app, _) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", SporeListen = new IPEndPoint(IPAddress.Loopback, port) });
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            Assert.True(client.Connected);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        using var after = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => after.ConnectAsync(IPAddress.Loopback, port));
        NodeFixture.DeleteDir(dir);
    }

    [Fact]
    public void A_spore_port_in_use_is_one_fed_line_and_exit_1()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dir = NodeFixture.TempDir("fed-serve-spore-busy");
        try
        {
            var (code, _, err) = CliRunner.Fed("serve", "--demo", "none", "--urls", "http://127.0.0.1:0", "--spore-listen", $"127.0.0.1:{port}", "--data-dir", dir);
            Assert.Equal(1, code);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.Contains($"spore 127.0.0.1:{port}", lines[0], StringComparison.Ordinal);
        }
        finally
        {
            NodeFixture.DeleteDir(dir);
        }
    }

    [Fact]
    public void A_non_loopback_spore_address_is_refused_with_exit_2()
    {
        var (code, _, err) = CliRunner.Fed("serve", "--demo", "none", "--spore-listen", "10.1.2.3:7470", "--data-dir", NodeFixture.TempDir("fed-serve-spore-remote"));
        Assert.Equal(2, code);
        Assert.Contains("--spore-listen 10.1.2.3:7470 is not a loopback address", err, StringComparison.Ordinal);
    }
}
