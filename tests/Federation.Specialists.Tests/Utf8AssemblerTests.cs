using System.Text;
using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

public class Utf8AssemblerTests
{
    private static string Feed(params byte[][] pieces)
    {
        var a = new Utf8Assembler();
        var sb = new StringBuilder();
        foreach (var p in pieces) sb.Append(a.Append(p));
        return sb.Append(a.Flush()).ToString();
    }

    [Fact]
    public void Multibyte_character_split_across_pieces_is_held_back_then_emitted_whole()
    {
        var euro = "€"u8.ToArray(); // E2 82 AC
        var a = new Utf8Assembler();
        Assert.Equal("", a.Append(euro.AsSpan(0, 1)));
        Assert.Equal(1, a.PendingBytes);
        Assert.Equal("", a.Append(euro.AsSpan(1, 1)));
        Assert.Equal("€x", a.Append([euro[2], (byte)'x']));
        Assert.Equal(0, a.PendingBytes);
    }

    [Fact]
    public void Four_byte_character_split_byte_by_byte_becomes_one_surrogate_pair()
    {
        var emoji = "😀"u8.ToArray();
        var a = new Utf8Assembler();
        var outputs = emoji.Select(b => a.Append([b])).ToList();
        Assert.Equal(["", "", "", "😀"], outputs);
    }

    [Fact]
    public void Invalid_bytes_become_replacement_characters()
    {
        Assert.Equal("\uFFFDa", Feed([0x80], [(byte)'a']));          // lone continuation byte
        Assert.Equal("\uFFFD\uFFFD", Feed([0xC0, 0xAF]));            // overlong lead
        Assert.Equal("\uFFFDA", Feed([0xF0, 0x90], [(byte)'A']));    // truncated 4-byte sequence interrupted
        Assert.Equal("\uFFFD\uFFFD\uFFFD", Feed([0xED, 0xA0, 0x80])); // encoded surrogate
        Assert.Equal("\uFFFD", Feed([0xFF]));
    }

    [Fact]
    public void Incomplete_sequence_at_the_end_becomes_one_replacement_character()
    {
        Assert.Equal("ok\uFFFD", Feed("ok"u8.ToArray(), [0xE2, 0x82]));
    }

    [Fact]
    public void Any_split_of_random_bytes_equals_decoding_all_bytes_at_once()
    {
        var rng = new Random(7);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = new byte[rng.Next(0, 40)];
            rng.NextBytes(bytes);
            // Bias towards UTF-8-looking data: sprinkle valid characters in.
            if (round % 2 == 0)
                bytes = [.. bytes.Take(bytes.Length / 2), .. Encoding.UTF8.GetBytes("é€😀ø"), .. bytes.Skip(bytes.Length / 2)];
            var pieces = new List<byte[]>();
            for (var i = 0; i < bytes.Length;)
            {
                var n = Math.Min(bytes.Length - i, rng.Next(1, 5));
                pieces.Add(bytes[i..(i + n)]);
                i += n;
            }
            var a = new Utf8Assembler();
            var parts = pieces.Select(p => a.Append(p)).ToList();
            parts.Add(a.Flush());
            Assert.Equal(Encoding.UTF8.GetString(bytes), string.Concat(parts));
            foreach (var part in parts)
            {
                // No part ends in a high surrogate or starts with a low surrogate: every part is valid UTF-16 alone.
                Assert.True(part.Length == 0 || !char.IsHighSurrogate(part[^1]), $"round {round}: split surrogate");
                Assert.True(part.Length == 0 || !char.IsLowSurrogate(part[0]), $"round {round}: split surrogate");
            }
        }
    }
}
