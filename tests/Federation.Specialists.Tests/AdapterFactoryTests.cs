using Federation.Specialists.Gguf;
using Federation.Specialists.Models;

namespace Federation.Specialists.Tests;

public class AdapterFactoryTests
{
    [Fact]
    public void Adapter_has_lora_keys_and_pairs_with_the_base_shapes()
    {
        using var dir = new TempDir();
        var baseModel = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf"));
        var made = LoraAdapterFactory.Create(baseModel.Path, dir.File("a.gguf"), 8, 5);
        var f = GgufFile.Read(made.Path);

        Assert.Equal("llama", f.Get("general.architecture").AsString());
        Assert.Equal("adapter", f.Get("general.type").AsString());
        Assert.Equal("lora", f.Get("adapter.type").AsString());
        Assert.Equal(8f, f.Get("adapter.lora.alpha").AsFloat32());
        Assert.Equal(baseModel.Cid.ToString(), f.Get("federation.adapter.base_cid").AsString());
        Assert.Equal(4 * 7 * 2, f.Tensors.Count);
        Assert.Equal([128UL, 8UL], f.FindTensor("blk.0.attn_q.weight.lora_a")!.Shape);
        Assert.Equal([8UL, 128UL], f.FindTensor("blk.0.attn_q.weight.lora_b")!.Shape);
        Assert.Equal([352UL, 8UL], f.FindTensor("blk.3.ffn_down.weight.lora_a")!.Shape);
        Assert.Equal([8UL, 128UL], f.FindTensor("blk.3.ffn_down.weight.lora_b")!.Shape);
        Assert.Equal([8UL, 352UL], f.FindTensor("blk.2.ffn_up.weight.lora_b")!.Shape);
        Assert.Equal((long)f.ParameterCount, made.ParameterCount);
        Assert.Null(f.FindTensor("output.weight.lora_a"));
    }

    [Fact]
    public void B_matrices_are_non_zero_so_the_adapter_changes_the_output()
    {
        using var dir = new TempDir();
        var baseModel = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf"));
        var f = GgufFile.Read(LoraAdapterFactory.Create(baseModel.Path, dir.File("a.gguf"), 4, 5).Path);
        foreach (var t in f.Tensors.Where(t => t.Name.EndsWith(".lora_b", StringComparison.Ordinal)))
        {
            var b = f.ReadTensorFloats(t);
            Assert.True(b.Count(x => x != 0) > b.Length * 0.99, $"{t.Name} is (nearly) zero");
            var rms = Math.Sqrt(b.Select(x => (double)x * x).Average());
            Assert.InRange(rms, 0.4 / Math.Sqrt(4), 0.6 / Math.Sqrt(4));
        }
    }

    [Fact]
    public void Same_seed_same_adapter_and_different_seed_different_adapter()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var a1 = LoraAdapterFactory.Create(b, dir.File("a1.gguf"), 4, 11);
        var a2 = LoraAdapterFactory.Create(b, dir.File("a2.gguf"), 4, 11);
        var a3 = LoraAdapterFactory.Create(b, dir.File("a3.gguf"), 4, 12);
        Assert.Equal(a1.Cid, a2.Cid);
        Assert.NotEqual(a1.Cid, a3.Cid);
    }

    [Fact]
    public void Targets_and_alpha_can_be_chosen()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var f = GgufFile.Read(LoraAdapterFactory.Create(b, dir.File("a.gguf"), 2, 1, alpha: 16f, targets: ["attn_q", "output"]).Path);
        Assert.Equal(16f, f.Get("adapter.lora.alpha").AsFloat32());
        Assert.Equal(4 * 2 + 2, f.Tensors.Count);
        Assert.Equal([2UL, 260UL], f.FindTensor("output.weight.lora_b")!.Shape);
        Assert.All(f.Tensors, t => Assert.True(t.Name.Contains("attn_q", StringComparison.Ordinal) || t.Name.StartsWith("output.", StringComparison.Ordinal), t.Name));
    }

    [Fact]
    public void Bad_arguments_are_refused_with_reasons()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        Assert.Contains("unknown LoRA target 'attn_x'", Assert.Throws<ArgumentException>(() =>
            LoraAdapterFactory.Create(b, dir.File("x.gguf"), 2, 1, targets: ["attn_x"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraAdapterFactory.Create(b, dir.File("x.gguf"), 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraAdapterFactory.Create(b, dir.File("x.gguf"), 129, 1));
        var adapter = LoraAdapterFactory.Create(b, dir.File("a.gguf"), 2, 1).Path;
        Assert.Contains("is an adapter", Assert.Throws<ArgumentException>(() =>
            LoraAdapterFactory.Create(adapter, dir.File("x.gguf"), 2, 1)).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.gguf")));
    }
}
