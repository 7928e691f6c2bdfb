using System.Text;

namespace Federation.Specialists.Engine;

/// <summary>
/// Turns a stream of byte pieces (token texts) into text. A multi-byte sequence split across pieces is held back until
/// complete; a sequence that is definitely invalid becomes U+FFFD (one per maximal invalid subpart, as
/// <see cref="Encoding.UTF8"/> does), so the concatenated output always equals decoding all bytes at once. Never throws,
/// never emits a lone surrogate.
/// </summary>
public sealed class Utf8Assembler
{
    private readonly byte[] _pending = new byte[4];
    private int _pendingCount;

    /// <summary>Bytes held back as the start of an incomplete sequence (0–3).</summary>
    public int PendingBytes => _pendingCount;

    /// <summary>Appends bytes; returns the text that is now complete.</summary>
    public string Append(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length + 2);
        foreach (var b in bytes) Push(b, sb);
        return sb.ToString();
    }

    /// <summary>Ends the stream: an incomplete trailing sequence becomes U+FFFD.</summary>
    public string Flush()
    {
        if (_pendingCount == 0) return "";
        _pendingCount = 0;
        return "\uFFFD";
    }

    private void Push(byte b, StringBuilder sb)
    {
        while (true)
        {
            if (_pendingCount == 0)
            {
                if (b < 0x80) { sb.Append((char)b); return; }
                if (Length(b) == 0) { sb.Append('\uFFFD'); return; }
                _pending[_pendingCount++] = b;
                return;
            }
            if (!ValidNext(b))
            {
                // The held bytes are a maximal subpart that cannot complete: one U+FFFD, then b starts afresh.
                _pendingCount = 0;
                sb.Append('\uFFFD');
                continue;
            }
            _pending[_pendingCount++] = b;
            if (_pendingCount < Length(_pending[0])) return;
            var cp = Decode();
            _pendingCount = 0;
            sb.Append(char.ConvertFromUtf32(cp));
            return;
        }
    }

    private static int Length(byte lead) => lead switch
    {
        >= 0xC2 and <= 0xDF => 2,
        >= 0xE0 and <= 0xEF => 3,
        >= 0xF0 and <= 0xF4 => 4,
        _ => 0,
    };

    private bool ValidNext(byte b)
    {
        if (_pendingCount == 1)
        {
            // Second-byte ranges exclude overlongs, surrogates (ED A0..BF) and code points above U+10FFFF.
            return _pending[0] switch
            {
                0xE0 => b is >= 0xA0 and <= 0xBF,
                0xED => b is >= 0x80 and <= 0x9F,
                0xF0 => b is >= 0x90 and <= 0xBF,
                0xF4 => b is >= 0x80 and <= 0x8F,
                _ => b is >= 0x80 and <= 0xBF,
            };
        }
        return b is >= 0x80 and <= 0xBF;
    }

    private int Decode() => _pendingCount switch
    {
        2 => ((_pending[0] & 0x1F) << 6) | (_pending[1] & 0x3F),
        3 => ((_pending[0] & 0x0F) << 12) | ((_pending[1] & 0x3F) << 6) | (_pending[2] & 0x3F),
        _ => ((_pending[0] & 0x07) << 18) | ((_pending[1] & 0x3F) << 12) | ((_pending[2] & 0x3F) << 6) | (_pending[3] & 0x3F),
    };
}
