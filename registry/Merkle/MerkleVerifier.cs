using System.Numerics;
using System.Security.Cryptography;

namespace Federation.Registry.Merkle;

/// <summary>
/// Verifies inclusion and consistency proofs with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, after checking
/// the sizes and the exact path length first so a bad proof is reported with a precise <see cref="MerkleFailure"/>.
/// Pure and allocation-free apart from the result message.
/// </summary>
public static class MerkleVerifier
{
    /// <summary>The number of hashes in the inclusion proof of <paramref name="leafIndex"/> in a tree of <paramref name="treeSize"/> leaves.</summary>
    /// <remarks>The path has one hash per level below the point where the leaf's path and the last leaf's path diverge
    /// (<c>inner</c>), plus one per complete left subtree on the right border above it.</remarks>
    public static int InclusionPathLength(long leafIndex, long treeSize)
    {
        if (leafIndex < 0 || leafIndex >= treeSize)
            throw new ArgumentOutOfRangeException(nameof(leafIndex), $"leaf index {leafIndex} must be in [0, {treeSize}).");
        int inner = 64 - BitOperations.LeadingZeroCount((ulong)(leafIndex ^ (treeSize - 1)));
        int border = BitOperations.PopCount((ulong)leafIndex >> inner);
        return inner + border;
    }

    /// <summary>The number of hashes in the consistency proof from <paramref name="size1"/> to <paramref name="size2"/> leaves.</summary>
    public static int ConsistencyPathLength(long size1, long size2)
    {
        if (size1 < 0 || size2 < size1)
            throw new ArgumentOutOfRangeException(nameof(size1), $"sizes must satisfy 0 <= size1 <= size2; got {size1}, {size2}.");
        if (size1 == 0 || size1 == size2) return 0;
        int inner = 64 - BitOperations.LeadingZeroCount((ulong)((size1 - 1) ^ (size2 - 1)));
        int border = BitOperations.PopCount((ulong)(size1 - 1) >> inner);
        int shift = BitOperations.TrailingZeroCount(size1);
        bool powerOfTwo = (size1 & (size1 - 1)) == 0;
        return inner - shift + border + (powerOfTwo ? 0 : 1);
    }

    /// <summary>Checks <paramref name="proof"/> for the leaf whose hash is <paramref name="leafHash"/> against <paramref name="root"/>.</summary>
    public static MerkleCheck VerifyInclusion(ReadOnlySpan<byte> leafHash, InclusionProof proof, ReadOnlySpan<byte> root) =>
        VerifyInclusion(proof.LeafIndex, proof.TreeSize, leafHash, proof.Path, root);

    /// <summary>RFC 9162 §2.1.3.2: verifies an inclusion path for leaf <paramref name="leafIndex"/> in a tree of <paramref name="treeSize"/> leaves.</summary>
    public static MerkleCheck VerifyInclusion(long leafIndex, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> path, ReadOnlySpan<byte> root)
    {
        if (leafIndex < 0 || treeSize < 0 || leafIndex >= treeSize)
            return MerkleCheck.Fail(MerkleFailure.IndexOutOfRange, $"leaf index {leafIndex} is not in a tree of {treeSize} leaves; expected 0 <= leaf_index < tree_size.");
        if (leafHash.Length != MerkleHasher.HashSize || root.Length != MerkleHasher.HashSize)
            return MerkleCheck.Fail(MerkleFailure.MalformedHash, $"leaf hash and root must be {MerkleHasher.HashSize} bytes; got {leafHash.Length} and {root.Length}.");
        int want = InclusionPathLength(leafIndex, treeSize);
        if (path.Count != want)
            return MerkleCheck.Fail(MerkleFailure.WrongPathLength, $"inclusion path for leaf {leafIndex} in a tree of {treeSize} must have {want} hashes; got {path.Count}.");
        for (int i = 0; i < path.Count; i++)
            if (path[i] is null || path[i].Length != MerkleHasher.HashSize)
                return MerkleCheck.Fail(MerkleFailure.MalformedHash, $"path[{i}] must be {MerkleHasher.HashSize} bytes; got {path[i]?.Length ?? 0}.");

        // RFC 9162 §2.1.3.2 steps 2-5.
        ulong fn = (ulong)leafIndex, sn = (ulong)(treeSize - 1);
        Span<byte> r = stackalloc byte[MerkleHasher.HashSize];
        leafHash.CopyTo(r);
        foreach (var p in path)
        {
            if (sn == 0)
                return MerkleCheck.Fail(MerkleFailure.WrongPathLength, "inclusion path is longer than the tree is deep.");
            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHasher.HashChildren(p, r, r);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else
            {
                MerkleHasher.HashChildren(r, p, r);
            }
            fn >>= 1; sn >>= 1;
        }
        if (sn != 0)
            return MerkleCheck.Fail(MerkleFailure.WrongPathLength, "inclusion path is shorter than the tree is deep.");
        if (!CryptographicOperations.FixedTimeEquals(r, root))
            return MerkleCheck.Fail(MerkleFailure.RootMismatch, $"recomputed root {Convert.ToHexStringLower(r)} differs from the expected root {Convert.ToHexStringLower(root)}.");
        return MerkleCheck.Ok;
    }

