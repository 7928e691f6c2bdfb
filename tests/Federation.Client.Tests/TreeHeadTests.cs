using Federation.Registry.Crypto;
using Federation.Registry.Ledger;

namespace Federation.Client.Tests;

/// <summary>Tree heads read from the node's JSON and checked with the registry's envelope and Ed25519 code.</summary>
public sealed class TreeHeadTests
{
    private static TreeHead Signed(NodeKey key, long size = 3) =>
        TreeHead.Parse(SignedTreeHead.Create(size, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 1_700_000_000_000, key).ToJson().ToJsonString());

    [Fact]
    public void A_head_signed_by_the_trusted_key_verifies()
    {
        using var key = NodeKey.Generate();
        Assert.Null(Signed(key).Verify(key.NodeId));
    }

    [Fact]
    public void A_head_whose_size_was_changed_after_signing_is_rejected()
    {
        using var key = NodeKey.Generate();
        var error = (Signed(key) with { TreeSize = 4 }).Verify(key.NodeId);
        Assert.NotNull(error);
        Assert.Contains("IdMismatch", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_with_a_recomputed_id_but_the_old_signature_is_rejected_on_the_signature()
    {
        using var key = NodeKey.Generate();
        var good = Signed(key);
        var forged = Signed(key, 4) with { Signature = good.Signature };
        var error = forged.Verify(key.NodeId);
        Assert.NotNull(error);
        Assert.Contains("SignatureInvalid", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_signed_by_another_key_is_rejected_naming_both_keys()
    {
        using var key = NodeKey.Generate();
        using var other = NodeKey.Generate();
        var error = Signed(other).Verify(key.NodeId);
        Assert.NotNull(error);
        Assert.Contains(other.NodeId.ToString(), error, StringComparison.Ordinal);
        Assert.Contains(key.NodeId.ToString(), error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_missing_a_member_is_refused_with_its_name()
    {
        var e = Assert.Throws<FormatException>(() => TreeHead.Parse("""{"tree_size":1,"root":"00","timestamp":1,"signer":"ab","id":"x"}"""));
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_store_keeps_the_larger_head_when_an_older_one_arrives_late()
    {
        using var key = NodeKey.Generate();
        var store = new InMemoryTreeHeadStore();
        store.Set("n", Signed(key, 5));
        store.Set("n", Signed(key, 3));
        Assert.Equal(5, store.Get("n")!.TreeSize);
    }
}
