using System.Security.Cryptography;
using Federation.Registry.Json;

namespace Federation.Governance.Diip;

/// <summary>
/// The DIIP holdout's commit-reveal (seed §10.2 "blind head-to-head"): at <c>gauntlet_start</c> the runner publishes
/// <c>SHA-256(salt ‖ canonical JSON of the sorted canary CIDs)</c>; the <c>gauntlet_result</c> reveals the salt and the
/// CIDs, and every node checks them against the commitment before it trusts the numbers. The holdout is drawn from the
/// topic's public canaries, never from the secret reserve (blind audits only).
/// </summary>
/// <param name="Salt">32 random bytes, hex.</param>
/// <param name="Canaries">The canary CIDs of the holdout.</param>
public sealed record DiipHoldout(string Salt, IReadOnlyList<string> Canaries)
{
    /// <summary>The commitment of <paramref name="saltHex"/> and <paramref name="canaries"/> (order does not matter).</summary>
    public static string Commitment(string saltHex, IEnumerable<string> canaries)
    {
        var salt = Convert.FromHexString(saltHex);
        var list = CanonicalJson.Serialize(new JsonArray(canaries.Order(StringComparer.Ordinal).Select(c => (JsonValue)c)));
        return Convert.ToHexStringLower(SHA256.HashData([.. salt, .. list]));
    }

    /// <summary>This reveal's commitment.</summary>
    public string Commitment() => Commitment(Salt, Canaries);

    /// <summary>As the <c>holdout</c> member of a gauntlet_result.</summary>
    public JsonObject ToJson() => new()
    {
        ["salt"] = Salt,
        ["canaries"] = new JsonArray(Canaries.Order(StringComparer.Ordinal).Select(c => (JsonValue)c)),
    };

    /// <summary>Reads a reveal. <exception cref="DiipException">diip.event_invalid naming the bad member.</exception></summary>
    public static DiipHoldout FromJson(JsonValue v)
    {
        var o = Js.Obj(v, "holdout", ["salt", "canaries"]);
        var salt = Js.Str(o, "salt", "holdout");
        if (salt.Length != 64 || !salt.All(char.IsAsciiHexDigitLower)) throw Js.Bad("holdout.salt: expected 32 bytes as 64 lowercase hex digits");
        if (!o.TryGetValue("canaries", out var cv) || cv is not JsonArray ca || ca.Count == 0)
            throw Js.Bad("holdout.canaries: expected a non-empty list of canary CIDs");
        var ids = new List<string>();
        foreach (var c in ca)
        {
            if (c is not JsonString s || !Federation.Registry.Cid.TryParse(s.Value, out _, out _)) throw Js.Bad($"holdout.canaries: expected canary CIDs (64 hex), found {c}");
            ids.Add(s.Value);
        }
        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count) throw Js.Bad("holdout.canaries: a canary appears twice");
        return new DiipHoldout(salt, ids);
    }
}
