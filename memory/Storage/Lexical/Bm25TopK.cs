namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// BM25 exactly as SQLite FTS5's <c>bm25()</c> computes it (fts5_aux.c, k1 = 1.2, b = 0.75), over this project's own
/// posting lists, with exact top-k dynamic pruning (MaxScore). The final score of every candidate is computed with
/// FTS5's expression, term by term in query order, so the values are the very doubles FTS5 gives (negated: higher is
/// better here); pruning only ever drops a document whose upper bound is strictly below the current k-th score, so the
/// list (ties included) is the list a full ranking gives.
/// </summary>
internal static class Bm25TopK
{
    public const double K1 = 1.2, B = 0.75;

    /// <summary>Candidates dropped by their bound before being fully scored, over the process (tests check pruning runs).</summary>
    internal static long Pruned;

    /// <summary>Block-max skips (runs of postings passed over unread because their block bounds are below the k-th score), over the process.</summary>
    internal static long BlocksSkipped;

    /// <summary>Candidates pruned plus block runs skipped by this thread's last <see cref="Run"/> (a store counts its pruned searches).</summary>
    [ThreadStatic] internal static long LastRunPruned;

    /// <summary>Block-max skipping on (default); the bench turns it off to compare (the lists are the same either way).</summary>
    internal static bool BlockMax = true;

    /// <summary>FTS5: idf = ln((N − n + 0.5)/(n + 0.5)), clamped to 1e-6 when not positive.</summary>
    public static double Idf(long docs, long df)
    {
        double idf = Math.Log((docs - df + 0.5) / (df + 0.5));
        return idf <= 0.0 ? 1e-6 : idf;
    }

