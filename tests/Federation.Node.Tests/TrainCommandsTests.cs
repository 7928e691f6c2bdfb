using System.Text;
using System.Text.Json;

using static Federation.Node.Tests.CliRunner;

namespace Federation.Node.Tests;

/// <summary><c>fed model train</c> and <c>fed adapter train</c> end to end on the tiny preset (a few seconds each).</summary>
public sealed class TrainCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-train-cli-" + Guid.NewGuid().ToString("N"));

    public TrainCommandsTests()
    {
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, Fed("model", "create", "--preset", "tiny", "--seed", "5", P("base.gguf")).Code);
        var sb = new StringBuilder();
        for (var i = 0; i < 30; i++) sb.Append("Gold has the symbol Au.\nThe capital of Peru is Lima.\nNine minus four is five.\n");
        File.WriteAllText(P("corpus.txt"), sb.ToString());
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Adapter_train_writes_an_adapter_and_a_loss_curve_and_model_train_a_model()
    {
        var a = Fed("adapter", "train", "--base", P("base.gguf"), "--corpus", P("corpus.txt"), "--rank", "8", "--out", P("a.gguf"),
            "--epochs", "3", "--val-split", "0.25", "-o", "json");
        Assert.True(a.Code == 0, a.Err);
        using var doc = JsonDocument.Parse(a.Out);
        Assert.Equal(8, doc.RootElement.GetProperty("rank").GetInt32());
        var s = doc.RootElement.GetProperty("summary");
        Assert.True(s.GetProperty("best_val_loss").GetDouble() < s.GetProperty("initial_val_loss").GetDouble());
        Assert.StartsWith("epoch,train_loss,val_loss", File.ReadAllText(P("a.gguf.loss.csv")), StringComparison.Ordinal);
        var inspect = Fed("adapter", "inspect", P("a.gguf"), "--base", P("base.gguf"));
        Assert.True(inspect.Code == 0, inspect.Err + inspect.Out);

        var m = Fed("model", "train", "--model", P("base.gguf"), "--corpus", P("corpus.txt"), "--out", P("ft.gguf"), "--epochs", "1", "--val-split", "0.25");
        Assert.True(m.Code == 0, m.Err);
        Assert.Contains("wrote model", m.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(P("ft.gguf.loss.csv")));
    }

    [Fact]
    public void Bad_train_arguments_get_clear_errors()
    {
        var missing = Fed("model", "train", "--model", P("nope.gguf"), "--corpus", P("corpus.txt"), "--out", P("x.gguf"));
        Assert.Equal(2, missing.Code);
        Assert.Contains("does not exist", missing.Err, StringComparison.Ordinal);
        var split = Fed("model", "train", "--model", P("base.gguf"), "--corpus", P("corpus.txt"), "--out", P("x.gguf"), "--val-split", "1.5");
        Assert.Equal(2, split.Code);
        Assert.Contains("validation split", split.Err, StringComparison.Ordinal);
        var rank = Fed("adapter", "train", "--base", P("base.gguf"), "--corpus", P("corpus.txt"), "--out", P("x.gguf"), "--rank", "0");
        Assert.Equal(2, rank.Code);
        Assert.Contains("--rank", rank.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Examples_jsonl_with_checkpoints_then_resume_and_route_errors()
    {
        var lines = Enumerable.Range(0, 16).Select(i => JsonSerializer.Serialize(new { prompt = $"What is {i % 4} + 1?\n", completion = $"{(i % 4) + 1}" }));
        File.WriteAllLines(P("ex.jsonl"), lines);
        var a = Fed("adapter", "train", "--base", P("base.gguf"), "--examples", P("ex.jsonl"), "--rank", "4", "--out", P("e.gguf"),
            "--epochs", "2", "--batch", "4", "--checkpoint-dir", P("ck"), "-o", "json");
        Assert.True(a.Code == 0, a.Err);
        using var doc = JsonDocument.Parse(a.Out);
        Assert.Equal("ggml", doc.RootElement.GetProperty("route").GetString());
        var ckpt = doc.RootElement.GetProperty("checkpoint").GetString()!;
        Assert.EndsWith("epoch-0002.ckpt", ckpt, StringComparison.Ordinal);
        Assert.StartsWith("<svg", File.ReadAllText(P("e.gguf.loss.svg")), StringComparison.Ordinal);
        var resumed = Fed("adapter", "train", "--base", P("base.gguf"), "--examples", P("ex.jsonl"), "--rank", "4", "--out", P("e2.gguf"),
            "--epochs", "2", "--batch", "4", "--resume", ckpt, "-o", "json");
        Assert.True(resumed.Code == 0, resumed.Err);
        using var doc2 = JsonDocument.Parse(resumed.Out);
        Assert.Equal(doc.RootElement.GetProperty("cid").GetString(), doc2.RootElement.GetProperty("cid").GetString());

        var both = Fed("model", "train", "--model", P("base.gguf"), "--out", P("x.gguf"));
        Assert.Equal(2, both.Code);
        Assert.Contains("exactly one of --corpus", both.Err, StringComparison.Ordinal);
        var opt = Fed("model", "train", "--model", P("base.gguf"), "--corpus", P("corpus.txt"), "--out", P("x.gguf"), "--route", "opt", "--resume", ckpt);
        Assert.Equal(2, opt.Code);
        Assert.Contains("need --route ggml", opt.Err, StringComparison.Ordinal);
        var route = Fed("model", "train", "--model", P("base.gguf"), "--corpus", P("corpus.txt"), "--out", P("x.gguf"), "--route", "gpu");
        Assert.Equal(2, route.Code);
        Assert.False(File.Exists(P("x.gguf")));
    }
}
