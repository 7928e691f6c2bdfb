using System.Globalization;
using System.Text;

namespace Federation.Specialists.Gguf;

/// <summary>
/// One GGUF metadata value. Scalars hold the matching CLR type (<see cref="byte"/> for UInt8 … <see cref="double"/>
/// for Float64, <see cref="string"/>, <see cref="bool"/>). Arrays hold a typed CLR array of their element type
/// (<c>float[]</c>, <c>int[]</c>, <c>string[]</c>, …); an array of arrays holds <c>GgufValue[]</c>.
/// Instances are immutable by convention: do not mutate the array returned by <see cref="Value"/>.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object value, GgufValueType? elementType = null)
    {
        Type = type;
        Value = value;
        ElementType = elementType;
    }

    /// <summary>The on-disk value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>For arrays, the element type; null otherwise.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>The value (see the type's remarks for the CLR type of each GGUF type).</summary>
    public object Value { get; }

    public static GgufValue UInt8(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Int8(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue UInt16(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Int16(short v) => new(GgufValueType.Int16, v);
    public static GgufValue UInt32(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Int32(int v) => new(GgufValueType.Int32, v);
    public static GgufValue UInt64(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Int64(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Float32(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Float64(double v) => new(GgufValueType.Float64, v);
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue String(string v) => new(GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));

    public static GgufValue Array(byte[] v) => new(GgufValueType.Array, v, GgufValueType.UInt8);
    public static GgufValue Array(sbyte[] v) => new(GgufValueType.Array, v, GgufValueType.Int8);
    public static GgufValue Array(ushort[] v) => new(GgufValueType.Array, v, GgufValueType.UInt16);
    public static GgufValue Array(short[] v) => new(GgufValueType.Array, v, GgufValueType.Int16);
    public static GgufValue Array(uint[] v) => new(GgufValueType.Array, v, GgufValueType.UInt32);
    public static GgufValue Array(int[] v) => new(GgufValueType.Array, v, GgufValueType.Int32);
    public static GgufValue Array(ulong[] v) => new(GgufValueType.Array, v, GgufValueType.UInt64);
    public static GgufValue Array(long[] v) => new(GgufValueType.Array, v, GgufValueType.Int64);
    public static GgufValue Array(float[] v) => new(GgufValueType.Array, v, GgufValueType.Float32);
    public static GgufValue Array(double[] v) => new(GgufValueType.Array, v, GgufValueType.Float64);
    public static GgufValue Array(bool[] v) => new(GgufValueType.Array, v, GgufValueType.Bool);
    public static GgufValue Array(string[] v) => new(GgufValueType.Array, v, GgufValueType.String);

    /// <summary>An array whose elements are themselves arrays (GGUF allows nesting).</summary>
    public static GgufValue ArrayOfArrays(GgufValue[] v)
    {
        if (v.Any(x => x.Type != GgufValueType.Array))
            throw new ArgumentException("every element of an array of arrays must itself be an array value", nameof(v));
        return new(GgufValueType.Array, v, GgufValueType.Array);
    }

    /// <summary>Number of elements for an array value; throws otherwise.</summary>
    public int Length => Value is System.Array a ? a.Length : throw new InvalidOperationException($"a {Type} value has no length");

    /// <summary>The string value; throws (naming the actual type) when this is not a string.</summary>
    public string AsString() => Value as string ?? throw WrongType("string");

    public bool AsBool() => Value is bool b ? b : throw WrongType("bool");

    public float AsFloat32() => Value is float f ? f : throw WrongType("float32");

    /// <summary>The array as <typeparamref name="T"/>[] (e.g. <c>float[]</c> for a Float32 array).</summary>
    public T[] AsArray<T>() => Value as T[] ?? throw WrongType($"array of {typeof(T).Name}");

    /// <summary>Any unsigned or non-negative signed integer scalar as <see cref="ulong"/>.</summary>
    public ulong AsUInt64() => Value switch
    {
        byte v => v,
        ushort v => v,
        uint v => v,
        ulong v => v,
        sbyte v when v >= 0 => (ulong)v,
        short v when v >= 0 => (ulong)v,
        int v when v >= 0 => (ulong)v,
        long v when v >= 0 => (ulong)v,
        _ => throw WrongType("non-negative integer"),
    };

    /// <summary>Any float or integer scalar as <see cref="double"/>.</summary>
    public double AsDouble() => Value switch
    {
        float v => v,
        double v => v,
        byte or sbyte or ushort or short or uint or int or ulong or long => Convert.ToDouble(Value, CultureInfo.InvariantCulture),
        _ => throw WrongType("number"),
    };

    private InvalidOperationException WrongType(string wanted) =>
        new($"expected a {wanted} value, found {Describe()}");

    /// <summary>The type in words, e.g. <c>uint32</c> or <c>array[string × 259]</c>.</summary>
    public string Describe() => Type == GgufValueType.Array
        ? $"array[{TypeName(ElementType!.Value)} × {Length}]"
        : TypeName(Type);

    /// <summary>Lower-case GGUF type name (<c>uint8</c>, <c>float32</c>, <c>string</c>, …).</summary>
    public static string TypeName(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => "uint8",
        GgufValueType.Int8 => "int8",
        GgufValueType.UInt16 => "uint16",
        GgufValueType.Int16 => "int16",
        GgufValueType.UInt32 => "uint32",
        GgufValueType.Int32 => "int32",
        GgufValueType.Float32 => "float32",
        GgufValueType.Bool => "bool",
        GgufValueType.String => "string",
        GgufValueType.Array => "array",
        GgufValueType.UInt64 => "uint64",
        GgufValueType.Int64 => "int64",
        GgufValueType.Float64 => "float64",
        _ => $"type#{(uint)t}",
    };

    /// <summary>A short human-readable rendering; long arrays show their first <paramref name="maxItems"/> items.</summary>
    public string ToDisplayString(int maxItems = 8)
    {
        if (Type != GgufValueType.Array) return FormatScalar(Value);
        var a = (System.Array)Value;
        var sb = new StringBuilder("[");
        var n = Math.Min(a.Length, maxItems);
        for (var i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            var item = a.GetValue(i)!;
            sb.Append(item is GgufValue inner ? inner.ToDisplayString(maxItems) : FormatScalar(item));
        }
        if (a.Length > n) sb.Append(CultureInfo.InvariantCulture, $", … ({a.Length} items)");
        return sb.Append(']').ToString();
    }

    private static string FormatScalar(object v) => v switch
    {
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>Structural equality: same type, same element type, same values (floats compared bit-wise via Equals).</summary>
    public bool Equals(GgufValue? other)
    {
        if (other is null) return false;
        if (Type != other.Type || ElementType != other.ElementType) return false;
        if (Value is System.Array a && other.Value is System.Array b)
        {
            if (a.Length != b.Length) return false;
            for (var i = 0; i < a.Length; i++)
                if (!Equals(a.GetValue(i), b.GetValue(i))) return false;
            return true;
        }
        return Value.Equals(other.Value);
    }

    public override bool Equals(object? obj) => obj is GgufValue v && Equals(v);

    public override int GetHashCode() => HashCode.Combine(Type, ElementType, Value is System.Array a ? a.Length : Value.GetHashCode());

    public override string ToString() => ToDisplayString();
}
