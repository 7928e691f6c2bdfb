using System.Globalization;
using Federation.Memory.Testing;
using Microsoft.Data.Sqlite;

namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// The SQLite store's own lexical index (docs/memory.md §Search), maintained in the append / tombstone / erase
/// transaction itself so index and logs commit or vanish together.
/// <list type="bullet">
/// <item><c>lex_terms</c>: the term dictionary (term → id).</item>
/// <item><c>lex_segments</c>: every append batch writes one immutable segment (level 0) holding, per term, that batch's
/// postings as one delta/varint blob (<see cref="PostingBlock"/>) in <c>lex_postings (seg, term_id, n, data)</c>. Rows
/// of a segment are written in (segment, term id) order, i.e. at the end of the table and of its index, so a batch
/// touches a few fresh pages instead of one page per term (updating per-term blocks in place rewrote ~7,000 scattered
/// pages per 1,000 fragments).</item>
/// <item>When <see cref="MergeFanIn"/> segments share a level they are merged into one of the next level (term by term,
/// in the same transaction), so a term has at most ~8 rows per level: ≈ 20 at a million fragments.</item>
/// <item>A tombstone or erasure removes the fragment's postings from the segment that holds them (rewriting those rows),
/// so erased words leave the index at once.</item>
/// <item>Statistics are exact: df = Σ n of the term's rows (only live postings are stored); N and Σ length in
/// <c>meta</c> (lex_docs, lex_tokens); <c>lex_gen</c> counts index changes (the reader's cache keys on it).</item>
/// </list>
/// </summary>
internal sealed class SqliteLexicalIndex
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS lex_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS lex_segments (id INTEGER PRIMARY KEY, level INTEGER NOT NULL, min_doc INTEGER NOT NULL, max_doc INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS lex_postings (seg INTEGER NOT NULL, term_id INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS lex_postings_key ON lex_postings (seg, term_id);
        INSERT OR IGNORE INTO meta (key, value) VALUES ('lex_docs', '0'), ('lex_tokens', '0'), ('lex_gen', '0');
        """;

    /// <summary>Segments of one level merged into one of the next.</summary>
    public const int MergeFanIn = 8;

    private const int MaxCachedTermIds = 2_000_000;
    private readonly Dictionary<string, long> _termIds = new(StringComparer.Ordinal); // committed terms only (ids never change)
    private readonly Lock _termLock = new();
    private readonly LexicalCache _cache;

    public SqliteLexicalIndex(long cacheBytes) => _cache = new LexicalCache(cacheBytes);

    /// <summary>The indexed words of a text with their counts, and its BM25 length (word count + 1: FTS5 counted the namespace column's token).</summary>
    public static (Dictionary<string, int> Terms, int Length) Terms(string content)
    {
        var terms = new Dictionary<string, int>(StringComparer.Ordinal);
        int n = 0;
        foreach (var w in TestBagOfWordsEmbedder.Words(content)) { terms[w] = terms.GetValueOrDefault(w) + 1; n++; }
        return (terms, n + 1);
    }

    // ------------------------------------------------------------------------------------------------ writes

    /// <summary>Starts the index part of one write transaction.</summary>
    public Batch Begin(SqliteConnection c, SqliteTransaction tx) => new(this, c, tx);

    public sealed class Batch : IDisposable
    {
        private readonly SqliteLexicalIndex _ix;
        private readonly SqliteConnection _c;
        private readonly SqliteTransaction _tx;
        private readonly Dictionary<string, List<Posting>> _adds = new(StringComparer.Ordinal);
        private readonly Dictionary<long, int> _pendingDocs = []; // doc -> length
        private readonly Dictionary<string, long> _newTerms = new(StringComparer.Ordinal);
        private long _docs, _tokens;
        private bool _changed;
        private readonly SqliteCommand _findTerm, _insTerm, _segOf, _row, _insRow, _updRow, _delRow;

        internal Batch(SqliteLexicalIndex ix, SqliteConnection c, SqliteTransaction tx)
        {
            _ix = ix; _c = c; _tx = tx;
            _findTerm = Cmd("SELECT id FROM lex_terms WHERE term = $t", "$t");
            _insTerm = Cmd("INSERT INTO lex_terms (term) VALUES ($t) RETURNING id", "$t");
            _segOf = Cmd("SELECT id FROM lex_segments WHERE min_doc <= $d AND max_doc >= $d", "$d");
            _row = Cmd("SELECT n, data FROM lex_postings WHERE seg = $s AND term_id = $t", "$s", "$t");
            _insRow = Cmd("INSERT INTO lex_postings (seg, term_id, n, data) VALUES ($s, $t, $n, $d)", "$s", "$t", "$n", "$d");
            _updRow = Cmd("UPDATE lex_postings SET n = $n, data = $d WHERE seg = $s AND term_id = $t", "$s", "$t", "$n", "$d");
            _delRow = Cmd("DELETE FROM lex_postings WHERE seg = $s AND term_id = $t", "$s", "$t");
        }

        private SqliteCommand Cmd(string sql, params string[] ps)
        {
            var cmd = _c.CreateCommand();
            cmd.CommandText = sql;
            cmd.Transaction = _tx;
            foreach (var p in ps) cmd.Parameters.Add(new SqliteParameter(p, null));
            return cmd;
        }

        /// <summary>Indexes a new live fragment (docs are added in increasing id order).</summary>
        public void Add(long doc, int ns, string content)
        {
            var (terms, len) = Terms(content);
            Add(doc, ns, terms, len);
        }

        /// <summary>Indexes a new live fragment from its <see cref="Terms"/> (docs are added in increasing id order).</summary>
        public void Add(long doc, int ns, Dictionary<string, int> terms, int len)
        {
            _pendingDocs[doc] = len;
            foreach (var (t, tf) in terms)
            {
                if (!_adds.TryGetValue(t, out var list)) _adds[t] = list = [];
                list.Add(new Posting(doc, tf, len, ns));
            }
        }

        /// <summary>Takes a live fragment out of the index (tombstone or erasure); <paramref name="content"/> is its text.</summary>
        public void Remove(long doc, string content)
        {
            if (_pendingDocs.Remove(doc)) return; // added in this batch: its postings are skipped at flush
            var (terms, len) = Terms(content);
            var segs = new List<long>();
            _segOf.Parameters[0].Value = doc;
            using (var r = _segOf.ExecuteReader()) while (r.Read()) segs.Add(r.GetInt64(0));
            int found = 0;
            var ps = new List<Posting>();
            foreach (var t in terms.Keys)
            {
                if (TermId(t, create: false) is not { } tid) continue;
                foreach (var seg in segs)
                {
                    Set(_row, seg, tid);
                    byte[]? data = null;
                    using (var r = _row.ExecuteReader()) if (r.Read()) data = (byte[])r[1];
                    if (data is null) continue;
                    ps.Clear();
                    PostingBlock.Decode(0, data, ps);
                    int at = ps.FindIndex(p => p.Doc == doc);
                    if (at < 0) continue;
                    ps.RemoveAt(at);
                    found++;
                    if (ps.Count == 0) Exec(_delRow, seg, tid);
                    else Exec(_updRow, seg, tid, ps.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ps)));
                }
            }
            if (found == 0 && terms.Count > 0) return; // was not indexed
            _docs--;
            _tokens -= len;
            _changed = true;
        }

        private long? TermId(string t, bool create)
        {
            lock (_ix._termLock) if (_ix._termIds.TryGetValue(t, out var known)) return known;
            if (_newTerms.TryGetValue(t, out var id)) return id;
            _findTerm.Parameters[0].Value = t;
            if (_findTerm.ExecuteScalar() is long found)
            {
                lock (_ix._termLock) if (_ix._termIds.Count < MaxCachedTermIds) _ix._termIds[t] = found; // committed before this transaction
                return found;
            }
            if (!create) return null;
            _insTerm.Parameters[0].Value = t;
            id = (long)_insTerm.ExecuteScalar()!;
            _newTerms[t] = id;
            return id;
        }

        /// <summary>Writes this batch's segment, the statistics, and merges full levels (before commit).</summary>
        public void Flush()
        {
            var rows = new List<(long Term, Posting[] Postings)>(_adds.Count);
            foreach (var (term, adds) in _adds)
            {
                var fresh = adds.Where(p => _pendingDocs.ContainsKey(p.Doc)).ToArray();
                if (fresh.Length > 0) rows.Add((TermId(term, create: true)!.Value, fresh));
            }
            if (rows.Count > 0)
            {
                rows.Sort((a, b) => a.Term.CompareTo(b.Term)); // rows go to the end of the table and its index, in key order
                long seg;
                using (var ins = Cmd("INSERT INTO lex_segments (level, min_doc, max_doc) VALUES (0, $a, $b) RETURNING id", "$a", "$b"))
                {
                    ins.Parameters[0].Value = _pendingDocs.Keys.Min();
                    ins.Parameters[1].Value = _pendingDocs.Keys.Max();
                    seg = (long)ins.ExecuteScalar()!;
                }
                foreach (var (tid, ps) in rows) Exec(_insRow, seg, tid, ps.Length, PostingBlock.Encode(0, ps));
                _changed = true;
            }
            foreach (var (_, len) in _pendingDocs) { _docs++; _tokens += len; }
            if (_changed)
            {
                using var u = Cmd("UPDATE meta SET value = CAST(value AS INTEGER) + (CASE key WHEN 'lex_docs' THEN $d WHEN 'lex_tokens' THEN $t ELSE 1 END) "
                    + "WHERE key IN ('lex_docs', 'lex_tokens', 'lex_gen')", "$d", "$t");
                u.Parameters[0].Value = _docs;
                u.Parameters[1].Value = _tokens;
                u.ExecuteNonQuery();
                Merge();
            }
            _adds.Clear(); _pendingDocs.Clear(); _docs = 0; _tokens = 0; _changed = false;
        }

        /// <summary>While some level holds <see cref="MergeFanIn"/> segments, merges them into one of the next level.</summary>
        private void Merge()
        {
            while (true)
            {
                int level = -1;
                var segs = new List<(long Id, long Min, long Max)>();
                using (var q = Cmd("SELECT level FROM lex_segments GROUP BY level HAVING count(*) >= $f ORDER BY level LIMIT 1", "$f"))
                {
                    q.Parameters[0].Value = MergeFanIn;
                    if (q.ExecuteScalar() is long l) level = (int)l; else return;
                }
                using (var q = Cmd("SELECT id, min_doc, max_doc FROM lex_segments WHERE level = $l ORDER BY min_doc", "$l"))
                {
                    q.Parameters[0].Value = level;
                    using var r = q.ExecuteReader();
                    while (r.Read()) segs.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
                }
                var ids = string.Join(",", segs.Select(s => s.Id.ToString(CultureInfo.InvariantCulture)));
                long into;
                using (var ins = Cmd("INSERT INTO lex_segments (level, min_doc, max_doc) VALUES ($l, $a, $b) RETURNING id", "$l", "$a", "$b"))
                {
                    ins.Parameters[0].Value = level + 1;
                    ins.Parameters[1].Value = segs.Min(s => s.Min);
                    ins.Parameters[2].Value = segs.Max(s => s.Max);
                    into = (long)ins.ExecuteScalar()!;
                }
                // One pass over each segment's rows in term order (its index range), merged term by term: segments hold
                // disjoint doc ranges and are taken in doc order, so a term's postings come out in doc order as they
                // are read. (Asking each term's rows one by one cost 8 index seeks per term.)
                var cmds = new SqliteCommand[segs.Count];
                var readers = new SqliteDataReader?[segs.Count];
                var merged = new List<Posting>();
                try
                {
                    for (int k = 0; k < segs.Count; k++)
                    {
                        cmds[k] = Cmd("SELECT term_id, data FROM lex_postings WHERE seg = $s ORDER BY term_id", "$s");
                        cmds[k].Parameters[0].Value = segs[k].Id;
                        var r = cmds[k].ExecuteReader();
                        readers[k] = r.Read() ? r : Close(r);
                    }
                    while (true)
                    {
                        long tid = long.MaxValue;
                        foreach (var r in readers) if (r is not null && r.GetInt64(0) < tid) tid = r.GetInt64(0);
                        if (tid == long.MaxValue) break;
                        merged.Clear();
                        bool ordered = true;
                        for (int k = 0; k < readers.Length; k++)
                        {
                            var r = readers[k];
                            if (r is null || r.GetInt64(0) != tid) continue;
                            int before = merged.Count;
                            PostingBlock.Decode(0, (byte[])r[1], merged);
                            if (before > 0 && merged.Count > before && merged[before].Doc <= merged[before - 1].Doc) ordered = false;
                            if (!r.Read()) readers[k] = Close(r);
                        }
                        if (!ordered) merged.Sort((a, b) => a.Doc.CompareTo(b.Doc));
                        Exec(_insRow, into, tid, merged.Count, PostingBlock.Encode(0, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(merged)));
                    }
                }
                finally
                {
                    foreach (var r in readers) r?.Dispose();
                    foreach (var cmd in cmds) cmd?.Dispose();
                }
                using (var del = Cmd($"DELETE FROM lex_postings WHERE seg IN ({ids}); DELETE FROM lex_segments WHERE id IN ({ids});")) del.ExecuteNonQuery();
            }
        }

        private static SqliteDataReader? Close(SqliteDataReader r)
        {
            r.Dispose();
            return null;
        }

        /// <summary>After the transaction committed: its new terms become known.</summary>
        public void Committed()
        {
            lock (_ix._termLock) foreach (var (t, id) in _newTerms) if (_ix._termIds.Count < MaxCachedTermIds) _ix._termIds[t] = id;
        }

        private static void Set(SqliteCommand cmd, params object[] values)
        {
            for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i];
        }

        private static void Exec(SqliteCommand cmd, params object[] values)
        {
            Set(cmd, values);
            cmd.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _findTerm.Dispose(); _insTerm.Dispose(); _segOf.Dispose(); _row.Dispose();
            _insRow.Dispose(); _updRow.Dispose(); _delRow.Dispose();
        }
    }

    // ------------------------------------------------------------------------------------------------ reads

    /// <summary>One query word that occurs: its term id, live document frequency, and (when loaded) its posting list.</summary>
    internal sealed record QueryTerm(string Word, long Id, long Df);

    /// <summary>
    /// The query's words (distinct, at most 64, in query order) that occur, with their live document frequency; words
    /// in at least half of all documents are left out unless every word is (FTS5's idf of those is clamped to 1e-6:
    /// they add no rank, only rows to score). Also N, Σ length and the index generation.
    /// </summary>
    public (List<QueryTerm> Kept, long Docs, long Tokens, long Gen) QueryTerms(SqliteConnection c, SqliteTransaction? tx, string text)
    {
        var words = TestBagOfWordsEmbedder.Words(text).Distinct(StringComparer.Ordinal).Take(64).ToList();
        long docs = 0, tokens = 0, gen = 0;
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT key, value FROM meta WHERE key IN ('lex_docs', 'lex_tokens', 'lex_gen')";
            using var r = q.ExecuteReader();
            while (r.Read())
            {
                long v = long.Parse(r.GetString(1), CultureInfo.InvariantCulture);
                switch (r.GetString(0)) { case "lex_docs": docs = v; break; case "lex_tokens": tokens = v; break; default: gen = v; break; }
            }
        }
        var kept = new List<QueryTerm>();
        var common = new List<QueryTerm>();
        if (words.Count == 0) return (kept, docs, tokens, gen);
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT t.id, (SELECT coalesce(sum(p.n), 0) FROM lex_segments s CROSS JOIN lex_postings p WHERE p.seg = s.id AND p.term_id = t.id) FROM lex_terms t WHERE t.term = $t";
            q.Parameters.Add(new SqliteParameter("$t", null));
            foreach (var w in words)
            {
                long id, df;
                if (_cache.Get(w, gen) is { } hit) (id, df) = (hit.Term, hit.Df);
                else
                {
                    q.Parameters[0].Value = w;
                    using var r = q.ExecuteReader();
                    if (!r.Read()) continue;
                    (id, df) = (r.GetInt64(0), r.GetInt64(1));
                    _cache.PutDf(w, gen, id, df);
                }
                if (df <= 0) continue;
                var t = new QueryTerm(w, id, df);
                if (2 * df >= docs) common.Add(t); else kept.Add(t);
            }
        }
        return (kept.Count == 0 ? common : kept, docs, tokens, gen);
    }

    /// <summary>A term's whole posting list in doc order (from the cache when the index has not changed since).</summary>
    public TermPostings Load(SqliteConnection c, SqliteTransaction? tx, QueryTerm term, long gen)
    {
        if (_cache.Get(term.Word, gen) is { List: { } cached }) return cached;
        var list = new TermPostings();
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT p.data FROM lex_segments s CROSS JOIN lex_postings p WHERE p.seg = s.id AND p.term_id = $t ORDER BY s.min_doc";
            q.Parameters.Add(new SqliteParameter("$t", term.Id));
            using var r = q.ExecuteReader();
            while (r.Read()) list.AddRow((byte[])r[0]);
        }
        list.Finish(sortIfNeeded: false); // segments hold disjoint doc ranges (one writer at a time), so doc order holds; Finish checks it
        list.CheckCount(term.Word, term.Df, null);
        _cache.PutList(term.Word, gen, term.Id, term.Df, list);
        return list;
    }
}
