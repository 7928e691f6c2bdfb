using Federation.Registry.Crypto;

namespace Federation.Registry.Tests;

public class NodeKeyTests
{
    private const string Seed1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    [Fact]
    public void Node_id_is_the_hex_public_key()
    {
        using var key = NodeKey.FromSeedHex(Seed1);
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", key.NodeId.ToString());
        Assert.Equal(key.PublicKey.ToArray(), key.NodeId.ToArray());
        Assert.Equal(key.NodeId, NodeId.Parse(key.NodeId.ToString()));
    }

    [Fact]
    public void Seeded_generator_gives_reproducible_keys_and_os_generator_fresh_ones()
    {
        static Action<Span<byte>> Seeded() => new Random(42).NextBytes;
        using var a = NodeKey.Generate(Seeded());
        using var b = NodeKey.Generate(Seeded());
        using var c = NodeKey.Generate();
        using var d = NodeKey.Generate();
        Assert.Equal(a.NodeId, b.NodeId);
        Assert.NotEqual(c.NodeId, d.NodeId);
    }

    [Fact]
    public void Signature_verifies_and_flipped_message_bit_is_a_mismatch()
    {
        using var key = NodeKey.Generate();
        var msg = "{\"a\":1}"u8.ToArray();
        var sig = key.Sign(msg);
        Assert.True(Ed25519Verifier.Verify(key.NodeId, msg, sig).IsValid);
        msg[0] ^= 1;
        Assert.Equal(SignatureFailure.Mismatch, Ed25519Verifier.Verify(key.NodeId, msg, sig).Failure);
    }

    [Fact]
    public void Disposed_key_refuses_to_sign()
    {
        var key = NodeKey.Generate();
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Sign("x"u8));
    }

    [Theory]
    [InlineData("D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A", "upper-case")]
    [InlineData("d75a98", "found 6 characters")]
    public void Malformed_node_id_is_rejected_with_a_reason(string text, string reason)
    {
        var e = Assert.Throws<FormatException>(() => NodeId.Parse(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_seed_length_is_rejected() =>
        Assert.Throws<ArgumentException>(() => NodeKey.FromSeed(new byte[31]));

    [Fact]
    public void Signing_and_verifying_from_many_threads_gives_the_same_results()
    {
        using var key = NodeKey.FromSeedHex(Seed1);
        var messages = Enumerable.Range(0, 64).Select(i => System.Text.Encoding.ASCII.GetBytes($"{{\"i\":{i}}}")).ToArray();
        var serial = messages.Select(m => Convert.ToHexStringLower(key.Sign(m))).ToArray();
        var parallel = new string[messages.Length];
        var valid = new bool[messages.Length];
        Parallel.For(0, messages.Length, i =>
        {
            var sig = key.Sign(messages[i]);
            parallel[i] = Convert.ToHexStringLower(sig);
            valid[i] = Ed25519Verifier.Verify(key.NodeId, messages[i], sig).IsValid
                && !Ed25519Verifier.Verify(key.NodeId, messages[(i + 1) % messages.Length], sig).IsValid;
        });
        Assert.Equal(serial, parallel);
        Assert.All(valid, Assert.True);
    }
}
