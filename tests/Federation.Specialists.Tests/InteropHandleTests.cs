using Federation.Specialists.Interop;

namespace Federation.Specialists.Tests;

public class InteropHandleTests
{
    [Fact]
    public void A_context_keeps_its_model_alive_after_the_model_is_disposed()
    {
        var model = LlamaModel.Load(ModelFiles.Instance.Base, 0);
        var ctx = LlamaContext.Create(model, new LlamaContextSettings { ContextPerSequence = 64 });
        var adapter = model.LoadAdapter(ModelFiles.Instance.Adapters[0].Path);
        model.Dispose();
        Assert.False(model.Handle.IsClosed); // disposed by its owner, but the context's reference keeps the native model
        // The native model is still there: the context decodes with the adapter set.
        ctx.SetAdapters([adapter], [1f]);
        adapter.Dispose(); // the context holds its own reference on the adapter it uses
        using (var batch = new LlamaBatch(4))
        {
            batch.Add(model.Bos, 0, 0, false);
            batch.Add(65, 1, 0, true);
            ctx.Decode(batch);
        }
        var logits = new float[model.VocabSize];
        ctx.CopyLogits(1, logits);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        ctx.Dispose();
        Assert.True(ctx.Handle.IsClosed);
        Assert.True(model.Handle.IsClosed); // the last reference is gone: now the model is freed
    }

    [Fact]
    public void Loading_a_missing_or_damaged_model_throws_a_clear_error()
    {
        LlamaLibrary.EnsureLoaded();
        var missing = Assert.Throws<LlamaException>(() => LlamaModel.Load("/no/such/model.gguf", 0));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        var damaged = Assert.Throws<LlamaException>(() => LlamaModel.Load(ModelFiles.Instance.Garbage, 0));
        Assert.Contains("Native log:", damaged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenize_and_pieces_round_trip_bytes_with_the_byte_vocabulary()
    {
        using var model = LlamaModel.Load(ModelFiles.Instance.Base, 0);
        var text = "héllo wörld €"u8.ToArray();
        var tokens = model.Tokenize(text, addSpecial: true, parseSpecial: false);
        Assert.Equal(model.Bos, tokens[0]);
        var bytes = tokens.Skip(1).SelectMany(model.TokenToPiece).ToArray();
        Assert.Equal(text, bytes);
    }
}
