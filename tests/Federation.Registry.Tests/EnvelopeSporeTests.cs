using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Registry.Tests;

/// <summary>The Spore worked examples (notes/spore-protocol.md §3.3, §4.3): canonical bytes, id and signature all match the reference.</summary>
public class EnvelopeSporeTests
{
    private static JsonValue Case(int i) =>
        CanonicalJson.Parse(CanonicalJson.Parse(File.ReadAllText(Path.Combine(JsonVectorFiles.Directory("canonical-json"), "spore.json")))
            ["cases"][i]["input"].AsString());

    [Theory]
    [InlineData(0, "013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6",
        "5fbb9715330a52f2124640ab85c96159a8dda6f6ac0650d9b8346d87943ce2562b5ef4588eb048d13dcced83c862f4ff7fb288c0626f0b066dd06fef2195d20b")]
    [InlineData(1, "92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a",
        "c5f6d85e8e4e196da0ada5bb21c01f83188e4cb818a310b44ccc3640dc77163b4c166064d6212933e2754eae1e93ffc4f46bcd2e10141016a47799853084a104")]
    public void Spore_worked_example_id_and_signature_match_the_reference(int index, string id, string signature)
    {
        using var key = NodeKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var bytes = CanonicalJson.Serialize(Case(index));
        Assert.Equal(id, Cid.Of(bytes).ToString());
        Assert.Equal(signature, Convert.ToHexStringLower(key.Sign(bytes)));
        Assert.True(Ed25519Verifier.Verify(key.NodeId, bytes, Convert.FromHexString(signature)).IsValid);
    }

    [Fact]
    public void Spore_record_with_float_sent_as_int_no_longer_matches_its_id()
    {
        var rec = Case(0).AsObject();
        rec["val_bpb"] = 1;
        Assert.NotEqual("013d36389ac3e1006f9dc4c6e08abf5e6349b4264507046b14fbf1a4c51617f6", Cid.Of(rec).ToString());
    }
}
