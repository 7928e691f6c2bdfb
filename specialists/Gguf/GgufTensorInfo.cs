using System.Globalization;

namespace Federation.Specialists.Gguf;

/// <summary>
/// One entry of a GGUF tensor-info table. <see cref="Shape"/> is in ggml order (first dimension contiguous), so a
/// weight mapping n_in inputs to n_out outputs has shape {n_in, n_out}. <see cref="Offset"/> is relative to the start
/// of the data section; <see cref="ByteSize"/> excludes alignment padding.
/// </summary>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<ulong> Shape, GgmlType Type, ulong Offset, ulong ByteSize)
{
    /// <summary>Number of elements (product of the dimensions; 1 for a scalar).</summary>
    public ulong ElementCount => Shape.Aggregate(1UL, (a, d) => checked(a * d));

    /// <summary>The shape as text in ggml order, e.g. <c>{128, 259}</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>Formats a shape in ggml order as <c>{d0, d1, …}</c>.</summary>
    public static string FormatShape(IEnumerable<ulong> shape) =>
        "{" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "}";
}
