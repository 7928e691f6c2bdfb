using Federation.Specialists.Engine;
using Federation.Specialists.Interop;

namespace Federation.Specialists.Tests;

/// <summary>Ownership rules on top of LLamaSharp's handles: what keeps what alive, and clear errors.</summary>
public class InteropHandleTests
{
    [Fact]
    public void A_context_keeps_its_model_and_its_adapter_alive_after_their_owners_let_go()
    {
        var model = BaseModel.Load(ModelFiles.Instance.Base, 0);
        var ctx = EngineContext.Create(model, new ContextSettings { ContextPerSequence = 64 });
        var adapter = new PooledAdapter(model.LoadAdapter(ModelFiles.Instance.Adapters[0].Path));
        ctx.SetAdapters([adapter], [1f]);
        adapter.Release(); // the pool evicts it, but the context still has it set: freed only when the context lets go
        model.Dispose();
        Assert.False(model.Handle.IsClosed); // LLamaSharp's context holds a reference on the native model
        using (var batch = new NativeBatch(4))
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
        Assert.Throws<InvalidOperationException>(() => adapter.Take()); // and the adapter with it
    }

    [Fact]
    public void Loading_a_missing_or_damaged_model_throws_a_clear_error()
    {
        LlamaLibrary.EnsureLoaded();
        var missing = Assert.Throws<LlamaException>(() => BaseModel.Load("/no/such/model.gguf", 0));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        var damaged = Assert.Throws<LlamaException>(() => BaseModel.Load(ModelFiles.Instance.Garbage, 0));
        Assert.Contains("Native log:", damaged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_adapter_llama_cpp_refuses_throws_a_clear_error_instead_of_a_null_adapter()
    {
        // The pool's own validator would reject these first; this checks the native loader's refusal is caught too.
        using var model = BaseModel.Load(ModelFiles.Instance.Base, 0);
        foreach (var bad in new[] { ModelFiles.Instance.Mismatched, ModelFiles.Instance.Truncated, ModelFiles.Instance.Garbage })
        {
            var e = Assert.Throws<LlamaException>(() => model.LoadAdapter(bad));
            Assert.Contains("could not load", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tokenize_and_pieces_round_trip_bytes_with_the_byte_vocabulary()
    {
        using var model = BaseModel.Load(ModelFiles.Instance.Base, 0);
        var text = "héllo wörld €";
        var tokens = model.Tokenize(text, addSpecial: true, parseSpecial: false);
        Assert.Equal(model.Bos, tokens[0]);
        var bytes = tokens.Skip(1).SelectMany(model.TokenToPiece).ToArray();
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(text), bytes);
    }
}
