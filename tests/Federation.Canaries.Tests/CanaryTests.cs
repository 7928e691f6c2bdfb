using Federation.Registry;
using Federation.Registry.Json;

namespace Federation.Canaries.Tests;

public sealed class CanaryTests
{
    [Fact]
    public void Canary_id_is_the_cid_of_its_canonical_json_and_round_trips()
    {
        var c = TestCanaries.Exact();
        Assert.Equal(Cid.Of(CanonicalJson.Serialize(c.Json)), c.Cid);
        var back = Canary.Parse(CanonicalJson.SerializeToString(c.Json));
        Assert.Equal(c.Cid, back.Cid);
        Assert.Equal("""{"checker":{"expected":"4","kind":"exact"},"class":"A","difficulty":0.5,"lifespan":3,"prompt":"What is 2+2? Answer with the number only.","topic":"math","v":1,"visibility":"public"}""",
            CanonicalJson.SerializeToString(c.Json));
    }

    [Fact]
    public void Frozen_format_cid_does_not_change()
    {
        // If this fails, stored canaries and published commitments no longer verify: bump "v" instead.
        Assert.Equal(Cid.Of(CanonicalJson.Canonicalize("""{"checker":{"expected":"4","kind":"exact"},"class":"A","difficulty":0.5,"lifespan":3,"prompt":"What is 2+2? Answer with the number only.","topic":"math","v":1,"visibility":"public"}""")),
            TestCanaries.Exact().Cid);
    }

    [Fact]
    public void Changing_any_field_changes_the_cid()
    {
        var a = TestCanaries.Exact();
        Assert.NotEqual(a.Cid, TestCanaries.Exact(expected: "5").Cid);
        Assert.NotEqual(a.Cid, TestCanaries.Exact(d: 0.6).Cid);
        Assert.NotEqual(a.Cid, TestCanaries.Exact(v: CanaryVisibility.Secret).Cid);
    }

    [Theory]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":0,"lifespan":1}""", "difficulty must be in (0,1]")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1.5,"lifespan":1}""", "difficulty must be in (0,1]")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1,"lifespan":0}""", "lifespan")]
    [InlineData("""{"topic":"m","class":"B","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1,"lifespan":1}""", "class-B canary needs a checker with \"kind\" one of reference")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"panel"},"difficulty":1,"lifespan":1}""", "class-A canary")]
    [InlineData("""{"topic":"m","class":"D","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1,"lifespan":1}""", "\"class\" must be")]
    [InlineData("""{"topic":"","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1,"lifespan":1}""", "topic must be a non-empty")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"regex","pattern":"("},"difficulty":1,"lifespan":1}""", "does not compile")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"json_schema","schema":{"minLength":3}},"difficulty":1,"lifespan":1}""", "keyword \"minLength\" is not in the supported subset")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"program","language":"python","entry":"f","tests":[]},"difficulty":1,"lifespan":1}""", "non-empty array")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x","extra":1},"difficulty":1,"lifespan":1}""", "unknown field \"extra\"")]
    [InlineData("""{"topic":"m","class":"A","prompt":"p","checker":{"kind":"exact","expected":"x"},"difficulty":1,"lifespan":1,"color":"red"}""", "unexpected member \"color\"")]
    public void Bad_canaries_are_refused_with_a_message_naming_the_problem(string json, string fragment)
    {
        var e = Assert.Throws<FormatException>(() => Canary.Parse(json));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_canary_reveal_verifies_against_its_commitment()
    {
        var c = TestCanaries.Exact(v: CanaryVisibility.Secret);
        var salt = CanaryCommitment.NewSalt();
        var commitment = CanaryCommitment.Compute(salt, c);
        var reveal = CanaryCommitment.Reveal(salt, c);
        Assert.True(CanaryCommitment.TryVerifyReveal(reveal, commitment, out var back, out var error), error);
        Assert.Equal(c.Cid, back.Cid);
        // The commitment is SHA-256(salt ‖ canonical bytes), exactly.
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. salt, .. c.CanonicalBytes])), commitment);
    }

    [Fact]
    public void Reveal_with_another_canary_or_salt_does_not_verify()
    {
        var c = TestCanaries.Exact(v: CanaryVisibility.Secret);
        var salt = CanaryCommitment.NewSalt();
        var commitment = CanaryCommitment.Compute(salt, c);
        var swapped = CanaryCommitment.Reveal(salt, TestCanaries.Exact(expected: "5", v: CanaryVisibility.Secret));
        Assert.False(CanaryCommitment.TryVerifyReveal(swapped, commitment, out _, out var e1));
        Assert.Contains("does not match the commitment", e1, StringComparison.Ordinal);
        var otherSalt = CanaryCommitment.Reveal(CanaryCommitment.NewSalt(), c);
        Assert.False(CanaryCommitment.TryVerifyReveal(otherSalt, commitment, out _, out _));
    }
}
