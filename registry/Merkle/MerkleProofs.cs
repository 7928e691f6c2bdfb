namespace Federation.Registry.Merkle;

/// <summary>
/// An RFC 9162 §2.1.3 inclusion proof: the audit path for leaf <see cref="LeafIndex"/> in the tree of the first
/// <see cref="TreeSize"/> leaves, ordered from the leaf's sibling up to the root's child.
/// </summary>
public sealed record InclusionProof(long LeafIndex, long TreeSize, IReadOnlyList<byte[]> Path);

/// <summary>
/// An RFC 9162 §2.1.4 consistency proof that the tree of <see cref="Size1"/> leaves is a prefix of the tree of
/// <see cref="Size2"/> leaves. Empty when <c>Size1 == Size2</c> or <c>Size1 == 0</c>.
/// </summary>
public sealed record ConsistencyProof(long Size1, long Size2, IReadOnlyList<byte[]> Path);

/// <summary>Why a Merkle proof did not verify; <see cref="None"/> means it did.</summary>
public enum MerkleFailure
{
    /// <summary>The proof holds.</summary>
    None = 0,
    /// <summary>A size is negative, or the leaf index is not below the tree size.</summary>
    IndexOutOfRange,
    /// <summary>The proof has more or fewer hashes than the sizes require.</summary>
    WrongPathLength,
    /// <summary>A hash in the proof, a leaf hash or a root is not 32 bytes.</summary>
    MalformedHash,
    /// <summary>The root recomputed from an inclusion proof differs from the expected root.</summary>
    RootMismatch,
    /// <summary>A consistency proof was asked from a larger tree to a smaller one.</summary>
    Size1GreaterThanSize2,
    /// <summary>The old-tree root recomputed from a consistency proof differs from <c>root1</c>.</summary>
    Root1Mismatch,
    /// <summary>The new-tree root recomputed from a consistency proof differs from <c>root2</c>.</summary>
    Root2Mismatch,
}

/// <summary>The typed outcome of a Merkle verification: <see cref="IsValid"/>, or a <see cref="Failure"/> and a message saying why.</summary>
public readonly record struct MerkleCheck(MerkleFailure Failure, string Message)
{
    /// <summary>The proof holds.</summary>
    public static MerkleCheck Ok { get; } = new(MerkleFailure.None, "ok");

    /// <summary>True when the proof holds.</summary>
    public bool IsValid => Failure == MerkleFailure.None;

    /// <summary>A failed check with its reason.</summary>
    public static MerkleCheck Fail(MerkleFailure failure, string message) => new(failure, message);

    /// <inheritdoc/>
    public override string ToString() => IsValid ? "ok" : $"{Failure}: {Message}";
}
