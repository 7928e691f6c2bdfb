namespace Federation.Specialists.Gguf;

/// <summary>ggml tensor element types as stored in a GGUF tensor-info entry (ids from ggml's <c>enum ggml_type</c>).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>Block layout of a ggml type: elements per block and bytes per block (used to size tensor data).</summary>
public readonly record struct GgmlTypeTraits(GgmlType Type, int BlockSize, int BlockBytes)
{
    private const int QkK = 256;

    private static readonly Dictionary<GgmlType, GgmlTypeTraits> Table = new GgmlTypeTraits[]
    {
        new(GgmlType.F32, 1, 4),
        new(GgmlType.F16, 1, 2),
        new(GgmlType.BF16, 1, 2),
        new(GgmlType.F64, 1, 8),
        new(GgmlType.I8, 1, 1),
        new(GgmlType.I16, 1, 2),
        new(GgmlType.I32, 1, 4),
        new(GgmlType.I64, 1, 8),
        new(GgmlType.Q4_0, 32, 2 + 16),
        new(GgmlType.Q4_1, 32, 2 + 2 + 16),
        new(GgmlType.Q5_0, 32, 2 + 4 + 16),
        new(GgmlType.Q5_1, 32, 2 + 2 + 4 + 16),
        new(GgmlType.Q8_0, 32, 2 + 32),
        new(GgmlType.Q8_1, 32, 4 + 4 + 32),
        new(GgmlType.IQ4_NL, 32, 2 + 16),
        new(GgmlType.MXFP4, 32, 1 + 16),
        new(GgmlType.Q2_K, QkK, 2 + 2 + (QkK / 16) + (QkK / 4)),
        new(GgmlType.Q3_K, QkK, 2 + (QkK / 4) + (QkK / 8) + 12),
        new(GgmlType.Q4_K, QkK, 2 + 2 + (QkK / 2) + 12),
        new(GgmlType.Q5_K, QkK, 2 + 2 + (QkK / 2) + (QkK / 8) + 12),
        new(GgmlType.Q6_K, QkK, 2 + (QkK / 2) + (QkK / 4) + (QkK / 16)),
        new(GgmlType.Q8_K, QkK, 4 + QkK + (QkK / 8)),
        new(GgmlType.IQ2_XXS, QkK, 2 + (QkK / 4)),
        new(GgmlType.IQ2_XS, QkK, 2 + (QkK / 4) + (QkK / 32)),
        new(GgmlType.IQ2_S, QkK, 2 + (QkK / 4) + (QkK / 16)),
        new(GgmlType.IQ3_XXS, QkK, 2 + (3 * QkK / 8)),
        new(GgmlType.IQ3_S, QkK, 2 + (QkK / 4) + (QkK / 8) + (QkK / 32) + 4),
        new(GgmlType.IQ1_S, QkK, 2 + (QkK / 8) + (QkK / 16)),
        new(GgmlType.IQ1_M, QkK, (QkK / 8) + (QkK / 16) + (QkK / 32)),
        new(GgmlType.IQ4_XS, QkK, 2 + 2 + (QkK / 2) + (QkK / 64)),
        new(GgmlType.TQ1_0, QkK, 2 + 4 + ((QkK - (4 * QkK / 64)) / 5)),
        new(GgmlType.TQ2_0, QkK, 2 + (QkK / 4)),
    }.ToDictionary(t => t.Type);

    /// <summary>All ggml types whose byte size this build knows.</summary>
    public static IReadOnlyCollection<GgmlType> Known => Table.Keys;

    /// <summary>Looks up the traits of a raw type id; false when the id is not in the table.</summary>
    public static bool TryGet(uint typeId, out GgmlTypeTraits traits) => Table.TryGetValue((GgmlType)typeId, out traits);

    /// <summary>The traits of <paramref name="type"/>; throws for a type not in the table.</summary>
    public static GgmlTypeTraits Of(GgmlType type) =>
        Table.TryGetValue(type, out var t) ? t : throw new ArgumentOutOfRangeException(nameof(type), type, "ggml type has no known block size");

    /// <summary>
    /// Bytes taken by <paramref name="elementCount"/> elements of this type. The first dimension must be a whole
    /// number of blocks (ggml's rule); null when it is not.
    /// </summary>
    public ulong? ByteSize(ulong firstDim, ulong elementCount)
    {
        if (firstDim % (ulong)BlockSize != 0) return null;
        return checked(elementCount / (ulong)BlockSize * (ulong)BlockBytes);
    }
}
