using System.Buffers.Binary;
using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class FrameTests
{
    public static TheoryData<string> AllTypes()
    {
        var d = new TheoryData<string>();
        foreach (var t in MessageTypes.All) d.Add(t);
        return d;
    }

    private static SporeMessage Sample(string type)
    {
        var key = TestKeys.Seeded(7);
        return type switch
        {
            MessageTypes.Experiment => Messages.Experiment(TestKeys.ExampleRecord()),
            MessageTypes.Task => Messages.Task(TestKeys.ExampleTask()),
            MessageTypes.Profile => Messages.Profile(NodeProfile.Create("n", "\ud83d\ude80 rocket", 5, key)),
            MessageTypes.SyncRequest or MessageTypes.ControlSyncRequest or MessageTypes.TaskSyncRequest => Messages.SinceRequest(type, 1700000000),
            MessageTypes.SyncResponse or MessageTypes.ControlSyncResponse or MessageTypes.TaskSyncResponse => Messages.Marker(type, 0, 3),
            MessageTypes.PexRequest => Messages.PexRequest(),
            MessageTypes.PexResponse => Messages.PexResponse(["127.0.0.1:7471", "127.0.0.1:7470"]),
            MessageTypes.CodeRequest => Messages.CodeRequest(new string('a', 64)),
            MessageTypes.CodeResponse => Messages.CodeResponse(SporeJson.Sha256Hex("print(1)\n"u8), "print(1)\n"u8.ToArray()),
            MessageTypes.Ping => Messages.Ping(),
            MessageTypes.Pong => Messages.Pong(),
            _ => Messages.Control(SampleEvent(type, key)),
        };
    }

    internal static ControlEvent SampleEvent(string type, Federation.Registry.Crypto.NodeKey key)
    {
        var me = key.NodeId.ToString();
        var p = type switch
        {
            ControlTypes.Verification => new JsonObject { ["experiment_id"] = "e", ["task_id"] = "t", ["verified_node_id"] = "p", ["verifier_id"] = me, ["verifier_gpu"] = "CPU", ["verifier_bpb"] = 0.9, ["is_frontier"] = false },
            ControlTypes.Challenge => new JsonObject { ["experiment_id"] = "e", ["task_id"] = "t", ["challenger_id"] = me, ["challenger_bpb"] = 1.5, ["challenger_gpu"] = "CPU" },
            ControlTypes.ChallengeResponse => new JsonObject { ["experiment_id"] = "e", ["task_id"] = "t", ["challenger_id"] = "c", ["verifier_id"] = me, ["verifier_bpb"] = 1.5, ["verifier_gpu"] = "CPU" },
            _ => new JsonObject { ["experiment_id"] = "e", ["task_id"] = "t", ["original_node_id"] = "p", ["challenger_id"] = me, ["challenger_bpb"] = 1.5, ["outcome"] = "rejected", ["ground_truth_bpb"] = 1.5, ["verifier_count"] = 1, ["winner_verifier_ids"] = new JsonArray("v"), ["loser_verifier_ids"] = new JsonArray() },
        };
        return ControlEvent.Create(type, p, 1700000100, key);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Every_frame_type_round_trips_byte_for_byte(string type)
    {
        var m = Sample(type);
        var frame = m.ToFrame();
        Assert.Equal((uint)(frame.Length - 4), BinaryPrimitives.ReadUInt32BigEndian(frame));
        Assert.True(SporeFrame.TryDecode(frame, out var back, out var used));
        Assert.Equal(frame.Length, used);
        Assert.Equal(type, back!.Type);
        Assert.Equal(m.Payload, back.Payload);
        Assert.Equal(frame, back.ToFrame());
        Assert.All(frame.Skip(4), b => Assert.InRange(b, (byte)0x20, (byte)0x7e)); // ensure_ascii
    }

    [Theory]
    [InlineData(MessageTypes.Experiment)]
    [InlineData(MessageTypes.Task)]
    [InlineData(MessageTypes.Profile)]
    [InlineData(ControlTypes.Verification)]
    [InlineData(ControlTypes.Challenge)]
    [InlineData(ControlTypes.ChallengeResponse)]
    [InlineData(ControlTypes.Dispute)]
    public void Signed_payloads_of_every_type_verify_after_a_round_trip(string type)
    {
        var back = SporeFrame.DecodeBody(Sample(type).ToFrame().AsSpan(4));
        var check = type switch
        {
            MessageTypes.Experiment => ExperimentRecord.Parse(back.Payload).Verify(),
            MessageTypes.Task => TaskManifest.Parse(back.Payload).Verify(),
            MessageTypes.Profile => NodeProfile.Parse(back.Payload).Verify(),
            _ => ControlEvent.Parse(type, back.Payload).Verify(),
        };
        Assert.Null(check);
    }

    [Fact]
    public void Oversized_length_is_refused_before_the_body_is_read()
    {
        var head = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(head, SporeFrame.MaxBodyBytes + 1);
        var e = Assert.Throws<SporeFrameException>(() => SporeFrame.TryDecode(head, out _, out _));
        Assert.Equal(SporeFrameError.TooLarge, e.Error);
        // Exactly at the cap only asks for more bytes.
        BinaryPrimitives.WriteUInt32BigEndian(head, SporeFrame.MaxBodyBytes);
        Assert.False(SporeFrame.TryDecode(head, out _, out _));
    }

    [Theory]
    [InlineData("[]", SporeFrameError.NotObject)]
    [InlineData("{\"type\":\"ping\",\"payload\":[]}", SporeFrameError.NotObject)]
    [InlineData("{\"type\":\"ping\"", SporeFrameError.BadJson)]
    [InlineData("\u00ff", SporeFrameError.BadJson)]
    public void Bad_bodies_give_typed_errors(string body, SporeFrameError want)
    {
        var bytes = body == "\u00ff" ? new byte[] { 0xff } : System.Text.Encoding.UTF8.GetBytes(body);
        var e = Assert.Throws<SporeFrameException>(() => SporeFrame.DecodeBody(bytes));
        Assert.Equal(want, e.Error);
    }

    [Fact]
    public void Unknown_type_and_missing_payload_decode_without_error()
    {
        var m = SporeFrame.DecodeBody("{\"type\":\"hello\"}"u8);
        Assert.Equal("hello", m.Type);
        Assert.Empty(m.Payload);
        Assert.Null(SporeFrame.DecodeBody("{\"type\":5,\"payload\":{}}"u8).Type);
    }

    [Fact]
    public async Task Stream_reader_reports_truncation_and_clean_end()
    {
        var frame = Messages.Ping().ToFrame();
        Assert.Null(await SporeFrame.ReadAsync(new MemoryStream([]), CancellationToken.None));
        var e = await Assert.ThrowsAsync<SporeFrameException>(() => SporeFrame.ReadAsync(new MemoryStream(frame[..10]), CancellationToken.None));
        Assert.Equal(SporeFrameError.Truncated, e.Error);
        var ok = await SporeFrame.ReadAsync(new MemoryStream(frame), CancellationToken.None);
        Assert.Equal(MessageTypes.Ping, ok!.Type);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_the_typed_error_nor_allocate_past_the_cap()
    {
        var rng = new Random(1234);
        var valid = Messages.Experiment(TestKeys.ExampleRecord()).ToFrame();
        const int cap = 4096;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var decoded = 0;
        for (var i = 0; i < 20000; i++)
        {
            byte[] buf;
            if (i % 2 == 0)
            {
                buf = new byte[rng.Next(0, 64)];
                rng.NextBytes(buf);
                if (buf.Length >= 4 && rng.Next(2) == 0) BinaryPrimitives.WriteUInt32BigEndian(buf, (uint)(buf.Length - 4));
            }
            else
            {
                buf = (byte[])valid.Clone();
                for (var k = 0; k < 1 + rng.Next(4); k++) buf[rng.Next(buf.Length)] = (byte)rng.Next(256);
            }
            try
            {
                if (SporeFrame.TryDecode(buf, out _, out _, cap)) decoded++;
            }
            catch (SporeFrameException)
            {
            }
        }
        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 20000.0;
        Assert.True(perCall < 64 * 1024, $"allocated {perCall} bytes per decode");
        Assert.True(decoded > 0);
    }
}
