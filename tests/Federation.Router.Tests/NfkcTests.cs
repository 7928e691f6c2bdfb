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
