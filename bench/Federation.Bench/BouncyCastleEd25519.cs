using System.Buffers;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;

namespace Federation.Bench;

/// <summary>
/// The registry's Ed25519 before it moved to NSec, kept here only as the bench baseline: BouncyCastle 1.8's RFC 8032
/// code with pooled arrays, behind the same strict byte pre-checks (S &lt; L, canonical y, not small order).
/// </summary>
internal sealed class BouncyCastleEd25519
{
    private static ReadOnlySpan<byte> L =>
    [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
    ];

    private static readonly byte[][] SmallOrder =
    [
        Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        Convert.FromHexString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        Convert.FromHexString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];

    private readonly byte[] _seed;
    private readonly byte[] _publicKey = new byte[32];

    public BouncyCastleEd25519(ReadOnlySpan<byte> seed)
    {
        _seed = seed.ToArray();
        Rfc8032.GeneratePublicKey(_seed, 0, _publicKey, 0);
    }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        var m = ArrayPool<byte>.Shared.Rent(Math.Max(1, message.Length));
        var sig = ArrayPool<byte>.Shared.Rent(64);
        try
        {
            message.CopyTo(m);
            Rfc8032.Sign(_seed, 0, _publicKey, 0, m, 0, message.Length, sig, 0);
            sig.AsSpan(0, 64).CopyTo(signature);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(m);
            ArrayPool<byte>.Shared.Return(sig);
        }
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64) return false;
        if (!Below(signature[32..], L) || !CanonicalY(publicKey) || IsSmallOrder(publicKey) || !CanonicalY(signature[..32]) || IsSmallOrder(signature[..32]))
            return false;
        var pool = ArrayPool<byte>.Shared;
        var m = pool.Rent(Math.Max(1, message.Length));
        var sig = pool.Rent(64);
        var pk = pool.Rent(32);
        try
        {
            message.CopyTo(m);
            signature.CopyTo(sig);
            publicKey.CopyTo(pk);
            return Rfc8032.Verify(sig, 0, pk, 0, m, 0, message.Length);
        }
        finally
        {
            pool.Return(m);
            pool.Return(sig);
            pool.Return(pk);
        }
    }

    private static bool Below(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (var i = a.Length - 1; i >= 0; i--)
            if (a[i] != b[i]) return a[i] < b[i];
        return false;
    }

    private static bool CanonicalY(ReadOnlySpan<byte> enc)
    {
        if ((enc[31] & 0x7f) != 0x7f) return true;
        for (var i = 30; i >= 1; i--)
            if (enc[i] != 0xff) return true;
        return enc[0] < 0xed;
    }

    private static bool IsSmallOrder(ReadOnlySpan<byte> enc)
    {
        foreach (var bad in SmallOrder)
            if (enc[..31].SequenceEqual(bad.AsSpan(0, 31)) && (enc[31] & 0x7f) == bad[31]) return true;
        return false;
    }
}
