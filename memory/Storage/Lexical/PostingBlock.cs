namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// One posting of the lexical index: a live fragment (row id) that contains a term, how often (tf), the fragment's
/// BM25 length (word count + 1, as FTS5 counts it) and its namespace id. Length and namespace travel in every posting so
/// a block scores and filters on its own, with no row lookups.
/// </summary>
internal readonly record struct Posting(long Doc, int Tf, int Dl, int Ns);

/// <summary>
/// The encoding of one stored posting row (one term's postings of one segment, in doc order): per posting the unsigned
/// LEB128 varints <c>doc − previous doc (the key for the first)</c>, <c>tf</c>, <c>dl</c>, <c>ns</c> — about 4–5 bytes
/// a posting. Both stores write rows with key 0.
/// </summary>
internal static class PostingBlock
{
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

    private static int Put(Span<byte> b, int o, ulong v)
    {
        while (v >= 0x80) { b[o++] = (byte)(v | 0x80); v >>= 7; }
        b[o++] = (byte)v;
        return o;
    }

    internal static ulong Get(ReadOnlySpan<byte> b, ref int o)
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
/// A term's whole posting list as it is stored: the encoded rows (<see cref="PostingBlock"/> bytes, kept as read) cut into
/// blocks of at most <see cref="BlockSize"/> postings, each block findable on its own (row, byte offset, doc before it)
/// with its last doc; a query decodes only the blocks it visits (<see cref="PostingCursor"/>). Kept encoded because on
/// these machines a freshly touched page costs ~13 µs (measured: 20 MB of new arrays 66 ms on first write, 1 ms on the
/// second), and the bytes are ~4.5 per posting where decoded arrays were 20: first use of a 941k-posting list fell from
/// ~65 ms of page faults. Per block also the bounds MaxScore needs (largest share for one avgdl).
/// </summary>
internal sealed class TermPostings
{
    /// <summary>The most postings in a block (rows are cut in blocks of this many; a row's last block may be shorter).</summary>
    public const int BlockSize = 64;

    private readonly List<byte[]> _rows = [];
    private long _rowBytes;
    /// <summary>Postings in the list.</summary>
    public int Count { get; private set; }
    /// <summary>The largest tf and the largest and smallest lengths in the list.</summary>
    public int MaxTf, MaxDl, MinDl = int.MaxValue;
    /// <summary>Number of blocks.</summary>
    public int Blocks { get; private set; }
    /// <summary>Per block: its last doc.</summary>
    public long[] BlockLast = [];
    private int[] _blockRow = [], _blockOffset = [], _blockCount = [];
    private long[] _blockBase = [];

    /// <summary>Adds one stored row (a <see cref="PostingBlock"/> blob; its first delta counts from 0). Rows are taken in
    /// doc order; <see cref="Finish"/> checks that.</summary>
    public void AddRow(byte[] data)
    {
        _rows.Add(data);
        _rowBytes += data.Length;
    }

    /// <summary>
    /// Cuts the rows into blocks and takes the statistics, in one pass. Postings must come in strictly increasing doc
    /// order across rows; when they do not and <paramref name="sortIfNeeded"/> (segments of concurrent writers may
    /// interleave their ids), the list is decoded, sorted and encoded again as one row; otherwise, or when a doc repeats,
    /// the store is corrupt.
    /// </summary>
    public void Finish(bool sortIfNeeded)
    {
        if (Index()) return;
        if (sortIfNeeded)
        {
            var all = new List<Posting>(Count);
            foreach (var row in _rows) PostingBlock.Decode(0, row, all);
            all.Sort((a, b) => a.Doc.CompareTo(b.Doc));
            _rows.Clear();
            _rowBytes = 0;
            AddRow(PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(all)));
            if (Index()) return; // still out of order after sorting: a doc repeats
        }
        throw new InvalidDataException("a lexical posting list is out of order: the store is corrupt; rebuild it (fed memory export, then import).");
    }

    /// <summary>Throws when the list does not hold exactly <paramref name="df"/> postings (the stored statistics and rows
    /// disagree: the store is corrupt); <paramref name="where"/> names the store in the message.</summary>
    public void CheckCount(string word, long df, string? where)
    {
        if (Count != df)
            throw new InvalidDataException($"{(where is null ? "" : where + ": ")}the word '{word}' has {Count} postings but a document frequency of {df}: the store is corrupt; rebuild it (fed memory export, then import).");
    }

    private bool Index()
    {
        int cap = 0;
        foreach (var row in _rows) cap += row.Length / 4 / BlockSize + 2; // ≥ 4 bytes a posting, so at most this many blocks
        var last = new long[cap]; var rowOf = new int[cap]; var off = new int[cap]; var cnt = new int[cap]; var bas = new long[cap];
        int b = 0, count = 0, maxTf = 0, maxDl = 0, minDl = int.MaxValue;
        long prev = long.MinValue;
        bool ordered = true;
        for (int r = 0; r < _rows.Count; r++)
        {
            var data = _rows[r];
            int o = 0;
            long doc = 0;
            while (o < data.Length)
            {
                if (b == last.Length)
                {
                    int n = last.Length * 2 + 4;
                    Array.Resize(ref last, n); Array.Resize(ref rowOf, n); Array.Resize(ref off, n); Array.Resize(ref cnt, n); Array.Resize(ref bas, n);
                }
                rowOf[b] = r; off[b] = o; bas[b] = doc;
                int k = 0;
                while (k < BlockSize && o < data.Length)
                {
                    doc += (long)PostingBlock.Get(data, ref o);
                    int tf = (int)PostingBlock.Get(data, ref o), dl = (int)PostingBlock.Get(data, ref o);
                    PostingBlock.Get(data, ref o);
                    if (doc <= prev) ordered = false;
                    prev = doc;
                    if (tf > maxTf) maxTf = tf;
                    if (dl > maxDl) maxDl = dl;
                    if (dl < minDl) minDl = dl;
                    k++;
                }
                cnt[b] = k; last[b] = doc; count += k; b++;
            }
        }
        BlockLast = last; _blockRow = rowOf; _blockOffset = off; _blockCount = cnt; _blockBase = bas;
        Blocks = b; Count = count; MaxTf = maxTf; MaxDl = maxDl; MinDl = minDl;
        _bound = null;
        return ordered;
    }

