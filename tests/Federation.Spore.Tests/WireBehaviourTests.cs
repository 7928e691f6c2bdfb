using System.Net.Sockets;
using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class WireBehaviourTests
{
    private static async Task<NetworkStream> Raw(SporeNode n, TcpClient c)
    {
        await c.ConnectAsync(n.LocalEndPoint!);
        return c.GetStream();
    }

    [Fact]
    public async Task Metric_sent_as_a_string_is_refused_but_the_connection_stays_open()
    {
        await using var a = new SporeNode(NodeTests.Loopback());
        await a.StartAsync();
        using var c = new TcpClient();
        var s = await Raw(a, c);
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o["val_bpb"] = "1.0";
        await s.WriteAsync(SporeFrame.Encode(MessageTypes.Experiment, o));
        await s.WriteAsync(Messages.Ping().ToFrame());
        Assert.Equal(MessageTypes.Pong, (await SporeFrame.ReadAsync(s, default))!.Type);
        Assert.Contains(a.Rejections, r => r.Rejection.Reason == SporeReason.WrongType && r.Rejection.Message.Contains("val_bpb", StringComparison.Ordinal));
        Assert.Empty(a.Read(g => g.Records));
    }

    [Fact]
    public async Task Code_response_with_a_wrong_hash_is_not_kept_and_a_right_one_is()
    {
        await using var a = new SporeNode(NodeTests.Loopback());
        await a.StartAsync();
        using var c = new TcpClient();
        var s = await Raw(a, c);
        var code = "print(2)\n"u8.ToArray();
        var cid = SporeJson.Sha256Hex(code);
        await s.WriteAsync(Messages.CodeResponse(cid, "print(3)\n"u8.ToArray()).ToFrame());
        await s.WriteAsync(Messages.Ping().ToFrame());
        await SporeFrame.ReadAsync(s, default);
        Assert.False(a.Read(g => g.HasArtifact(cid)));
        await s.WriteAsync(Messages.CodeResponse(cid, code).ToFrame());
        await s.WriteAsync(Messages.CodeRequest(cid).ToFrame());
        var back = (await SporeFrame.ReadAsync(s, default))!;
        Assert.Equal(MessageTypes.CodeResponse, back.Type);
        Assert.Equal(Convert.ToBase64String(code), back.Payload["code"].AsString());
    }

    [Fact]
    public async Task Profiles_gossip_and_only_a_newer_one_replaces_the_held_one()
    {
        await using var a = new SporeNode(NodeTests.Loopback());
        await a.StartAsync();
        await using var b = new SporeNode(NodeTests.Loopback(NodeTests.Addr(a)));
        await b.StartAsync();
        var k = TestKeys.Seeded(40);
        Assert.Null(a.Publish(Messages.Profile(NodeProfile.Create("new", "", 200, k))));
        await NodeTests.Eventually(() => b.Read(g => g.Profiles.ContainsKey(k.NodeId.ToString())), "profile gossiped");
        Assert.Equal(SporeReason.StaleProfile, a.Publish(Messages.Profile(NodeProfile.Create("old", "", 100, k)))!.Reason);
        Assert.Equal("new", b.Read(g => g.Profiles[k.NodeId.ToString()].Json["display_name"].AsString()));
    }

    [Fact]
    public async Task Store_survives_a_restart_with_the_same_snapshot()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spore-node-" + Guid.NewGuid().ToString("N"));
        try
        {
            var key = TestKeys.Seeded(41);
            JsonObject before;
            await using (var a = new SporeNode(NodeTests.Loopback() with { DataDir = dir }))
            {
                await a.StartAsync();
                var cid = a.AddArtifact("x\n"u8.ToArray());
                var root = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, TaskId = "t", Timestamp = 9, CodeCid = cid }, key);
                a.Publish(Messages.Experiment(root));
                a.Publish(Messages.Control(FrameTests.SampleEvent(ControlTypes.Challenge, key)));
                before = a.Read(SporeCli.Snapshot);
            }
            await using var b = new SporeNode(NodeTests.Loopback() with { DataDir = dir });
            Assert.Equal(SporeJson.ToWireString(before), SporeJson.ToWireString(b.Read(SporeCli.Snapshot)));
            Assert.Single(b.Read(g => g.Records));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Send_items_are_recognised_by_their_keys_and_the_first_bad_one_is_named()
    {
        var rec = SporeJson.ToWireString(TestKeys.ExampleRecord().Json);
        var task = SporeJson.ToWireString(TestKeys.ExampleTask().Json);
        var items = SporeCli.ReadItems($"{task}\n{rec}\n{{\"type\":\"ping\",\"payload\":{{}}}}\n");
        Assert.Equal([MessageTypes.Task, MessageTypes.Experiment, MessageTypes.Ping], items.Select(i => i.Type));
        var bad = rec.Replace("\"val_bpb\":1.0", "\"val_bpb\":1", StringComparison.Ordinal);
        var e = Assert.Throws<SporeFormatException>(() => SporeCli.ReadItems($"[{task},{bad}]"));
        Assert.Equal(SporeReason.WrongType, e.Rejection.Reason);
        Assert.StartsWith("item 2:", e.Rejection.Message, StringComparison.Ordinal);
    }
}
