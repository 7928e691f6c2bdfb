using System.Diagnostics;
using System.Text.RegularExpressions;
using Federation.Specialists.Production.Data;
using Xunit;

namespace Federation.Specialists.Tests;

public sealed class ProductionDataTests
{
    private static readonly string RepoRoot = FindRepoRoot();

    [Fact]
    public void Math_dataset_is_deterministic_and_its_cid_changes_with_the_seed()
    {
        var a = MathData.Generate(200, 40, seed: 7);
        var b = MathData.Generate(200, 40, seed: 7);
        var c = MathData.Generate(200, 40, seed: 8);
        Assert.Equal(a.Cid, b.Cid);
        Assert.Equal(a.Jsonl, b.Jsonl);
        Assert.NotEqual(a.Cid, c.Cid);
        Assert.Equal(200, a.Train.Count());
        Assert.Equal(40, a.HeldOut.Count());
    }

    [Fact]
    public void Math_answers_are_the_exact_results_in_all_three_forms()
    {
        var d = MathData.Generate(300, 60, seed: 1);
        var forms = new HashSet<int>();
        foreach (var e in d.Examples)
        {
            var m = Regex.Match(e.Question, @"^(?:What is (\d+) ([+-]) (\d+)\?|Compute (\d+) ([+-]) (\d+)|(\d+)([+-])(\d+)=)$");
            Assert.True(m.Success, $"unexpected question form: {e.Question}");
            var g = m.Groups[1].Success ? 1 : m.Groups[4].Success ? 4 : 7;
            forms.Add(g);
            int a = int.Parse(m.Groups[g].Value), b = int.Parse(m.Groups[g + 2].Value);
            Assert.InRange(a, 0, 999);
            Assert.InRange(b, 0, 999);
            Assert.Equal((m.Groups[g + 1].Value == "+" ? a + b : a - b).ToString(), e.Answer);
        }
        Assert.Equal(3, forms.Count);
    }

    [Fact]
    public void Math_held_out_operand_pairs_never_appear_in_training()
    {
        var d = MathData.Generate(2000, 200, seed: 2);
        static (int, int) Pair(string q)
        {
            var n = Regex.Matches(q, @"\d+").Select(x => int.Parse(x.Value)).ToArray();
            return (n[0], n[1]);
        }
        var trainPairs = d.Train.Select(e => Pair(e.Question)).ToHashSet();
        foreach (var e in d.HeldOut)
        {
            Assert.DoesNotContain(Pair(e.Question), trainPairs);
            Assert.True(MathData.IsHeldOutPair(Pair(e.Question).Item1, Pair(e.Question).Item2));
        }
    }

    [Fact]
    public void Test_profile_math_with_single_digit_operands_still_has_both_splits()
    {
        var d = MathData.Generate(120, 12, maxOperand: 9, seed: 3);
        Assert.Equal(120, d.Train.Count());
        Assert.Equal(12, d.HeldOut.Count());
        Assert.All(d.Examples, e => Assert.DoesNotMatch(@"\d\d", e.Question));
    }

    [Fact]
    public void Element_table_has_all_118_elements_once_each()
    {
        var t = ElementsData.Table;
        Assert.Equal(118, t.Count);
        Assert.Equal(Enumerable.Range(1, 118), t.Select(e => e.Number));
        Assert.Equal(118, t.Select(e => e.Symbol).Distinct().Count());
        Assert.Equal(118, t.Select(e => e.Name).Distinct().Count());
        Assert.Equal(("Fe", "Iron"), (t[25].Symbol, t[25].Name));
        Assert.Equal(("Og", "Oganesson"), (t[117].Symbol, t[117].Name));
    }

    [Fact]
    public void Elements_dataset_asks_every_element_in_every_form()
    {
        var d = ElementsData.Generate();
        Assert.Equal(118 * 4, d.Train.Count());
        Assert.Equal(118 * 2, d.HeldOut.Count());
        Assert.Contains(d.Examples, e => e.Question == "What is the symbol of iron?" && e.Answer == "Fe");
        Assert.Contains(d.Examples, e => e.Question == "Which element has atomic number 26?" && e.Answer == "Iron");
        Assert.Contains(d.Examples, e => e.Question == "Name the element with atomic number 118." && e.Split == DatasetSplit.HeldOut);
    }

    [Fact]
    public void Code_reference_answers_pass_their_python_tests()
    {
        var tasks = CodeData.Tasks(40, seed: 5);
        Assert.Equal(CodeData.Kinds.Count, tasks.Select(t => t.Kind).Distinct().Count());
        foreach (var t in tasks.Take(15)) Assert.Equal(0, RunPython(t.Test(t.Answer)));
        // A wrong expression fails its test: the tests can tell right from wrong.
        var sum = tasks.First(t => t.Kind == "sum");
        Assert.Equal(1, RunPython(sum.Test(sum.Answer + " + 1")));
    }

