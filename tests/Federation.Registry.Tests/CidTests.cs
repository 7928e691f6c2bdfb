using Federation.Registry.Json;

namespace Federation.Registry.Tests;

public class CidTests
{
    [Fact]
    public void Cid_of_abc_is_the_sha256_hex()
    {
        var cid = Cid.Of("abc"u8);
        // Independent source: FIPS 180-2 Appendix B.1, SHA-256("abc").
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", cid.ToString());
        Assert.Equal(cid, Cid.Parse(cid.ToString()));
        Assert.Equal(Convert.FromHexString(cid.ToString()), cid.ToArray());
    }

    [Fact]
    public void Spore_worked_example_record_has_the_documented_id()
    {
        var rec = CanonicalJson.Parse(File.ReadAllText(Path.Combine(JsonVectorFiles.Directory("canonical-json"), "spore.json")))
            ["cases"][0]["input"].AsString();
        // Independent source: the id printed in the Spore notes' worked example (notes/spore-protocol.md §3.3).
        Assert.Equal("013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6", Cid.Of(CanonicalJson.Parse(rec)).ToString());
    }

    [Theory]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "upper-case")]
    [InlineData("ba7816bf", "found 8 characters")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag", "'g' at position 63")]
    public void Malformed_cid_is_rejected_with_a_reason(string text, string reason)
    {
        Assert.False(Cid.TryParse(text, out _));
        var e = Assert.Throws<FormatException>(() => Cid.Parse(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cids_compare_by_value()
    {
        Assert.Equal(Cid.Of("x"u8), Cid.Of("x"u8));
        Assert.NotEqual(Cid.Of("x"u8), Cid.Of("y"u8));
        Assert.Equal(Cid.Of("x"u8).GetHashCode(), Cid.Of("x"u8).GetHashCode());
    }
}

public class CidSerializationTests
{
    private sealed record Holder(Cid Id, Federation.Registry.Crypto.NodeId Signer);

    [Fact]
    public void Cid_and_node_id_serialize_as_hex_strings_in_system_text_json()
    {
        var h = new Holder(Cid.Of("abc"u8), Federation.Registry.Crypto.NodeId.Parse("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
        var json = System.Text.Json.JsonSerializer.Serialize(h);
        Assert.Equal("{\"Id\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"Signer\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}", json);
        Assert.Equal(h, System.Text.Json.JsonSerializer.Deserialize<Holder>(json));
        Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<Holder>(json.Replace("ba78", "BA78", StringComparison.Ordinal)));
    }

    [Fact]
    public void Cids_order_like_their_hex_strings()
    {
        var cids = Enumerable.Range(0, 50).Select(i => Cid.Of(BitConverter.GetBytes(i))).ToList();
        var byValue = cids.Order().Select(c => c.ToString()).ToList();
        var byHex = cids.Select(c => c.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(byHex, byValue);
    }
}
