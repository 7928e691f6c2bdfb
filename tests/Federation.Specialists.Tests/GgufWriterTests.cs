using Federation.Specialists.Gguf;

namespace Federation.Specialists.Tests;

public class GgufWriterTests
{
    private static List<KeyValuePair<string, GgufValue>> AllTypes() =>
    [
        new("t.u8", GgufValue.UInt8(250)),
        new("t.i8", GgufValue.Int8(-7)),
        new("t.u16", GgufValue.UInt16(65000)),
        new("t.i16", GgufValue.Int16(-30000)),
        new("t.u32", GgufValue.UInt32(4_000_000_000)),
        new("t.i32", GgufValue.Int32(-2_000_000_000)),
        new("t.f32", GgufValue.Float32(3.25f)),
        new("t.bool.true", GgufValue.Bool(true)),
        new("t.bool.false", GgufValue.Bool(false)),
        new("t.string", GgufValue.String("héllo ▁ wörld \n\"quoted\"")),
        new("t.string.empty", GgufValue.String("")),
        new("t.u64", GgufValue.UInt64(ulong.MaxValue - 1)),
        new("t.i64", GgufValue.Int64(long.MinValue + 3)),
        new("t.f64", GgufValue.Float64(Math.PI)),
        new("a.u8", GgufValue.Array(new byte[] { 0, 1, 255 })),
        new("a.i8", GgufValue.Array(new sbyte[] { -128, 0, 127 })),
        new("a.u16", GgufValue.Array(new ushort[] { 1, 65535 })),
        new("a.i16", GgufValue.Array(new short[] { -1, 2 })),
        new("a.u32", GgufValue.Array(new uint[] { 7, 8, 9 })),
        new("a.i32", GgufValue.Array(new[] { -1, 0, 1 })),
        new("a.u64", GgufValue.Array(new ulong[] { ulong.MaxValue })),
        new("a.i64", GgufValue.Array(new long[] { long.MinValue, long.MaxValue })),
        new("a.f32", GgufValue.Array(new[] { 1.5f, float.NegativeInfinity, -0f })),
        new("a.f64", GgufValue.Array(new[] { 2.5, double.Epsilon })),
        new("a.bool", GgufValue.Array(new[] { true, false, true })),
        new("a.string", GgufValue.Array(new[] { "<unk>", "", "▁", "ünï" })),
        new("a.empty", GgufValue.Array(System.Array.Empty<int>())),
        new("a.nested", GgufValue.ArrayOfArrays([
            GgufValue.Array(new[] { "x", "y" }),
            GgufValue.Array(new[] { 1f }),
            GgufValue.ArrayOfArrays([GgufValue.Array(new uint[] { 42 })]),
        ])),
    ];

    [Fact]
    public void Every_metadata_type_survives_a_write_and_read_in_order()
    {
        using var dir = new TempDir();
        var w = new GgufWriter();
        foreach (var (k, v) in AllTypes()) w.Set(k, v);
        w.WriteFile(dir.File("all.gguf"));

        var f = GgufFile.Read(dir.File("all.gguf"));
        Assert.Equal(3u, f.Version);
        Assert.Equal(AllTypes().Select(kv => kv.Key), f.Metadata.Select(kv => kv.Key));
        foreach (var (k, v) in AllTypes())
            Assert.True(v.Equals(f.Get(k)), $"{k}: wrote {v.Describe()} {v}, read {f.Get(k).Describe()} {f.Get(k)}");
        Assert.Empty(f.Tensors);
        Assert.Equal(0, f.FileLength % 32);
    }