    [Fact]
    public void Glossary_topics_match_the_routing_policy_tiers()
    {
        var legal = GlossaryData.GenerateLegal();
        var strategy = GlossaryData.GenerateStrategy();
        Assert.All(legal.Examples, e => Assert.Contains("contract", e.Question, StringComparison.Ordinal));
        Assert.All(strategy.Examples, e => Assert.Contains("strategy", e.Question, StringComparison.OrdinalIgnoreCase));
        var policy = File.ReadAllText(Path.Combine(RepoRoot, "policies", "routing.yaml"));
        Assert.Matches(@"- id: legal\s+description:[^\n]*\n\s+tier: T2\s+class: C", policy);
        Assert.Matches(@"- id: strategy\s+description:[^\n]*\n\s+tier: T3", policy);
    }

    [Fact]
    public void Dataset_jsonl_round_trips_to_the_same_cid()
    {
        using var dir = new TempDir();
        var d = CodeData.Generate(30);
        d.WriteJsonl(dir.File("code.jsonl"));
        var back = Dataset.ReadJsonl("code", "code", dir.File("code.jsonl"));
        Assert.Equal(d.Cid, back.Cid);
        File.AppendAllText(dir.File("code.jsonl"), "{\"topic\":\"code\"}\n");
        var e = Assert.Throws<FormatException>(() => Dataset.ReadJsonl("code", "code", dir.File("code.jsonl")));
        Assert.Contains("code.jsonl:31", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corpus_mix_follows_the_weights_and_the_seed()
    {
        var math = MathData.Generate(100, 10, seed: 1);
        var elements = ElementsData.Generate();
        var a = CorpusMix.Build([(math, 3), (elements, 1)], 400, seed: 11);
        var b = CorpusMix.Build([(math, 3), (elements, 1)], 400, seed: 11);
        var c = CorpusMix.Build([(math, 3), (elements, 1)], 400, seed: 12);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var mathShare = a.Count(x => Regex.IsMatch(x.Prompt, @"user: (What is \d|Compute \d|\d+[+-]\d+=)")) / 400.0;
        Assert.InRange(mathShare, 0.6, 0.9);
        Assert.DoesNotContain(a, x => math.HeldOut.Any(h => x.Prompt.Contains(h.Question, StringComparison.Ordinal)));
    }

    [Fact]
    public void A_teacher_under_a_licence_not_on_the_allow_list_is_refused_before_any_request()
    {
        var policy = TeacherPolicy.Load(Path.Combine(RepoRoot, "policies", "teachers.yaml"));
        Assert.Equal(["MIT", "Apache-2.0"], policy.AllowedLicences);
        using var http = new HttpClient();
        var bad = new TeacherSpec("big-teacher", new Uri("http://127.0.0.1:9/"), "m", "Llama-3.1-Community");
        var e = Assert.Throws<TeacherLicenceException>(() => new TeacherClient(bad, policy, http));
        Assert.Contains("'Llama-3.1-Community'", e.Message, StringComparison.Ordinal);
        Assert.Contains("allowed: MIT, Apache-2.0", e.Message, StringComparison.Ordinal);
        var none = bad with { Licence = "" };
        Assert.Contains("declares no licence", Assert.Throws<TeacherLicenceException>(() => new TeacherClient(none, policy, http)).Message, StringComparison.Ordinal);
        // An allowed licence passes the guard (case-insensitive SPDX id).
        _ = new TeacherClient(bad with { Licence = "apache-2.0" }, policy, http);
    }

    [Fact]
    public void Teacher_policy_errors_name_file_line_and_column()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("t.yaml"), "version: 1\nallowed: [MIT]\n");
        var e = Assert.Throws<FormatException>(() => TeacherPolicy.Load(dir.File("t.yaml")));
        Assert.Contains("t.yaml:2:1: unknown key 'allowed'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checker_cleaning_keeps_only_examples_the_checker_passes()
    {
        var d = MathData.Generate(50, 0, seed: 4);
        var wrong = d.Examples.Take(10).Select(e => e with { Answer = e.Answer + "1" });
        var (kept, dropped) = CheckerCleaning.Clean(d.Examples.Concat(wrong), (q, a) =>
        {
            var n = Regex.Matches(q, @"\d+").Select(x => int.Parse(x.Value)).ToArray();
            return a == (q.Contains('+') ? n[0] + n[1] : n[0] - n[1]).ToString();
        });
        Assert.Equal(50, kept.Count);
        Assert.Equal(10, dropped);
    }

    private static int RunPython(string program)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-I");
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(program);
        p.StandardInput.Close();
        if (!p.WaitForExit(10_000)) { p.Kill(); throw new TimeoutException("python3 did not finish in 10 s"); }
        return p.ExitCode;
    }

    internal static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "policies", "routing.yaml"))) return d.FullName;
        throw new DirectoryNotFoundException("no policies/routing.yaml above the test binaries");
    }
}
