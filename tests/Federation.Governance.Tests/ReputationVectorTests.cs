using System.Globalization;
using System.Text.Json;

namespace Federation.Governance.Tests;

/// <summary>
/// Walks tests/vectors/reputation/compute.json, written by an independent Python implementation (generate.py: other decay
/// form, fsum, θ by bisection), and reports every case that differs by more than 1e-9.
/// </summary>
public sealed class ReputationVectorTests
{
    internal static IEnumerable<JsonElement> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(RepoFiles.Path("tests/vectors/reputation/compute.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    }

    /// <summary>|a − b| ≤ 1e-9·max(1, |b|): absolute for weights and rates, relative for large N and R.</summary>
    internal static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(b));

    /// <summary>Compares an output document (theta, nodes) with a vector's want; returns the differences.</summary>
    internal static List<string> Compare(JsonElement got, JsonElement want)
    {
        var diffs = new List<string>();
        var wt = want.GetProperty("theta");
        var gt = got.GetProperty("theta");
        if (wt.ValueKind != gt.ValueKind) diffs.Add($"theta: got {gt.GetRawText()}, want {wt.GetRawText()}");
        else if (wt.ValueKind == JsonValueKind.Number && !Close(gt.GetDouble(), wt.GetDouble())) diffs.Add($"theta: got {gt.GetDouble():R}, want {wt.GetDouble():R}");
        var gotNodes = got.GetProperty("nodes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var wantNodes = want.GetProperty("nodes").EnumerateObject().ToArray();
        if (gotNodes.Count != wantNodes.Length) diffs.Add($"{gotNodes.Count} nodes, want {wantNodes.Length}");
        foreach (var wn in wantNodes)
        {
            if (!gotNodes.TryGetValue(wn.Name, out var gn)) { diffs.Add($"node {wn.Name} missing"); continue; }
            if (gn.EnumerateObject().Count() != 5) diffs.Add($"node {wn.Name}: expected exactly N, C, C_hat, R, weight");
            foreach (var key in new[] { "N", "C", "C_hat", "R", "weight" })
            {
                double g = gn.GetProperty(key).GetDouble(), w = wn.Value.GetProperty(key).GetDouble();
                if (!Close(g, w)) diffs.Add($"{wn.Name}.{key}: got {g.ToString("R", CultureInfo.InvariantCulture)}, want {w.ToString("R", CultureInfo.InvariantCulture)}");
            }
        }
        return diffs;
    }

    [Fact]
    public void Every_vector_matches_the_independent_python_implementation_to_1e9()
    {
        var failures = new List<string>();
        int ok = 0, errors = 0;
        foreach (var c in Cases())
        {
            var desc = c.GetProperty("desc").GetString();
            var text = c.GetProperty("scenario").GetRawText();
            try
            {
                var json = ReputationScenario.ToJson(ReputationScenario.Parse(text).Compute());
                if (c.TryGetProperty("want_error", out var we)) { failures.Add($"{desc}: expected an error naming {we.GetString()}, got {json[..Math.Min(80, json.Length)]}"); continue; }
                using var got = JsonDocument.Parse(json);
                var diffs = Compare(got.RootElement, c.GetProperty("want"));
                if (diffs.Count > 0) failures.Add($"{desc}: {string.Join("; ", diffs.Take(4))}");
                else ok++;
            }
            catch (ReputationInputException e)
            {
                if (!c.TryGetProperty("want_error", out var we)) failures.Add($"{desc}: unexpected error {e.Message}");
                else if (!e.Field.StartsWith(we.GetString()!, StringComparison.Ordinal)) failures.Add($"{desc}: error names '{e.Field}', want '{we.GetString()}' ({e.Message})");
                else errors++;
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} vectors failed:\n" + string.Join("\n", failures));
        Assert.True(ok >= 40, $"only {ok} computed vectors passed");
        Assert.True(errors >= 40, $"only {errors} error vectors passed");
    }
}
