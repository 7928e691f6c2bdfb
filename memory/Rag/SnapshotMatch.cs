using System.Text.RegularExpressions;
using Federation.Memory.Storage;

namespace Federation.Memory.Rag;

/// <summary>How an answer compares with the signed fragments it was given (class B).</summary>
public enum SnapshotOutcome
{
    /// <summary>Nothing to compare: the fragments state no number, or the answer states none.</summary>
    NotApplicable,
    /// <summary>Every number the answer states is one the fragments state.</summary>
    Agrees,
    /// <summary>The answer states a number the fragments do not: withheld.</summary>
    Contradicts,
}

/// <summary>The verdict of <see cref="SnapshotMatch.Check"/>, with the numbers it compared.</summary>
public sealed record SnapshotVerdict(SnapshotOutcome Outcome, IReadOnlyList<string> AnswerNumbers, IReadOnlyList<string> FragmentNumbers,
    IReadOnlyList<string> Unsupported, IReadOnlyList<string> FragmentCids)
{
    /// <summary>One line for the ledger and the error message.</summary>
    public string Detail => Outcome switch
    {
        SnapshotOutcome.NotApplicable => AnswerNumbers.Count == 0
            ? "class B: the answer states no number; nothing to compare with the signed fragments"
            : "class B: the signed fragments state no number; nothing to compare",
        SnapshotOutcome.Agrees => $"class B: every number in the answer ({string.Join(", ", AnswerNumbers)}) is stated by the signed fragments {string.Join(", ", FragmentCids)}",
        _ => $"class B: the answer states {string.Join(", ", Unsupported)}, which the signed fragments {string.Join(", ", FragmentCids)} do not (they state {string.Join(", ", FragmentNumbers)})",
    };
}

/// <summary>
/// The class-B match rule ("fact vs. signed snapshot", docs/memory.md §"Class B"): when the fragments retrieved for a
/// class-B topic state numbers, every number the answer states must be one of them; a number they do not state is a
/// contradiction of the snapshot and the answer is withheld. Numbers are maximal runs of ASCII digits with an optional
/// decimal part (<c>1.5</c>) or thousands groups (<c>3,000</c> = <c>3000</c>), compared by value (<c>07</c> = <c>7</c>,
/// <c>2.50</c> = <c>2.5</c>). Pure and deterministic.
/// </summary>
public static partial class SnapshotMatch
{
    [GeneratedRegex(@"(?<![0-9A-Za-z.,])[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?(?![0-9])|[0-9]+(?:\.[0-9]+)?", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    /// <summary>The numbers <paramref name="text"/> states, normalised, distinct, in order of first appearance.</summary>
    public static IReadOnlyList<string> Numbers(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var seen = new List<string>();
        foreach (Match m in NumberPattern().Matches(text))
        {
            var n = Normalize(m.Value);
            if (!seen.Contains(n, StringComparer.Ordinal)) seen.Add(n);
        }
        return seen;
    }

    private static string Normalize(string raw)
    {
        var s = raw.Replace(",", "", StringComparison.Ordinal);
        string whole = s, frac = "";
        int dot = s.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0) { whole = s[..dot]; frac = s[(dot + 1)..].TrimEnd('0'); }
        whole = whole.TrimStart('0');
        if (whole.Length == 0) whole = "0";
        return frac.Length == 0 ? whole : whole + "." + frac;
    }

    /// <summary>Compares <paramref name="answer"/> with the retrieved <paramref name="fragments"/>.</summary>
    public static SnapshotVerdict Check(string answer, IReadOnlyList<MemoryHit> fragments)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(fragments);
        var stated = Numbers(answer);
        var byFragment = fragments.Select(f => (f.Cid.ToString(), Numbers(f.Content))).Where(x => x.Item2.Count > 0).ToList();
        var known = byFragment.SelectMany(x => x.Item2).Distinct(StringComparer.Ordinal).ToList();
        var cids = byFragment.Select(x => x.Item1).ToList();
        if (known.Count == 0 || stated.Count == 0)
            return new SnapshotVerdict(SnapshotOutcome.NotApplicable, stated, known, [], cids);
        var unsupported = stated.Where(n => !known.Contains(n, StringComparer.Ordinal)).ToList();
        return new SnapshotVerdict(unsupported.Count == 0 ? SnapshotOutcome.Agrees : SnapshotOutcome.Contradicts, stated, known, unsupported, cids);
    }
}
