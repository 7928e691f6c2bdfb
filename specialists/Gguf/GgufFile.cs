using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Federation.Specialists.Gguf;

/// <summary>
/// The header of a GGUF file (v2 or v3, little-endian): metadata and tensor-info table, read by streaming so that a
/// large model can be inspected without loading its weights. Tensor data is read on request from the file by offset.
/// Every structural problem is reported as a <see cref="GgufFormatException"/> naming the byte offset.
/// </summary>
public sealed class GgufFile
{
    /// <summary>"GGUF" as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The version this project writes.</summary>
    public const uint CurrentVersion = 3;

    /// <summary>Alignment of the data section and of every tensor when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>ggml's maximum number of tensor dimensions.</summary>
    public const int MaxDimensions = 4;

    private readonly Dictionary<string, GgufValue> _byKey;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(string path, uint version, List<KeyValuePair<string, GgufValue>> metadata, List<GgufTensorInfo> tensors,
        uint alignment, long dataOffset, long fileLength)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
        _byKey = metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Full path of the file that was read.</summary>
    public string Path { get; }

    public uint Version { get; }

    /// <summary>Metadata key/value pairs in file order (keys are unique).</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }

    /// <summary>Tensor-info entries in file order (names are unique).</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Alignment in bytes of the data section and of each tensor's offset.</summary>
    public uint Alignment { get; }

    /// <summary>Absolute byte offset of the data section.</summary>
    public long DataOffset { get; }

    public long FileLength { get; }

    /// <summary>Total number of tensor elements (the parameter count for a model).</summary>
    public ulong ParameterCount => Tensors.Aggregate(0UL, (a, t) => a + t.ElementCount);

    public bool TryGetValue(string key, out GgufValue value) => _byKey.TryGetValue(key, out value!);

    /// <summary>The value of <paramref name="key"/>; throws a <see cref="GgufFormatException"/> naming the key when absent.</summary>
    public GgufValue Get(string key) => _byKey.TryGetValue(key, out var v)
        ? v
        : throw new GgufFormatException($"{Path}: required metadata key '{key}' is missing");

    /// <summary>The string value of <paramref name="key"/>, or null when absent or not a string.</summary>
    public string? GetStringOrNull(string key) => _byKey.TryGetValue(key, out var v) && v.Value is string s ? s : null;

    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Reads the raw bytes of one tensor (without padding).</summary>
    public byte[] ReadTensorBytes(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
            throw new InvalidOperationException($"tensor '{tensor.Name}' has {tensor.ByteSize} bytes, too many for one array; read it in parts");
        var buffer = new byte[tensor.ByteSize];
        using var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        fs.Position = DataOffset + (long)tensor.Offset;
        fs.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Reads a F32, F16 or BF16 tensor as floats.</summary>
    public float[] ReadTensorFloats(GgufTensorInfo tensor)
    {
        var bytes = ReadTensorBytes(tensor);
        switch (tensor.Type)
        {
            case GgmlType.F32:
                var f = new float[bytes.Length / 4];
                for (var i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                return f;
            case GgmlType.F16:
                var h = new float[bytes.Length / 2];
                for (var i = 0; i < h.Length; i++) h[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
                return h;
            case GgmlType.BF16:
                var b = new float[bytes.Length / 2];
                for (var i = 0; i < b.Length; i++)
                    b[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)) << 16);
                return b;
            default:
                throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.Type}; only F32, F16 and BF16 can be read as floats");
        }
    }

