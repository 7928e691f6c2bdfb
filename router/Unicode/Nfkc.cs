using System.Text;

namespace Federation.Router.Unicode;

/// <summary>
/// Unicode NFKC (UAX #15: compatibility decomposition, canonical ordering, canonical composition) over frozen tables
/// generated from one Unicode version (<see cref="UnicodeVersion"/>). Why not <see cref="string.Normalize(NormalizationForm)"/>:
/// the node runs with InvariantGlobalization (no ICU), where it does not normalise non-ASCII text, and ICU's Unicode
/// version differs between machines — routing must not. Lone surrogates pass through unchanged.
/// </summary>
internal static partial class Nfkc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>The NFKC form of <paramref name="s"/>; ASCII text is returned as is.</summary>
    public static string Normalize(string s)
    {
        if (Ascii.IsValid(s)) return s;
        var cps = new List<int>(s.Length + 8);
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                cp = char.ConvertToUtf32(s[i], s[++i]);
            Decompose(cp, cps);
        }
        Reorder(cps);
        Compose(cps);
        var sb = new StringBuilder(cps.Count);
        foreach (var cp in cps)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    private static void Decompose(int cp, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int si = cp - SBase;
            into.Add(LBase + si / NCount);
            into.Add(VBase + si % NCount / TCount);
            if (si % TCount != 0) into.Add(TBase + si % TCount);
            return;
        }
        int k = cp < 0xA0 ? -1 : Array.BinarySearch(DecompositionKeys, cp);
        if (k < 0) { into.Add(cp); return; }
        for (int j = DecompositionOffsets[k]; j < DecompositionOffsets[k + 1]; j++) into.Add(DecompositionData[j]);
    }

    /// <summary>Canonical combining class (0 for starters).</summary>
    public static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        int k = Array.BinarySearch(CombiningClassKeys, cp);
        return k < 0 ? 0 : CombiningClassValues[k];
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    private static void Reorder(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int c = CombiningClass(cps[i]);
            if (c == 0) continue;
            int j = i;
            while (j > 0)
            {
                int prev = CombiningClass(cps[j - 1]);
                if (prev <= c) break;
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0) return;
        int starterPos = CombiningClass(cps[0]) == 0 ? 0 : -1;
        int lastClass = starterPos == 0 ? 0 : 256;
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int ch = cps[read];
            int chClass = CombiningClass(ch);
            if (starterPos >= 0 && (lastClass < chClass || lastClass == 0) && TryCompose(cps[starterPos], ch, out var composite))
            {
                cps[starterPos] = composite;
                continue;
            }
            if (chClass == 0) starterPos = write;
            lastClass = chClass;
            cps[write++] = ch;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int a, int b, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        int k = Array.BinarySearch(CompositionKeys, ((long)a << 21) | (uint)b);
        composite = k < 0 ? 0 : CompositionValues[k];
        return k >= 0;
    }
}
