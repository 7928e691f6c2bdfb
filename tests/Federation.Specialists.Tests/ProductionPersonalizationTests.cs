using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Personalization;
using Xunit;

namespace Federation.Specialists.Tests;

public sealed class ProductionPersonalizationTests
{
    private static readonly Cid BaseA = Cid.Of("base-a"u8);
    private static readonly Cid BaseB = Cid.Of("base-b"u8);

    [Fact]
    public void A_per_user_adapter_is_never_applied_to_another_users_request()
    {
        var reg = new UserAdapterRegistry();
        reg.Bind(new UserAdapter("alice", "alice-math", BaseA, ["math"], 0.8f));
        Assert.Equal([new AdapterSelection("math-a"), new AdapterSelection("alice-math", 0.8f)], reg.Select("alice", "math", "math-a", BaseA));
        foreach (var other in new[] { "bob", "Alice", "alice ", "" })
            Assert.DoesNotContain(reg.Select(other, "math", "math-a", BaseA), s => s.AdapterId == "alice-math");
        Assert.Equal([new AdapterSelection("math-a")], reg.Select(null, "math", "math-a", BaseA));
        // Not on another base either (the adapter was trained for base A).
        Assert.Equal([new AdapterSelection("elements-b")], reg.Select("alice", "math", "elements-b", BaseB));
        Assert.True(reg.Unbind("alice", BaseA, "math"));
        Assert.Equal([new AdapterSelection("math-a")], reg.Select("alice", "math", "math-a", BaseA));
    }

    /// <summary>
    /// The lead's bug: a user adapter consolidated for one topic was stacked on every specialist of its base for that user
    /// (and broke math). Bound to its topics, it is selected only for requests routed to one of them: not for another topic
    /// served by the very same specialist adapter on the same base, not for a panel (no single topic), and a second
    /// adapter of the same user for another topic on the same base does not replace the first.
    /// </summary>
    [Fact]
    public void A_per_user_adapter_applies_only_to_the_topics_it_is_bound_to()
    {
        var reg = new UserAdapterRegistry();
        reg.Bind(new UserAdapter("alice", "alice-general", BaseA, ["general"]));
        Assert.Equal([new AdapterSelection("math-a"), new AdapterSelection("alice-general")], reg.Select("alice", "general", "math-a", BaseA));
        Assert.Equal([new AdapterSelection("math-a")], reg.Select("alice", "math", "math-a", BaseA));
        Assert.Equal([new AdapterSelection("math-a")], reg.Select("alice", null, "math-a", BaseA));
        reg.Bind(new UserAdapter("alice", "alice-elements", BaseA, ["elements", "code"]));
        Assert.Equal("alice-general", reg.Select("alice", "general", "math-a", BaseA)[1].AdapterId);
        Assert.Equal("alice-elements", reg.Select("alice", "elements", "x", BaseA)[1].AdapterId);
        Assert.Equal("alice-elements", reg.Select("alice", "code", "x", BaseA)[1].AdapterId);
        Assert.Single(reg.Select("alice", "math", "math-a", BaseA));
        Assert.Throws<ArgumentException>(() => reg.Bind(new UserAdapter("alice", "no-topic", BaseA, [])));
    }

    [Fact]
    public async Task The_engine_output_changes_only_for_the_bound_users_request()
    {
        using var dir = new TempDir();
        var basePath = dir.File("base.gguf");
        TinyModelFactory.Create("tiny", 5, basePath);
        LoraAdapterFactory.Create(basePath, dir.File("spec.gguf"), rank: 4, seed: 1);
        LoraAdapterFactory.Create(basePath, dir.File("alice.gguf"), rank: 8, seed: 99, alpha: 64);
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = basePath, Contexts = 1, ContextSize = 256 });
        engine.RegisterAdapter("spec", dir.File("spec.gguf"));
        engine.RegisterAdapter("alice-own", dir.File("alice.gguf"));
        var reg = new UserAdapterRegistry();
        reg.Bind(new UserAdapter("alice", "alice-own", engine.BaseCid, ["general"]));
        async Task<string> Ask(string? user) => (await engine.GenerateAsync(new GenerationRequest
        {
            Prompt = "The answer is", MaxTokens = 12, Adapters = reg.Select(user, "general", "spec", engine.BaseCid),
        })).Text;
        var bob = await Ask("bob");
        var anonymous = await Ask(null);
        var alice = await Ask("alice");
        Assert.Equal(bob, anonymous);
        Assert.NotEqual(bob, alice);
    }

    [Fact]
    public void Consolidation_uses_only_dialogues_the_same_user_consented_to_with_a_valid_signature()
    {
        using var node = NodeKey.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());
        using var stranger = NodeKey.FromSeed(Enumerable.Repeat((byte)2, 32).ToArray());
        var d1 = new Dialogue("alice", "math", "What is 2 + 2?", "4");
        var d2 = new Dialogue("alice", "math", "What is 3 + 3?", "6");
        var d3 = new Dialogue("bob", "math", "What is 5 + 5?", "10");
        var d4 = new Dialogue("alice", "math", "What is 7 + 1?", "8");
        var ok = Consent.Grant("alice", d1.Cid, node);
        var forBob = Consent.Grant("bob", d3.Cid, node);          // bob's consent: not usable for alice
        var foreign = Consent.Grant("alice", d2.Cid, stranger);   // signed by an untrusted key
        var altered = Consent.Grant("alice", d4.Cid, node).ToJson();
        altered["payload"].AsObject()["dialogue"] = d2.Cid.ToString();
        var (examples, excluded) = Consolidation.Collect("alice", [d1, d2, d3, d4], [ok, forBob, foreign,
            Federation.Registry.Envelopes.SignedEnvelope.FromJson(altered)], [node.NodeId]);
        var e = Assert.Single(examples);
        Assert.Equal("What is 2 + 2?", e.Question);
        Assert.Equal(3, excluded);
    }
}