    /// <summary>Reads the header and tensor table of <paramref name="path"/>; does not read tensor data.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file (message says why and where).</exception>
    public static GgufFile Read(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"GGUF file '{path}' does not exist", full);
        using var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(fs, full);
    }

    /// <summary>Reads a GGUF header from a seekable stream; <paramref name="path"/> names it in messages and data reads.</summary>
    public static GgufFile Read(Stream stream, string path)
    {
        var r = new HeaderReader(stream, path);
        var magicStart = r.Position;
        var magicBytes = r.ReadBytes(Math.Min(4, (int)Math.Max(0, r.Length)), "magic");
        if (magicBytes.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(magicBytes) != Magic)
            throw new GgufFormatException(
                $"{path}: not a GGUF file: expected magic 'GGUF' (47 47 55 46) at offset {magicStart}, found {DescribeMagic(magicBytes)}");

        var version = r.ReadUInt32("version");
        if (version is not (2 or 3))
        {
            var hint = BinaryPrimitives.ReverseEndianness(version) is 2 or 3
                ? " (this looks like a big-endian GGUF file; only little-endian files are supported)"
                : version == 1 ? " (version 1 is obsolete; convert the model with a current llama.cpp)" : "";
            throw new GgufFormatException($"{path}: unsupported GGUF version {version}: expected 2 or 3{hint}");
        }

        var tensorCount = r.ReadUInt64("tensor count");
        var kvCount = r.ReadUInt64("metadata key/value count");
        // Each KV needs >= 12 bytes and each tensor info >= 24: reject absurd counts before allocating anything.
        r.RequireAtLeast(kvCount, 12, "metadata key/value entries");
        r.RequireAtLeast(tensorCount, 24, "tensor-info entries");

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            var keyOffset = r.Position;
            var key = r.ReadString($"key of metadata entry {i}");
            if (!seen.Add(key))
                throw new GgufFormatException($"{path}: duplicate metadata key '{key}' at offset {keyOffset}");
            var typeOffset = r.Position;
            var type = r.ReadUInt32($"value type of '{key}'");
            if (type > (uint)GgufValueType.Float64)
                throw new GgufFormatException($"{path}: metadata '{key}' at offset {typeOffset} has unknown value type {type} (expected 0..12)");
            metadata.Add(new(key, r.ReadValue((GgufValueType)type, key, depth: 0)));
        }

        var alignment = DefaultAlignment;
        var alignKv = metadata.FirstOrDefault(kv => kv.Key == "general.alignment");
        if (alignKv.Key is not null)
        {
            if (alignKv.Value.Value is not uint a || a == 0 || (a & (a - 1)) != 0)
                throw new GgufFormatException(
                    $"{path}: general.alignment must be a uint32 power of two, found {alignKv.Value.Describe()} {alignKv.Value.ToDisplayString()}");
            alignment = a;
        }

        var raw = new List<(string Name, ulong[] Shape, uint Type, ulong Offset, long At)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            var at = r.Position;
            var name = r.ReadString($"name of tensor {i}");
            if (!names.Add(name))
                throw new GgufFormatException($"{path}: duplicate tensor name '{name}' at offset {at}");
            var nDimsAt = r.Position;
            var nDims = r.ReadUInt32($"dimension count of tensor '{name}'");
            if (nDims is 0 or > MaxDimensions)
                throw new GgufFormatException(
                    $"{path}: tensor '{name}' at offset {nDimsAt} has {nDims} dimensions; expected 1..{MaxDimensions}");
            var shape = new ulong[nDims];
            for (var d = 0; d < nDims; d++)
                shape[d] = r.ReadUInt64($"dimension {d} of tensor '{name}'");
            var type = r.ReadUInt32($"ggml type of tensor '{name}'");
            var offset = r.ReadUInt64($"data offset of tensor '{name}'");
            raw.Add((name, shape, type, offset, at));
        }

        var headerEnd = r.Position;
        var dataOffset = AlignUp(headerEnd, alignment);
        var fileLength = r.Length;
        var tensors = new List<GgufTensorInfo>(raw.Count);
        foreach (var (name, shape, typeId, offset, at) in raw)
        {
            if (!GgmlTypeTraits.TryGet(typeId, out var traits))
                throw new GgufFormatException(
                    $"{path}: tensor '{name}' (entry at offset {at}) has unknown ggml type id {typeId}; known ids: " +
                    string.Join(", ", GgmlTypeTraits.Known.OrderBy(t => (uint)t).Select(t => $"{(uint)t}={t}")) +
                    ". The file may need a newer reader.");
            if (shape.Any(d => d == 0))
                throw new GgufFormatException($"{path}: tensor '{name}' has a zero dimension: {GgufTensorInfo.FormatShape(shape)}");
            ulong elements;
            try { elements = shape.Aggregate(1UL, (a, d) => checked(a * d)); }
            catch (OverflowException) { throw new GgufFormatException($"{path}: tensor '{name}' shape {GgufTensorInfo.FormatShape(shape)} overflows 64 bits"); }
            ulong? byteSize;
            try { byteSize = traits.ByteSize(shape[0], elements); }
            catch (OverflowException) { throw new GgufFormatException($"{path}: tensor '{name}' of type {traits.Type} shape {GgufTensorInfo.FormatShape(shape)} needs more than 2^64 bytes; the tensor table is corrupt"); }
            var size = byteSize
                ?? throw new GgufFormatException(
                    $"{path}: tensor '{name}' of type {traits.Type} has first dimension {shape[0]}, which is not a multiple of the block size {traits.BlockSize}");
            if (offset % alignment != 0)
                throw new GgufFormatException(
                    $"{path}: tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
            // Compared without a wrapping sum: offset and size come from the file and may be near 2^64.
            var end = unchecked((ulong)dataOffset + offset + size);
            if (offset > (ulong)fileLength || (ulong)dataOffset + offset > (ulong)fileLength || size > (ulong)fileLength - ((ulong)dataOffset + offset))
                throw new GgufFormatException(
                    $"{path}: tensor '{name}' data lies beyond the end of the file: it needs bytes {(ulong)dataOffset + offset}..{end} " +
                    $"({size} bytes of {traits.Type} {GgufTensorInfo.FormatShape(shape)}), but the file has {fileLength} bytes. " +
                    "The file is truncated or its tensor table is corrupt.");
            tensors.Add(new GgufTensorInfo(name, shape, traits.Type, offset, size));
        }

        return new GgufFile(path, version, metadata, tensors, alignment, dataOffset, fileLength);
    }

    internal static long AlignUp(long value, uint alignment) => (value + alignment - 1) / alignment * alignment;

    private static string DescribeMagic(byte[] b)
    {
        if (b.Length == 0) return "an empty file";
        var hex = string.Join(" ", b.Select(x => x.ToString("x2", CultureInfo.InvariantCulture)));
        var text = new string(b.Select(x => x is >= 0x20 and < 0x7f ? (char)x : '.').ToArray());
        return b.Length < 4 ? $"only {b.Length} byte(s) ({hex})" : $"'{text}' ({hex})";
    }

    /// <summary>Little-endian reads with position tracking and "truncated at offset" errors.</summary>
    private sealed class HeaderReader(Stream stream, string path)
    {
        private readonly byte[] _scratch = new byte[8];

        public long Position { get; private set; } = stream.Position;
        public long Length { get; } = stream.Length;

        private long Remaining => Length - Position;

        public void RequireAtLeast(ulong count, int minBytesEach, string what)
        {
            if (count > (ulong)Math.Max(0, Remaining) / (ulong)minBytesEach)
                throw new GgufFormatException(
                    $"{path}: header claims {count} {what} but only {Remaining} bytes remain after offset {Position}; the file is truncated or corrupt");
        }

        private Span<byte> Fill(int n, string what)
        {
            var span = _scratch.AsSpan(0, n);
            Exact(span, what);
            return span;
        }

        private void Exact(Span<byte> span, string what)
        {
            var at = Position;
            var got = stream.ReadAtLeast(span, span.Length, throwOnEndOfStream: false);
            Position += got;
            if (got < span.Length)
                throw new GgufFormatException(
                    $"{path}: truncated GGUF file: expected {span.Length} bytes of {what} at offset {at}, but the file ends at offset {at + got}");
        }

        public byte[] ReadBytes(int n, string what)
        {
            var b = new byte[n];
            Exact(b, what);
            return b;
        }

        public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Fill(4, what));
        public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Fill(8, what));

        public string ReadString(string what)
        {
            var at = Position;
            var len = ReadUInt64($"length of {what}");
            if (len > (ulong)Math.Max(0, Remaining))
                throw new GgufFormatException(
                    $"{path}: truncated GGUF file: {what} at offset {at} declares {len} bytes, but only {Remaining} bytes remain");
            if (len > int.MaxValue)
                throw new GgufFormatException($"{path}: {what} at offset {at} declares {len} bytes, more than a string can hold");
            var bytes = ReadBytes((int)len, what);
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new GgufFormatException($"{path}: {what} at offset {at} is not valid UTF-8", e);
            }
        }

        public GgufValue ReadValue(GgufValueType type, string key, int depth)
        {
            var what = $"value of '{key}'";
            switch (type)
            {
                case GgufValueType.UInt8: return GgufValue.UInt8(Fill(1, what)[0]);
                case GgufValueType.Int8: return GgufValue.Int8((sbyte)Fill(1, what)[0]);
                case GgufValueType.UInt16: return GgufValue.UInt16(BinaryPrimitives.ReadUInt16LittleEndian(Fill(2, what)));
                case GgufValueType.Int16: return GgufValue.Int16(BinaryPrimitives.ReadInt16LittleEndian(Fill(2, what)));
                case GgufValueType.UInt32: return GgufValue.UInt32(BinaryPrimitives.ReadUInt32LittleEndian(Fill(4, what)));
                case GgufValueType.Int32: return GgufValue.Int32(BinaryPrimitives.ReadInt32LittleEndian(Fill(4, what)));
                case GgufValueType.UInt64: return GgufValue.UInt64(BinaryPrimitives.ReadUInt64LittleEndian(Fill(8, what)));
                case GgufValueType.Int64: return GgufValue.Int64(BinaryPrimitives.ReadInt64LittleEndian(Fill(8, what)));
                case GgufValueType.Float32: return GgufValue.Float32(BinaryPrimitives.ReadSingleLittleEndian(Fill(4, what)));
                case GgufValueType.Float64: return GgufValue.Float64(BinaryPrimitives.ReadDoubleLittleEndian(Fill(8, what)));
                case GgufValueType.Bool:
                    var at = Position;
                    var b = Fill(1, what)[0];
                    if (b > 1) throw new GgufFormatException($"{path}: bool {what} at offset {at} is {b}; expected 0 or 1");
                    return GgufValue.Bool(b == 1);
                case GgufValueType.String: return GgufValue.String(ReadString(what));
                case GgufValueType.Array: return ReadArray(key, depth);
                default: throw new GgufFormatException($"{path}: '{key}' has unknown value type {(uint)type}");
            }
        }

        private GgufValue ReadArray(string key, int depth)
        {
            if (depth > 8) throw new GgufFormatException($"{path}: '{key}' nests arrays more than 8 deep");
            var typeAt = Position;
            var et = ReadUInt32($"element type of array '{key}'");
            if (et > (uint)GgufValueType.Float64)
                throw new GgufFormatException($"{path}: array '{key}' at offset {typeAt} has unknown element type {et} (expected 0..12)");
            var elementType = (GgufValueType)et;
            var count = ReadUInt64($"element count of array '{key}'");
            var minSize = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.Array => 12,
                _ => 8,
            };
            RequireAtLeast(count, minSize, $"elements of array '{key}'");
            var n = (int)count;
            switch (elementType)
            {
                case GgufValueType.String:
                    var s = new string[n];
                    for (var i = 0; i < n; i++) s[i] = ReadString($"element {i} of '{key}'");
                    return GgufValue.Array(s);
                case GgufValueType.Array:
                    var arrays = new GgufValue[n];
                    for (var i = 0; i < n; i++) arrays[i] = ReadArray($"{key}[{i}]", depth + 1);
                    return GgufValue.ArrayOfArrays(arrays);
                case GgufValueType.Bool:
                    var raw = ReadBytes(n, $"elements of '{key}'");
                    if (raw.Any(x => x > 1)) throw new GgufFormatException($"{path}: bool array '{key}' holds a value other than 0 or 1");
                    return GgufValue.Array(raw.Select(x => x == 1).ToArray());
                default:
                    var bytes = ReadBytes(checked(n * minSize), $"elements of '{key}'");
                    return elementType switch
                    {
                        GgufValueType.UInt8 => GgufValue.Array(bytes),
                        GgufValueType.Int8 => GgufValue.Array(Cast<sbyte>(bytes)),
                        GgufValueType.UInt16 => GgufValue.Array(Cast<ushort>(bytes)),
                        GgufValueType.Int16 => GgufValue.Array(Cast<short>(bytes)),
                        GgufValueType.UInt32 => GgufValue.Array(Cast<uint>(bytes)),
                        GgufValueType.Int32 => GgufValue.Array(Cast<int>(bytes)),
                        GgufValueType.Float32 => GgufValue.Array(Cast<float>(bytes)),
                        GgufValueType.UInt64 => GgufValue.Array(Cast<ulong>(bytes)),
                        GgufValueType.Int64 => GgufValue.Array(Cast<long>(bytes)),
                        GgufValueType.Float64 => GgufValue.Array(Cast<double>(bytes)),
                        _ => throw new GgufFormatException($"{path}: array '{key}' has unsupported element type {elementType}"),
                    };
            }
        }

        // GGUF is little-endian; the writer and reader refuse big-endian hosts (see GgufWriter), so a reinterpreting copy is exact.
        private static T[] Cast<T>(byte[] bytes) where T : struct
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("GGUF reading needs a little-endian host");
            return MemoryMarshal.Cast<byte, T>(bytes).ToArray();
        }
    }
}
