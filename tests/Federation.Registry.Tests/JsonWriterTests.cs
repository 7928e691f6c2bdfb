using System.Buffers;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Registry.Json;
using JsonArray = Federation.Registry.Json.JsonArray;
using JsonObject = Federation.Registry.Json.JsonObject;
using JsonValue = Federation.Registry.Json.JsonValue;

namespace Federation.Registry.Tests;

public class JsonWriterTests
{
    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.5, "0.5")]
    [InlineData(24576.0, "24576.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(3.5e-5, "3.5e-05")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(1387111251095746.75, "1387111251095746.8")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void Floats_are_written_as_python_repr(double value, string want) =>
        Assert.Equal(want, CanonicalJson.FormatFloat(value));

    [Fact]
    public void Sum_of_point_one_and_point_two_is_written_in_full() =>
        Assert.Equal("0.30000000000000004", CanonicalJson.FormatFloat(0.1 + 0.2));

    [Fact]
    public void Object_built_in_code_is_sorted_and_escaped()
    {
        var v = new JsonObject
        {
            ["zeta"] = 1,
            ["alpha"] = new JsonArray(1.0, "caf\u00e9 \U0001F680", null, true),
            ["\uffff"] = "x\u007f",
            ["\U00010000"] = BigInteger.Pow(10, 30),
        };
        Assert.Equal(
            "{\"alpha\":[1.0,\"caf\\u00e9 \\ud83d\\ude80\",null,true],\"zeta\":1,\"\\uffff\":\"x\\u007f\",\"\\ud800\\udc00\":1000000000000000000000000000000}",
            v.ToString());
    }

    [Fact]
    public void Code_point_order_differs_from_ordinal_order_for_astral_keys()
    {
        string astral = "\U00010000", bmp = "\uffff";
        Assert.True(string.CompareOrdinal(astral, bmp) < 0);
        Assert.True(CodePointComparer.Instance.Compare(astral, bmp) > 0);
        Assert.True(CodePointComparer.Instance.Compare("\ud800", "\ue000") < 0);
        Assert.True(CodePointComparer.Instance.Compare("\ud800", astral) < 0);
        Assert.True(CodePointComparer.Instance.Compare("\ud800x", "\ud800\udc00") < 0);
        Assert.Equal(0, CodePointComparer.Instance.Compare("\ud800x", "\ud800x"));
    }

    [Fact]
    public void Writing_to_a_buffer_writer_appends_the_same_bytes()
    {
        var v = CanonicalJson.Parse("{\"b\":[1,2.5],\"a\":\"\\u0001\"}");
        var w = new ArrayBufferWriter<byte>(1);
        w.Write("prefix"u8);
        CanonicalJson.Write(w, v);
        Assert.Equal("prefix" + "{\"a\":\"\\u0001\",\"b\":[1,2.5]}", Encoding.ASCII.GetString(w.WrittenSpan));
    }

    [Fact]
    public void Cyclic_array_is_an_error_not_a_stack_overflow()
    {
        var a = new JsonArray();
        a.Add(a);
        var e = Assert.Throws<InvalidOperationException>(() => CanonicalJson.Serialize(a));
        Assert.Contains("contains itself", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void System_text_json_element_keeps_int_and_float_apart()
    {
        using var doc = JsonDocument.Parse("{\"f\":1.0,\"i\":1,\"e\":2E3,\"big\":123456789012345678901234567890}");
        Assert.Equal("{\"big\":123456789012345678901234567890,\"e\":2000.0,\"f\":1.0,\"i\":1}",
            CanonicalJson.FromElement(doc.RootElement).ToString());
    }

    [Fact]
    public void System_text_json_node_keeps_int_and_float_apart()
    {
        var node = new System.Text.Json.Nodes.JsonObject
        {
            ["d"] = 1.0,
            ["l"] = 1L,
            ["parsed"] = JsonNode.Parse("[1.0, 1]"),
            ["s"] = "x",
        };
        Assert.Equal("{\"d\":1.0,\"l\":1,\"parsed\":[1.0,1],\"s\":\"x\"}", CanonicalJson.FromNode(node).ToString());
    }

    private sealed record Sample(string Name, double Score, int Count, float Ratio, double[] Values);

    [Fact]
    public void Clr_object_doubles_stay_floats()
    {
        var v = CanonicalJson.FromObject(new Sample("n", 24000, 3, 0.5f, [1, 2.5, double.NaN]));
        Assert.Equal("{\"Count\":3,\"Name\":\"n\",\"Ratio\":0.5,\"Score\":24000.0,\"Values\":[1.0,2.5,NaN]}", v.ToString());
    }

    [Fact]
    public void Equality_is_structural_and_kind_sensitive()
    {
        Assert.Equal(CanonicalJson.Parse("{\"a\":[1,2.0]}"), CanonicalJson.Parse("{ \"a\" : [1, 2e0] }"));
        Assert.NotEqual(CanonicalJson.Parse("1"), CanonicalJson.Parse("1.0"));
        Assert.NotEqual(CanonicalJson.Parse("0.0"), CanonicalJson.Parse("-0.0"));
    }

    [Fact]
    public void Every_bmp_character_escapes_like_python_rules()
    {
        // Rule check over the whole BMP: printable ASCII except quote and backslash is literal, the rest escaped.
        for (var c = 0; c <= 0xFFFF; c++)
        {
            var got = CanonicalJson.SerializeToString(new JsonString(((char)c).ToString()));
            var want = c switch
            {
                '"' => "\"\\\"\"",
                '\\' => "\"\\\\\"",
                '\n' => "\"\\n\"",
                '\r' => "\"\\r\"",
                '\t' => "\"\\t\"",
                '\b' => "\"\\b\"",
                '\f' => "\"\\f\"",
                >= 0x20 and < 0x7F => $"\"{(char)c}\"",
                _ => $"\"\\u{c:x4}\"",
            };
            if (got != want) Assert.Fail($"U+{c:X4}: expected {want}, got {got}");
        }
    }
}

public class JsonInteropTests
{
    [Fact]
    public void Lone_surrogates_survive_conversion_from_system_text_json()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("{\"\\ud800\":[\"\\udfff\",1.5],\"a\":\"\\ud800\"}");
        Assert.Equal("{\"a\":\"\\ud800\",\"\\ud800\":[\"\\udfff\",1.5]}", CanonicalJson.FromElement(doc.RootElement).ToString());
    }

    [Fact]
    public void Cid_of_value_equals_cid_of_its_canonical_bytes()
    {
        var v = CanonicalJson.Parse("{\"b\":[1,2.0,\"\\u00e9\"],\"a\":null}");
        Assert.Equal(Cid.Of(CanonicalJson.Serialize(v)), Cid.Of(v));
    }

    [Fact]
    public void Concurrent_serialization_gives_identical_bytes()
    {
        var v = CanonicalJson.Parse("{\"k\":[" + string.Join(",", Enumerable.Range(0, 500)) + "],\"f\":0.1}");
        var want = CanonicalJson.Serialize(v);
        var results = new byte[64][];
        Parallel.For(0, results.Length, i => results[i] = CanonicalJson.Serialize(v));
        Assert.All(results, r => Assert.Equal(want, r));
    }
}

public class JsonLongStringTests
{
    [Fact]
    public void Long_string_spanning_several_chunks_is_escaped_throughout()
    {
        var s = string.Concat(Enumerable.Repeat("a\u00e9\"\U0001F680", 5000));
        var want = "\"" + string.Concat(Enumerable.Repeat("a\\u00e9\\\"\\ud83d\\ude80", 5000)) + "\"";
        Assert.Equal(want, CanonicalJson.SerializeToString(new JsonString(s)));
    }
}

public class JsonObjectCacheTests
{
    [Fact]
    public void Changing_an_object_after_writing_it_changes_the_next_output()
    {
        var o = new JsonObject { ["b"] = 1, ["a"] = 2 };
        Assert.Equal("{\"a\":2,\"b\":1}", o.ToString());
        o["a"] = 3.0;
        Assert.Equal("{\"a\":3.0,\"b\":1}", o.ToString());
        o["0"] = null!;
        Assert.Equal("{\"0\":null,\"a\":3.0,\"b\":1}", o.ToString());
        o.Remove("a");
        Assert.Equal("{\"0\":null,\"b\":1}", o.ToString());
    }
}
