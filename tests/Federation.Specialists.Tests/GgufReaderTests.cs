using System.Text;
using Federation.Specialists.Gguf;
using Federation.Specialists.Models;

namespace Federation.Specialists.Tests;

public class GgufReaderTests
{
    /// <summary>Hand-assembles a GGUF v3 file with one string KV and one tensor, so every field can be corrupted.</summary>
    private static byte[] Assemble(uint tensorType = 0, ulong[]? shape = null, ulong offset = 0, uint version = 3,
        int dataBytes = -1, string magic = "GGUF")
    {
        shape ??= [4, 2];
        using var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write(Encoding.ASCII.GetBytes(magic));
        w.Write(version);
        w.Write(1UL);            // tensors
        w.Write(1UL);            // kv
        WriteString(w, "general.architecture");
        w.Write(8u);
        WriteString(w, "llama");
        WriteString(w, "weights");
        w.Write((uint)shape.Length);
        foreach (var d in shape) w.Write(d);
        w.Write(tensorType);
        w.Write(offset);
        while (ms.Length % 32 != 0) w.Write((byte)0);
        w.Write(new byte[dataBytes < 0 ? 32 : dataBytes]);
        return ms.ToArray();
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private static GgufFormatException ReadFails(TempDir dir, byte[] bytes)
    {
        var path = dir.File(Guid.NewGuid().ToString("N") + ".gguf");
        File.WriteAllBytes(path, bytes);
        return Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));
    }

    [Fact]
    public void Hand_assembled_file_is_read()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("ok.gguf"), Assemble());
        var f = GgufFile.Read(dir.File("ok.gguf"));
        Assert.Equal("llama", f.Get("general.architecture").AsString());
        Assert.Equal(32UL, f.Tensors.Single().ByteSize);
    }

    [Fact]
    public void Wrong_magic_is_rejected_naming_what_was_found()
    {
        using var dir = new TempDir();
        var e = ReadFails(dir, Assemble(magic: "GGML"));
        Assert.Contains("not a GGUF file: expected magic 'GGUF'", e.Message, StringComparison.Ordinal);
        Assert.Contains("found 'GGML'", e.Message, StringComparison.Ordinal);
        Assert.Contains("an empty file", ReadFails(dir, []).Message, StringComparison.Ordinal);
        Assert.Contains("not a GGUF file", ReadFails(dir, Encoding.ASCII.GetBytes("{\"json\": true}")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1u, "unsupported GGUF version 1")]
    [InlineData(4u, "unsupported GGUF version 4")]
    [InlineData(0x03000000u, "big-endian")]
    public void Unsupported_version_is_rejected(uint version, string expected)
    {
        using var dir = new TempDir();
        Assert.Contains(expected, ReadFails(dir, Assemble(version: version)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, "found only 2 byte(s) (47 47)")]
    [InlineData(6, "expected 4 bytes of version at offset 4, but the file ends at offset 6")]
    [InlineData(12, "expected 8 bytes of tensor count at offset 8, but the file ends at offset 12")]
    [InlineData(20, "expected 8 bytes of metadata key/value count at offset 16")]
    [InlineData(30, "truncated")]        // inside the KV table: the counts cannot fit in what remains
    [InlineData(50, "truncated")]        // inside the first key
    [InlineData(70, "truncated")]        // inside the value
    [InlineData(100, "truncated")]       // inside the tensor info
    public void Truncated_header_is_rejected_with_the_offset(int length, string expected)
    {
        using var dir = new TempDir();
        var bytes = Assemble()[..length];
        var e = ReadFails(dir, bytes);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncating_a_real_model_anywhere_is_rejected()
    {
        using var dir = new TempDir();
        var made = TinyModelFactory.Create("tiny", 1, dir.File("m.gguf"));
        var bytes = File.ReadAllBytes(made.Path);
        var f = GgufFile.Read(made.Path);
        foreach (var cut in new[] { 3L, 100, 1000, 5000, f.DataOffset - 1, f.DataOffset + 10, bytes.Length / 2, bytes.Length - 1 })
        {
            var e = ReadFails(dir, bytes[..(int)cut]);
            Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || e.Message.Contains("beyond the end", StringComparison.Ordinal)
                || e.Message.Contains("not a GGUF file", StringComparison.Ordinal), $"cut at {cut}: {e.Message}");
        }
    }

    [Fact]
    public void Unknown_tensor_type_is_rejected_naming_tensor_and_id()
    {
        using var dir = new TempDir();
        var e = ReadFails(dir, Assemble(tensorType: 99));
        Assert.Contains("tensor 'weights'", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown ggml type id 99", e.Message, StringComparison.Ordinal);
        Assert.Contains("known ids: 0=F32", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown ggml type id 4", ReadFails(dir, Assemble(tensorType: 4)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensor_data_beyond_end_of_file_is_rejected()
    {
        using var dir = new TempDir();
        var e = ReadFails(dir, Assemble(offset: 64));
        Assert.Contains("tensor 'weights' data lies beyond the end of the file", e.Message, StringComparison.Ordinal);
        Assert.Contains("32 bytes of F32 {4, 2}", e.Message, StringComparison.Ordinal);
        Assert.Contains("beyond the end", ReadFails(dir, Assemble(dataBytes: 31)).Message, StringComparison.Ordinal);
        Assert.Contains("beyond the end", ReadFails(dir, Assemble(offset: ulong.MaxValue - 31)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misaligned_tensor_offset_and_bad_shapes_are_rejected()
    {
        using var dir = new TempDir();
        Assert.Contains("not a multiple of the alignment 32", ReadFails(dir, Assemble(offset: 8, dataBytes: 64)).Message, StringComparison.Ordinal);
        Assert.Contains("zero dimension", ReadFails(dir, Assemble(shape: [4, 0])).Message, StringComparison.Ordinal);
        Assert.Contains("5 dimensions", ReadFails(dir, Assemble(shape: [1, 1, 1, 1, 1])).Message, StringComparison.Ordinal);
        Assert.Contains("not a multiple of the block size 32", ReadFails(dir, Assemble(tensorType: 8, shape: [16])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GgmlType.F32, 1024)]
    [InlineData(GgmlType.F16, 512)]
    [InlineData(GgmlType.BF16, 512)]
    [InlineData(GgmlType.Q8_0, 272)]
    [InlineData(GgmlType.Q4_0, 144)]
    [InlineData(GgmlType.Q4_1, 160)]
    [InlineData(GgmlType.Q5_0, 176)]
    [InlineData(GgmlType.Q5_1, 192)]
    [InlineData(GgmlType.Q2_K, 84)]
    [InlineData(GgmlType.Q3_K, 110)]
    [InlineData(GgmlType.Q4_K, 144)]
    [InlineData(GgmlType.Q5_K, 176)]
    [InlineData(GgmlType.Q6_K, 210)]
    [InlineData(GgmlType.Q8_K, 292)]
    public void Quantized_tensor_sizes_follow_ggml_block_layouts(GgmlType type, int bytesFor256)
    {
        using var dir = new TempDir();
        var bytes = Assemble(tensorType: (uint)type, shape: [256], dataBytes: 1024);
        File.WriteAllBytes(dir.File("q.gguf"), bytes);
        Assert.Equal((ulong)bytesFor256, GgufFile.Read(dir.File("q.gguf")).Tensors.Single().ByteSize);
    }

    [Fact]
    public void Absurd_counts_fail_before_allocating()
    {
        using var dir = new TempDir();
        var bytes = Assemble();
        BitConverter.GetBytes(ulong.MaxValue).CopyTo(bytes, 16); // kv count
        Assert.Contains("header claims", ReadFails(dir, bytes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gigabyte_model_is_inspected_without_reading_its_data()
    {
        using var dir = new TempDir();
        const ulong elements = 1UL << 28;            // 1 GiB of F32
        var header = Assemble(shape: [elements], dataBytes: 0);
        var path = dir.File("big.gguf");
        using (var fs = new FileStream(path, FileMode.CreateNew))
        {
            fs.Write(header);
            fs.SetLength(header.Length + (long)elements * 4);   // sparse: no data is written
        }
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var f = GgufFile.Read(path);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(elements * 4, f.Tensors.Single().ByteSize);
        Assert.Equal(elements, f.ParameterCount);
        Assert.True(allocated < 1 << 20, $"reading the header allocated {allocated} bytes");
    }

    [Fact]
    public void Missing_file_says_so()
    {
        var e = Assert.Throws<FileNotFoundException>(() => GgufFile.Read("/nonexistent/x.gguf"));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }
}
