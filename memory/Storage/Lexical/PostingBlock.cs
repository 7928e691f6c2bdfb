namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// One posting of the lexical index: a live fragment (row id) that contains a term, how often (tf), the fragment's
/// BM25 length (word count + 1, as FTS5 counts it) and its namespace id. Length and namespace travel in every posting so
/// a block scores and filters on its own, with no row lookups.
/// </summary>
internal readonly record struct Posting(long Doc, int Tf, int Dl, int Ns);

/// <summary>
/// A block of at most <see cref="Capacity"/> postings of one term, in doc order, stored as one row
/// <c>(term, key, last_doc, n, data)</c>: <c>key</c> is at most the first doc and above the previous block's last doc
/// (it stays when the first posting is removed), <c>data</c> is per posting the unsigned LEB128 varints
/// <c>doc − previous doc (the key for the first)</c>, <c>tf</c>, <c>dl</c>, <c>ns</c> — about 4–5 bytes a posting.
/// </summary>
internal static class PostingBlock
{
    /// <summary>Postings per block: appends fill the term's last block up to this many, then start a new one.</summary>
    public const int Capacity = 128;

    public static byte[] Encode(long key, ReadOnlySpan<Posting> postings)
    {
        Span<byte> buf = postings.Length <= 256 ? stackalloc byte[postings.Length * 40] : new byte[postings.Length * 40];
        int o = 0;
        long prev = key;
        foreach (var p in postings)
        {
            if (p.Doc < prev) throw new InvalidOperationException($"postings out of order: {p.Doc} after {prev}");
            o = Put(buf, o, (ulong)(p.Doc - prev));
            o = Put(buf, o, (uint)p.Tf);
            o = Put(buf, o, (uint)p.Dl);
            o = Put(buf, o, (uint)p.Ns);
            prev = p.Doc;
        }
        return buf[..o].ToArray();
    }

    /// <summary>Appends the block's postings to <paramref name="into"/>.</summary>
    public static void Decode(long key, ReadOnlySpan<byte> data, List<Posting> into)
    {
        int o = 0;
        long doc = key;
        while (o < data.Length)
        {
            doc += (long)Get(data, ref o);
            int tf = (int)Get(data, ref o), dl = (int)Get(data, ref o), ns = (int)Get(data, ref o);
            into.Add(new Posting(doc, tf, dl, ns));
        }
    }

    /// <summary>Decodes straight into flat arrays at <paramref name="at"/>; returns the new end.</summary>
    public static int Decode(long key, ReadOnlySpan<byte> data, TermPostings into, int at)
    {
        int o = 0;
        long doc = key;
        var docs = into.Docs; var tfs = into.Tf; var dls = into.Dl; var nss = into.Ns;
        while (o < data.Length)
        {
            if (at == docs.Length) { into.Grow(); docs = into.Docs; tfs = into.Tf; dls = into.Dl; nss = into.Ns; }
            doc += (long)Get(data, ref o);
            docs[at] = doc;
            tfs[at] = (int)Get(data, ref o);
            dls[at] = (int)Get(data, ref o);
            nss[at] = (int)Get(data, ref o);
            at++;
        }
        return at;
    }

    private static int Put(Span<byte> b, int o, ulong v)
    {
        while (v >= 0x80) { b[o++] = (byte)(v | 0x80); v >>= 7; }
        b[o++] = (byte)v;
        return o;
    }

    private static ulong Get(ReadOnlySpan<byte> b, ref int o)
    {
        if (o >= b.Length) throw new InvalidDataException("a lexical index block is truncated: the store is corrupt; rebuild it (fed memory export, then import).");
        ulong v = b[o++];
        if (v < 0x80) return v;
        v &= 0x7f;
        int shift = 7;
        while (true)
        {
            if (o >= b.Length) throw new InvalidDataException("a lexical index block is truncated: the store is corrupt; rebuild it (fed memory export, then import).");
            ulong x = b[o++];
            v |= (x & 0x7f) << shift;
            if (x < 0x80) return v;
            shift += 7;
        }
    }
}

/// <summary>
/// A term's whole posting list decoded into flat arrays (doc order), with the bounds MaxScore needs: the list's largest
/// score share, and per block of <see cref="BlockSize"/> postings (by position) the block's last doc and its largest
/// share (block-max bounds, so a query skips whole blocks whose best posting cannot reach the current k-th score).
/// </summary>
internal sealed class TermPostings
{
    /// <summary>Postings per bound block (log2 in <see cref="BlockShift"/>).</summary>
    public const int BlockShift = 6, BlockSize = 1 << BlockShift;

