using System.Text.Json;
using Federation.Router.Unicode;

namespace Federation.Router.Tests;

public class NfkcTests
{
    [Fact]
    public void Frozen_nfkc_matches_every_reference_vector()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "nfkc.json")));
        Assert.Equal(Nfkc.UnicodeVersion, doc.RootElement.GetProperty("unicode").GetString());
        var failures = new List<string>();
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var input = v.GetProperty("input").GetString()!;
            var want = v.GetProperty("nfkc").GetString()!;
            var got = Nfkc.Normalize(input);
            if (got != want)
                failures.Add($"{Hex(input)}: want {Hex(want)}, got {Hex(got)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void The_origin_mapped_nfkc_used_by_the_classifier_matches_every_reference_vector()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "nfkc.json")));
        var failures = new List<string>();
        var cps = new List<MappedCodePoint>();
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            var input = v.GetProperty("input").GetString()!;
            cps.Clear();
            for (int i = 0; i < input.Length; i++)
            {
                var r = System.Text.Rune.GetRuneAt(input, i);
                Nfkc.DecomposeMapped(r.Value, i, i + r.Utf16SequenceLength, cps);
                i += r.Utf16SequenceLength - 1;
            }
            Nfkc.ReorderAndComposeMapped(cps);
            var got = string.Concat(cps.Select(c => char.ConvertFromUtf32(c.Cp)));
            if (got != v.GetProperty("nfkc").GetString()) failures.Add($"{Hex(input)}: got {Hex(got)}");
            if (cps.Any(c => c.Start < 0 || c.End > input.Length || c.Start >= c.End)) failures.Add($"{Hex(input)}: origin out of range");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Theory]
    [InlineData("ﬁne", "fine")]
    [InlineData("ＰＹＴＨＯＮ", "PYTHON")]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("\u1100\u1161\u11a8", "\uac01")]
    [InlineData("x²", "x2")]
    [InlineData("plain ascii", "plain ascii")]
    public void Known_forms_normalise(string input, string expected) => Assert.Equal(expected, Nfkc.Normalize(input));

    [Fact]
    public void Lone_surrogates_pass_through()
    {
        Assert.Equal("a\ud800b", Nfkc.Normalize("a\ud800b"));
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4", System.Globalization.CultureInfo.InvariantCulture)));
}