    [Fact]
    public void Values_of_different_types_or_contents_are_not_equal()
    {
        Assert.False(GgufValue.UInt32(1).Equals(GgufValue.Int32(1)));
        Assert.False(GgufValue.Array(new[] { 1, 2 }).Equals(GgufValue.Array(new[] { 1, 3 })));
        Assert.False(GgufValue.Array(new[] { "a" }).Equals(GgufValue.Array(new[] { "a", "b" })));
        Assert.True(GgufValue.Array(new[] { "a" }).Equals(GgufValue.Array(new[] { "a" })));
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(128u)]
    public void Tensors_round_trip_at_aligned_offsets(uint alignment)
    {
        using var dir = new TempDir();
        var a = Enumerable.Range(0, 15).Select(i => i * 0.5f - 3f).ToArray();      // 60 bytes: forces padding
        var b = Enumerable.Range(0, 6).Select(i => (float)i / 4).ToArray();
        var c = new[] { 1f, -2f, 0.5f };
        var w = new GgufWriter(alignment).Set("general.architecture", "test");
        w.AddF32("a", [5, 3], a).AddF16("b", [6], b).AddF32("c", [3], c);
        w.WriteFile(dir.File("t.gguf"));

        var f = GgufFile.Read(dir.File("t.gguf"));
        Assert.Equal(alignment, f.Alignment);
        Assert.Equal(0, f.DataOffset % alignment);
        Assert.Equal(0, f.FileLength % alignment);
        Assert.Equal(["a", "b", "c"], f.Tensors.Select(t => t.Name));
        Assert.All(f.Tensors, t => Assert.Equal(0UL, t.Offset % alignment));
        Assert.Equal([5UL, 3UL], f.FindTensor("a")!.Shape);
        Assert.Equal(GgmlType.F16, f.FindTensor("b")!.Type);
        Assert.Equal(12UL, f.FindTensor("b")!.ByteSize);
        Assert.Equal(a, f.ReadTensorFloats(f.FindTensor("a")!));
        Assert.Equal(b, f.ReadTensorFloats(f.FindTensor("b")!));   // exactly representable in F16
        Assert.Equal(c, f.ReadTensorFloats(f.FindTensor("c")!));
        Assert.Equal(15UL + 6 + 3, f.ParameterCount);
        if (alignment != 32) Assert.Equal(alignment, f.Get("general.alignment").Value);
        else Assert.False(f.TryGetValue("general.alignment", out _));
    }

    [Fact]
    public void Same_inputs_give_identical_bytes()
    {
        static byte[] Write()
        {
            var w = new GgufWriter().Set("k", "v").Set("n", 3u);
            w.AddF32("x", [4], [1, 2, 3, 4]);
            using var ms = new MemoryStream();
            w.WriteTo(ms);
            return ms.ToArray();
        }
        Assert.Equal(Write(), Write());
    }

    [Fact]
    public void Setting_a_key_twice_keeps_its_position_and_the_last_value()
    {
        var w = new GgufWriter().Set("a", 1u).Set("b", 2u).Set("a", "again");
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("k.gguf"), ms.ToArray());
        var f = GgufFile.Read(dir.File("k.gguf"));
        Assert.Equal(["a", "b"], f.Metadata.Select(kv => kv.Key));
        Assert.Equal("again", f.Get("a").AsString());
    }

    [Fact]
    public void Writer_rejects_bad_tensors_with_reasons()
    {
        var w = new GgufWriter();
        Assert.Contains("needs 6 values, got 5", Assert.Throws<ArgumentException>(() => w.AddF32("x", [2, 3], new float[5])).Message, StringComparison.Ordinal);
        w.AddF32("y", [1], [0]);
        Assert.Contains("already added", Assert.Throws<ArgumentException>(() => w.AddF32("y", [1], [0])).Message, StringComparison.Ordinal);
        Assert.Contains("block size 32", Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q8_0, [31], _ => { })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(48));
    }

    [Fact]
    public void A_data_callback_that_writes_the_wrong_length_fails_the_write()
    {
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [4], s => s.Write(new byte[12]));
        using var ms = new MemoryStream();
        var e = Assert.Throws<InvalidOperationException>(() => w.WriteTo(ms));
        Assert.Contains("wrote 12 bytes, expected 16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_file_write_leaves_no_file_behind()
    {
        using var dir = new TempDir();
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [4], _ => throw new IOException("disk full"));
        Assert.Throws<IOException>(() => w.WriteFile(dir.File("x.gguf")));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