    /// <summary>Decodes block <paramref name="b"/> into the arrays (each at least <see cref="BlockSize"/> long); returns its postings.</summary>
    public int DecodeBlock(int b, long[] docs, int[] tf, int[] dl, int[] ns)
    {
        var data = _rows[_blockRow[b]];
        int o = _blockOffset[b], n = _blockCount[b];
        long doc = _blockBase[b];
        for (int k = 0; k < n; k++)
        {
            doc += (long)PostingBlock.Get(data, ref o);
            docs[k] = doc;
            tf[k] = (int)PostingBlock.Get(data, ref o);
            dl[k] = (int)PostingBlock.Get(data, ref o);
            ns[k] = (int)PostingBlock.Get(data, ref o);
        }
        return n;
    }

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
        var blocks = new double[Blocks];
        var d = new long[BlockSize]; var tf = new int[BlockSize]; var dl = new int[BlockSize]; var ns = new int[BlockSize];
        for (int blk = 0; blk < blocks.Length; blk++)
        {
            int n = DecodeBlock(blk, d, tf, dl, ns);
            double bm = 0;
            for (int i = 0; i < n; i++)
            {
                double f = tf[i];
                double part = (f * (Bm25TopK.K1 + 1.0)) / (f + ktab[dl[i]]);
                if (part > bm) bm = part;
            }
            blocks[blk] = bm;
            if (bm > best) best = bm;
        }
        var nb = new Bound(avgdl, best, blocks);
        _bound = nb;
        return nb;
    }

    /// <summary>Bytes held (for the cache bound).</summary>
    public long Bytes => _rowBytes + (long)_rows.Count * 24 + (long)BlockLast.Length * 40;
}

/// <summary>
/// One search's position in a <see cref="TermPostings"/>: the current block decoded into small arrays, the current
/// posting, and seeking that passes over whole blocks by their last docs without decoding them. <see cref="Doc"/> is
/// <see cref="long.MaxValue"/> once the list is exhausted.
/// </summary>
internal sealed class PostingCursor
{
    private readonly TermPostings _l;
    private readonly long[] _d = new long[TermPostings.BlockSize];
    private readonly int[] _tf = new int[TermPostings.BlockSize], _dl = new int[TermPostings.BlockSize], _ns = new int[TermPostings.BlockSize];
    private int _i, _n;

    /// <summary>The block the cursor is in (the last one once exhausted).</summary>
    public int Block { get; private set; }
    /// <summary>The current posting's doc; <see cref="long.MaxValue"/> when exhausted.</summary>
    public long Doc { get; private set; } = long.MaxValue;
    public int Tf => _tf[_i];
    public int Dl => _dl[_i];
    public int Ns => _ns[_i];
    public TermPostings List => _l;

    public PostingCursor(TermPostings list)
    {
        _l = list;
        if (list.Blocks > 0) Load(0);
    }

    private void Load(int b)
    {
        Block = b;
        _n = _l.DecodeBlock(b, _d, _tf, _dl, _ns);
        _i = 0;
        Doc = _d[0];
    }

    /// <summary>To the next posting.</summary>
    public void Next()
    {
        if (Doc == long.MaxValue) return;
        if (++_i < _n) Doc = _d[_i];
        else if (Block + 1 < _l.Blocks) Load(Block + 1);
        else { _i = _n - 1; Doc = long.MaxValue; }
    }

    /// <summary>To the first posting whose doc is ≥ <paramref name="doc"/> (blocks ending before it are not decoded).</summary>
    public void SeekTo(long doc)
    {
        if (Doc >= doc) return;
        var last = _l.BlockLast;
        if (doc > last[Block])
        {
            // galloping over the blocks' last docs, then binary search: the first block ending at or after doc
            int from = Block + 1, n = _l.Blocks;
            if (from >= n || last[n - 1] < doc) { _i = _n - 1; Doc = long.MaxValue; return; }
            int step = 1, lo = Block, hi = from;
            while (hi < n && last[hi] < doc) { lo = hi; step <<= 1; hi = from + step; }
            if (hi > n - 1) hi = n - 1;
            int a = lo + 1, bb = hi; // last[lo] < doc ≤ last[hi]
            while (a < bb)
            {
                int mid = (a + bb) >>> 1;
                if (last[mid] < doc) a = mid + 1; else bb = mid;
            }
            Load(a);
        }
        while (_d[_i] < doc) _i++;
        Doc = _d[_i];
    }
}