    /// <summary>Checks <paramref name="proof"/> against the two roots.</summary>
    public static MerkleCheck VerifyConsistency(ConsistencyProof proof, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2) =>
        VerifyConsistency(proof.Size1, proof.Size2, proof.Path, root1, root2);

    /// <summary>
    /// RFC 9162 §2.1.4.2: verifies that the tree of <paramref name="size1"/> leaves with root <paramref name="root1"/> is a
    /// prefix of the tree of <paramref name="size2"/> leaves with root <paramref name="root2"/>. For equal sizes the path
    /// must be empty and the roots equal; for <c>size1 == 0</c> the path must be empty (every tree extends the empty one).
    /// </summary>
    public static MerkleCheck VerifyConsistency(long size1, long size2, IReadOnlyList<byte[]> path, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2)
    {
        if (size1 < 0 || size2 < 0)
            return MerkleCheck.Fail(MerkleFailure.IndexOutOfRange, $"tree sizes must not be negative; got {size1} and {size2}.");
        if (size1 > size2)
            return MerkleCheck.Fail(MerkleFailure.Size1GreaterThanSize2, $"size1 {size1} is greater than size2 {size2}; a log only grows.");
        if (root1.Length != MerkleHasher.HashSize || root2.Length != MerkleHasher.HashSize)
            return MerkleCheck.Fail(MerkleFailure.MalformedHash, $"roots must be {MerkleHasher.HashSize} bytes; got {root1.Length} and {root2.Length}.");
        int want = ConsistencyPathLength(size1, size2);
        if (path.Count != want)
            return MerkleCheck.Fail(MerkleFailure.WrongPathLength, $"consistency path from {size1} to {size2} must have {want} hashes; got {path.Count}.");
        for (int i = 0; i < path.Count; i++)
            if (path[i] is null || path[i].Length != MerkleHasher.HashSize)
                return MerkleCheck.Fail(MerkleFailure.MalformedHash, $"path[{i}] must be {MerkleHasher.HashSize} bytes; got {path[i]?.Length ?? 0}.");
        if (size1 == size2)
        {
            return CryptographicOperations.FixedTimeEquals(root1, root2)
                ? MerkleCheck.Ok
                : MerkleCheck.Fail(MerkleFailure.Root2Mismatch, $"sizes are equal ({size1}) but root1 {Convert.ToHexStringLower(root1)} differs from root2 {Convert.ToHexStringLower(root2)}.");
        }
        if (size1 == 0) return MerkleCheck.Ok;

        // RFC 9162 §2.1.4.2 steps 2-7. Step 2 prepends first_hash when size1 is a power of two; we start from it instead.
        bool powerOfTwo = (size1 & (size1 - 1)) == 0;
        int start = powerOfTwo ? 0 : 1;
        ulong fn = (ulong)(size1 - 1), sn = (ulong)(size2 - 1);
        while ((fn & 1) == 1) { fn >>= 1; sn >>= 1; }
        Span<byte> fr = stackalloc byte[MerkleHasher.HashSize];
        Span<byte> sr = stackalloc byte[MerkleHasher.HashSize];
        (powerOfTwo ? root1 : path[0]).CopyTo(fr);
        fr.CopyTo(sr);
        for (int i = start; i < path.Count; i++)
        {
            var c = path[i];
            if (sn == 0)
                return MerkleCheck.Fail(MerkleFailure.WrongPathLength, "consistency path is longer than the trees require.");
            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHasher.HashChildren(c, fr, fr);
                MerkleHasher.HashChildren(c, sr, sr);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else
            {
                MerkleHasher.HashChildren(sr, c, sr);
            }
            fn >>= 1; sn >>= 1;
        }
        if (sn != 0)
            return MerkleCheck.Fail(MerkleFailure.WrongPathLength, "consistency path is shorter than the trees require.");
        if (!CryptographicOperations.FixedTimeEquals(fr, root1))
            return MerkleCheck.Fail(MerkleFailure.Root1Mismatch, $"recomputed old root {Convert.ToHexStringLower(fr)} differs from root1 {Convert.ToHexStringLower(root1)}.");
        if (!CryptographicOperations.FixedTimeEquals(sr, root2))
            return MerkleCheck.Fail(MerkleFailure.Root2Mismatch, $"recomputed new root {Convert.ToHexStringLower(sr)} differs from root2 {Convert.ToHexStringLower(root2)}.");
        return MerkleCheck.Ok;
    }
}