    /// <summary>One term's share of a row's score, FTS5's expression operation for operation.</summary>
    public static double Part(double idf, int tf, int dl, double avgdl)
    {
        double f = tf, d = dl;
        return idf * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + B * d / avgdl)));
    }

    /// <summary>
    /// The best documents of the allowed namespaces by BM25 over <paramref name="terms"/> (query order): every document
    /// whose score is at least the <paramref name="depth"/>-th best (so ties across the cut are all there; the caller
    /// orders them by CID). <paramref name="avgdl"/> is FTS5's: all tokens / N. <paramref name="nsAllowed"/> is indexed
    /// by namespace id.
    /// </summary>
    public static List<(long Doc, double Score)> Run(IReadOnlyList<(double Idf, TermPostings List)> terms, bool[] nsAllowed, double avgdl, int depth)
    {
        int m = terms.Count;
        LastRunPruned = 0;
        var result = new List<(long, double)>();
        if (m == 0 || depth <= 0) return result;
        // K(dl) = k1·(1 − b + b·dl/avgdl), FTS5's expression, tabulated per length (the same doubles as computing it each time)
        int maxDl = 0;
        for (int i = 0; i < m; i++) maxDl = Math.Max(maxDl, terms[i].List.MaxDl);
        var ktab = new double[maxDl + 1];
        for (int d = 0; d <= maxDl; d++) ktab[d] = K1 * (1 - B + B * (double)d / avgdl);
        var ub = new double[m];
        var idf = new double[m];
        var cur = new PostingCursor[m];
        var bmax = new double[m][];
        for (int i = 0; i < m; i++)
        {
            var list = terms[i].List;
            cur[i] = new PostingCursor(list);
            idf[i] = terms[i].Idf;
            var bound = list.Bounds(avgdl, ktab);
            ub[i] = idf[i] * bound.Part;
            bmax[i] = bound.BlockMax;
        }
        // order: terms by upper bound ascending; prefix[r] = Σ ub of order[0..r]
        var order = Enumerable.Range(0, m).OrderBy(i => ub[i]).ThenBy(i => i).ToArray();
        var prefix = new double[m];
        for (int r = 0; r < m; r++) prefix[r] = (r > 0 ? prefix[r - 1] : 0) + ub[order[r]];
        var tf = new int[m];
        var heap = new PriorityQueue<long, double>(depth + 1);
        var ties = new List<(long Doc, double Score)>();
        double theta = double.NegativeInfinity, cut = double.NegativeInfinity;
        int firstEssential = 0;
        long prunedHere = 0, skippedHere = 0;
        long checkedUpTo = -1; // docs up to here were last found not skippable by block bounds
        const double Slack = 1e-9; // bounds and scores are summed in different orders; never prune what rounding could let in

        while (true)
        {
            // the next candidate: the smallest doc among the essential lists
            long doc = long.MaxValue;
            for (int r = firstEssential; r < m; r++)
                if (cur[order[r]].Doc < doc) doc = cur[order[r]].Doc;
            if (doc == long.MaxValue) break;
            if (doc > checkedUpTo && cut > double.NegativeInfinity && BlockMax)
            {
                // Block-max: every doc from `doc` to the nearest end of an essential list's current block scores at
                // most Σ (current block maxima of the essential lists whose next posting is in that range) + Σ
                // (non-essential lists' maxima over the blocks that overlap it); when that is below the cut, all those
                // postings are passed over unread. A list whose next posting lies beyond the range adds nothing: a rare
                // word's one block spans the whole doc range, and counting it kept every block of a long list unskipped.
                long boundary = long.MaxValue;
                double bound = 0;
                for (int r = firstEssential; r < m; r++)
                {
                    var c = cur[order[r]];
                    if (c.Doc == long.MaxValue) continue;
                    long last = c.List.BlockLast[c.Block];
                    if (last < boundary) boundary = last;
                }
                for (int r = firstEssential; r < m; r++)
                {
                    int i = order[r];
                    var c = cur[i];
                    if (c.Doc <= boundary) bound += idf[i] * bmax[i][c.Block];
                }
                for (int r = firstEssential - 1; r >= 0 && bound < cut; r--)
                {
                    int i = order[r];
                    var c = cur[i];
                    c.SeekTo(doc); // candidates only grow, so this is where the list would be sought anyway
                    if (c.Doc > boundary) continue;
                    double most = 0;
                    var bm = bmax[i];
                    var blockLast = c.List.BlockLast;
                    for (int blk = c.Block; blk < bm.Length; blk++)
                    {
                        if (bm[blk] > most) most = bm[blk];
                        if (blockLast[blk] >= boundary) break;
                    }
                    bound += idf[i] * most;
                }
                if (bound < cut)
                {
                    for (int r = firstEssential; r < m; r++) cur[order[r]].SeekTo(boundary + 1);
                    skippedHere++;
                    continue;
                }
                checkedUpTo = boundary;
            }
            int dl = 0, ns = 0;
            double partial = 0;
            for (int r = firstEssential; r < m; r++)
            {
                int i = order[r];
                var c = cur[i];
                if (c.Doc == doc)
                {
                    tf[i] = c.Tf; dl = c.Dl; ns = c.Ns;
                    c.Next();
                }
                else tf[i] = 0;
            }
            if ((uint)ns >= (uint)nsAllowed.Length || !nsAllowed[ns]) continue;
            double k = ktab[dl];
            for (int r = firstEssential; r < m; r++)
            {
                int i = order[r];
                if (tf[i] > 0) { double f = tf[i]; partial += idf[i] * ((f * (K1 + 1.0)) / (f + k)); }
            }
            bool pruned = false;
            for (int r = firstEssential - 1; r >= 0; r--)
            {
                int i = order[r];
                tf[i] = 0;
                if (pruned) continue;
                if (partial + prefix[r] < cut) { pruned = true; continue; }
                var c = cur[i];
                c.SeekTo(doc);
                if (c.Doc == doc)
                {
                    tf[i] = c.Tf;
                    double f = tf[i];
                    partial += idf[i] * ((f * (K1 + 1.0)) / (f + k));
                }
            }
            if (pruned || partial < cut) { prunedHere++; continue; }
            // the exact score: FTS5's sum, term by term in query order
            double score = 0.0;
            for (int i = 0; i < m; i++)
                if (tf[i] > 0) { double f = tf[i]; score += idf[i] * ((f * (K1 + 1.0)) / (f + k)); }
            // keep every doc scoring at least the depth-th best
            if (heap.Count < depth) heap.Enqueue(doc, score);
            else
            {
                heap.TryPeek(out _, out double min);
                if (score < min) continue;
                if (score == min) ties.Add((doc, score));
                else
                {
                    heap.TryDequeue(out long outDoc, out double outScore);
                    heap.Enqueue(doc, score);
                    heap.TryPeek(out _, out double newMin);
                    if (outScore == newMin) ties.Add((outDoc, outScore));
                    if (ties.Count > 0 && ties[0].Score < newMin) ties.RemoveAll(t => t.Score < newMin);
                }
            }
            if (heap.Count == depth)
            {
                heap.TryPeek(out _, out theta);
                cut = theta * (1 - Slack);
                while (firstEssential < m && prefix[firstEssential] < cut) firstEssential++;
            }
        }
        LastRunPruned = prunedHere + skippedHere;
        if (prunedHere > 0) Interlocked.Add(ref Pruned, prunedHere);
        if (skippedHere > 0) Interlocked.Add(ref BlocksSkipped, skippedHere);
        while (heap.TryDequeue(out long d, out double s)) result.Add((d, s));
        result.AddRange(ties);
        return result;
    }
}
