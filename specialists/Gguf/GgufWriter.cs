using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Federation.Specialists.Gguf;

/// <summary>
/// Writes GGUF v3 files: metadata of any type, then tensors (F32, F16, or raw bytes of any known ggml type) each at an
/// offset aligned to <see cref="Alignment"/>, padded with zeros. Output depends only on what was added and in which
/// order (no timestamps), so equal inputs give byte-identical files. Tensor data can be produced lazily by a callback,
/// so a large model need not be held in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Data alignment in bytes (a power of two). When not 32 it is recorded as <c>general.alignment</c>.</summary>
    public uint Alignment { get; }

    public GgufWriter(uint alignment = GgufFile.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("GGUF writing needs a little-endian host");
        Alignment = alignment;
        if (alignment != GgufFile.DefaultAlignment) Set("general.alignment", GgufValue.UInt32(alignment));
    }

    /// <summary>Number of tensors added so far.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>Sets <paramref name="key"/>; a key set twice keeps its first position and takes the new value.</summary>
    public GgufWriter Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == "general.alignment" && value.Value is not uint)
            throw new ArgumentException("general.alignment must be a uint32", nameof(value));
        var i = _metadata.FindIndex(kv => kv.Key == key);
        if (i >= 0) _metadata[i] = new(key, value);
        else _metadata.Add(new(key, value));
        return this;
    }

    public GgufWriter Set(string key, string value) => Set(key, GgufValue.String(value));
    public GgufWriter Set(string key, uint value) => Set(key, GgufValue.UInt32(value));
    public GgufWriter Set(string key, int value) => Set(key, GgufValue.Int32(value));
    public GgufWriter Set(string key, float value) => Set(key, GgufValue.Float32(value));
    public GgufWriter Set(string key, bool value) => Set(key, GgufValue.Bool(value));

    /// <summary>Adds an F32 tensor; <paramref name="shape"/> is in ggml order (first dimension contiguous).</summary>
    public GgufWriter AddF32(string name, ulong[] shape, float[] data)
    {
        CheckCount(name, shape, data.Length);
        return AddTensor(name, GgmlType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(data.AsSpan())));
    }

    /// <summary>Adds an F16 tensor, converting <paramref name="data"/> with round-to-nearest-even.</summary>
    public GgufWriter AddF16(string name, ulong[] shape, float[] data)
    {
        CheckCount(name, shape, data.Length);
        return AddTensor(name, GgmlType.F16, shape, s =>
        {
            var buf = new byte[data.Length * 2];
            for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(buf.AsSpan(i * 2), (Half)data[i]);
            s.Write(buf);
        });
    }

    /// <summary>
    /// Adds a tensor whose bytes <paramref name="writeData"/> writes when the file is written. The callback must write
    /// exactly the byte size implied by <paramref name="type"/> and <paramref name="shape"/>; the writer checks.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, ulong[] shape, Action<Stream> writeData)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(writeData);
        if (shape.Length is 0 or > GgufFile.MaxDimensions)
            throw new ArgumentException($"tensor '{name}' must have 1..{GgufFile.MaxDimensions} dimensions, got {shape.Length}", nameof(shape));
        if (shape.Any(d => d == 0))
            throw new ArgumentException($"tensor '{name}' has a zero dimension {GgufTensorInfo.FormatShape(shape)}", nameof(shape));
        if (!_tensorNames.Add(name))
            throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        var traits = GgmlTypeTraits.Of(type);
        var elements = shape.Aggregate(1UL, (a, d) => checked(a * d));
        var size = traits.ByteSize(shape[0], elements)
            ?? throw new ArgumentException($"tensor '{name}': first dimension {shape[0]} is not a multiple of {type}'s block size {traits.BlockSize}", nameof(shape));
        _tensors.Add(new PendingTensor(name, type, (ulong[])shape.Clone(), size, writeData));
        return this;
    }

    private static void CheckCount(string name, ulong[] shape, int count)
    {
        var elements = shape.Aggregate(1UL, (a, d) => checked(a * d));
        if (elements != (ulong)count)
            throw new ArgumentException($"tensor '{name}' shape {GgufTensorInfo.FormatShape(shape)} needs {elements} values, got {count}");
    }

    /// <summary>Writes the file atomically: to a temporary file next to <paramref name="path"/>, then renamed over it.</summary>
    public void WriteFile(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                WriteTo(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes the whole file to <paramref name="output"/> (which need not be seekable).</summary>
    public void WriteTo(Stream output)
    {
        var counter = new CountingStream(output);
        var w = new BinaryWriter(counter, new UTF8Encoding(false), leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(GgufFile.CurrentVersion);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }

        ulong offset = 0;
        var offsets = new ulong[_tensors.Count];
        for (var i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            offsets[i] = offset;
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape) w.Write(d);
            w.Write((uint)t.Type);
            w.Write(offset);
            offset = (ulong)GgufFile.AlignUp(checked((long)(offset + t.Size)), Alignment);
        }
        w.Flush();
        Pad(counter);

        for (var i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            var before = counter.Count;
            t.WriteData(counter);
            var written = (ulong)(counter.Count - before);
            if (written != t.Size)
                throw new InvalidOperationException($"tensor '{t.Name}': the data callback wrote {written} bytes, expected {t.Size}");
            // Every tensor, the last included, is padded to the alignment, as ggml's own writer does.
            Pad(counter);
        }
        counter.Flush();
    }

    private void Pad(CountingStream s)
    {
        var pad = (int)(GgufFile.AlignUp(s.Count, Alignment) - s.Count);
        if (pad > 0) s.Write(new byte[pad]);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue v)
    {
        switch (v.Value)
        {
            case byte x: w.Write(x); break;
            case sbyte x: w.Write(x); break;
            case ushort x: w.Write(x); break;
            case short x: w.Write(x); break;
            case uint x: w.Write(x); break;
            case int x: w.Write(x); break;
            case ulong x: w.Write(x); break;
            case long x: w.Write(x); break;
            case float x: w.Write(x); break;
            case double x: w.Write(x); break;
            case bool x: w.Write((byte)(x ? 1 : 0)); break;
            case string x: WriteString(w, x); break;
            case Array a:
                w.Write((uint)v.ElementType!.Value);
                w.Write((ulong)a.Length);
                switch (a)
                {
                    case string[] ss: foreach (var s in ss) WriteString(w, s); break;
                    case bool[] bs: foreach (var b in bs) w.Write((byte)(b ? 1 : 0)); break;
                    case GgufValue[] nested:
                        foreach (var n in nested) WriteValue(w, n);
                        break;
                    case byte[] b: w.Write(b); break;
                    case sbyte[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case ushort[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case short[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case uint[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case int[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case ulong[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case long[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case float[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    case double[] x: w.Write(MemoryMarshal.AsBytes(x.AsSpan())); break;
                    default: throw new InvalidOperationException($"unsupported array {a.GetType()}");
                }
                break;
            default:
                throw new InvalidOperationException($"unsupported metadata value {v.Value.GetType()}");
        }
    }

    private sealed record PendingTensor(string Name, GgmlType Type, ulong[] Shape, ulong Size, Action<Stream> WriteData);

    /// <summary>Write-only pass-through that counts bytes, so offsets and padding work on non-seekable streams.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Count;
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Count += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }
}
