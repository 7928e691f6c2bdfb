using System.Text.Json;
using Federation.Specialists.Models;

using static Federation.Node.Tests.CliRunner;

namespace Federation.Node.Tests;

/// <summary>Runs <c>fed generate</c> in-process against a generated tiny model and the real llama.cpp library.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-gen-" + Guid.NewGuid().ToString("N"));

    public GenerateCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }


    [Fact]
    public void Generate_prints_json_with_usage_and_is_reproducible_and_the_adapter_changes_it()
    {
        var model = TinyModelFactory.Create(ModelPreset.Tiny, 1, Path.Combine(_dir, "base.gguf")).Path;
        var adapter = LoraAdapterFactory.Create(model, Path.Combine(_dir, "a.gguf"), rank: 4, seed: 9).Path;
        var first = Fed("generate", "--model", model, "--prompt", "hi", "--max-tokens", "12", "-o", "json");
        Assert.True(first.Code == 0, first.Err);
        using var doc = JsonDocument.Parse(first.Out);
        var root = doc.RootElement;
        Assert.Equal(12, root.GetProperty("token_ids").GetArrayLength());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(15, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.Equal("length", root.GetProperty("finish_reason").GetString());
        Assert.Equal(first.Out, Fed("generate", "--model", model, "--prompt", "hi", "--max-tokens", "12", "-o", "json").Out);
        var withAdapter = Fed("generate", "--model", model, "--adapter", adapter + ":1.5", "--prompt", "hi", "--max-tokens", "12", "-o", "json");
        Assert.Equal(0, withAdapter.Code);
        Assert.NotEqual(first.Out, withAdapter.Out);
    }

    [Fact]
    public void Generate_with_a_foreign_adapter_fails_with_the_reason()
    {
        var model = TinyModelFactory.Create(ModelPreset.Tiny, 1, Path.Combine(_dir, "base.gguf")).Path;
        var other = TinyModelFactory.Create(new ModelPreset("other", 64, 2, 2, 2, 160), 2, Path.Combine(_dir, "other.gguf")).Path;
        var foreign = LoraAdapterFactory.Create(other, Path.Combine(_dir, "f.gguf"), rank: 4, seed: 9).Path;
        var r = Fed("generate", "--model", model, "--adapter", foreign, "--prompt", "hi");
        Assert.Equal(1, r.Code);
        Assert.Contains("adapter.shape_mismatch", r.Err, StringComparison.Ordinal);
    }
}
