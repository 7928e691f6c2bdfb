using System.Globalization;
using System.Text;
using Federation.Router.Unicode;

namespace Federation.Router.Tests;

/// <summary>
/// The evasion tables checked against the published Unicode data they were generated from (router/Unicode/ucd/:
/// DerivedCoreProperties.txt and UTS #39 confusables.txt, 17.0.0), read here independently of the generator.
/// </summary>
public class SecurityFoldTests
{
    private static string UcdFile(string name)
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(TestPolicies.DefaultPolicyPath())!).Parent!;
        return Path.Combine(dir.FullName, "router", "Unicode", "ucd", name);
    }

    private static IEnumerable<(string Source, string Target)> Confusables()
    {
        foreach (var line in File.ReadLines(UcdFile("confusables.txt")))
        {
            var body = line.Split('#', 2)[0].Trim().TrimStart('\uFEFF');
            if (body.Length == 0) continue;
            var f = body.Split(';');
            yield return (Cps(f[0]), Cps(f[1]));
        }
        static string Cps(string hex) => string.Concat(hex.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(h => char.ConvertFromUtf32(int.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Generated_tables_record_the_versions_of_the_committed_data()
    {
        Assert.StartsWith($"# DerivedCoreProperties-{SecurityFold.IgnorableVersion}.txt", File.ReadLines(UcdFile("DerivedCoreProperties.txt")).First(), StringComparison.Ordinal);
        Assert.Contains($"# Version: {SecurityFold.ConfusablesVersion}", File.ReadLines(UcdFile("confusables.txt")).Take(20));
        Assert.Equal("17.0.0", SecurityFold.ConfusablesVersion);
    }

    [Fact]
    public void Every_default_ignorable_code_point_in_the_published_data_is_removed_before_matching()
    {
        int count = 0;
        var failures = new List<string>();
        foreach (var line in File.ReadLines(UcdFile("DerivedCoreProperties.txt")))
        {
            var body = line.Split('#', 2)[0];
            var f = body.Split(';');
            if (f.Length < 2 || f[1].Trim() != "Default_Ignorable_Code_Point") continue;
            var range = f[0].Trim().Split("..");
            int lo = int.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            int hi = range.Length > 1 ? int.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : lo;
            for (int cp = lo; cp <= hi; cp++, count++)
            {
                if (!SecurityFold.IsIgnorable(cp)) failures.Add($"U+{cp:X4} not ignorable");
                var s = "de" + char.ConvertFromUtf32(cp) + "fense";
                if (QueryText.Normalize(s) != "defense") failures.Add($"U+{cp:X4}: '{QueryText.Normalize(s)}'");
            }
        }
        Assert.True(count > 4000, $"read only {count} code points");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        // and nothing else: ordinary letters, spaces and ASCII controls are not ignorable
        foreach (var cp in new[] { 'a', ' ', '\t', '\u00e9', '\u0435', '\u3000', '\u0085' }) Assert.False(SecurityFold.IsIgnorable(cp), $"U+{(int)cp:X4}");
    }

    [Fact]
    public void Every_confusable_letter_of_latin_greek_and_cyrillic_folds_to_a_look_alike_by_the_published_skeleton()
    {
        var proto = new Dictionary<int, string>();
        foreach (var (s, t) in Confusables()) proto[char.ConvertToUtf32(s, 0)] = t;
        string Skeleton(string x)
        {
            var sb = new StringBuilder();
            foreach (var r in x.EnumerateRunes()) sb.Append(proto.TryGetValue(r.Value, out var p) ? p : r.ToString());
            return sb.ToString();
        }

        int checkedCount = 0;
        var failures = new List<string>();
        foreach (var (s, t) in Confusables())
        {
            int cp = char.ConvertToUtf32(s, 0);
            // Latin, Greek, Cyrillic (and their extension blocks) letters whose prototype is ASCII letters or digits.
            bool script = cp is (>= 0x80 and <= 0x052F) or (>= 0x1D00 and <= 0x1DBF) or (>= 0x1E00 and <= 0x1FFF)
                or (>= 0x2C60 and <= 0x2C7F) or (>= 0xA640 and <= 0xA69F) or (>= 0xA720 and <= 0xA7FF) or (>= 0xAB30 and <= 0xAB6F);
            if (!script || !Rune.IsLetter(new Rune(cp)) || !t.All(char.IsAsciiLetterOrDigit)) continue;
            if (Nfkc.Normalize(s) != s) continue;   // compatibility forms are NFKC's job, tested in NfkcTests
            checkedCount++;
            var n = QueryText.Normalize(s);
            if (!n.All(c => c < 128)) { failures.Add($"U+{cp:X4} {s} -> '{n}' is not ASCII (prototype '{t}')"); continue; }
            // UTS #39: x and y are confusable when skeleton(x) == skeleton(y); we fold case too, so compare both cases.
            var mine = CaseVariants(n).Select(Skeleton).ToArray();
            var theirs = new[] { Skeleton(s), Skeleton(s.ToLowerInvariant()), Skeleton(s.ToUpperInvariant()) };
            if (!mine.Intersect(theirs).Any()) failures.Add($"U+{cp:X4} {s} -> '{n}', but its skeleton is '{Skeleton(s)}'");
        }
        Assert.True(checkedCount > 150, $"checked only {checkedCount}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedCount}:\n" + string.Join("\n", failures.Take(30)));
    }

    // Every upper/lower-case spelling of a short ASCII string ("bi" -> bi, bI, Bi, BI).
    private static IEnumerable<string> CaseVariants(string s)
    {
        IEnumerable<string> acc = [""];
        foreach (var c in s)
            acc = acc.SelectMany(p => new[] { p + char.ToLowerInvariant(c), p + char.ToUpperInvariant(c) }).Distinct().ToList();
        return acc;
    }

    [Theory]
    [InlineData("d\u0435f\u0435ns\u0435", "defense")]                 // Cyrillic ie
    [InlineData("\u0421\u041E\u0414E", "coдe")]                        // Cyrillic ES, O fold; DE (Д) is no look-alike
    [InlineData("\u0399NTEGRAL", "integral")]                          // Greek IOTA -> i, not l
    [InlineData("d\u03b5fense", "defense")]                            // Greek small epsilon
    [InlineData("\uFF44\uFF45\uFF46\uFF45\uFF4E\uFF53\uFF45", "defense")] // fullwidth (NFKC)
    [InlineData("de\u0301fense", "d\u00e9fense")]                      // a real diacritic is kept (composed)
    [InlineData("strat\u200D\uFE0Fegy\U000E0041", "strategy")]         // ZWJ, variation selector, tag letter
    [InlineData("\u202Eygetarts", "ygetarts")]                          // bidi override removed (the text itself is not reversed)
    [InlineData("10 mg", "10 mg")]                                     // ASCII digits are never folded
    public void Known_evasions_normalise(string input, string expected) => Assert.Equal(expected, QueryText.Normalize(input));

    [Fact]
    public void Folding_is_idempotent_and_ignorables_never_change_the_result()
    {
        var rng = new Random(8);
        var alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ 0123456789\u0435\u0415\u0430\u03b9\u0399\u03b5\u0395\u00e9\u0301\u0308\uFF41\uFB01\u00b2\u1100\u1161\u11a8\u0456\u0406\u0455\u04CF\u0410\u00AD".EnumerateRunes().Select(r => r.ToString())
            .Concat(["\U0001D41A", "\u00C5", "A\u030A", "\u212B"]).ToArray();
        var ignorables = new[] { "\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD", "\u202E", "\u2066", "\uFE0F", "\U000E0041", "\u034F", "\u180E" };
        for (int i = 0; i < 2000; i++)
        {
            var parts = Enumerable.Range(0, rng.Next(0, 20)).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray();
            var s = string.Concat(parts);
            var n = QueryText.Normalize(s);
            Assert.Equal(n, QueryText.Normalize(n));
            var noisy = string.Concat(parts.Select(p => rng.Next(3) == 0 ? ignorables[rng.Next(ignorables.Length)] + p : p));
            Assert.Equal(n, QueryText.Normalize(noisy));
        }
    }
}
