using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Federation.Node.Verification;

/// <summary>Outcome of an objective (class A) check.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckOutcome>))]
public enum CheckOutcome
{
    [JsonStringEnumMemberName("passed")] Passed,
    [JsonStringEnumMemberName("failed")] Failed,
    // the name the ledger has always recorded (lower-cased enum name)
    [JsonStringEnumMemberName("notapplicable")] NotApplicable,
}

/// <summary>What a checker found, with the reason in words.</summary>
public sealed record CheckResult(string Checker, CheckOutcome Outcome, string Detail);

/// <summary>
/// An objective checker for class-A topics (seed §Plane B: "class-A checker for objective"). It judges an answer
/// against the query alone; NotApplicable means it found nothing in the query it can check.
/// </summary>
public interface IAnswerChecker
{
    string Name { get; }

    CheckResult Check(string query, string answer);
}

/// <summary>
/// Checks simple integer arithmetic: when the query contains one expression <c>a op b</c> (op in + - * x ×),
/// the answer must contain the exact result as a whole number. Pure and deterministic.
/// </summary>
public sealed partial class ArithmeticChecker : IAnswerChecker
{
    public string Name => "arithmetic";

    [GeneratedRegex(@"(-?\d{1,9})\s*([+\-*x×])\s*(-?\d{1,9})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Expression();

    [GeneratedRegex(@"-?\d+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Number();

    public CheckResult Check(string query, string answer)
    {
        var matches = Expression().Matches(query);
        if (matches.Count != 1)
            return new CheckResult(Name, CheckOutcome.NotApplicable, matches.Count == 0 ? "no arithmetic expression in the query" : "more than one expression in the query");
        var m = matches[0];
        var a = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var b = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        var expected = m.Groups[2].Value switch
        {
            "+" => a + b,
            "-" => a - b,
            _ => a * b,
        };
        var found = Number().Matches(answer).Select(n => n.Value).ToList();
        var want = expected.ToString(CultureInfo.InvariantCulture);
        return found.Contains(want)
            ? new CheckResult(Name, CheckOutcome.Passed, $"{m.Value} = {want} appears in the answer")
            : new CheckResult(Name, CheckOutcome.Failed, $"{m.Value} = {want}, but the answer does not contain {want}");
    }
}

/// <summary>The checkers per topic. Topics with none fall back to the trust score (recorded as unchecked).</summary>
public sealed class CheckerRegistry
{
    private readonly Dictionary<string, List<IAnswerChecker>> _byTopic = new(StringComparer.Ordinal);

    public CheckerRegistry Add(string topic, IAnswerChecker checker)
    {
        if (!_byTopic.TryGetValue(topic, out var list)) _byTopic[topic] = list = [];
        list.Add(checker);
        return this;
    }

    public IReadOnlyList<IAnswerChecker> For(string topic) => _byTopic.TryGetValue(topic, out var l) ? l : [];

    /// <summary>The default set: arithmetic for the <c>math</c> topic.</summary>
    public static CheckerRegistry Default() => new CheckerRegistry().Add("math", new ArithmeticChecker());
}
