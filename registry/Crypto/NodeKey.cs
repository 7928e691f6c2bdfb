using System.Buffers;
using System.Security.Cryptography;
using Org.BouncyCastle.Security;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;

namespace Federation.Registry.Crypto;

/// <summary>
/// A node's Ed25519 signing key (RFC 8032 pure Ed25519: no pre-hash, no context). The private key is the 32-byte seed,
/// as in Spore. Signing is deterministic: the same seed and message always give the same 64-byte signature.
/// Thread-safe; <see cref="Dispose"/> wipes the seed.
/// </summary>
public sealed class NodeKey : IDisposable
{
    /// <summary>Length of the seed (private key) in bytes.</summary>
    public const int SeedLength = 32;

    /// <summary>Length of a signature in bytes.</summary>
    public const int SignatureLength = 64;

    private readonly byte[] _seed;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private NodeKey(byte[] seed)
    {
        _seed = seed;
        _publicKey = new byte[NodeId.ByteLength];
        Rfc8032.GeneratePublicKey(_seed, 0, _publicKey, 0);
        NodeId = new NodeId(_publicKey);
    }

    /// <summary>The key for a 32-byte seed (copied).</summary>
    public static NodeKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedLength)
            throw new ArgumentException($"an Ed25519 seed is {SeedLength} bytes, found {seed.Length}.", nameof(seed));
        return new NodeKey(seed.ToArray());
    }

    /// <summary>The key for a seed given as 64 hex characters (the <c>node.key</c> file format).</summary>
    public static NodeKey FromSeedHex(string hex)
    {
        var seed = new byte[SeedLength];
        if (!Hex.TryDecodeLower(hex?.Trim(), seed, "Ed25519 seed", out var error)) throw new FormatException(error);
        return new NodeKey(seed);
    }

    /// <summary>A new key from the operating system's cryptographic random generator.</summary>
    public static NodeKey Generate()
    {
        var seed = new byte[SeedLength];
        RandomNumberGenerator.Fill(seed);
        return new NodeKey(seed);
    }

    /// <summary>A new key from <paramref name="random"/> (a seeded generator makes tests reproducible).</summary>
    public static NodeKey Generate(SecureRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var seed = new byte[SeedLength];
        random.NextBytes(seed);
        return new NodeKey(seed);
    }

    /// <summary>This key's node id (the public key).</summary>
    public NodeId NodeId { get; }

    /// <summary>Same as <see cref="NodeId"/> (kept because code merged early uses this name).</summary>
    public NodeId Id => NodeId;

    /// <summary>The 32-byte public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>The seed as 64 lowercase hex characters (what <see cref="NodeKeyStore"/> writes). Handle with care.</summary>
    public string ExportSeedHex()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Convert.ToHexStringLower(_seed);
    }

    /// <summary>Signs <paramref name="message"/> (for federation objects: the canonical JSON bytes, Spore §1).</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var sig = new byte[SignatureLength];
        Sign(message, sig);
        return sig;
    }

    /// <summary>Signs <paramref name="message"/> into <paramref name="signature"/> (at least 64 bytes).</summary>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (signature.Length < SignatureLength)
            throw new ArgumentException($"a signature needs {SignatureLength} bytes, got {signature.Length}.", nameof(signature));
        // BouncyCastle 1.8 takes arrays with offsets; a pooled array avoids a copy per call on the hot path.
        var m = ArrayPool<byte>.Shared.Rent(Math.Max(1, message.Length));
        var sig = ArrayPool<byte>.Shared.Rent(SignatureLength);
        try
        {
            message.CopyTo(m);
            Rfc8032.Sign(_seed, 0, _publicKey, 0, m, 0, message.Length, sig, 0);
            sig.AsSpan(0, SignatureLength).CopyTo(signature);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(m);
            ArrayPool<byte>.Shared.Return(sig);
        }
    }

    /// <summary>Wipes the seed; later signing throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
    }
}
