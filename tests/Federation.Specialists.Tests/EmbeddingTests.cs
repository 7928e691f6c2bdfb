using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

[Collection("engine")]
public class EmbeddingTests(EngineFixture fx)
{
    [Fact]
    public async Task Embeddings_are_deterministic_and_have_the_model_width()
    {
        string[] inputs = ["alpha", "a longer sentence about beta", "γάμμα"];
        var e1 = await fx.Engine.EmbedAsync(inputs);
        var e2 = await fx.Engine.EmbedAsync(inputs);
        Assert.Equal(3, e1.Length);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(fx.Engine.EmbeddingSize, e1[i].Length);
            Assert.Equal(e1[i], e2[i]);
            Assert.All(e1[i], v => Assert.True(float.IsFinite(v)));
        }
        Assert.NotEqual(e1[0], e1[1]);
    }

    [Fact]
    public async Task An_input_embeds_the_same_alone_or_among_others()
    {
        var alone = await fx.Engine.EmbedAsync(["same text"]);
        var among = await fx.Engine.EmbedAsync(["first", "same text", "third one"]);
        Assert.Equal(alone[0], among[1]);
    }

    [Fact]
    public async Task Batched_embeddings_are_reproducible_and_close_to_solo_ones()
    {
        using var batched = SpecialistEngine.Open(new EngineOptions { BaseModelPath = fx.Files.Base, Contexts = 1, EmbeddingSequences = 8 });
        string[] inputs = ["first", "same text", "third one"];
        var b1 = await batched.EmbedAsync(inputs);
        var b2 = await batched.EmbedAsync(inputs);
        var solo = await fx.Engine.EmbedAsync(inputs);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(b1[i], b2[i]);
            // Several sequences in one decode change the float summation order slightly (measured up to ~1e-7 relative).
            for (var j = 0; j < solo[i].Length; j++) Assert.Equal(solo[i][j], b1[i][j], 1e-4f);
        }
    }

    [Fact]
    public async Task More_inputs_than_one_batch_holds_are_all_embedded()
    {
        var inputs = Enumerable.Range(0, 19).Select(i => $"input number {i}").ToList();
        var all = await fx.Engine.EmbedAsync(inputs);
        var single = await fx.Engine.EmbedAsync([inputs[17]]);
        Assert.Equal(19, all.Length);
        Assert.Equal(single[0], all[17]);
    }
}
