using System.Numerics;
using System.Security.Cryptography;
using Federation.Registry.Crypto;

namespace Federation.Registry.Tests;

/// <summary>RFC 8032 §7.1 vectors and the mutated cases of tests/vectors/ed25519, each failure reported.</summary>
public class Ed25519VectorTests
{
    [Fact]
    public void Rfc8032_vectors_sign_and_verify_exactly()
    {
        var failures = new List<string>();
        var n = 0;
        foreach (var (file, c) in JsonVectorFiles.Cases("ed25519"))
        {
            if (file != "rfc8032.json") continue;
            n++;
            var desc = c.GetProperty("desc").GetString();
            using var key = NodeKey.FromSeedHex(c.GetProperty("secret_key").GetString()!);
            var msg = Convert.FromHexString(c.GetProperty("message").GetString()!);
            var wantSig = c.GetProperty("signature").GetString();
            if (key.NodeId.ToString() != c.GetProperty("public_key").GetString()) failures.Add($"{desc}: public key {key.NodeId}");
            var sig = key.Sign(msg);
            if (Convert.ToHexStringLower(sig) != wantSig) failures.Add($"{desc}: signature {Convert.ToHexStringLower(sig)}");
            var check = Ed25519Verifier.Verify(key.PublicKey, msg, sig);
            if (!check.IsValid) failures.Add($"{desc}: own signature refused: {check}");
        }
        Assert.Equal(5, n);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Sha_abc_vector_message_is_sha512_of_abc()
    {
        var c = JsonVectorFiles.Cases("ed25519").Single(x => x.File == "rfc8032.json" && x.Case.GetProperty("desc").GetString()!.StartsWith("TEST SHA(abc)", StringComparison.Ordinal)).Case;
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData("abc"u8)), c.GetProperty("message").GetString());
    }

    [Fact]
    public void Every_mutated_vector_is_refused_with_the_expected_reason()
    {
        var failures = new List<string>();
        var n = 0;
        foreach (var (file, c) in JsonVectorFiles.Cases("ed25519"))
        {
            if (file != "mutations.json") continue;
            n++;
            var desc = c.GetProperty("desc").GetString();
            var want = c.TryGetProperty("want_error", out var we) ? Enum.Parse<SignatureFailure>(we.GetString()!) : SignatureFailure.None;
            var check = Ed25519Verifier.Verify(
                Convert.FromHexString(c.GetProperty("public_key").GetString()!),
                Convert.FromHexString(c.GetProperty("message").GetString()!),
                Convert.FromHexString(c.GetProperty("signature").GetString()!));
            if (check.Failure != want) failures.Add($"{desc}: expected {want}, got {check}");
            if (!check.IsValid && string.IsNullOrWhiteSpace(check.Message)) failures.Add($"{desc}: empty reason");
        }
        Assert.True(n > 100, $"expected over 100 mutated cases, found {n}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {n} failed:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Small_order_table_holds_exactly_points_whose_eightfold_multiple_is_the_identity()
    {
        // Independent check of the hard-coded table with plain BigInteger Edwards arithmetic.
        var p = BigInteger.Pow(2, 255) - 19;
        var d = Mod(-121665 * BigInteger.ModPow(121666, p - 2, p), p);
        foreach (var enc in Ed25519Verifier.SmallOrderEncodings)
        {
            var y = Mod(new BigInteger(enc, isUnsigned: true), p);
            var x2 = Mod((y * y - 1) * BigInteger.ModPow(Mod(d * y * y + 1, p), p - 2, p), p);
            var x = Sqrt(x2, p);
            Assert.Equal(x2, Mod(x * x, p));
            var pt = (x, y);
            for (var i = 0; i < 3; i++) pt = Add(pt, pt, d, p);
            Assert.Equal((BigInteger.Zero, BigInteger.One), pt);
        }
    }

    private static (BigInteger X, BigInteger Y) Add((BigInteger X, BigInteger Y) a, (BigInteger X, BigInteger Y) b, BigInteger d, BigInteger p)
    {
        var t = Mod(d * a.X * b.X * a.Y * b.Y, p);
        var x = Mod((a.X * b.Y + a.Y * b.X) * BigInteger.ModPow(Mod(1 + t, p), p - 2, p), p);
        var y = Mod((a.Y * b.Y + a.X * b.X) * BigInteger.ModPow(Mod(1 - t, p), p - 2, p), p);
        return (x, y);
    }

    private static BigInteger Sqrt(BigInteger a, BigInteger p)
    {
        var x = BigInteger.ModPow(a, (p + 3) / 8, p);
        if (Mod(x * x - a, p) != 0) x = Mod(x * BigInteger.ModPow(2, (p - 1) / 4, p), p);
        return x;
    }

    private static BigInteger Mod(BigInteger a, BigInteger m)
    {
        var r = a % m;
        return r.Sign < 0 ? r + m : r;
    }
}

/// <summary>What libsodium (through NSec) decides on its own, without the typed pre-checks of <see cref="Ed25519Verifier"/>.</summary>
public class LibsodiumAloneTests
{
    [Fact]
    public void Libsodium_alone_agrees_with_the_strict_verifier_on_every_mutated_case()
    {
        var disagree = new List<string>();
        foreach (var (file, c) in JsonVectorFiles.Cases("ed25519"))
        {
            if (file != "mutations.json") continue;
            var pk = Convert.FromHexString(c.GetProperty("public_key").GetString()!);
            var msg = Convert.FromHexString(c.GetProperty("message").GetString()!);
            var sig = Convert.FromHexString(c.GetProperty("signature").GetString()!);
            var wantValid = !c.TryGetProperty("want_error", out _);
            var alg = NSec.Cryptography.SignatureAlgorithm.Ed25519;
            bool sodium = pk.Length == 32 && sig.Length == 64
                && NSec.Cryptography.PublicKey.TryImport(alg, pk, NSec.Cryptography.KeyBlobFormat.RawPublicKey, out var key)
                && alg.Verify(key!, msg, sig);
            if (sodium != wantValid) disagree.Add($"{c.GetProperty("desc").GetString()}: libsodium says {(sodium ? "valid" : "invalid")}");
        }
        Assert.True(disagree.Count == 0, string.Join("\n", disagree));
    }
}
