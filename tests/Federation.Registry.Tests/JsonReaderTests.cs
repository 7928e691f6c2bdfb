using System.Numerics;
using System.Text;
using Federation.Registry.Json;

namespace Federation.Registry.Tests;

public class JsonReaderTests
{
    [Fact]
    public void Numbers_keep_their_int_or_float_kind()
    {
        var v = CanonicalJson.Parse("[1, 1.0, 1e0, -0, -0.0, 12345678901234567890123]").AsArray();
        Assert.Equal(JsonKind.Int, v[0].Kind);
        Assert.Equal(JsonKind.Float, v[1].Kind);
        Assert.Equal(JsonKind.Float, v[2].Kind);
        Assert.Equal(BigInteger.Zero, v[3].AsBigInteger());
        Assert.True(double.IsNegative(v[4].AsDouble()));
        Assert.Equal(BigInteger.Parse("12345678901234567890123"), v[5].AsBigInteger());
    }

    [Fact]
    public void Huge_float_literal_is_infinity()
    {
        Assert.Equal(double.PositiveInfinity, CanonicalJson.Parse("1E400").AsDouble());
        Assert.Equal("[-Infinity,NaN]", CanonicalJson.Parse("[-1e999, NaN]").ToString());
    }

    [Fact]
    public void Error_reports_line_column_and_what_was_found()
    {
        var e = Assert.Throws<JsonParseException>(() => CanonicalJson.Parse("{\n  \"a\": 1,\n  \"b\" 2\n}"));
        Assert.Equal(3, e.Line);
        Assert.Equal(7, e.Column);
        Assert.Contains("expected ':'", e.Message, StringComparison.Ordinal);
        Assert.Contains("found '2'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_rejected_with_its_byte_offset()
    {
        var e = Assert.Throws<JsonParseException>(() => CanonicalJson.Parse(new byte[] { (byte)'"', (byte)'a', 0xC3, 0x28, (byte)'"' }));
        Assert.Equal(2, e.Offset);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Utf8_encoded_lone_surrogate_is_accepted_like_python_surrogatepass()
    {
        // json.loads(b'"\xed\xa0\x80"') == '\ud800' in Python 3.11.
        Assert.Equal("\"\\ud800\"", CanonicalJson.Parse(new byte[] { (byte)'"', 0xED, 0xA0, 0x80, (byte)'"' }).ToString());
        var e = Assert.Throws<JsonParseException>(() => CanonicalJson.Parse(new byte[] { (byte)'"', 0xED, 0xA0, (byte)'"' }));
        Assert.Equal(1, e.Offset);
    }

    [Fact]
    public void Utf8_byte_order_mark_is_skipped_for_bytes()
    {
        Assert.Equal("{}", CanonicalJson.Parse(Encoding.UTF8.GetPreamble().Concat("{}"u8.ToArray()).ToArray()).ToString());
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_an_error_not_a_crash()
    {
        var deep = new string('[', CanonicalJson.MaxDepth + 1) + new string(']', CanonicalJson.MaxDepth + 1);
        var e = Assert.Throws<JsonParseException>(() => CanonicalJson.Parse(deep));
        Assert.Contains("nested deeper", e.Message, StringComparison.Ordinal);
        var ok = new string('[', CanonicalJson.MaxDepth) + new string(']', CanonicalJson.MaxDepth);
        Assert.Equal(ok, CanonicalJson.Parse(ok).ToString());
    }

    [Fact]
    public void Integer_over_4300_digits_is_refused_like_python()
    {
        var e = Assert.Throws<JsonParseException>(() => CanonicalJson.Parse(new string('7', 4301)));
        Assert.Contains("4300", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_key_keeps_last_value_and_first_position()
    {
        var o = CanonicalJson.Parse("{\"a\":1,\"b\":2,\"a\":3}").AsObject();
        Assert.Equal(2, o.Count);
        Assert.Equal(3, o["a"].AsInt64());
        Assert.Equal(["a", "b"], o.Keys);
    }

    [Fact]
    public void Surrogate_pair_escapes_combine_and_lone_ones_stay()
    {
        Assert.Equal("\U0001F680", CanonicalJson.Parse("\"\\ud83d\\ude80\"").AsString());
        Assert.Equal("\ud800", CanonicalJson.Parse("\"\\ud800\"").AsString());
    }
}
