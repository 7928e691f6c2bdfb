using System.Globalization;
using System.Text.RegularExpressions;

namespace Federation.Router.Verification;

/// <summary>Outcome of one objective (class A) check.</summary>
public enum CheckOutcome
{
    /// <summary>The answer is right by the checker's rule.</summary>
    Passed,
    /// <summary>The answer is refuted: the gate withholds it.</summary>
    Failed,
    /// <summary>The checker found nothing in the question it can check.</summary>
    NotApplicable,
}

/// <summary>What a checker found, with the reason in words.</summary>
/// <param name="Checker">The checker's name (as in the policy's <c>checkers</c>).</param>
/// <param name="Outcome">Passed, failed or not applicable.</param>
/// <param name="Detail">What was expected and what was found.</param>
public sealed record CheckResult(string Checker, CheckOutcome Outcome, string Detail);

/// <summary>
/// An objective checker for class-A topics (seed §Plane B: "class-A checker for objective"). It judges an answer against
/// the question alone, purely and deterministically; <see cref="CheckOutcome.NotApplicable"/> means it found nothing to check.
/// </summary>
public interface IAnswerChecker
{
    /// <summary>The name a policy uses in a topic's <c>checkers</c> list.</summary>
    string Name { get; }

    /// <summary>Checks <paramref name="answer"/> against <paramref name="question"/>.</summary>
    CheckResult Check(string question, string answer);
}

/// <summary>
/// Checks simple integer arithmetic: when the question holds exactly one expression <c>a op b</c> (op in + - * x ×,
/// operands of at most 9 ASCII digits), the answer must contain the exact result as a whole number.
/// </summary>
public sealed class ArithmeticChecker : IAnswerChecker
{
    // Non-backtracking: linear time on any input, so no timeout. ASCII digits only: \d would accept other scripts' digits.
    private static readonly Regex Expression = new(@"(-?[0-9]+)\s*([+\-*x×])\s*(-?[0-9]+)", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    private static readonly Regex Number = new(@"-?[0-9]+", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    /// <summary><c>arithmetic</c>.</summary>
    public string Name => "arithmetic";

    /// <inheritdoc/>
    public CheckResult Check(string question, string answer)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(answer);
        var matches = Expression.Matches(question);
        if (matches.Count != 1)
            return new CheckResult(Name, CheckOutcome.NotApplicable, matches.Count == 0 ? "no arithmetic expression in the query" : "more than one expression in the query");
        var m = matches[0];
        if (m.Groups[1].Value.TrimStart('-').Length > 9 || m.Groups[3].Value.TrimStart('-').Length > 9)
            return new CheckResult(Name, CheckOutcome.NotApplicable, $"{m.Value}: operands longer than 9 digits are not checked");
        var a = long.Parse(m.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var b = long.Parse(m.Groups[3].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var expected = m.Groups[2].Value switch
        {
            "+" => a + b,
            "-" => a - b,
            _ => a * b,
        };
        var want = expected.ToString(CultureInfo.InvariantCulture);
        foreach (Match n in Number.Matches(answer))
            if (n.Value == want)
                return new CheckResult(Name, CheckOutcome.Passed, $"{m.Value} = {want} appears in the answer");
        return new CheckResult(Name, CheckOutcome.Failed, $"{m.Value} = {want}, but the answer does not contain {want}");
    }
}

/// <summary>
/// The checkers a policy may name, by name. Checkers are code, policies are data: <see cref="PolicyLoader"/> refuses a
/// topic that names a checker not in <see cref="Builtin"/> (as <c>file:line:col</c>).
/// </summary>
public sealed class CheckerCatalog
{
    private readonly Dictionary<string, IAnswerChecker> _byName = new(StringComparer.Ordinal);

    /// <summary>Creates a catalogue; names must be unique.</summary>
    public CheckerCatalog(IEnumerable<IAnswerChecker> checkers)
    {
        ArgumentNullException.ThrowIfNull(checkers);
        foreach (var c in checkers)
            if (!_byName.TryAdd(c.Name, c)) throw new ArgumentException($"two checkers are named '{c.Name}'", nameof(checkers));
        Names = _byName.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The checkers this build ships: <c>arithmetic</c>.</summary>
    public static CheckerCatalog Builtin { get; } = new([new ArithmeticChecker()]);

    /// <summary>Checker names, sorted (ordinal).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>True when a checker of that name exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The checker named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such checker.</exception>
    public IAnswerChecker Get(string name) =>
        _byName.TryGetValue(name, out var c) ? c : throw new KeyNotFoundException($"no checker named '{name}'; known: {string.Join(", ", Names)}");
}
