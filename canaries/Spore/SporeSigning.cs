using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>Id and signature checks shared by records, tasks, events and profiles (notes §1).</summary>
public static class SporeSigning
{
    /// <summary>Signs <paramref name="canonical"/> and returns the lowercase hex signature.</summary>
    public static string SignHex(NodeKey key, byte[] canonical) => Convert.ToHexStringLower(key.Sign(canonical));

    /// <summary>
    /// Checks that <paramref name="claimedId"/> equals the SHA-256 of <paramref name="canonical"/> (a string compare, so an
    /// upper-case id fails, as in the reference) and that <paramref name="signatureHex"/> by <paramref name="signerHex"/>
    /// verifies over the same bytes, decoding hex as Python's <c>bytes.fromhex</c> and verifying with libsodium's rules.
    /// </summary>
    public static SporeRejection? Check(string what, string claimedId, string signerHex, string signatureHex, byte[] canonical)
    {
        var cid = SporeJson.Sha256Hex(canonical);
        if (!string.Equals(cid, claimedId, StringComparison.Ordinal))
            return new SporeRejection(SporeReason.CidMismatch,
                $"{what} id \"{Trim(claimedId)}\" is not the SHA-256 of its canonical JSON ({cid}); re-sign the object, and send floats as floats and every key (notes §2, §10)");
        if (!SporeJson.TryFromHexPython(signerHex, out var pk) || pk.Length != NodeId.ByteLength)
            return new SporeRejection(SporeReason.SignatureInvalid, $"{what} signer \"{Trim(signerHex)}\" is not a 32-byte hex Ed25519 public key");
        if (!SporeJson.TryFromHexPython(signatureHex, out var sig) || sig.Length != NodeKey.SignatureLength)
            return new SporeRejection(SporeReason.SignatureInvalid, $"{what} signature is not 64 bytes of hex");
        var r = Ed25519Verifier.Verify(pk, canonical, sig);
        return r.IsValid ? null : new SporeRejection(SporeReason.SignatureInvalid, $"{what} signature does not verify: {r.Message}");
    }

    private static string Trim(string s) => s.Length > 70 ? s[..70] + "…" : s;

    internal static long Now(TimeProvider? time) => (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();

    internal static string Str(JsonObject o, string k) => o[k].AsString();

    internal static long Int(JsonObject o, string k) => o[k].AsInt64();
}
