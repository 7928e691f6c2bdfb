using System.Globalization;
using System.Text;
using Federation.Router.Unicode;

namespace Federation.Router;

/// <summary>A word in normalised text: [<see cref="Start"/>, <see cref="Start"/>+<see cref="Length"/>).</summary>
public readonly record struct WordSpan(int Start, int Length);

/// <summary>
/// Query normalisation shared by the classifier and the policy loader (so rule patterns and queries meet in the same form).
/// In order: default-ignorable code points removed (zero-width characters, soft hyphen, bidi controls, variation
/// selectors, tag characters: Unicode Default_Ignorable_Code_Point); compatibility decomposition (NFKD, frozen tables,
/// see <c>Unicode/Nfkc.cs</c>); confusable letters folded to a lower-case UTS #39 skeleton and everything else lower-cased
/// (<c>Unicode/SecurityFold.cs</c>); canonical composition (so the result is NFKC of the folded text); whitespace runs
/// collapsed to one space and trimmed. ASCII text only gets the last two steps and lower case.
/// Words are maximal runs of letters, digits, combining marks and '_'. Pure and culture-independent.
/// </summary>
public static class QueryText
{
    /// <summary>Normalises <paramref name="text"/>, first cutting it to <paramref name="maxChars"/> UTF-16 code units (never inside a surrogate pair).</summary>
    public static string Normalize(string text, int maxChars = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buf = NormalizedBuffer.Rent();
        buf.AppendSegment(text.AsSpan(0, CutLength(text, maxChars)));
        var result = new string(buf.Chars, 0, buf.Length);
        NormalizedBuffer.Return(buf);
        return result;
    }

    /// <summary>The length of the longest prefix of <paramref name="text"/> of at most <paramref name="maxChars"/> code units that does not end inside a surrogate pair.</summary>
    public static int CutLength(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= maxChars) return text.Length;
        int cut = Math.Max(0, maxChars);
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--;
        return cut;
    }

    /// <summary>Appends the words of already-normalised <paramref name="normalized"/> to <paramref name="words"/>.</summary>
    public static void Tokenize(ReadOnlySpan<char> normalized, List<WordSpan> words) => Tokenize(normalized, 0, words);

    /// <summary>Appends the words of <paramref name="normalized"/>, with <paramref name="offset"/> added to each start.</summary>
    internal static void Tokenize(ReadOnlySpan<char> normalized, int offset, List<WordSpan> words)
    {
        int i = 0;
        while (i < normalized.Length)
        {
            int w = WordCharWidth(normalized, i);
            if (w == 0) { i += i + 1 < normalized.Length && char.IsSurrogatePair(normalized[i], normalized[i + 1]) ? 2 : 1; continue; }
            int start = i;
            while (i < normalized.Length && (w = WordCharWidth(normalized, i)) > 0) i += w;
            words.Add(new WordSpan(offset + start, i - start));
        }
    }

    /// <summary>The words of already-normalised text as strings (used for rule patterns).</summary>
    public static IReadOnlyList<string> Words(string normalized)
    {
        var spans = new List<WordSpan>();
        Tokenize(normalized, spans);
        return spans.Select(s => normalized.Substring(s.Start, s.Length)).ToArray();
    }

    // 0 when the char at i does not belong to a word, else its UTF-16 width (1, or 2 for a surrogate pair).
    private static int WordCharWidth(ReadOnlySpan<char> s, int i)
    {
        char c = s[i];
        if (c < 128)
            return (c is >= 'a' and <= 'z') || (c is >= '0' and <= '9') || c == '_' || (c is >= 'A' and <= 'Z') ? 1 : 0;
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            return IsWordCategory(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, s[i + 1]))) ? 2 : 0;
        return IsWordCategory(CharUnicodeInfo.GetUnicodeCategory(c)) ? 1 : 0;
    }

    private static bool IsWordCategory(UnicodeCategory cat) => cat switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or
        UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark or
        UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or
        UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => false,
    };
}

