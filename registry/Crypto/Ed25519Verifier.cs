using System.Numerics;
using NSec.Cryptography;

namespace Federation.Registry.Crypto;

/// <summary>
/// Strict Ed25519 verification with libsodium's extra rules (Spore notes §1: the reference verifies with libsodium):
/// besides RFC 8032 it refuses S &gt;= L, a non-canonical public key or R (y &gt;= p), and a small-order public key or R.
/// Ordinary keys and signatures are never affected; only crafted inputs are.
/// </summary>
/// <remarks>
/// The curve arithmetic is libsodium's (<c>crypto_sign_ed25519_verify_detached</c> through NSec), which already refuses
/// S &gt;= L, a non-canonical or small-order key and a small-order R. It answers only yes or no, so the same rules are
/// checked here first, on the bytes, to give the typed reason; they need no point arithmetic. Small order is checked
/// against the encodings of the 8 torsion points, ignoring the sign bit: y = 0, 1, p-1, the two y values of the
/// order-8 points, and the non-canonical p and p+1 (the same list libsodium uses; the tests multiply each by 8 to
/// prove it). A non-canonical R is refused here too (libsodium would report it as a mismatch, since it compares
/// against the canonical encoding of the recomputed R). Whether a key or R decodes to a curve point at all is asked
/// only after libsodium said no (RFC 8032 §5.1.3, with <see cref="BigInteger"/>), so valid signatures pay nothing
/// extra.
/// </remarks>
public static class Ed25519Verifier
{
    /// <summary>The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.</summary>
    private static ReadOnlySpan<byte> L =>
    [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
    ];

    /// <summary>Encodings (little-endian y, sign bit cleared) of the small-order points, canonical and not.</summary>
    internal static readonly byte[][] SmallOrderEncodings =
    [
        Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000000"), // y=0: order 4
        Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"), // y=1: identity
        Convert.FromHexString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
        Convert.FromHexString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
        Convert.FromHexString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y=p-1: order 2
        Convert.FromHexString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y=p (=0), non-canonical
        Convert.FromHexString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // y=p+1 (=1), non-canonical
    ];

    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger D = Mod(-121665 * ModInverse(121666));

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="message"/> by <paramref name="publicKey"/>.</summary>
    public static SignatureCheck Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != NodeId.ByteLength)
            return Fail(SignatureFailure.PublicKeyLength, $"expected a {NodeId.ByteLength}-byte public key, found {publicKey.Length} bytes");
        if (signature.Length != NodeKey.SignatureLength)
            return Fail(SignatureFailure.SignatureLength, $"expected a {NodeKey.SignatureLength}-byte signature, found {signature.Length} bytes");
        var r = signature[..32];
        var s = signature[32..];
        if (!LessThanLittleEndian(s, L))
            return Fail(SignatureFailure.SignatureSNotCanonical, "signature scalar S is not below the group order L (non-canonical or malleated signature)");
        if (!IsCanonicalY(publicKey))
            return Fail(SignatureFailure.PublicKeyNotCanonical, "public key encodes y >= 2^255-19 (non-canonical encoding)");
        if (IsSmallOrder(publicKey))
            return Fail(SignatureFailure.PublicKeySmallOrder, "public key is a small-order point; such a key verifies forged signatures");
        if (!IsCanonicalY(r))
            return Fail(SignatureFailure.SignatureRNotCanonical, "signature point R encodes y >= 2^255-19 (non-canonical encoding)");
        if (IsSmallOrder(r))
            return Fail(SignatureFailure.SignatureRSmallOrder, "signature point R is a small-order point");

        // NSec's raw public-key import only copies the 32 bytes; decoding happens inside libsodium's verify.
        if (PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key)
            && SignatureAlgorithm.Ed25519.Verify(key!, message, signature))
            return SignatureCheck.Valid;
        if (!Decodes(publicKey))
            return Fail(SignatureFailure.PublicKeyMalformed, "public key is not the encoding of a point on Ed25519");
        if (!Decodes(r))
            return Fail(SignatureFailure.SignatureRMalformed, "signature point R is not the encoding of a point on Ed25519");
        return Fail(SignatureFailure.Mismatch, "signature does not match this public key and message");
    }

    /// <summary>Verifies against a <see cref="NodeId"/>.</summary>
    public static SignatureCheck Verify(NodeId signer, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        Span<byte> pk = stackalloc byte[NodeId.ByteLength];
        signer.WriteTo(pk);
        return Verify(pk, message, signature);
    }

    private static SignatureCheck Fail(SignatureFailure f, string message) => new(f, message);

    /// <summary>a &lt; b for equal-length little-endian numbers, compared from the most significant byte.</summary>
    private static bool LessThanLittleEndian(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (var i = a.Length - 1; i >= 0; i--)
            if (a[i] != b[i]) return a[i] < b[i];
        return false;
    }

    /// <summary>Whether the 255-bit y (sign bit ignored) is below p = 2^255 - 19.</summary>
    internal static bool IsCanonicalY(ReadOnlySpan<byte> enc)
    {
        // y >= p only when bytes 1..30 are 0xff, byte 31 (masked) is 0x7f and byte 0 >= 0xed.
        if ((enc[31] & 0x7f) != 0x7f) return true;
        for (var i = 30; i >= 1; i--)
            if (enc[i] != 0xff) return true;
        return enc[0] < 0xed;
    }

    internal static bool IsSmallOrder(ReadOnlySpan<byte> enc)
    {
        foreach (var bad in SmallOrderEncodings)
        {
            if (enc[..31].SequenceEqual(bad.AsSpan(0, 31)) && (enc[31] & 0x7f) == bad[31]) return true;
        }
        return false;
    }

    /// <summary>Whether an encoding decodes to a curve point (RFC 8032 §5.1.3): x² = (y²-1)/(dy²+1) has a root, and x=0 has sign 0.</summary>
    internal static bool Decodes(ReadOnlySpan<byte> enc)
    {
        Span<byte> yb = stackalloc byte[32];
        enc.CopyTo(yb);
        var sign = (yb[31] & 0x80) != 0;
        yb[31] &= 0x7f;
        var y = new BigInteger(yb, isUnsigned: true, isBigEndian: false);
        if (y >= P) return false;
        var y2 = y * y % P;
        var x2 = Mod((y2 - 1) * ModInverse(Mod(D * y2 + 1)));
        if (x2.IsZero) return !sign;
        return BigInteger.ModPow(x2, (P - 1) / 2, P).IsOne;
    }

    private static BigInteger Mod(BigInteger a)
    {
        var r = a % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger ModInverse(BigInteger a) => BigInteger.ModPow(Mod(a), P - 2, P);
}
