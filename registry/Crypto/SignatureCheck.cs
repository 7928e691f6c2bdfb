namespace Federation.Registry.Crypto;

/// <summary>Why an Ed25519 signature was refused.</summary>
public enum SignatureFailure
{
    /// <summary>Not refused: the signature is valid.</summary>
    None,

    /// <summary>The public key is not 32 bytes.</summary>
    PublicKeyLength,

    /// <summary>The signature is not 64 bytes.</summary>
    SignatureLength,

    /// <summary>The public key's y coordinate is not below p = 2^255 - 19 (a non-canonical encoding).</summary>
    PublicKeyNotCanonical,

    /// <summary>The public key is a point of small order (one of the 8 torsion points, in any encoding).</summary>
    PublicKeySmallOrder,

    /// <summary>The public key does not decode to a curve point.</summary>
    PublicKeyMalformed,

    /// <summary>The scalar S (last 32 bytes, little-endian) is not below the group order L.</summary>
    SignatureSNotCanonical,

    /// <summary>The point R (first 32 bytes) has a y coordinate not below p.</summary>
    SignatureRNotCanonical,

    /// <summary>The point R is of small order.</summary>
    SignatureRSmallOrder,

    /// <summary>The point R does not decode to a curve point.</summary>
    SignatureRMalformed,

    /// <summary>Everything is well formed but the signature does not match this key and message.</summary>
    Mismatch,
}

/// <summary>The typed result of an Ed25519 verification: valid, or the reason it was refused.</summary>
public readonly record struct SignatureCheck(SignatureFailure Failure, string Message)
{
    /// <summary>The result for a valid signature.</summary>
    public static readonly SignatureCheck Valid = new(SignatureFailure.None, "signature is valid");

    /// <summary>True when the signature verified.</summary>
    public bool IsValid => Failure == SignatureFailure.None;

    /// <inheritdoc/>
    public override string ToString() => IsValid ? Message : $"{Failure}: {Message}";
}