/// <summary>
/// Normalised text under construction, with an origin map: output char j came from original UTF-16 range
/// [<see cref="Starts"/>[j], <see cref="Ends"/>[j]) of the segment it belongs to (so a trace can show the original span
/// that matched). One instance is cached per thread so classification does not allocate these buffers.
/// </summary>
internal sealed class NormalizedBuffer
{
    public char[] Chars = new char[512];
    public int[] Starts = new int[512];
    public int[] Ends = new int[512];
    public int Length;
    private readonly List<MappedCodePoint> _decomposed = new(64);
    private readonly List<MappedCodePoint> _folded = new(64);

    [ThreadStatic] private static NormalizedBuffer? t_cached;

    public static NormalizedBuffer Rent()
    {
        var b = t_cached ?? new NormalizedBuffer();
        t_cached = null;
        b.Length = 0;
        return b;
    }

    public static void Return(NormalizedBuffer b)
    {
        if (b.Chars.Length <= 1 << 20) t_cached = b;
    }

    public void Append(char c, int start, int end)
    {
        if (Length == Chars.Length)
        {
            int n = Chars.Length * 2;
            Array.Resize(ref Chars, n);
            Array.Resize(ref Starts, n);
            Array.Resize(ref Ends, n);
        }
        Chars[Length] = c;
        Starts[Length] = start;
        Ends[Length] = end;
        Length++;
    }

    /// <summary>Appends the normal form of <paramref name="text"/> (origins are indexes into <paramref name="text"/>).</summary>
    public void AppendSegment(ReadOnlySpan<char> text)
    {
        int segStart = Length;
        bool pendingSpace = false;
        int wsStart = 0, wsEnd = 0;
        if (Ascii.IsValid(text))
        {
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (char.IsWhiteSpace(c))
                {
                    if (!pendingSpace && Length > segStart) { pendingSpace = true; wsStart = i; wsEnd = i + 1; }
                    continue;
                }
                if (pendingSpace) { Append(' ', wsStart, wsEnd); pendingSpace = false; }
                Append(c is >= 'A' and <= 'Z' ? (char)(c + 32) : c, i, i + 1);
            }
            return;
        }

        // 1. Drop default-ignorables, decompose (NFKD). Lone surrogates pass through unchanged.
        var d = _decomposed;
        d.Clear();
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i], w = 1;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[i + 1]);
                w = 2;
            }
            if (!SecurityFold.IsIgnorable(cp)) Nfkc.DecomposeMapped(cp, i, i + w, d);
            i += w - 1;
        }

        // 2. Fold confusable letters to their skeleton, lower-case the rest (a decomposition may yield an ignorable too).
        var f = _folded;
        f.Clear();
        foreach (var e in d)
        {
            int cp = e.Cp;
            if (cp < 0x80) { f.Add(new(cp is >= 'A' and <= 'Z' ? cp + 32 : cp, e.Start, e.End)); continue; }
            if (cp is >= 0xD800 and <= 0xDFFF) { f.Add(e); continue; }
            if (SecurityFold.IsIgnorable(cp)) continue;
            var folded = SecurityFold.Fold(cp);
            if (folded.IsEmpty) f.Add(new(Rune.ToLowerInvariant(new Rune(cp)).Value, e.Start, e.End));
            else foreach (var x in folded) f.Add(new(x, e.Start, e.End));
        }

        // 3. Canonical order and composition; 4. whitespace collapsed; UTF-16 out with origins.
        Nfkc.ReorderAndComposeMapped(f);
        Span<char> pair = stackalloc char[2];
        foreach (var e in f)
        {
            int cp = e.Cp;
            bool surrogate = cp is >= 0xD800 and <= 0xDFFF;
            if (!surrogate && Rune.IsWhiteSpace(new Rune(cp)))
            {
                if (!pendingSpace && Length > segStart) { pendingSpace = true; wsStart = e.Start; wsEnd = e.End; }
                continue;
            }
            if (pendingSpace) { Append(' ', wsStart, wsEnd); pendingSpace = false; }
            if (surrogate || cp < 0x10000) Append((char)cp, e.Start, e.End);
            else
            {
                new Rune(cp).EncodeToUtf16(pair);
                Append(pair[0], e.Start, e.End);
                Append(pair[1], e.Start, e.End);
            }
        }
    }
}
