using System.Net;
using System.Net.Sockets;
using Federation.Canaries.Spore;

namespace Federation.Spore.Tests;

public class ResyncTests
{
    [Fact]
    public async Task Periodic_loop_redials_a_configured_peer_that_was_down_and_syncs_from_it()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        await using var b = new SporeNode(NodeTests.Loopback($"127.0.0.1:{port}") with { ResyncInterval = TimeSpan.FromMilliseconds(300) });
        await b.StartAsync(); // A is not up yet: the dial fails and is logged, not thrown
        Assert.Empty(b.Connections);

        await using var a = new SporeNode(NodeTests.Loopback() with { Listen = new IPEndPoint(IPAddress.Loopback, port) });
        await a.StartAsync();
        var root = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, TaskId = "t", Timestamp = 77 }, TestKeys.Seeded(50));
        Assert.Null(a.Publish(Messages.Experiment(root)));
        await NodeTests.Eventually(() => b.Read(g => g.GetRecord(root.Id)) is not null, "B re-dials A and syncs its record");
    }
}
