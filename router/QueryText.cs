using System.Globalization;
using System.Text;

namespace Federation.Router;

/// <summary>A word in normalised text: [<see cref="Start"/>, <see cref="Start"/>+<see cref="Length"/>).</summary>
public readonly record struct WordSpan(int Start, int Length);

/// <summary>
/// Query normalisation shared by the classifier and the policy loader (so rule patterns and queries meet in the same form):
/// truncate to a character budget, Unicode NFKC (frozen tables, see <c>Unicode/Nfkc.cs</c>), invariant lower case, whitespace runs collapsed to one space and trimmed.
/// Words are maximal runs of letters, digits, combining marks and '_'. Pure and culture-independent.
/// </summary>
public static class QueryText
{
    /// <summary>Normalises <paramref name="text"/>, first cutting it to <paramref name="maxChars"/> UTF-16 code units (never inside a surrogate pair).</summary>
    public static string Normalize(string text, int maxChars = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > maxChars)
        {
            int cut = maxChars;
            if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--;
            text = text[..cut];
        }
        if (!Ascii.IsValid(text))
            text = Unicode.Nfkc.Normalize(text);

        // One pass: lower-case, collapse whitespace, trim.
        var sb = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (var ch in text)
        {
            if (char.IsWhiteSpace(ch))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace) { sb.Append(' '); pendingSpace = false; }
            sb.Append(char.ToLowerInvariant(ch));
        }
        return sb.ToString();
    }

    /// <summary>Appends the words of already-normalised <paramref name="normalized"/> to <paramref name="words"/>.</summary>
    public static void Tokenize(ReadOnlySpan<char> normalized, List<WordSpan> words)
    {
        int i = 0;
        while (i < normalized.Length)
        {
            int w = WordCharWidth(normalized, i);
            if (w == 0) { i += i + 1 < normalized.Length && char.IsSurrogatePair(normalized[i], normalized[i + 1]) ? 2 : 1; continue; }
            int start = i;
            while (i < normalized.Length && (w = WordCharWidth(normalized, i)) > 0) i += w;
            words.Add(new WordSpan(start, i - start));
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