    public long[] Docs = new long[16];
    public int[] Tf = new int[16], Dl = new int[16], Ns = new int[16];
    public int Count;
    /// <summary>The largest tf and the largest and smallest lengths in the list.</summary>
    public int MaxTf, MaxDl, MinDl = int.MaxValue;
    /// <summary>Per block of <see cref="BlockSize"/> postings: the doc of its last posting (set by <see cref="Finish"/>).</summary>
    public long[] BlockLast = [];

    /// <summary>The list's and each block's largest share for one avgdl.</summary>
    internal sealed record Bound(double Avgdl, double Part, double[] BlockMax);
    private Bound? _bound;

    /// <summary>
    /// The largest tf·(k1+1)/(tf + K(dl)) over the list (the term's score bound without idf) and over each block, for
    /// this avgdl; remembered for the last avgdl asked (lists are shared by concurrent searches: the record is swapped
    /// atomically). The shares are FTS5's expression, so idf × a block's share bounds every idf × share of that block
    /// (multiplication by a positive double is monotone under rounding).
    /// </summary>
    public Bound Bounds(double avgdl, double[] ktab)
    {
        if (_bound is { } b && b.Avgdl == avgdl) return b;
        double best = 0;
        var blocks = new double[BlockLast.Length];
        for (int blk = 0; blk < blocks.Length; blk++)
        {
            int from = blk << BlockShift, to = Math.Min(from + BlockSize, Count);
            double bm = 0;
            for (int i = from; i < to; i++)
            {
                double f = Tf[i];
                double part = (f * (Bm25TopK.K1 + 1.0)) / (f + ktab[Dl[i]]);
                if (part > bm) bm = part;
            }
            blocks[blk] = bm;
            if (bm > best) best = bm;
        }
        var nb = new Bound(avgdl, best, blocks);
        _bound = nb;
        return nb;
    }

    /// <summary>The largest share over the list for this avgdl (see <see cref="Bounds"/>).</summary>
    public double MaxPart(double avgdl, double[] ktab) => Bounds(avgdl, ktab).Part;

    public TermPostings(int capacity = 16)
    {
        capacity = Math.Max(capacity, 1);
        Docs = new long[capacity]; Tf = new int[capacity]; Dl = new int[capacity]; Ns = new int[capacity];
    }

    public void Grow()
    {
        int n = Docs.Length * 2;
        Array.Resize(ref Docs, n); Array.Resize(ref Tf, n); Array.Resize(ref Dl, n); Array.Resize(ref Ns, n);
    }

    /// <summary>Puts the first <see cref="Count"/> postings in doc order when they are not (lists put together from
    /// segments whose doc ranges interleave); a list already in order is left as it is.</summary>
    public void SortByDoc()
    {
        bool sorted = true;
        for (int i = 1; i < Count && sorted; i++) sorted = Docs[i] > Docs[i - 1];
        if (sorted) return;
        var perm = new int[Count];
        for (int i = 0; i < Count; i++) perm[i] = i;
        var keys = Docs.AsSpan(0, Count).ToArray();
        Array.Sort(keys, perm);
        var tf = new int[Docs.Length]; var dl = new int[Docs.Length]; var ns = new int[Docs.Length];
        for (int i = 0; i < Count; i++) { tf[i] = Tf[perm[i]]; dl[i] = Dl[perm[i]]; ns[i] = Ns[perm[i]]; }
        keys.CopyTo(Docs, 0);
        Tf = tf; Dl = dl; Ns = ns;
    }

    public void Finish()
    {
        for (int i = 0; i < Count; i++)
        {
            if (Tf[i] > MaxTf) MaxTf = Tf[i];
            if (Dl[i] < MinDl) MinDl = Dl[i];
            if (Dl[i] > MaxDl) MaxDl = Dl[i];
            if (i > 0 && Docs[i] <= Docs[i - 1]) throw new InvalidDataException("a lexical posting list is out of order: the store is corrupt; rebuild it (fed memory export, then import).");
        }
        BlockLast = new long[(Count + BlockSize - 1) >> BlockShift];
        for (int blk = 0; blk < BlockLast.Length; blk++) BlockLast[blk] = Docs[Math.Min((blk + 1) << BlockShift, Count) - 1];
        _bound = null;
    }

    /// <summary>Bytes held (for the cache bound).</summary>
    public long Bytes => (long)Docs.Length * 20 + (long)BlockLast.Length * 16;
}
