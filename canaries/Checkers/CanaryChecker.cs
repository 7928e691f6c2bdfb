using System.Globalization;
using System.Text.RegularExpressions;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Canaries.Checkers;

/// <summary>
/// Runs a canary's checker on an answer and returns o ∈ [0,1] with a detail. Deterministic for every kind except
/// <c>program</c> (which is deterministic as long as the submitted code is and stays inside its time limit).
/// Thread-safe.
/// </summary>
public sealed partial class CanaryChecker(ProgramSandbox? sandbox = null, IPanelJudge? panel = null)
{
    private readonly ProgramSandbox _sandbox = sandbox ?? new ProgramSandbox();

    /// <summary>Checks <paramref name="answer"/> against <paramref name="canary"/>.</summary>
    public async Task<CheckOutcome> CheckAsync(Canary canary, string answer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(canary);
        ArgumentNullException.ThrowIfNull(answer);
        var c = canary.Checker;
        return CheckerSpec.Kind(c) switch
        {
            "exact" => Exact(c, answer),
            "numeric" => Numeric(c, answer),
            "regex" => RegexCheck(c, answer),
            "json_schema" => Schema(c, answer),
            "program" => await _sandbox.RunAsync(c, ExtractCode(answer), cancellationToken),
            "reference" => Reference(c, answer),
            "panel" => panel is null
                ? new CheckOutcome(0, "class C: no panel configured; the answer awaits a panel", CheckStatus.Deferred)
                : await panel.JudgeAsync(canary, answer, cancellationToken),
            var k => CheckOutcome.Invalid($"unknown checker kind \"{k}\""),
        };
    }

    private static CheckOutcome Exact(JsonObject c, string answer)
    {
        var expected = c["expected"].AsString();
        var mode = c.TryGetValue("normalize", out var n) ? n.AsString() : "trim";
        var (a, e) = mode switch
        {
            "none" => (answer, expected),
            "casefold" => (answer.Trim().ToUpperInvariant(), expected.Trim().ToUpperInvariant()),
            _ => (answer.Trim(), expected.Trim()),
        };
        return string.Equals(a, e, StringComparison.Ordinal)
            ? CheckOutcome.Pass($"exact match ({mode})")
            : CheckOutcome.Fail($"expected \"{Clip(e)}\" ({mode}), found \"{Clip(a)}\"");
    }

    [GeneratedRegex(@"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex NumberPattern();

    /// <summary>The number an answer gives: the whole trimmed answer if it is a number, else the last number in the text.</summary>
    internal static double? ExtractNumber(string answer)
    {
        var t = answer.Trim();
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var whole)) return whole;
        var matches = NumberPattern().Matches(t);
        if (matches.Count == 0) return null;
        return double.TryParse(matches[^1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var last) ? last : null;
    }

    private static CheckOutcome Numeric(JsonObject c, string answer)
    {
        Canary.TryNumber(c["expected"], out var expected);
        var abs = c.TryGetValue("abs_tol", out var a) && Canary.TryNumber(a, out var av) ? av : 0;
        var rel = c.TryGetValue("rel_tol", out var r) && Canary.TryNumber(r, out var rv) ? rv : 0;
        if (ExtractNumber(answer) is not { } x) return CheckOutcome.Fail("no number found in the answer");
        var tol = Math.Max(abs, rel * Math.Abs(expected));
        var diff = Math.Abs(x - expected);
        var s = (double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return diff <= tol
            ? CheckOutcome.Pass($"{s(x)} is within {s(tol)} of {s(expected)}")
            : CheckOutcome.Fail($"{s(x)} differs from {s(expected)} by {s(diff)} > tolerance {s(tol)}");
    }

    private static CheckOutcome RegexCheck(JsonObject c, string answer)
    {
        var timeout = c.TryGetValue("timeout_ms", out var t) ? (int)t.AsInt64() : 100;
        var options = RegexOptions.CultureInvariant | (c.TryGetValue("ignore_case", out var ic) && ic.AsBool() ? RegexOptions.IgnoreCase : RegexOptions.None);
        try
        {
            var re = new Regex(c["pattern"].AsString(), options, TimeSpan.FromMilliseconds(timeout));
            return re.IsMatch(answer) ? CheckOutcome.Pass("pattern matches") : CheckOutcome.Fail("pattern does not match");
        }
        catch (RegexMatchTimeoutException)
        {
            // An answer crafted to make the pattern backtrack is a fail, not a hang (the timeout bounds the cost).
            return CheckOutcome.Fail($"pattern did not finish within {timeout} ms (catastrophic backtracking); counted as a fail");
        }
    }

    [GeneratedRegex(@"```[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)```", RegexOptions.Singleline | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex FencePattern();

    /// <summary>The first fenced code block of an answer, or the whole answer trimmed (models often wrap code and JSON in fences).</summary>
    internal static string ExtractCode(string answer)
    {
        var m = FencePattern().Match(answer);
        return m.Success ? m.Groups[1].Value : answer.Trim();
    }

    private static CheckOutcome Schema(JsonObject c, string answer)
    {
        JsonValue instance;
        try
        {
            instance = CanonicalJson.Parse(ExtractCode(answer));
        }
        catch (FormatException e)
        {
            return CheckOutcome.Fail($"answer is not JSON: {Clip(e.Message)}");
        }
        return JsonSchemaSubset.Validate(c["schema"], instance, out var error)
            ? CheckOutcome.Pass("answer is valid against the schema")
            : CheckOutcome.Fail($"schema violation at {error}");
    }

    private static CheckOutcome Reference(JsonObject c, string answer)
    {
        var env = SignedEnvelope.FromJson(c["snapshot"]);
        var check = env.Verify();
        if (!check.IsValid) return CheckOutcome.Invalid($"reference snapshot does not verify: {check.Message}");
        if (c.TryGetValue("signer", out var sg) && sg.AsString() != env.Signer.ToString())
            return CheckOutcome.Invalid($"reference snapshot is signed by {env.Signer}, the canary requires {sg.AsString()}");
        var fact = c["fact"].AsString();
        if (env.Payload is not JsonObject p || !p.TryGetValue("facts", out var facts) || facts is not JsonObject fo || !fo.TryGetValue(fact, out var value))
            return CheckOutcome.Invalid($"reference snapshot {env.Id} has no fact \"{fact}\" under payload.facts");
        var expected = value is JsonString s ? s.Value : value.ToString();
        return Normalize(answer).Contains(Normalize(expected), StringComparison.Ordinal)
            ? CheckOutcome.Pass($"answer states the reference fact \"{fact}\" of snapshot {env.Id}")
            : CheckOutcome.Fail($"answer does not state \"{Clip(expected)}\" (fact \"{fact}\" of snapshot {env.Id})");
    }

    /// <summary>Upper case with runs of whitespace folded to one space: how class-B facts are matched.</summary>
    private static string Normalize(string s) => string.Join(' ', s.ToUpperInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    internal static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";

    /// <summary>Makes a class-B reference snapshot: a signed envelope of <c>{"facts": …}</c>.</summary>
    public static SignedEnvelope SealSnapshot(JsonObject facts, NodeKey key) =>
        SignedEnvelope.Seal(CheckerSpec.ReferenceSnapshotType, new JsonObject { ["facts"] = facts }, key);
}
