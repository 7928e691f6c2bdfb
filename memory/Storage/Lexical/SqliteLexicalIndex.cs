using System.Globalization;
using Federation.Memory.Testing;
using Microsoft.Data.Sqlite;

namespace Federation.Memory.Storage.Lexical;

/// <summary>
/// The SQLite store's own lexical index (docs/memory.md §Search): per term a posting list in blocks of
/// <see cref="PostingBlock.Capacity"/> (table <c>lex_blocks</c>), the term's exact live document frequency and a
/// generation counter (<c>lex_terms</c>), and the corpus statistics N and Σ length (<c>meta</c> lex_docs, lex_tokens).
/// Maintained in the append / tombstone / erase transaction itself, so index and logs commit or vanish together.
/// The writer keeps the term ids and each term's last block in memory while no other process has written (the store's
/// version counter says so), so an append costs about two statements per distinct term per batch.
/// </summary>
internal sealed class SqliteLexicalIndex
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS lex_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, df INTEGER NOT NULL, gen INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS lex_blocks (term_id INTEGER NOT NULL, key INTEGER NOT NULL, last_doc INTEGER NOT NULL, n INTEGER NOT NULL,
          data BLOB NOT NULL, PRIMARY KEY (term_id, key)) WITHOUT ROWID;
        INSERT OR IGNORE INTO meta (key, value) VALUES ('lex_docs', '0'), ('lex_tokens', '0');
        """;

    private const int MaxCachedTermIds = 2_000_000, MaxCachedTails = 300_000;
    private readonly Dictionary<string, long> _termIds = new(StringComparer.Ordinal); // committed terms only (ids never change)
    private readonly Dictionary<long, (long Key, List<Posting> Postings)> _tails = []; // the last block of a term, as of _tailsVersion
    private long _tailsVersion = long.MinValue;
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

    /// <summary>Starts the index part of one write transaction; <paramref name="version"/> is the store version read in it.</summary>
    public Batch Begin(SqliteConnection c, SqliteTransaction tx, long version)
    {
        if (version != _tailsVersion) { _tails.Clear(); }
        return new Batch(this, c, tx);
    }

    public sealed class Batch : IDisposable
    {
        private readonly SqliteLexicalIndex _ix;
        private readonly SqliteConnection _c;
        private readonly SqliteTransaction _tx;
        private readonly Dictionary<string, List<Posting>> _adds = new(StringComparer.Ordinal);
        private readonly Dictionary<long, int> _pendingDocs = []; // doc -> length
        private readonly Dictionary<long, long> _dfDelta = []; // term id -> delta
        private readonly Dictionary<string, long> _newTerms = new(StringComparer.Ordinal);
        private long _docs, _tokens;
        private readonly SqliteCommand _findTerm, _insTerm, _tail, _blockOf, _insBlock, _updBlock, _delBlock, _updTerm;

        internal Batch(SqliteLexicalIndex ix, SqliteConnection c, SqliteTransaction tx)
        {
            _ix = ix; _c = c; _tx = tx;
            _findTerm = Cmd("SELECT id FROM lex_terms WHERE term = $t", "$t");
            _insTerm = Cmd("INSERT INTO lex_terms (term, df, gen) VALUES ($t, 0, 0) RETURNING id", "$t");
            _tail = Cmd("SELECT key, data FROM lex_blocks WHERE term_id = $t ORDER BY key DESC LIMIT 1", "$t");
            _blockOf = Cmd("SELECT key, data FROM lex_blocks WHERE term_id = $t AND key <= $d ORDER BY key DESC LIMIT 1", "$t", "$d");
            _insBlock = Cmd("INSERT INTO lex_blocks (term_id, key, last_doc, n, data) VALUES ($t, $k, $l, $n, $d)", "$t", "$k", "$l", "$n", "$d");
            _updBlock = Cmd("UPDATE lex_blocks SET last_doc = $l, n = $n, data = $d WHERE term_id = $t AND key = $k", "$t", "$k", "$l", "$n", "$d");
            _delBlock = Cmd("DELETE FROM lex_blocks WHERE term_id = $t AND key = $k", "$t", "$k");
            _updTerm = Cmd("UPDATE lex_terms SET df = df + $d, gen = gen + 1 WHERE id = $t", "$t", "$d");
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
            int found = 0;
            foreach (var t in terms.Keys)
            {
                long? id = TermId(t, create: false);
                if (id is not { } tid) continue;
                _blockOf.Parameters[0].Value = tid;
                _blockOf.Parameters[1].Value = doc;
                long key; byte[] data;
                using (var r = _blockOf.ExecuteReader())
                {
                    if (!r.Read()) continue;
                    key = r.GetInt64(0); data = (byte[])r[1];
                }
                var ps = new List<Posting>(PostingBlock.Capacity);
                PostingBlock.Decode(key, data, ps);
                int at = ps.FindIndex(p => p.Doc == doc);
                if (at < 0) continue;
                ps.RemoveAt(at);
                found++;
                if (ps.Count == 0) Exec(_delBlock, tid, key);
                else Exec(_updBlock, tid, key, ps[^1].Doc, ps.Count, PostingBlock.Encode(key, ps.ToArray()));
                _ix._tails.Remove(tid);
                _dfDelta[tid] = _dfDelta.GetValueOrDefault(tid) - 1;
            }
            if (found == 0 && terms.Count > 0) return; // was not indexed
            _docs--;
            _tokens -= len;
        }

        private long? TermId(string t, bool create)
        {
            if (_ix._termIds.TryGetValue(t, out var id) || _newTerms.TryGetValue(t, out id)) return id;
            _findTerm.Parameters[0].Value = t;
            if (_findTerm.ExecuteScalar() is long found)
            {
                if (_ix._termIds.Count < MaxCachedTermIds) _ix._termIds[t] = found; // committed before this transaction
                return found;
            }
            if (!create) return null;
            _insTerm.Parameters[0].Value = t;
            id = (long)_insTerm.ExecuteScalar()!;
            _newTerms[t] = id;
            return id;
        }

        /// <summary>Writes the added postings, the document frequencies and the statistics (before commit).</summary>
        public void Flush()
        {
            var fresh = new List<Posting>();
            foreach (var (term, adds) in _adds)
            {
                fresh.Clear();
                foreach (var p in adds) if (_pendingDocs.ContainsKey(p.Doc)) fresh.Add(p);
                if (fresh.Count == 0) continue;
                long tid = TermId(term, create: true)!.Value;
                _dfDelta[tid] = _dfDelta.GetValueOrDefault(tid) + fresh.Count;
                // the term's last block: from memory while nobody else wrote, else from the table
                if (!_ix._tails.TryGetValue(tid, out var tail))
                {
                    _tail.Parameters[0].Value = tid;
                    using var r = _tail.ExecuteReader();
                    if (r.Read())
                    {
                        var ps = new List<Posting>(PostingBlock.Capacity);
                        PostingBlock.Decode(r.GetInt64(0), (byte[])r[1], ps);
                        tail = (r.GetInt64(0), ps);
                    }
                    else tail = (-1, []);
                }
                int i = 0;
                var block = tail.Postings;
                long key = tail.Key;
                bool existing = key >= 0;
                while (i < fresh.Count)
                {
                    if (!existing || block.Count >= PostingBlock.Capacity)
                    {
                        block = new List<Posting>(PostingBlock.Capacity);
                        key = fresh[i].Doc;
                        existing = false;
                    }
                    while (i < fresh.Count && block.Count < PostingBlock.Capacity) block.Add(fresh[i++]);
                    var data = PostingBlock.Encode(key, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(block));
                    if (existing) Exec(_updBlock, tid, key, block[^1].Doc, block.Count, data);
                    else Exec(_insBlock, tid, key, block[^1].Doc, block.Count, data);
                    existing = true;
                }
                if (_ix._tails.Count < MaxCachedTails) _ix._tails[tid] = (key, block);
            }
            foreach (var (_, len) in _pendingDocs) { _docs++; _tokens += len; }
            foreach (var (tid, d) in _dfDelta) Exec(_updTerm, tid, d);
            if (_docs != 0 || _tokens != 0)
            {
                using var u = Cmd("UPDATE meta SET value = CAST(value AS INTEGER) + (CASE key WHEN 'lex_docs' THEN $d ELSE $t END) WHERE key IN ('lex_docs', 'lex_tokens')", "$d", "$t");
                u.Parameters[0].Value = _docs;
                u.Parameters[1].Value = _tokens;
                u.ExecuteNonQuery();
            }
            _adds.Clear(); _pendingDocs.Clear(); _dfDelta.Clear(); _docs = 0; _tokens = 0;
        }

        /// <summary>After the transaction committed with <paramref name="version"/> as the store's new version.</summary>
        public void Committed(long version)
        {
            foreach (var (t, id) in _newTerms) if (_ix._termIds.Count < MaxCachedTermIds) _ix._termIds[t] = id;
            _ix._tailsVersion = version;
        }

        private static void Exec(SqliteCommand cmd, params object[] values)
        {
            for (int i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i];
            cmd.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _findTerm.Dispose(); _insTerm.Dispose(); _tail.Dispose(); _blockOf.Dispose();
            _insBlock.Dispose(); _updBlock.Dispose(); _delBlock.Dispose(); _updTerm.Dispose();
        }
    }

    /// <summary>Forgets the in-memory tails (after a rollback).</summary>
    public void Invalidate()
    {
        _tails.Clear();
        _tailsVersion = long.MinValue;
    }

    // ------------------------------------------------------------------------------------------------ reads

    /// <summary>
    /// The query's words (distinct, at most 64, in query order) that occur, with their term id, live document frequency
    /// and generation; words in at least half of all documents are left out unless every word is (FTS5's idf of
    /// those is clamped to 1e-6: they add no rank, only rows to score). Also N and Σ length.
    /// </summary>
    public (List<(string Word, long Id, long Df, long Gen)> Kept, long Docs, long Tokens) QueryTerms(SqliteConnection c, SqliteTransaction? tx, string text)
    {
        var words = TestBagOfWordsEmbedder.Words(text).Distinct(StringComparer.Ordinal).Take(64).ToList();
        long docs = 0, tokens = 0;
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT key, value FROM meta WHERE key IN ('lex_docs', 'lex_tokens')";
            using var r = q.ExecuteReader();
            while (r.Read())
            {
                long v = long.Parse(r.GetString(1), CultureInfo.InvariantCulture);
                if (r.GetString(0) == "lex_docs") docs = v; else tokens = v;
            }
        }
        var kept = new List<(string, long, long, long)>();
        var common = new List<(string, long, long, long)>();
        if (words.Count == 0) return (kept, docs, tokens);
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT id, df, gen FROM lex_terms WHERE term = $t";
            q.Parameters.Add(new SqliteParameter("$t", null));
            foreach (var w in words)
            {
                q.Parameters[0].Value = w;
                using var r = q.ExecuteReader();
                if (!r.Read()) continue;
                long df = r.GetInt64(1);
                if (df <= 0) continue;
                var t = (w, r.GetInt64(0), df, r.GetInt64(2));
                if (2 * df >= docs) common.Add(t); else kept.Add(t);
            }
        }
        return (kept.Count == 0 ? common : kept, docs, tokens);
    }

    /// <summary>A term's whole posting list (from the cache when its generation matches).</summary>
    public TermPostings Load(SqliteConnection c, SqliteTransaction? tx, long termId, long gen, long df)
    {
        if (_cache.Get(termId, gen) is { } hit) return hit;
        var list = new TermPostings((int)Math.Min(df + 1, int.MaxValue / 2));
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT key, data FROM lex_blocks WHERE term_id = $t ORDER BY key";
            q.Parameters.Add(new SqliteParameter("$t", termId));
            using var r = q.ExecuteReader();
            var buf = new byte[PostingBlock.Capacity * 40];
            int at = 0;
            while (r.Read())
            {
                long len = r.GetBytes(1, 0, null, 0, 0);
                if (len > buf.Length) buf = new byte[len];
                r.GetBytes(1, 0, buf, 0, (int)len);
                at = PostingBlock.Decode(r.GetInt64(0), buf.AsSpan(0, (int)len), list, at);
            }
            list.Count = at;
        }
        list.Finish();
        _cache.Put(termId, gen, list);
        return list;
    }

    public void ClearCache() => _cache.Clear();
}
