using System.Text.Json;
using Federation.Node.Cli;

namespace Federation.Node.Tests.Cli;

public sealed class MerkleCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-merkle-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static (int Code, string Out, string Err) Fed(params string[] args) => CliRunner.Fed(args);

    private string Leaves(string text)
    {
        var f = Path.Combine(_dir, $"leaves-{Guid.NewGuid():N}.txt");
        File.WriteAllText(f, text);
        return f;
    }

    // The RFC 6962 test leaves; roots computed independently with python3 hashlib (tests/vectors/merkle/generate.py).
    private const string CtLeaves = "\n00\n10\n2021\n3031\n40414243\n5051525354555657\n606162636465666768696a6b6c6d6e6f\n";

    [Fact]
    public void Root_of_the_rfc6962_test_leaves_matches_the_independent_value()
    {
        var f = Leaves(CtLeaves);
        var (code, output, _) = Fed("merkle", "root", "--leaves", f);
        Assert.Equal(0, code);
        Assert.Equal("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", output.Trim());
        var json = JsonDocument.Parse(Fed("merkle", "root", "--leaves", f, "--size", "3", "-o", "json").Out).RootElement;
        Assert.Equal(3, json.GetProperty("tree_size").GetInt64());
        Assert.Equal("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", json.GetProperty("root").GetString());
    }

    [Fact]
    public void Final_newline_adds_no_leaf_but_an_empty_line_is_an_empty_leaf()
    {
        Assert.Equal(Fed("merkle", "root", "--leaves", Leaves("00\n10")).Out, Fed("merkle", "root", "--leaves", Leaves("00\n10\n")).Out);
        var one = JsonDocument.Parse(Fed("merkle", "root", "--leaves", Leaves("\n"), "-o", "json").Out).RootElement;
        Assert.Equal(1, one.GetProperty("tree_size").GetInt64());
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", one.GetProperty("root").GetString());
        var none = JsonDocument.Parse(Fed("merkle", "root", "--leaves", Leaves(""), "-o", "json").Out).RootElement;
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", none.GetProperty("root").GetString());
    }

    [Fact]
    public void Prove_and_consistency_output_verifies_and_a_tampered_proof_exits_3()
    {
        var f = Leaves(CtLeaves);
        var prove = Fed("merkle", "prove", "--leaves", f, "--index", "5", "--size", "7", "-o", "json");
        Assert.Equal(0, prove.Code);
        var doc = JsonDocument.Parse(prove.Out).RootElement;
        Assert.Equal(3, doc.GetProperty("path").GetArrayLength());
        var p = Path.Combine(_dir, "p.json");
        File.WriteAllText(p, prove.Out);
        Assert.Equal(0, Fed("merkle", "verify", "--proof", p).Code);
        var firstHash = doc.GetProperty("path")[0].GetString()!;
        File.WriteAllText(p, prove.Out.Replace(firstHash, (firstHash[0] == '0' ? "1" : "0") + firstHash[1..], StringComparison.Ordinal));
        var bad = Fed("merkle", "verify", "--proof", p, "-o", "json");
        Assert.Equal(ExitCodes.VerificationFailed, bad.Code);
        Assert.Equal("RootMismatch", JsonDocument.Parse(bad.Out).RootElement.GetProperty("reason").GetString());

        var cons = Fed("merkle", "consistency", "--leaves", f, "--from", "3", "--to", "7", "-o", "json");
        Assert.Equal(0, cons.Code);
        File.WriteAllText(p, cons.Out);
        Assert.Equal(0, Fed("merkle", "verify", "--proof", p).Code);
        File.WriteAllText(p, cons.Out.Replace("\"size2\":7", "\"size2\":2", StringComparison.Ordinal));
        var order = Fed("merkle", "verify", "--proof", p);
        Assert.Equal(ExitCodes.VerificationFailed, order.Code);
        Assert.Contains("Size1GreaterThanSize2", order.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_a_usage_error_that_names_the_line()
    {
        var bad = Fed("merkle", "root", "--leaves", Leaves("00\nzz\n"));
        Assert.Equal(ExitCodes.Usage, bad.Code);
        Assert.Contains(":2: expected hex", bad.Err, StringComparison.Ordinal);
        var big = Fed("merkle", "prove", "--leaves", Leaves("00\n"), "--index", "0", "--size", "2");
        Assert.Equal(ExitCodes.Usage, big.Code);
        var p = Path.Combine(_dir, "x.json");
        File.WriteAllText(p, """{"foo": 1}""");
        Assert.Equal(ExitCodes.Usage, Fed("merkle", "verify", "--proof", p).Code);
    }
}
