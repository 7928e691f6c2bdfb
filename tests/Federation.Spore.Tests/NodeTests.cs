using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class NodeTests
{
    internal static SporeNodeOptions Loopback(params string[] peers) => new()
    {
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        Peers = peers,
        ResyncInterval = Timeout.InfiniteTimeSpan,
        SyncTimeout = TimeSpan.FromSeconds(10),
        CodeRequestTimeout = TimeSpan.FromSeconds(5),
    };

    internal static async Task Eventually(Func<bool> cond, string what, int ms = 10000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(ms);
        while (!cond())
        {
            if (DateTime.UtcNow > until) throw new Xunit.Sdk.XunitException($"timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }

    internal static string Addr(SporeNode n) => $"127.0.0.1:{n.LocalEndPoint!.Port}";

    [Fact]
    public async Task Two_nodes_on_loopback_sync_gossip_fetch_artifacts_and_refuse_a_bad_signature()
    {
        var keyA = TestKeys.Seeded(21);
        await using var a = new SporeNode(Loopback());
        await a.StartAsync();
        var code = "x = 1\n"u8.ToArray();
        var cid = a.AddArtifact(code);
        var task = TaskManifest.Create("t", "", "opt", "python_script", "score", "minimize", cid, "", "", 30, 1000, keyA);
        Assert.Null(a.Publish(Messages.Task(task)));
        var root = ExperimentRecord.Create(new RecordFields { CodeCid = cid, ValBpb = 1.0, TaskId = task.TaskId, Timestamp = 1001 }, keyA);
        Assert.Null(a.Publish(Messages.Experiment(root)));

        await using var b = new SporeNode(Loopback(Addr(a)));
        await b.StartAsync(); // dials A: pex, sync (records), control sync, task sync
        Assert.NotNull(b.Read(g => g.GetRecord(root.Id)));
        Assert.True(b.Read(g => g.Tasks.ContainsKey(task.TaskId)));
        await Eventually(() => b.Read(g => g.HasArtifact(cid)), "artifact fetched by code_request");

        // Gossip: a new child published on A reaches B without a sync.
        var child = ExperimentRecord.Create(new RecordFields { Parent = root.Id, Depth = 1, CodeCid = cid, ValBpb = 0.8, TaskId = task.TaskId, Timestamp = 1002 }, keyA);
        Assert.Null(a.Publish(Messages.Experiment(child)));
        await Eventually(() => b.Read(g => g.GetRecord(child.Id)) is not null, "child gossiped to B");
        Assert.Equal([child.Id], b.Read(g => g.Frontier(task.TaskId).Select(r => r.Id).ToList()));

        // A record with a bad signature is refused and the connection stays open.
        using var raw = new TcpClient();
        await raw.ConnectAsync(b.LocalEndPoint!);
        var s = raw.GetStream();
        var forged = TestKeys.Clone(ExperimentRecord.Create(new RecordFields { Parent = root.Id, Depth = 1, ValBpb = 0.1, TaskId = task.TaskId, Timestamp = 1003 }, keyA).Json);
        forged["signature"] = new string('0', 128);
        await s.WriteAsync(SporeFrame.Encode(MessageTypes.Experiment, forged));
        await s.WriteAsync(Messages.Ping().ToFrame());
        var pong = await SporeFrame.ReadAsync(s, CancellationToken.None);
        Assert.Equal(MessageTypes.Pong, pong!.Type);
        Assert.Null(b.Read(g => g.GetRecord(forged["id"].AsString())));
        Assert.Contains(b.Rejections, r => r.Rejection.Reason == SporeReason.SignatureInvalid);
    }

    [Fact]
    public async Task Sync_requests_are_answered_with_their_completion_markers()
    {
        var key = TestKeys.Seeded(22);
        await using var a = new SporeNode(Loopback());
        await a.StartAsync();
        var r0 = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, TaskId = "t", Timestamp = 500 }, key);
        a.Publish(Messages.Experiment(r0));
        a.Publish(Messages.Control(FrameTests.SampleEvent(ControlTypes.Challenge, key)));
        using var raw = new TcpClient();
        await raw.ConnectAsync(a.LocalEndPoint!);
        var s = raw.GetStream();
        await s.WriteAsync(Messages.SinceRequest(MessageTypes.SyncRequest, 500).ToFrame());
        Assert.Equal(MessageTypes.Experiment, (await SporeFrame.ReadAsync(s, default))!.Type);
        var marker = (await SporeFrame.ReadAsync(s, default))!;
        Assert.Equal(MessageTypes.SyncResponse, marker.Type);
        Assert.Equal("{\"since\":500,\"count\":1}", SporeJson.ToWireString(marker.Payload));
        await s.WriteAsync(Messages.SinceRequest(MessageTypes.ControlSyncRequest, 1700000100).ToFrame());
        var cm = (await SporeFrame.ReadAsync(s, default))!;
        Assert.Equal(MessageTypes.ControlSyncResponse, cm.Type); // strict: the event at exactly 'since' is not sent
        Assert.Equal(0, cm.Payload["count"].AsInt64());
        await s.WriteAsync(Messages.SinceRequest(MessageTypes.TaskSyncRequest, 0).ToFrame());
        Assert.Equal(MessageTypes.TaskSyncResponse, (await SporeFrame.ReadAsync(s, default))!.Type);
        await s.WriteAsync(Messages.CodeRequest(new string('b', 64)).ToFrame()); // unknown artifact: no reply
        await s.WriteAsync(Messages.PexRequest().ToFrame());
        var pex = (await SporeFrame.ReadAsync(s, default))!;
        Assert.Equal(MessageTypes.PexResponse, pex.Type);
        Assert.Empty(pex.Payload["peer"].AsArray()); // inbound peers are never advertised
    }

    [Theory]
    [InlineData("extra-key")]
    [InlineData("bad-json")]
    [InlineData("array-payload")]
    [InlineData("oversized")]
    public async Task Bad_frames_close_the_connection_and_the_node_keeps_serving(string kind)
    {
        await using var a = new SporeNode(Loopback());
        await a.StartAsync();
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(a.LocalEndPoint!);
            var s = raw.GetStream();
            byte[] frame;
            switch (kind)
            {
                case "extra-key":
                    var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
                    o["extra"] = 1;
                    frame = SporeFrame.Encode(MessageTypes.Experiment, o);
                    break;
                case "oversized":
                    frame = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(frame, SporeFrame.MaxBodyBytes + 1);
                    break;
                default:
                    var body = kind == "bad-json" ? "{nope"u8.ToArray() : "{\"type\":\"ping\",\"payload\":[]}"u8.ToArray();
                    frame = new byte[4 + body.Length];
                    BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
                    body.CopyTo(frame, 4);
                    break;
            }
            await s.WriteAsync(frame);
            await s.WriteAsync(Messages.Ping().ToFrame());
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Null(await SporeFrame.ReadAsync(s, cts.Token)); // closed, no pong
        }
        using var again = new TcpClient();
        await again.ConnectAsync(a.LocalEndPoint!);
        await again.GetStream().WriteAsync(Messages.Ping().ToFrame());
        Assert.Equal(MessageTypes.Pong, (await SporeFrame.ReadAsync(again.GetStream(), default))!.Type);
    }

    [Fact]
    public async Task Unknown_types_and_bad_control_events_keep_the_connection()
    {
        await using var a = new SporeNode(Loopback());
        await a.StartAsync();
        using var raw = new TcpClient();
        await raw.ConnectAsync(a.LocalEndPoint!);
        var s = raw.GetStream();
        await s.WriteAsync(SporeFrame.Encode("hello", []));
        await s.WriteAsync(SporeFrame.Encode(ControlTypes.Dispute, new JsonObject { ["type"] = "dispute" }));
        await s.WriteAsync(Messages.Ping().ToFrame());
        Assert.Equal(MessageTypes.Pong, (await SporeFrame.ReadAsync(s, default))!.Type);
    }

    [Fact]
    public void Non_loopback_peers_are_refused_unless_allowed()
    {
        var n = new SporeNode(new SporeNodeOptions());
        Assert.Throws<ArgumentException>(() => n.Resolve("10.1.2.3:7470"));
        Assert.Throws<ArgumentException>(() => n.Resolve("peer.sporemesh.com:7470"));
        Assert.Equal(7470, n.Resolve("localhost:7470").Port);
        var allowed = new SporeNode(new SporeNodeOptions { AllowNonLoopback = true });
        Assert.Equal(IPAddress.Parse("10.1.2.3"), allowed.Resolve("10.1.2.3:7470").Address);
    }

    [Fact]
    public async Task Pex_advertises_dialled_peers_and_the_learner_dials_them()
    {
        await using var a = new SporeNode(Loopback());
        await a.StartAsync();
        await using var hub = new SporeNode(Loopback(Addr(a)));
        await hub.StartAsync();
        await using var c = new SporeNode(Loopback(Addr(hub)));
        await c.StartAsync(); // asks hub for peers; hub has dialled A
        await Eventually(() => c.Connections.Any(x => x.Address == Addr(a)), "C dials A learned by PEX");
    }
}
