using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Canaries;

/// <summary>
/// The checker kinds and their fields (docs/canaries.md). Class A: <c>exact</c>, <c>numeric</c>, <c>regex</c>,
/// <c>json_schema</c>, <c>program</c>; class B: <c>reference</c>; class C: <c>panel</c>. Validated when a canary is
/// created, so a stored canary always has a checker that can run.
/// </summary>
public static class CheckerSpec
{
    /// <summary>The envelope type of a class-B reference snapshot: payload <c>{"facts": {key: string|number}}</c>.</summary>
    public const string ReferenceSnapshotType = "canary.reference";

    /// <summary>Longest regex time limit a canary may ask for.</summary>
    public const int MaxRegexTimeoutMs = 10_000;

    /// <summary>Longest wall-clock limit a program canary may ask for.</summary>
    public const int MaxProgramTimeoutMs = 60_000;

    /// <summary>The class-A checker kinds.</summary>
    public static readonly IReadOnlyList<string> ClassAKinds = ["exact", "numeric", "regex", "json_schema", "program"];

    /// <summary>The checker's <c>kind</c>, or null.</summary>
    public static string? Kind(JsonObject checker) => checker.TryGetValue("kind", out var k) && k is JsonString s ? s.Value : null;

    /// <summary>Checks that <paramref name="checker"/> is a well-formed checker of a kind that fits <paramref name="cls"/>.</summary>
    public static bool TryValidate(CanaryClass cls, JsonObject checker, [NotNullWhen(false)] out string? error)
    {
        error = null;
        var kind = Kind(checker);
        var allowed = cls switch
        {
            CanaryClass.A => ClassAKinds,
            CanaryClass.B => ["reference"],
            _ => (IReadOnlyList<string>)["panel"],
        };
        if (kind is null || !allowed.Contains(kind))
        {
            error = $"a class-{cls} canary needs a checker with \"kind\" one of {string.Join(", ", allowed)}; found {(kind is null ? "no kind" : $"\"{kind}\"")}.";
            return false;
        }
        string[] fields = kind switch
        {
            "exact" => ["kind", "expected", "normalize"],
            "numeric" => ["kind", "expected", "abs_tol", "rel_tol"],
            "regex" => ["kind", "pattern", "ignore_case", "timeout_ms"],
            "json_schema" => ["kind", "schema"],
            "program" => ["kind", "language", "entry", "tests", "timeout_ms", "memory_mb"],
            "reference" => ["kind", "snapshot", "fact", "signer"],
            _ => ["kind", "rubric"],
        };
        foreach (var k in checker.Keys)
            if (!fields.Contains(k))
            {
                error = $"checker \"{kind}\" has unknown field \"{k}\"; its fields are {string.Join(", ", fields)}.";
                return false;
            }
        switch (kind)
        {
            case "exact":
                if (!checker.TryGetValue("expected", out var ex) || ex is not JsonString) return Fail("checker \"exact\" needs \"expected\": string.", out error);
                if (checker.TryGetValue("normalize", out var nz) && !(nz is JsonString ns && ns.Value is "none" or "trim" or "casefold"))
                    return Fail("checker \"exact\" \"normalize\" must be \"none\", \"trim\" (default) or \"casefold\".", out error);
                return true;
            case "numeric":
                if (!checker.TryGetValue("expected", out var ev) || !Canary.TryNumber(ev, out var e) || !double.IsFinite(e))
                    return Fail("checker \"numeric\" needs \"expected\": a finite number.", out error);
                foreach (var tol in new[] { "abs_tol", "rel_tol" })
                    if (checker.TryGetValue(tol, out var tv) && !(Canary.TryNumber(tv, out var t) && t >= 0 && double.IsFinite(t)))
                        return Fail($"checker \"numeric\" \"{tol}\" must be a finite number ≥ 0.", out error);
                return true;
            case "regex":
                if (!checker.TryGetValue("pattern", out var pv) || pv is not JsonString ps) return Fail("checker \"regex\" needs \"pattern\": string.", out error);
                if (checker.TryGetValue("ignore_case", out var ic) && ic is not JsonBool) return Fail("checker \"regex\" \"ignore_case\" must be a boolean.", out error);
                if (checker.TryGetValue("timeout_ms", out var rt) && !(rt is JsonInt ri && ri.Value >= 1 && ri.Value <= MaxRegexTimeoutMs))
                    return Fail($"checker \"regex\" \"timeout_ms\" must be an integer in [1, {MaxRegexTimeoutMs}].", out error);
                try
                {
                    _ = new Regex(ps.Value, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException x)
                {
                    return Fail($"checker \"regex\" pattern does not compile: {x.Message}", out error);
                }
                return true;
            case "json_schema":
                if (!checker.TryGetValue("schema", out var sc)) return Fail("checker \"json_schema\" needs \"schema\".", out error);
                return Checkers.JsonSchemaSubset.TryValidateSchema(sc, "#", out error);
            case "program":
                return TryValidateProgram(checker, out error);
            case "reference":
                if (!checker.TryGetValue("fact", out var f) || f is not JsonString) return Fail("checker \"reference\" needs \"fact\": the key of the expected fact in the snapshot.", out error);
                if (!checker.TryGetValue("snapshot", out var snap))
                    return Fail("checker \"reference\" needs \"snapshot\": a signed envelope {type,payload,signer,signature,id}.", out error);
                if (!SignedEnvelope.TryFromJson(snap, out var env, out var envErr))
                    return Fail($"checker \"reference\" snapshot is not a signed envelope: {envErr}", out error);
                if (env.Type != ReferenceSnapshotType) return Fail($"checker \"reference\" snapshot must be of type \"{ReferenceSnapshotType}\", found \"{env.Type}\".", out error);
                if (checker.TryGetValue("signer", out var sg) && sg is not JsonString) return Fail("checker \"reference\" \"signer\" must be a node id string.", out error);
                return true;
            default:
                if (checker.TryGetValue("rubric", out var rb) && rb is not JsonString) return Fail("checker \"panel\" \"rubric\" must be a string.", out error);
                return true;
        }
    }

    private static bool TryValidateProgram(JsonObject c, [NotNullWhen(false)] out string? error)
    {
        if (!c.TryGetValue("language", out var l) || l is not JsonString { Value: "python" })
            return Fail("checker \"program\" needs \"language\": \"python\" (the only sandboxed runtime).", out error);
        if (!c.TryGetValue("entry", out var e) || e is not JsonString es || !Regex.IsMatch(es.Value, "^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.None, TimeSpan.FromSeconds(1)))
            return Fail("checker \"program\" needs \"entry\": the Python function name to call (an identifier).", out error);
        if (!c.TryGetValue("tests", out var t) || t is not JsonArray { Count: > 0 } tests)
            return Fail("checker \"program\" needs \"tests\": a non-empty array of {\"args\": [...], \"expected\": value}.", out error);
        foreach (var test in tests)
            if (test is not JsonObject to || !to.TryGetValue("args", out var a) || a is not JsonArray || !to.ContainsKey("expected") || to.Count != 2)
                return Fail("each \"program\" test must be exactly {\"args\": [...], \"expected\": value}.", out error);
        if (c.TryGetValue("timeout_ms", out var tm) && !(tm is JsonInt ti && ti.Value >= 100 && ti.Value <= MaxProgramTimeoutMs))
            return Fail($"checker \"program\" \"timeout_ms\" must be an integer in [100, {MaxProgramTimeoutMs}].", out error);
        if (c.TryGetValue("memory_mb", out var mm) && !(mm is JsonInt mi && mi.Value >= 32 && mi.Value <= 4096))
            return Fail("checker \"program\" \"memory_mb\" must be an integer in [32, 4096].", out error);
        error = null;
        return true;
    }

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
