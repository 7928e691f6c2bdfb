using System.Globalization;
using System.Text;
using Federation.Specialists.Models;

namespace Federation.Specialists.Production.Data;

/// <summary>
/// One task of the <c>code</c> family: a Python expression over a given literal. <see cref="Test"/> is a Python
/// program that exits 0 when <c>ANSWER</c> (the specialist's expression, substituted in) evaluates to the expected value.
/// </summary>
public sealed record CodeTask(string Kind, string Question, string Answer, string Expected)
{
    /// <summary>A Python test program for <paramref name="answerExpression"/>: prints nothing, exits 0 on success, 1 otherwise.</summary>
    public string Test(string answerExpression) =>
        $"import sys\ntry:\n    r = ({answerExpression})\nexcept Exception:\n    sys.exit(1)\nsys.exit(0 if r == {Expected} else 1)\n";
}

/// <summary>
/// The <c>code</c> topic (issue 9: T1/A): five documented kinds of small Python tasks over a given list or string, each
/// answered with one expression:
/// <list type="table">
/// <item><term>reverse</term><description><c>Python: reverse the string 'abc'</c> → <c>'abc'[::-1]</c></description></item>
/// <item><term>sort</term><description><c>Python: sort the list [3, 1, 2]</c> → <c>sorted([3, 1, 2])</c></description></item>
/// <item><term>max</term><description><c>Python: the largest number in [3, 1, 2]</c> → <c>max([3, 1, 2])</c></description></item>
/// <item><term>sum</term><description><c>Python: the sum of [3, 1, 2]</c> → <c>sum([3, 1, 2])</c></description></item>
/// <item><term>count</term><description><c>Python: count the letter 'a' in 'banana'</c> → <c>'banana'.count('a')</c></description></item>
/// </list>
/// The answer passes when the expression evaluates to the expected value (<see cref="CodeTask.Test"/>). Held out: every
/// tenth generated task (by draw index), with its own fresh literals.
/// </summary>
public static class CodeData
{
    public static readonly IReadOnlyList<string> Kinds = ["reverse", "sort", "max", "sum", "count"];

    public static IReadOnlyList<CodeTask> Tasks(int n, ulong seed = 3)
    {
        var rng = new SplitMix64(seed);
        var list = new List<CodeTask>(n);
        for (var i = 0; i < n; i++) list.Add(Task(Kinds[(int)(rng.NextUInt64() % (ulong)Kinds.Count)], rng));
        return list;
    }

    /// <summary>Tasks as a dataset: task i is held out when i % 10 == 9.</summary>
    public static Dataset Generate(int n, ulong seed = 3, string name = "code") =>
        new(name, "code", Tasks(n, seed).Select((t, i) => new TopicExample("code", t.Question, t.Answer,
            i % 10 == 9 ? DatasetSplit.HeldOut : DatasetSplit.Train)).ToList());

    private static CodeTask Task(string kind, SplitMix64 rng)
    {
        switch (kind)
        {
            case "reverse":
            {
                var s = Word(rng);
                return new(kind, $"Python: reverse the string '{s}'", $"'{s}'[::-1]", $"'{new string(s.Reverse().ToArray())}'");
            }
            case "count":
            {
                var s = Word(rng);
                var c = s[(int)(rng.NextUInt64() % (ulong)s.Length)];
                return new(kind, $"Python: count the letter '{c}' in '{s}'", $"'{s}'.count('{c}')",
                    s.Count(x => x == c).ToString(CultureInfo.InvariantCulture));
            }
            default:
            {
                var xs = Enumerable.Range(0, 3 + (int)(rng.NextUInt64() % 3)).Select(_ => (int)(rng.NextUInt64() % 10)).ToArray();
                var lit = "[" + string.Join(", ", xs) + "]";
                return kind switch
                {
                    "sort" => new(kind, $"Python: sort the list {lit}", $"sorted({lit})", "[" + string.Join(", ", xs.Order()) + "]"),
                    "max" => new(kind, $"Python: the largest number in {lit}", $"max({lit})", xs.Max().ToString(CultureInfo.InvariantCulture)),
                    _ => new(kind, $"Python: the sum of {lit}", $"sum({lit})", xs.Sum().ToString(CultureInfo.InvariantCulture)),
                };
            }
        }
    }

    private static string Word(SplitMix64 rng)
    {
        var sb = new StringBuilder();
        var len = 3 + (int)(rng.NextUInt64() % 4);
        for (var i = 0; i < len; i++) sb.Append((char)('a' + (int)(rng.NextUInt64() % 6)));
        return sb.ToString();
    }
}
