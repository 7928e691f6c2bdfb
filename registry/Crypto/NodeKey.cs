using System.Security.Cryptography;
using NSec.Cryptography;

namespace Federation.Registry.Crypto;

/// <summary>
/// A node's Ed25519 signing key (RFC 8032 pure Ed25519: no pre-hash, no context). The private key is the 32-byte seed,
/// as in Spore. Signing is deterministic: the same seed and message always give the same 64-byte signature.
/// Thread-safe; <see cref="Dispose"/> wipes the seed.
/// </summary>
/// <remarks>Signing is libsodium's (through NSec): <c>crypto_sign_ed25519_detached</c> on the key expanded from the seed.</remarks>
public sealed class NodeKey : IDisposable
{
    /// <summary>Length of the seed (private key) in bytes.</summary>
    public const int SeedLength = 32;

    /// <summary>Length of a signature in bytes.</summary>
    public const int SignatureLength = 64;

    private readonly byte[] _seed;
    private readonly byte[] _publicKey;
    private readonly Key _key;
    private bool _disposed;

    private NodeKey(byte[] seed)
    {
        _seed = seed;
        // The seed is kept (wiped on Dispose) for ExportSeedHex; libsodium's copy lives in its own locked memory.
        _key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        _publicKey = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
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

    /// <summary>
    /// A new key whose seed is filled by <paramref name="fillSeed"/> (a seeded generator makes tests reproducible;
    /// production keys come from <see cref="Generate()"/>).
    /// </summary>
    public static NodeKey Generate(Action<Span<byte>> fillSeed)
    {
        ArgumentNullException.ThrowIfNull(fillSeed);
        var seed = new byte[SeedLength];
        fillSeed(seed);
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
        SignatureAlgorithm.Ed25519.Sign(_key, message, signature[..SignatureLength]);
    }

    /// <summary>Wipes the seed; later signing throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
        _key.Dispose();
    }
}
