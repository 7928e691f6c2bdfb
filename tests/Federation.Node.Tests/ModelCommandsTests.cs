using System.Text.Json;

using static Federation.Node.Tests.CliRunner;

namespace Federation.Node.Tests;

/// <summary>Runs <c>fed model …</c> and <c>fed adapter …</c> in-process through <see cref="FedCli.Run"/>.</summary>
public sealed class ModelCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-cli-" + Guid.NewGuid().ToString("N"));

    public ModelCommandsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string P(string name) => Path.Combine(_dir, name);


    [Fact]
    public void Model_create_then_inspect_reports_cid_and_parameters()
    {
        var c = Fed("model", "create", "--preset", "tiny", "--seed", "4", "-o", "json", P("m.gguf"));
        Assert.Equal(0, c.Code);
        using var made = JsonDocument.Parse(c.Out);
        Assert.Equal(870528, made.RootElement.GetProperty("parameters").GetInt64());
        var cid = made.RootElement.GetProperty("cid").GetString();

        var text = Fed("model", "inspect", P("m.gguf"));
        Assert.Equal(0, text.Code);
        Assert.Contains($"cid          {cid}", text.Out, StringComparison.Ordinal);
        Assert.Contains("blk.3.ffn_down.weight", text.Out, StringComparison.Ordinal);

        var json = Fed("model", "inspect", "--output", "json", P("m.gguf"));
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(39, doc.RootElement.GetProperty("tensors").GetArrayLength());
        Assert.Equal("llama", doc.RootElement.GetProperty("architecture").GetString());
    }

    [Fact]
    public void Model_create_refuses_to_overwrite_without_force()
    {
        Assert.Equal(0, Fed("model", "create", P("m.gguf")).Code);
        var again = Fed("model", "create", P("m.gguf"));
        Assert.Equal(1, again.Code);
        Assert.Contains("--force", again.Err, StringComparison.Ordinal);
        Assert.Equal(0, Fed("model", "create", "--force", "--seed", "1", P("m.gguf")).Code);
    }

    [Fact]
    public void Inspecting_a_bad_file_is_a_one_line_error_with_exit_1()
    {
        File.WriteAllText(P("bad.gguf"), "not a model at all");
        var r = Fed("model", "inspect", P("bad.gguf"));
        Assert.Equal(1, r.Code);
        Assert.Contains("not a GGUF file: expected magic 'GGUF'", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        var missing = Fed("adapter", "inspect", P("none.gguf"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("does not exist", missing.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Adapter_inspect_with_a_fitting_base_passes_and_with_another_base_exits_3()
    {
        Fed("model", "create", "--preset", "tiny", P("tiny.gguf"));
        Fed("model", "create", "--preset", "small", P("small.gguf"));
        Assert.Equal(0, Fed("adapter", "create", "--base", P("tiny.gguf"), "--rank", "4", "--seed", "1", P("a.gguf")).Code);

        var ok = Fed("adapter", "inspect", P("a.gguf"), "--base", P("tiny.gguf"));
        Assert.Equal(0, ok.Code);
        Assert.Contains("lora rank    4", ok.Out, StringComparison.Ordinal);
        Assert.Contains("valid for base", ok.Out, StringComparison.Ordinal);

        var bad = Fed("adapter", "inspect", P("a.gguf"), "--base", P("small.gguf"));
        Assert.Equal(3, bad.Code);
        Assert.Contains("does not fit base", bad.Err, StringComparison.Ordinal);
        Assert.Contains("expected shape {384, r}", bad.Err, StringComparison.Ordinal);

        var json = Fed("adapter", "inspect", "-o", "json", P("a.gguf"), "--base", P("small.gguf"));
        Assert.Equal(3, json.Code);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.False(doc.RootElement.GetProperty("validation").GetProperty("valid").GetBoolean());
    }

    [Fact]
    public void Adapter_create_with_a_bad_target_or_rank_fails_cleanly()
    {
        Fed("model", "create", P("tiny.gguf"));
        var t = Fed("adapter", "create", "--base", P("tiny.gguf"), "--rank", "4", "--targets", "attn_q,bogus", P("a.gguf"));
        Assert.Equal(1, t.Code);
        Assert.Contains("unknown LoRA target 'bogus'", t.Err, StringComparison.Ordinal);
        Assert.Equal(2, Fed("adapter", "create", "--base", P("tiny.gguf"), "--rank", "0", P("a.gguf")).Code);
        Assert.False(File.Exists(P("a.gguf")));
    }
}
