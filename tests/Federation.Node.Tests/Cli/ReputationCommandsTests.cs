using System.Globalization;
using System.Text.Json;

namespace Federation.Node.Tests.Cli;

/// <summary>Runs the real <c>fed reputation compute</c> and <c>fed sim reputation</c> on files, through <see cref="CliRunner"/>.</summary>
public sealed class ReputationCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-reputation-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static (int Code, string Out, string Err) Fed(params string[] args) => CliRunner.Fed(args);

    private static string Repo(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    private string Scenario(string json)
    {
        var f = Path.Combine(_dir, $"scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(f, json);
        return f;
    }

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(b));

    [Fact]
    public void Compute_matches_the_independent_python_vectors_to_1e9_and_rejects_the_malformed_ones_with_exit_2()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Repo("tests/vectors/reputation/compute.json")));
        var failures = new List<string>();
        int computed = 0, rejected = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var desc = c.GetProperty("desc").GetString();
            var (code, output, err) = Fed("reputation", "compute", "--scenario", Scenario(c.GetProperty("scenario").GetRawText()), "--output", "json");
            if (c.TryGetProperty("want_error", out var we))
            {
                if (code != 2 || output.Length != 0 || !err.Contains(we.GetString()!, StringComparison.Ordinal))
                    failures.Add($"{desc}: want exit 2 naming {we.GetString()}, got {code}: {err.Trim()}");
                else rejected++;
                continue;
            }
            if (code != 0) { failures.Add($"{desc}: exit {code}: {err.Trim()}"); continue; }
            using var got = JsonDocument.Parse(output);
            var want = c.GetProperty("want");
            var g = got.RootElement;
            if (g.EnumerateObject().Select(p => p.Name).SequenceEqual(["theta", "nodes"]) is false) failures.Add($"{desc}: top-level keys are not exactly theta, nodes");
            var wt = want.GetProperty("theta");
            var gt = g.GetProperty("theta");
            if (wt.ValueKind != gt.ValueKind || (wt.ValueKind == JsonValueKind.Number && !Close(gt.GetDouble(), wt.GetDouble())))
                failures.Add($"{desc}: theta {gt.GetRawText()} want {wt.GetRawText()}");
            foreach (var wn in want.GetProperty("nodes").EnumerateObject())
            {
                if (!g.GetProperty("nodes").TryGetProperty(wn.Name, out var gn)) { failures.Add($"{desc}: node {wn.Name} missing"); continue; }
                if (!gn.EnumerateObject().Select(p => p.Name).SequenceEqual(["N", "C", "C_hat", "R", "weight"])) failures.Add($"{desc}: {wn.Name} keys are not exactly N, C, C_hat, R, weight");
                foreach (var key in new[] { "N", "C", "C_hat", "R", "weight" })
                    if (!Close(gn.GetProperty(key).GetDouble(), wn.Value.GetProperty(key).GetDouble()))
                        failures.Add($"{desc}: {wn.Name}.{key} {gn.GetProperty(key).GetDouble().ToString("R", CultureInfo.InvariantCulture)} want {wn.Value.GetProperty(key).GetDouble().ToString("R", CultureInfo.InvariantCulture)}");
            }
            computed++;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} cases failed:\n" + string.Join("\n", failures));
        Assert.True(computed >= 40 && rejected >= 40, $"{computed} computed, {rejected} rejected");
    }

    private const string Small = """
        {"tau": 10, "half_life": 10, "kappa": 10, "C0": 0.5, "gamma": 0.5, "beta": 0.5, "stake0": 1000, "g_max": 2, "w_max": 0.5,
         "nodes": {"a": {"S": 1, "stake": 0, "audits": [[10, 1, 1], [0, 1, 0]]},
                   "b": {"S": 1, "stake": 0, "audits": [[10, 0.5, 1]]},
                   "c": {"S": 1, "stake": 1000, "audits": [[5, 1, 1]]}}}
        """;

    [Fact]
    public void Compute_prints_exact_numbers_for_a_hand_checked_scenario()
    {
        var (code, output, _) = Fed("reputation", "compute", "--scenario", Scenario(Small), "-o", "json");
        Assert.Equal(0, code);
        var a = JsonDocument.Parse(output).RootElement.GetProperty("nodes").GetProperty("a");
        // N = 1 + 1·2^(−1) = 1.5; C = 1/1.5; Ĉ = (1 + 5)/(1.5 + 10).
        Assert.Equal(1.5, a.GetProperty("N").GetDouble(), 14);
        Assert.Equal(2.0 / 3, a.GetProperty("C").GetDouble(), 14);
        Assert.Equal(6 / 11.5, a.GetProperty("C_hat").GetDouble(), 14);
        Assert.Equal(6 / 11.5 * Math.Sqrt(1.5), a.GetProperty("R").GetDouble(), 14);
    }

    [Fact]
    public void Text_output_is_a_table_with_one_row_per_node_and_theta()
    {
        var (code, output, _) = Fed("reputation", "compute", "--scenario", Scenario(Small));
        Assert.Equal(0, code);
        var lines = output.TrimEnd().Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Matches(@"^node\s+N\s+C\s+C_hat\s+R\s+weight$", lines[0]);
        Assert.StartsWith("a ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("theta: ", lines[4], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"w_max\": 0.5", "\"w_max\": 0.25", "w_max·n < 1")]
    [InlineData("\"gamma\": 0.5", "\"gamma\": \"0.5\"", "gamma: expected a number")]
    [InlineData("\"kappa\": 10, ", "", "kappa: missing required key")]
    [InlineData("\"S\": 1, \"stake\": 0, \"audits\": [[10, 1, 1]", "\"S\": 1, \"stake\": 0, \"extra\": 1, \"audits\": [[10, 1, 1]", "nodes.a.extra: unknown key")]
    [InlineData("[0, 1, 0]", "[0, 1, 1.5]", "nodes.a.audits[1][2] (o_a)")]
    [InlineData("[5, 1, 1]", "[11, 1, 1]", "after tau")]
    [InlineData("\"tau\": 10,", "\"tau\": 10, \"tau\": 10,", "tau: this key appears twice")]
    [InlineData("\"stake\": 1000,", "\"stake\": -5,", "nodes.c.stake: expected a number >= 0")]
    public void Malformed_scenarios_exit_2_with_a_message_naming_the_field(string from, string to, string expected)
    {
        var text = Small.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Small, text);
        var (code, output, err) = Fed("reputation", "compute", "--scenario", Scenario(text), "-o", "json");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_scenario_file_and_invalid_json_exit_2()
    {
        Assert.Equal(2, Fed("reputation", "compute", "--scenario", Path.Combine(_dir, "nope.json")).Code);
        var (code, _, err) = Fed("reputation", "compute", "--scenario", Scenario("{\"tau\": "));
        Assert.Equal(2, code);
        Assert.Contains("not valid JSON", err, StringComparison.Ordinal);
        Assert.Equal(2, Fed("reputation", "compute").Code);
    }

    [Fact]
    public void Sim_prints_every_step_and_node_with_N_C_hat_R_and_weight_and_writes_the_docs_chart()
    {
        var svg = Path.Combine(_dir, "w.svg");
        var (code, output, _) = Fed("sim", "reputation", "--output", "json", "--svg", svg);
        Assert.Equal(0, code);
        var steps = JsonDocument.Parse(output).RootElement.GetProperty("steps");
        Assert.Equal(13, steps.GetArrayLength());
        foreach (var s in steps.EnumerateArray())
            foreach (var n in s.GetProperty("nodes").EnumerateObject())
                foreach (var key in new[] { "N", "C_hat", "R", "weight" })
                    Assert.Equal(JsonValueKind.Number, n.Value.GetProperty(key).ValueKind);
        Assert.True(steps[12].GetProperty("nodes").TryGetProperty("newcomer", out _));
        Assert.Equal(File.ReadAllText(Repo("docs/reputation-weights.svg")), File.ReadAllText(svg));
        var text = Fed("sim", "reputation");
        Assert.Equal(0, text.Code);
        Assert.Contains(text.Out, File.ReadAllText(Repo("docs/reputation.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Sim_takes_topic_knobs_from_a_reputation_policy()
    {
        var (code, output, _) = Fed("sim", "reputation", "--policy", Repo("policies/reputation.yaml"), "--topic", "code", "-o", "json");
        Assert.Equal(0, code);
        Assert.NotEqual(Fed("sim", "reputation", "-o", "json").Out, output);
        Assert.Equal(2, Fed("sim", "reputation", "--topic", "code").Code);
        var bad = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(bad, "version: 1\ndefaults:\n  gamma: 3\n");
        var r = Fed("sim", "reputation", "--policy", bad);
        Assert.Equal(1, r.Code);
        Assert.Contains($"{bad}:3:10: expected defaults.gamma", r.Err, StringComparison.Ordinal);
    }
}
