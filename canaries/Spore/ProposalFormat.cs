using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Federation.Canaries.Spore;

/// <summary>One parameter change of a proposal: the artifact's constant, its old and its new literal.</summary>
public sealed record ParameterChange(string Name, string From, string To);

/// <summary>A parsed proposal: the changes and the child artifact they produce; or why the answer is not a proposal.</summary>
public sealed record ProposalEdit(IReadOnlyList<ParameterChange> Changes, byte[]? Code, string? Error)
{
    /// <summary>True when the answer gave a usable edit.</summary>
    public bool Ok => Error is null;

    /// <summary>One line, e.g. <c>MOMENTUM 0.5 → 0.9, LR 0.0005 → 0.0008</c>.</summary>
    public string Summary => string.Join(", ", Changes.Select(c => $"{c.Name} {c.From} -> {c.To}"));
}

/// <summary>
/// The proposal format a specialist answers in (docs/spore.md, "A specialist as the proposer"): one or more lines
/// <c>NAME = NUMBER</c> (or <c>NAME: NUMBER</c>; case-insensitive name, optional backticks), each naming a top-level
/// numeric constant of the artifact (<c>^[A-Z][A-Z0-9_]* = literal</c>). Everything else in the answer is ignored. The
/// edit replaces exactly those literals; an integer constant takes only an integer. A line that names no constant of the
/// artifact, a non-finite or mistyped value, a constant given twice with different values, more than
/// <see cref="MaxChanges"/> changes, or no effective change makes the whole answer unusable (the caller publishes an
/// honest crash record saying why). Only numbers: an answer can never inject code into the artifact.
/// </summary>
public static class ProposalFormat
{
    /// <summary>The most constants one proposal may change.</summary>
    public const int MaxChanges = 16;

    private static readonly Regex Constant = new(@"^(?<name>[A-Z][A-Z0-9_]*)(?<sep>\s*=\s*)(?<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?<tail>\s*(?:#.*)?)$",
        RegexOptions.CultureInvariant);

    private static readonly Regex AnswerLine = new(@"^[\s>*`-]*(?<name>[A-Za-z_][A-Za-z0-9_]*)`?\s*[=:]\s*`?(?<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)`?\s*[.,;]?\s*$",
        RegexOptions.CultureInvariant);

    private static readonly Regex IntLiteral = new(@"^[-+]?\d+$", RegexOptions.CultureInvariant);

    /// <summary>The tunable constants of an artifact, in file order (name → literal).</summary>
    public static IReadOnlyList<(string Name, string Value)> Constants(byte[] artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var list = new List<(string, string)>();
        foreach (var line in Encoding.UTF8.GetString(artifact).Split('\n'))
            if (Constant.Match(line.TrimEnd('\r')) is { Success: true } m) list.Add((m.Groups["name"].Value, m.Groups["value"].Value));
        return list;
    }

    /// <summary>Parses <paramref name="answer"/> against <paramref name="artifact"/> (never throws on any answer text).</summary>
    public static ProposalEdit Parse(string answer, byte[] artifact)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(artifact);
        var constants = Constants(artifact);
        if (constants.Count == 0) return Fail("the artifact has no top-level numeric constants (NAME = number) to change");
        var names = string.Join(", ", constants.Select(c => c.Name));
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in answer.Split('\n'))
        {
            if (AnswerLine.Match(raw.TrimEnd('\r')) is not { Success: true } m) continue;
            var name = m.Groups["name"].Value;
            var value = m.Groups["value"].Value;
            var c = constants.FirstOrDefault(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase));
            if (c.Name is null) return Fail($"the answer sets '{name}', which the artifact does not define (tunable: {names})");
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                return Fail($"the value '{value}' for {c.Name} is not a finite number");
            if (IntLiteral.IsMatch(c.Value) && !IntLiteral.IsMatch(value))
                return Fail($"{c.Name} is an integer ({c.Value}); the answer gave '{value}'");
            value = value.TrimStart('+');
            if (wanted.TryGetValue(c.Name, out var prev) && prev != value)
                return Fail($"the answer sets {c.Name} twice ({prev} and {value})");
            wanted[c.Name] = value;
        }
        if (wanted.Count == 0) return Fail($"no line of the form NAME = NUMBER naming a constant of the artifact (tunable: {names})");
        if (wanted.Count > MaxChanges) return Fail($"the answer changes {wanted.Count} constants; at most {MaxChanges}");
        var changes = new List<ParameterChange>();
        var lines = Encoding.UTF8.GetString(artifact).Split('\n');
        var done = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            var cr = lines[i].EndsWith('\r');
            var m = Constant.Match(lines[i].TrimEnd('\r'));
            if (!m.Success || !wanted.TryGetValue(m.Groups["name"].Value, out var to) || !done.Add(m.Groups["name"].Value)) continue;
            var from = m.Groups["value"].Value;
            if (from == to) continue;
            changes.Add(new ParameterChange(m.Groups["name"].Value, from, to));
            lines[i] = m.Groups["name"].Value + m.Groups["sep"].Value + to + m.Groups["tail"].Value + (cr ? "\r" : "");
        }
        if (changes.Count == 0) return new ProposalEdit([], null, "the answer repeats the current values: no change to run");
        return new ProposalEdit(changes, Encoding.UTF8.GetBytes(string.Join('\n', lines)), null);
    }

    /// <summary>The prompt a specialist gets for a task (short: the tiny context of a small base must hold it).</summary>
    public static string Prompt(string taskName, string metric, string goal, double? parentMetric, byte[] artifact)
    {
        var consts = string.Join("\n", Constants(artifact).Select(c => $"{c.Name} = {c.Value}"));
        var best = parentMetric is { } p ? p.ToString("R", CultureInfo.InvariantCulture) : "not measured yet";
        return $"Spore task {taskName}: {goal} {metric} (current best {best}). The script's constants are:\n{consts}\n" +
               "Propose better values. Answer only with lines NAME = NUMBER.";
    }

    private static ProposalEdit Fail(string why) => new([], null, why);
}
