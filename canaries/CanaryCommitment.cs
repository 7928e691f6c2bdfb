using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Federation.Registry.Json;

namespace Federation.Canaries;

/// <summary>
/// Commit-reveal for secret canaries: the commitment is <c>SHA-256(salt ‖ canonical bytes of the canary)</c> with a
/// 32-byte random salt, written as 64 lowercase hex characters. The salt stops anyone confirming a guessed canary
/// against the commitment (a bare CID would allow that). A reveal is <c>{"commitment","salt","canary"}</c>.
/// </summary>
public static class CanaryCommitment
{
    /// <summary>Length of the salt in bytes.</summary>
    public const int SaltLength = 32;

    /// <summary>A fresh salt from the OS generator.</summary>
    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltLength);

    /// <summary>SHA-256(salt ‖ canary canonical bytes) as lowercase hex.</summary>
    public static string Compute(ReadOnlySpan<byte> salt, Canary canary)
    {
        ArgumentNullException.ThrowIfNull(canary);
        if (salt.Length != SaltLength) throw new ArgumentException($"a commitment salt is {SaltLength} bytes, found {salt.Length}.", nameof(salt));
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(salt);
        h.AppendData(canary.CanonicalBytes);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>The reveal object <c>{"commitment","salt","canary"}</c>.</summary>
    public static JsonObject Reveal(ReadOnlySpan<byte> salt, Canary canary) => new()
    {
        ["commitment"] = Compute(salt, canary),
        ["salt"] = Convert.ToHexStringLower(salt),
        ["canary"] = canary.Json,
    };

    /// <summary>
    /// Checks a reveal: the salt is 32 bytes of hex, the canary parses, and SHA-256(salt ‖ canary) equals
    /// <paramref name="expectedCommitment"/> (or the reveal's own <c>commitment</c> when none is given).
    /// </summary>
    public static bool TryVerifyReveal(JsonValue reveal, string? expectedCommitment, [NotNullWhen(true)] out Canary? canary, [NotNullWhen(false)] out string? error)
    {
        canary = null;
        if (reveal is not JsonObject o || !o.TryGetValue("salt", out var s) || s is not JsonString salt || !o.TryGetValue("canary", out var c))
        {
            error = "a canary reveal must be {\"commitment\": hex, \"salt\": hex, \"canary\": {…}}.";
            return false;
        }
        var want = expectedCommitment ?? (o.TryGetValue("commitment", out var cm) && cm is JsonString cs ? cs.Value : null);
        if (want is null)
        {
            error = "no commitment to check the reveal against: give one or include \"commitment\" in the reveal.";
            return false;
        }
        byte[] saltBytes;
        try
        {
            saltBytes = Convert.FromHexString(salt.Value);
        }
        catch (FormatException)
        {
            error = "reveal \"salt\" is not hex.";
            return false;
        }
        if (saltBytes.Length != SaltLength)
        {
            error = $"reveal \"salt\" must be {SaltLength} bytes ({SaltLength * 2} hex characters), found {saltBytes.Length} bytes.";
            return false;
        }
        if (!Canary.TryFromJson(c, out var parsed, out error)) return false;
        var actual = Compute(saltBytes, parsed);
        if (!string.Equals(actual, want, StringComparison.Ordinal))
        {
            error = $"reveal does not match the commitment: SHA-256(salt ‖ canary) is {actual}, the commitment is {want}. The canary or the salt was changed.";
            return false;
        }
        canary = parsed;
        return true;
    }
}
