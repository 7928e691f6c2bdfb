using Federation.Specialists.Gguf;
using Federation.Specialists.Models;

namespace Federation.Specialists.Tests;

public class AdapterValidatorTests
{
    [Fact]
    public void Matching_adapter_is_valid_with_its_rank_and_alpha()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var a = LoraAdapterFactory.Create(b, dir.File("a.gguf"), 8, 2, alpha: 4f).Path;

        var r = AdapterValidator.Validate(b, a);

        Assert.True(r.IsValid, r.Reason);
        Assert.Equal(8, r.Rank);
        Assert.Equal(4f, r.Alpha);
        Assert.Equal(28, r.TargetTensors.Count);
        Assert.Contains("blk.0.attn_q.weight", r.TargetTensors);
    }

    [Fact]
    public void Adapter_for_another_base_shape_is_rejected_naming_tensor_and_shapes()
    {
        using var dir = new TempDir();
        var tiny = TinyModelFactory.Create("tiny", 1, dir.File("tiny.gguf")).Path;
        var small = TinyModelFactory.Create("small", 1, dir.File("small.gguf")).Path;
        var forSmall = LoraAdapterFactory.Create(small, dir.File("a.gguf"), 4, 2).Path;

        var r = AdapterValidator.Validate(tiny, forSmall);

        Assert.False(r.IsValid);
        var q = Assert.Single(r.Issues, i => i.Tensor == "blk.0.attn_q.weight.lora_a");
        Assert.Equal("adapter.shape_mismatch", q.Code);
        Assert.Equal("tensor 'blk.0.attn_q.weight.lora_a': expected shape {128, r} for base 'blk.0.attn_q.weight' {128, 128}, found {384, 4}", q.Message);
        Assert.Contains(r.Issues, i => i.Code == "adapter.unknown_base_tensor" && i.Tensor == "blk.5.ffn_up.weight.lora_a");
        Assert.Contains("blk.0.ffn_down.weight.lora_b", r.Reason, StringComparison.Ordinal);
    }

    private static string WriteAdapter(TempDir dir, Action<GgufWriter> build, string arch = "llama", string type = "adapter", string loraType = "lora")
    {
        var w = new GgufWriter().Set("general.architecture", arch).Set("general.type", type).Set("adapter.type", loraType).Set("adapter.lora.alpha", 2f);
        build(w);
        var path = dir.File(Guid.NewGuid().ToString("N") + ".gguf");
        w.WriteFile(path);
        return path;
    }

    private static void Pair(GgufWriter w, string name, ulong nIn, ulong nOut, ulong r, bool a = true, bool b = true)
    {
        if (a) w.AddF32(name + ".lora_a", [nIn, r], new float[nIn * r]);
        if (b) w.AddF32(name + ".lora_b", [r, nOut], new float[r * nOut]);
    }

    [Fact]
    public void Missing_partner_tensor_is_named()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var a = WriteAdapter(dir, w =>
        {
            Pair(w, "blk.0.attn_q.weight", 128, 128, 2);
            Pair(w, "blk.1.attn_q.weight", 128, 128, 2, b: false);
        });
        var r = AdapterValidator.Validate(b, a);
        var i = Assert.Single(r.Issues);
        Assert.Equal("adapter.unpaired_tensor", i.Code);
        Assert.Equal("tensor 'blk.1.attn_q.weight.lora_a' has no partner: 'blk.1.attn_q.weight.lora_b' is missing", i.Message);
    }

    [Fact]
    public void Inconsistent_rank_and_mismatched_inner_dimension_are_rejected()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var a = WriteAdapter(dir, w =>
        {
            Pair(w, "blk.0.attn_q.weight", 128, 128, 2);
            Pair(w, "blk.0.attn_k.weight", 128, 128, 4);
            w.AddF32("blk.0.attn_v.weight.lora_a", [128, 2], new float[256]);
            w.AddF32("blk.0.attn_v.weight.lora_b", [3, 128], new float[384]);
        });
        var r = AdapterValidator.Validate(b, a);
        Assert.Contains(r.Issues, i => i.Code == "adapter.inconsistent_rank" && i.Message.Contains("found 2 (e.g. 'blk.0.attn_q.weight'), 4", StringComparison.Ordinal));
        Assert.Contains(r.Issues, i => i.Code == "adapter.rank_mismatch" && i.Tensor == "blk.0.attn_v.weight.lora_b");
        Assert.Null(r.Rank);
    }

    [Fact]
    public void Wrong_kind_architecture_or_stray_tensors_are_rejected()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf")).Path;
        var wrong = WriteAdapter(dir, w =>
        {
            Pair(w, "blk.0.attn_q.weight", 128, 128, 2);
            w.AddF32("blk.0.attn_q.weight", [1], [0]);
        }, arch: "qwen2", type: "model", loraType: "ia3");
        var r = AdapterValidator.Validate(b, wrong);
        Assert.Equal(
            ["adapter.not_adapter", "adapter.not_lora", "adapter.architecture_mismatch", "adapter.unexpected_tensor"],
            r.Issues.Select(i => i.Code));
        Assert.Contains("general.architecture: base is \"llama\", adapter is \"qwen2\"", r.Reason, StringComparison.Ordinal);
        Assert.Contains("adapter.type: expected \"lora\", found \"ia3\"", r.Reason, StringComparison.Ordinal);

        var modelAsAdapter = AdapterValidator.Validate(b, b);
        Assert.Contains(modelAsAdapter.Issues, i => i.Code == "adapter.not_adapter" && i.Message.Contains("key absent", StringComparison.Ordinal));
        Assert.Contains(modelAsAdapter.Issues, i => i.Code == "adapter.empty");
    }

    [Fact]
    public void Model_info_reports_adapter_rank_alpha_and_cid()
    {
        using var dir = new TempDir();
        var b = TinyModelFactory.Create("tiny", 1, dir.File("base.gguf"));
        var a = LoraAdapterFactory.Create(b.Path, dir.File("a.gguf"), 4, 3);
        var info = ModelInfo.Inspect(a.Path);
        Assert.Equal("adapter", info.Kind);
        Assert.Equal(4, info.LoraRank);
        Assert.Equal(4f, info.LoraAlpha);
        Assert.Equal(a.Cid, info.Cid);
        var m = ModelInfo.Inspect(b.Path);
        Assert.Equal("model", m.Kind);
        Assert.Equal(870_528UL, m.ParameterCount);
        Assert.Equal(39, m.Tensors.Count);
        Assert.Contains(m.Metadata, e => e.Key == "tokenizer.ggml.tokens" && e.Type == "array[string × 260]");
    }
}
