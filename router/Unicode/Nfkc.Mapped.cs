namespace Federation.Router.Unicode;

/// <summary>A code point with the UTF-16 range [<see cref="Start"/>, <see cref="End"/>) of the original text it came from.</summary>
internal struct MappedCodePoint(int cp, int start, int end)
{
    public int Cp = cp;
    public int Start = start;
    public int End = end;
}

internal static partial class Nfkc
{
    /// <summary>Appends the full compatibility decomposition of <paramref name="cp"/>, each part carrying the origin [start, end).</summary>
    public static void DecomposeMapped(int cp, int start, int end, List<MappedCodePoint> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int si = cp - SBase;
            into.Add(new(LBase + si / NCount, start, end));
            into.Add(new(VBase + si % NCount / TCount, start, end));
            if (si % TCount != 0) into.Add(new(TBase + si % TCount, start, end));
            return;
        }
        int k = cp < 0xA0 ? -1 : Array.BinarySearch(DecompositionKeys, cp);
        if (k < 0) { into.Add(new(cp, start, end)); return; }
        for (int j = DecompositionOffsets[k]; j < DecompositionOffsets[k + 1]; j++) into.Add(new(DecompositionData[j], start, end));
    }

    /// <summary>Canonical ordering then canonical composition (UAX #15) of a decomposed sequence; a composite's origin spans both parts.</summary>
    public static void ReorderAndComposeMapped(List<MappedCodePoint> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int c = CombiningClass(cps[i].Cp);
            if (c == 0) continue;
            for (int j = i; j > 0 && CombiningClass(cps[j - 1].Cp) > c; j--)
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
        }
        if (cps.Count == 0) return;
        int starterPos = CombiningClass(cps[0].Cp) == 0 ? 0 : -1;
        int lastClass = starterPos == 0 ? 0 : 256;
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            var ch = cps[read];
            int chClass = CombiningClass(ch.Cp);
            // The second part of every primary composite is U+0300 or above, so lower code points skip the table search.
            if (ch.Cp >= 0x300 && starterPos >= 0 && (lastClass < chClass || lastClass == 0) && TryCompose(cps[starterPos].Cp, ch.Cp, out var composite))
            {
                var s = cps[starterPos];
                cps[starterPos] = new(composite, Math.Min(s.Start, ch.Start), Math.Max(s.End, ch.End));
                continue;
            }
            if (chClass == 0) starterPos = write;
            lastClass = chClass;
            cps[write++] = ch;
        }
        cps.RemoveRange(write, cps.Count - write);
    }
}
