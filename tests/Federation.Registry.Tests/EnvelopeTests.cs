using System.Text;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Registry.Tests;

public class EnvelopeTests
{
    private static NodeKey Key() => NodeKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");

    private static JsonObject Payload() => new() { ["n"] = 1, ["score"] = 0.5, ["text"] = "caf\u00e9" };

    [Fact]
    public void Sealed_envelope_verifies_and_id_is_cid_of_signed_bytes()
    {
        using var key = Key();
        var env = SignedEnvelope.Seal("test.statement", Payload(), key);
        Assert.True(env.Verify().IsValid);
        var bytes = SignedEnvelope.SigningBytes("test.statement", Payload(), key.NodeId);
        Assert.Equal(
            "{\"payload\":{\"n\":1,\"score\":0.5,\"text\":\"caf\\u00e9\"},\"signer\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"type\":\"test.statement\"}",
            Encoding.ASCII.GetString(bytes));
        Assert.Equal(Cid.Of(bytes), env.Id);
        Assert.True(Ed25519Verifier.Verify(key.NodeId, bytes, env.SignatureBytes.Span).IsValid);
    }

    [Fact]
    public void Envelope_round_trips_through_json_text_and_still_verifies()
    {
        using var key = Key();
        var env = SignedEnvelope.Seal("t", Payload(), key);
        var text = Encoding.ASCII.GetString(env.ToCanonicalBytes());
        var back = SignedEnvelope.Parse(text);
        Assert.Equal(env.Id, back.Id);
        Assert.Equal(env.Signature, back.Signature);
        Assert.True(back.Verify().IsValid);
    }

    [Fact]
    public void Float_sent_as_integer_changes_the_id_and_is_rejected()
    {
        using var key = Key();
        var json = SignedEnvelope.Seal("t", new JsonObject { ["v"] = 1.0 }, key).ToJson();
        json["payload"] = new JsonObject { ["v"] = 1 };
        var check = SignedEnvelope.FromJson(json).Verify();
        Assert.Equal(EnvelopeFailure.IdMismatch, check.Failure);
    }

    [Fact]
    public void Altered_payload_with_recomputed_id_fails_the_signature()
    {
        using var key = Key();
        var json = SignedEnvelope.Seal("t", Payload(), key).ToJson();
        var payload = Payload();
        payload["n"] = 2;
        json["payload"] = payload;
        json["id"] = Cid.Of(SignedEnvelope.SigningBytes("t", payload, key.NodeId)).ToString();
        var check = SignedEnvelope.FromJson(json).Verify();
        Assert.Equal(EnvelopeFailure.SignatureInvalid, check.Failure);
        Assert.Equal(SignatureFailure.Mismatch, check.Signature.Failure);
    }

    [Fact]
    public void Envelope_claiming_another_signer_fails()
    {
        using var key = Key();
        using var other = NodeKey.Generate();
        var env = SignedEnvelope.Seal("t", Payload(), key);
        var json = env.ToJson();
        json["signer"] = other.NodeId.ToString();
        json["id"] = Cid.Of(SignedEnvelope.SigningBytes("t", env.Payload, other.NodeId)).ToString();
        Assert.Equal(EnvelopeFailure.SignatureInvalid, SignedEnvelope.FromJson(json).Verify().Failure);
    }

    [Fact]
    public void Key_order_and_whitespace_on_the_wire_do_not_matter()
    {
        using var key = Key();
        var env = SignedEnvelope.Seal("t", Payload(), key);
        var wire = $"{{ \"type\": \"t\", \"id\": \"{env.Id}\", \"signature\": \"{env.Signature}\",\n \"signer\": \"{env.Signer}\", \"payload\": {{\"text\": \"caf\u00e9\", \"score\": 5e-1, \"n\": 1}} }}";
        Assert.True(SignedEnvelope.Parse(wire).Verify().IsValid);
    }

    [Theory]
    [InlineData("{\"type\":\"t\",\"payload\":{},\"signer\":\"00\",\"signature\":\"00\",\"id\":\"00\"}", "\"signer\"")]
    [InlineData("{\"type\":1,\"payload\":{},\"signer\":\"00\",\"signature\":\"00\",\"id\":\"00\"}", "\"type\" must be a string")]
    [InlineData("{\"type\":\"t\",\"signer\":\"00\",\"signature\":\"00\",\"id\":\"00\"}", "missing \"payload\"")]
    [InlineData("{\"type\":\"t\",\"payload\":{},\"extra\":1}", "unexpected member \"extra\"")]
    [InlineData("[]", "JSON object")]
    public void Malformed_envelope_is_rejected_with_the_member_named(string json, string reason)
    {
        var e = Assert.Throws<FormatException>(() => SignedEnvelope.Parse(json));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}

public class EnvelopeFrozenFormatTests
{
    // Frozen: an envelope sealed by RFC 8032 key 1 has these exact bytes, id and signature. If this test fails, the
    // signed format changed and every stored envelope would stop verifying. Independent source: tests/vectors/ledger/
    // generate.py (Python json + hashlib, Ed25519 from the cryptography package / OpenSSL) wrote frozen.json.
    [Fact]
    public void Envelope_format_is_frozen()
    {
        using var key = NodeKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var env = SignedEnvelope.Seal("fed.test", new JsonObject { ["b"] = 1.0, ["a"] = new JsonArray(1, "\u00e9") }, key);
        Assert.Equal(
            "{\"id\":\"" + env.Id + "\",\"payload\":{\"a\":[1,\"\\u00e9\"],\"b\":1.0},\"signature\":\"" + env.Signature +
            "\",\"signer\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\",\"type\":\"fed.test\"}",
            Encoding.ASCII.GetString(env.ToCanonicalBytes()));
        Assert.Equal(FrozenId, env.Id.ToString());
        Assert.Equal(FrozenSignature, env.Signature);
        Assert.Equal(Frozen.GetProperty("envelope").GetString(), Encoding.ASCII.GetString(env.ToCanonicalBytes()));
    }

    [Fact]
    public void Envelope_from_stored_parts_verifies()
    {
        using var key = NodeKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var env = SignedEnvelope.FromParts("fed.test", CanonicalJson.Parse("{\"a\":[1,\"\\u00e9\"],\"b\":1.0}"), key.NodeId,
            Convert.FromHexString(FrozenSignature), Cid.Parse(FrozenId));
        Assert.True(env.Verify().IsValid);
    }

    private static readonly System.Text.Json.JsonElement Frozen = JsonVectorFiles.Document("ledger", "frozen.json").GetProperty("envelope");
    private static readonly string FrozenId = Frozen.GetProperty("id").GetString()!;
    private static readonly string FrozenSignature = Frozen.GetProperty("signature").GetString()!;
}

public class EnvelopeMutationTests
{
    [Fact]
    public void Payload_changed_after_sealing_no_longer_verifies()
    {
        using var key = NodeKey.Generate();
        var payload = new JsonObject { ["n"] = 1 };
        var env = SignedEnvelope.Seal("t", payload, key);
        Assert.True(env.Verify().IsValid);
        payload["n"] = 2;
        Assert.Equal(EnvelopeFailure.IdMismatch, env.Verify().Failure);
    }
}
