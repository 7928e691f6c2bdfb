using System.Globalization;
using System.Text.RegularExpressions;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Production.Demo;
using Xunit;

namespace Federation.Specialists.Tests;

/// <summary>The training formats the full demo profile uses (issue 9 quality goals): worked math, element paraphrases.</summary>
public sealed class ProductionDataFormatTests
{
    [Theory]
    [InlineData(37, '+', 48, " 22 7851 3480 0000 =  85")]
    [InlineData(37, '-', 91, " 22 716041 394150 009100 = -54")]
    [InlineData(999, '+', 999, " 33 9981 9991 9991 =1998")]
    [InlineData(0, '-', 0, " 11 000000 000000 000000 =   0")]
    [InlineData(5, '-', 700, " 13 505051 000091 073160 =-695")]
    public void Worked_math_answers_are_spelled_as_documented(int a, char op, int b, string expected) =>
        Assert.Equal(expected, MathData.Steps(a, op, b));

    [Fact]
    public void Mixed_operands_cover_every_digit_count_and_uniform_stays_the_default()
    {
        static int[] Share(Dataset d) => d.Examples.Select(e => Regex.Matches(e.Question, "[0-9]+").Select(m => m.Value.Length).ToArray())
            .SelectMany(x => x).GroupBy(n => n).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
        var uniform = Share(MathData.Generate(2000, 0, seed: 5));
        var mixed = Share(MathData.Generate(2000, 0, seed: 5, mixedDigits: true));
        // uniform over 0..999: ~1 % one-digit, ~9 % two-digit operands; mixed: each digit count at least ~1/6 of operands
        Assert.True(uniform[0] + uniform[1] < 0.15 * uniform.Sum(), string.Join(",", uniform));
        Assert.True(mixed[0] > mixed.Sum() / 7 && mixed[1] > mixed.Sum() / 7 && mixed[2] > mixed.Sum() / 3, string.Join(",", mixed));
        Assert.Equal(MathData.Generate(300, 30, seed: 5).Examples, MathData.Generate(300, 30, seed: 5).Examples);
        var recipeMath = new DatasetRecipe { Name = "m", Generator = "math", Train = 50, HeldOut = 5, Operands = "digits" };
        Assert.Contains("expected uniform or mixed", Assert.Throws<FormatException>(() => recipeMath.Generate()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Worked_math_answers_end_with_the_exact_result_and_have_a_fixed_length()
    {
        var last = new Regex("-?[0-9]+", RegexOptions.CultureInvariant);
        for (var a = 0; a <= 999; a += 7)
            for (var b = 0; b <= 999; b += 11)
                foreach (var op in new[] { '+', '-' })
                {
                    var s = MathData.Steps(a, op, b);
                    var want = (op == '+' ? a + b : a - b).ToString(CultureInfo.InvariantCulture);
                    Assert.Equal(want, last.Matches(s)[^1].Value);
                    Assert.Equal(op == '+' ? 24 : 30, s.Length);
                    Assert.DoesNotContain('\n', s);
                    Assert.True(DemoCheckers.Check("math", "", s, want), $"{a} {op} {b}: '{s}'");
                }
    }

    [Fact]
    public void Worked_math_refuses_operands_it_cannot_spell()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MathData.Steps(1000, '+', 1));
        Assert.Throws<ArgumentException>(() => MathData.Steps(1, '*', 1));
    }

    [Fact]
    public void Steps_format_changes_training_answers_only_and_the_default_is_unchanged()
    {
        var plain = MathData.Generate(300, 40, seed: 5);
        Assert.Equal(plain.Cid, MathData.Generate(300, 40, seed: 5, format: MathFormat.Answer).Cid);
        var steps = MathData.Generate(300, 40, seed: 5, format: MathFormat.Steps);
        Assert.NotEqual(plain.Cid, steps.Cid);
        // Same questions in the same order; held-out references stay the bare result the checker compares with.
        Assert.Equal(plain.Examples.Select(e => (e.Question, e.Split)), steps.Examples.Select(e => (e.Question, e.Split)));
        Assert.Equal(plain.HeldOut.Select(e => e.Answer), steps.HeldOut.Select(e => e.Answer));
        foreach (var (p, s) in plain.Train.Zip(steps.Train))
        {
            Assert.NotEqual(p.Answer, s.Answer);
            Assert.True(DemoCheckers.Check("math", s.Question, s.Answer, p.Answer), $"{s.Question} -> {s.Answer}");
        }
    }

    [Fact]
    public void Element_paraphrases_add_training_phrasings_but_never_a_held_out_one()
    {
        var plain = ElementsData.Generate();
        Assert.Equal(plain.Cid, ElementsData.Generate(paraphrases: false).Cid);
        var more = ElementsData.Generate(paraphrases: true);
        Assert.Equal(118 * (ElementsData.TrainForms.Count + ElementsData.ParaphraseForms.Count), more.Train.Count());
        Assert.Equal(plain.HeldOut.Select(e => (e.Question, e.Answer)), more.HeldOut.Select(e => (e.Question, e.Answer)));
        var trained = more.Train.Select(e => e.Question).ToHashSet(StringComparer.Ordinal);
        Assert.All(more.HeldOut, e => Assert.DoesNotContain(e.Question, trained));
        Assert.Contains(more.Train, e => e.Question == "Give the symbol for iron." && e.Answer == "Fe");
    }

    [Fact]
    public void Full_recipe_trains_math_in_the_worked_format_and_an_unknown_format_is_refused()
    {
        var root = ProductionDataTests.FindRepoRoot();
        var full = DemoRecipe.Load(DemoRecipe.PathFor(Path.Combine(root, "policies"), "full"));
        var math = full.Datasets.Single(d => d.Name == "math");
        Assert.Equal("steps", math.Format);
        // Mixed operand lengths: the build trained on uniform 0..999 failed most two-digit questions.
        Assert.All(full.Datasets.Where(d => d.Generator == "math"), d => Assert.Equal("mixed", d.Operands));
        var bad = math with { Format = "roman" };
        var e = Assert.Throws<FormatException>(() => bad.Generate());
        Assert.Contains("unknown math format 'roman'", e.Message, StringComparison.Ordinal);
        // The test profile keeps the default (bare answers), so its build and tests are unaffected.
        var test = DemoRecipe.Load(DemoRecipe.PathFor(Path.Combine(root, "policies"), "test"));
        Assert.Equal("answer", test.Datasets.Single(d => d.Generator == "math").Format);
    }

    /// <summary>
    /// The weights shipped in demo/shipped/full are the build of the repository's recipe-full.json, signed by the shipped
    /// producer, every file as signed: a recipe edited without rebuilding and shipping again fails here, not at a user's
    /// first <c>fed serve</c>.
    /// </summary>
    [Fact]
    public void Shipped_full_build_is_the_build_of_the_repository_recipe()
    {
        var root = ProductionDataTests.FindRepoRoot();
        var recipe = DemoRecipe.Load(DemoRecipe.PathFor(Path.Combine(root, "policies"), "full"));
        var shipped = Path.Combine(root, "demo", "shipped", "full");
        Assert.True(DemoShipping.IsShipped(shipped), $"{shipped} holds no shipped build");
        Assert.Null(DemoShipping.Check(shipped, recipe.Cid, DemoShipping.ReadProducer(shipped)));
    }
}
