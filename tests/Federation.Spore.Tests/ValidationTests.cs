using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

public class ValidationTests
{
    private static SporeRejection RejectRecord(JsonObject o)
    {
        try
        {
            var r = ExperimentRecord.Parse(o);
            return r.Verify() ?? throw new Xunit.Sdk.XunitException("the record was accepted");
        }
        catch (SporeFormatException e)
        {
            return e.Rejection;
        }
    }

    [Fact]
    public void Unknown_key_in_a_record_is_refused_and_closes_the_connection()
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o["extra"] = 1;
        var r = RejectRecord(o);
        Assert.Equal(SporeReason.UnknownKey, r.Reason);
        Assert.True(r.ClosesConnection);
        Assert.Contains("extra", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_key_closes_but_missing_optional_key_takes_the_default_and_fails_the_cid()
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o.Remove("gpu_model");
        var r = RejectRecord(o);
        Assert.Equal(SporeReason.MissingKey, r.Reason);
        Assert.True(r.ClosesConnection);

        var o2 = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o2.Remove("timestamp"); // default = receiver's clock (§10.6)
        var r2 = RejectRecord(o2);
        Assert.Equal(SporeReason.CidMismatch, r2.Reason);
        Assert.False(r2.ClosesConnection);
    }

    [Fact]
    public void Bad_status_closes_the_connection()
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o["status"] = "maybe";
        var r = RejectRecord(o);
        Assert.Equal(SporeReason.BadStatus, r.Reason);
        Assert.True(r.ClosesConnection);
    }

    [Theory]
    [InlineData("val_bpb", "string")]
    [InlineData("val_bpb", "int")]
    [InlineData("peak_vram_mb", "int")]
    [InlineData("depth", "float")]
    [InlineData("num_steps", "bool")]
    public void Wrong_value_types_are_refused_where_the_reference_is_lax(string key, string kind)
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o[key] = kind switch { "string" => "1.0", "int" => 1, "float" => 1.0, _ => true };
        var r = RejectRecord(o);
        Assert.Equal(SporeReason.WrongType, r.Reason);
        Assert.False(r.ClosesConnection);
        Assert.Contains(key, r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tampered_field_fails_the_cid_and_a_recomputed_id_fails_the_signature()
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o["val_bpb"] = 0.5;
        Assert.Equal(SporeReason.CidMismatch, RejectRecord(o).Reason);
        o["id"] = SporeJson.Sha256Hex(ExperimentRecord.CanonicalBytes(o));
        Assert.Equal(SporeReason.SignatureInvalid, RejectRecord(o).Reason);
    }

    [Fact]
    public void Uppercase_id_fails_but_uppercase_signature_and_node_id_hex_pass_as_in_python()
    {
        var o = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o["id"] = o["id"].AsString().ToUpperInvariant();
        Assert.Equal(SporeReason.CidMismatch, RejectRecord(o).Reason);

        var o2 = TestKeys.Clone(TestKeys.ExampleRecord().Json);
        o2["signature"] = o2["signature"].AsString().ToUpperInvariant();
        Assert.Null(ExperimentRecord.Parse(o2).Verify());
    }

    [Fact]
    public void Version_2_record_signed_without_task_id_fails_and_version_1_ignores_task_id()
    {
        var key = TestKeys.Key1();
        var v1 = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, Timestamp = 5, Version = 1, TaskId = "" }, key);
        Assert.Null(v1.WithTaskId("abc").Verify());
        var v2 = ExperimentRecord.Create(new RecordFields { ValBpb = 1.0, Timestamp = 5, Version = 2, TaskId = "t" }, key);
        Assert.Equal(SporeReason.CidMismatch, v2.WithTaskId("other").Verify()!.Reason);
    }

    [Fact]
    public void Control_event_checks_type_actor_and_signature()
    {
        var signer = TestKeys.Seeded(3);
        var other = TestKeys.Seeded(4);
        var payload = new JsonObject
        {
            ["experiment_id"] = "e", ["task_id"] = "t", ["verified_node_id"] = "p", ["verifier_id"] = other.NodeId.ToString(),
            ["verifier_gpu"] = "CPU", ["verifier_bpb"] = 1.0, ["is_frontier"] = true,
        };
        var ev = ControlEvent.Create(ControlTypes.Verification, payload, 10, signer);
        Assert.Equal(SporeReason.ActorNotSigner, ev.Verify()!.Reason);

        payload["verifier_id"] = signer.NodeId.ToString();
        var good = ControlEvent.Create(ControlTypes.Verification, payload, 10, signer);
        Assert.Null(good.Verify());
        Assert.Equal($"verification:e:{signer.NodeId}", good.EventId);

        var e = Assert.Throws<SporeFormatException>(() => ControlEvent.Parse(ControlTypes.Challenge, good.Json));
        Assert.Equal(SporeReason.EventTypeMismatch, e.Rejection.Reason);
        Assert.False(e.Rejection.ClosesConnection);

        var bad = TestKeys.Clone(good.Json);
        bad["payload"].AsObject()["verifier_bpb"] = 1; // int, not float
        var e2 = Assert.Throws<SporeFormatException>(() => ControlEvent.Parse(ControlTypes.Verification, bad));
        Assert.Equal(SporeReason.BadControlPayload, e2.Rejection.Reason);
        Assert.False(e2.Rejection.ClosesConnection);

        var tampered = TestKeys.Clone(good.Json);
        tampered["payload"].AsObject()["is_frontier"] = false;
        Assert.Equal(SporeReason.CidMismatch, ControlEvent.Parse(ControlTypes.Verification, tampered).Verify()!.Reason);
    }

    [Fact]
    public void Profile_and_task_round_trip_and_verify()
    {
        var p = NodeProfile.Create("alice", "b\u00e9", 100, TestKeys.Seeded(9));
        Assert.Null(NodeProfile.Parse(TestKeys.Clone(p.Json)).Verify());
        var t = TestKeys.Clone(TestKeys.ExampleTask().Json);
        t["goal"] = "maximize";
        Assert.Equal(SporeReason.CidMismatch, TaskManifest.Parse(t).Verify()!.Reason);
        t["nope"] = "";
        var e = Assert.Throws<SporeFormatException>(() => TaskManifest.Parse(t));
        Assert.True(e.Rejection.ClosesConnection);
    }

    [Fact]
    public void Python_fromhex_accepts_whitespace_between_pairs_and_rejects_odd_digits()
    {
        Assert.True(SporeJson.TryFromHexPython("ab cd\tEF", out var b));
        Assert.Equal([0xab, 0xcd, 0xef], b);
        Assert.False(SporeJson.TryFromHexPython("abc", out _));
        Assert.False(SporeJson.TryFromHexPython("a bc", out _));
    }
}
