using Federation.Memory.Storage;
using Federation.Memory.Storage.Lexical;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Json;
using Microsoft.Data.Sqlite;

namespace Federation.Memory.Tests;

/// <summary>
/// The SQLite store's own lexical index against the reference it replaced: SQLite FTS5's bm25() over the same live
/// fragments (built here in memory, as format 1 did). Same top-k ids, same order (ties by CID), same scores.
/// </summary>
public sealed class LexicalIndexTests
{
    private static readonly string[] Names = ["public", "topic:a", "topic:b", "user:alice"];

    /// <summary>Zipf-like text over 300 words: common words with long lists and rare ones, 3–30 words a fragment.</summary>
    private static List<SignedFragment> Corpus(int n, int seed, int from = 0)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(from, n).Select(i =>
        {
            var words = Enumerable.Range(0, rng.Next(3, 31)).Select(_ => "w" + ((int)Math.Floor(Math.Pow(rng.NextDouble(), 2.5) * 300)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return Keys.Fragment(Keys.Alice, Names[i % Names.Length], string.Join(' ', words), t: i);
        })];
    }

    private static List<string> Queries(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => string.Join(' ', Enumerable.Range(0, rng.Next(1, 6))
            .Select(_ => "w" + ((int)Math.Floor(Math.Pow(rng.NextDouble(), 1.5) * 320)).ToString(System.Globalization.CultureInfo.InvariantCulture))))];
    }

    /// <summary>FTS5 (unicode61, as format 1 had it): content + the namespace token, every live fragment; bm25(fts, 1.0, 0.0).</summary>
    private sealed class Fts5Reference : IDisposable
    {
        private readonly SqliteConnection _c = new("Data Source=:memory:");
        private readonly Dictionary<string, long> _ns = new(StringComparer.Ordinal);
        private readonly Dictionary<long, Cid> _cids = [];

        public Fts5Reference(string dbPath)
        {
            _c.Open();
            Exec("CREATE VIRTUAL TABLE fts USING fts5(content, ns, tokenize = 'unicode61 remove_diacritics 2'); CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, 'col');");
            using var src = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
            src.Open();
            using (var q = src.CreateCommand())
            {
                q.CommandText = "SELECT id, name FROM namespaces";
                using var r = q.ExecuteReader();
                while (r.Read()) _ns[r.GetString(1)] = r.GetInt64(0);
            }
            using var tx = _c.BeginTransaction();
            using var ins = _c.CreateCommand();
            ins.Transaction = tx;
            ins.CommandText = "INSERT INTO fts (rowid, content, ns) VALUES ($id, $c, $n)";
            ins.Parameters.Add(new SqliteParameter("$id", null)); ins.Parameters.Add(new SqliteParameter("$c", null)); ins.Parameters.Add(new SqliteParameter("$n", null));
            using (var q = src.CreateCommand())
            {
                q.CommandText = "SELECT id, ns_id, status, envelope, cid FROM fragments";
                using var r = q.ExecuteReader();
                while (r.Read())
                {
                    _cids[r.GetInt64(0)] = new Cid((byte[])r[4]);
                    if (r.GetInt32(2) != (int)FragmentStatus.Live) continue;
                    var env = Federation.Registry.Envelopes.SignedEnvelope.Parse(System.Text.Encoding.UTF8.GetString((byte[])r[3]));
                    Assert.True(Fragment.TryFromJson(env.Payload, out var f, out _));
                    ins.Parameters[0].Value = r.GetInt64(0);
                    ins.Parameters[1].Value = f!.Content;
                    ins.Parameters[2].Value = "n" + r.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    ins.ExecuteNonQuery();
                }
            }
            tx.Commit();
            SqliteConnection.ClearPool(src);
        }

        public long Docs => (long)Scalar("SELECT count(*) FROM fts")!;

        /// <summary>The format-1 search: common-word rule from FTS5's own document counts, every matching row ranked.</summary>
        public List<(long Id, Cid Cid, double Score)> Top(string query, string[] namespaces, int depth)
        {
            long docs = Docs;
            var kept = new List<string>();
            var common = new List<string>();
            foreach (var w in TestBagOfWordsEmbedder.Words(query).Distinct(StringComparer.Ordinal).Take(64))
            {
                long df = Scalar("SELECT doc FROM fts_vocab WHERE term = $t AND col = 'content'", w) is long d ? d : 0;
                if (df == 0) continue;
                (2 * df >= docs ? common : kept).Add(w);
            }
            if (kept.Count == 0) kept = common;
            var ids = namespaces.Where(_ns.ContainsKey).Select(n => _ns[n]).ToList();
            if (kept.Count == 0 || ids.Count == 0) return [];
            var match = "content : (" + string.Join(" OR ", kept.Select(w => "\"" + w + "\"")) + ") AND ns : ("
                + string.Join(" OR ", ids.Select(i => "\"n" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"")) + ")";
            var rows = new List<(long Id, Cid Cid, double Score)>();
            using var q = _c.CreateCommand();
            q.CommandText = "SELECT rowid, bm25(fts, 1.0, 0.0) FROM fts WHERE fts MATCH $q";
            q.Parameters.AddWithValue("$q", match);
            using var r = q.ExecuteReader();
            while (r.Read()) rows.Add((r.GetInt64(0), _cids[r.GetInt64(0)], -r.GetDouble(1)));
            return [.. rows.OrderByDescending(x => x.Score).ThenBy(x => x.Cid).Take(depth)];
        }

        private void Exec(string sql)
        {
            using var cmd = _c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }

        private object? Scalar(string sql, string? p = null)
        {
            using var cmd = _c.CreateCommand();
            cmd.CommandText = sql;
            if (p is not null) cmd.Parameters.AddWithValue("$t", p);
            return cmd.ExecuteScalar();
        }

        public void Dispose() => _c.Dispose();
    }

    private static async Task<int> CompareAll(TempStore t, IEnumerable<string> queries, int[] depths)
    {
        using var fts = new Fts5Reference(t.DbPath);
        string[][] sets = [Names, ["public"], ["topic:a", "user:alice"], ["topic:b", "nope"]];
        int compared = 0;
        using var c = new SqliteConnection($"Data Source={t.DbPath};Pooling=False");
        c.Open();
        foreach (var q in queries)
            foreach (var set in sets)
                foreach (var depth in depths)
                {
                    var ids = new HashSet<int>();
                    using (var cmd = c.CreateCommand())
                    {
                        cmd.CommandText = "SELECT id, name FROM namespaces";
                        using var r = cmd.ExecuteReader();
                        while (r.Read()) if (set.Contains(r.GetString(1))) ids.Add(r.GetInt32(0));
                    }
                    var want = fts.Top(q, set, depth);
                    var got = ids.Count == 0 ? [] : t.Store.LexicalTop(c, null, q, ids, depth);
                    Assert.True(want.Select(x => x.Id).SequenceEqual(got.Select(x => x.Id)),
                        $"query '{q}' in [{string.Join(",", set)}] depth {depth}: FTS5 [{string.Join(",", want.Select(x => x.Id))}] own [{string.Join(",", got.Select(x => x.Id))}]");
                    for (int i = 0; i < want.Count; i++)
                        Assert.True(Math.Abs(want[i].Score - got[i].Score) <= 1e-9, $"query '{q}': score {got[i].Score} != FTS5 {want[i].Score}");
                    compared += want.Count;
                }
        await Task.CompletedTask;
        return compared;
    }

    [Fact]
    public async Task Own_index_ranks_exactly_as_fts5_bm25_also_after_tombstones_and_erasures()
    {
        using var t = new TempStore();
        var frags = Corpus(3000, 5);
        foreach (var chunk in frags.Chunk(37)) await t.Store.AppendAsync(chunk); // 82 segments: merged into levels 1 and 2
        using (var c = new SqliteConnection($"Data Source={t.DbPath};Pooling=False"))
        {
            c.Open();
            using var q = c.CreateCommand();
            q.CommandText = "SELECT max(level) || ',' || count(*) FROM lex_segments";
            Assert.Equal("2,5", q.ExecuteScalar()); // 82 batches = 64 + 2·8 + 2: one level-2, two level-1 and two level-0 segments
        }
        long before = Interlocked.Read(ref Bm25TopK.Pruned);
        var queries = Queries(60, 9);
        Assert.True(await CompareAll(t, queries, [1, 10, 50]) > 3000);
        Assert.True(Interlocked.Read(ref Bm25TopK.Pruned) > before, "MaxScore never pruned a candidate: the test would not exercise it");

        // tombstones (some in the same batch as the fragment they delete) and erasures change N, df and avgdl
        var tombs = frags.Where((_, i) => i % 7 == 3)
            .Select(f => Keys.Fragment(Keys.Alice, f.Fragment.Namespace.Name, "", meta: new JsonObject { [Fragment.TombstoneKey] = f.Cid.ToString() })).ToList();
        var late = Corpus(200, 6, from: 3000);
        var lateTombs = late.Where((_, i) => i % 3 == 0)
            .Select(f => Keys.Fragment(Keys.Alice, f.Fragment.Namespace.Name, "", meta: new JsonObject { [Fragment.TombstoneKey] = f.Cid.ToString() })).ToList();
        await t.Store.AppendAsync([.. tombs, .. late, .. lateTombs]);
        foreach (var f in frags.Where((_, i) => i % 11 == 5)) t.Store.Erase(f.Cid);
        Assert.True(await CompareAll(t, queries, [1, 10, 50]) > 3000);

        // and the same after a restart (nothing cached)
        t.Reopen();
        Assert.True(await CompareAll(t, queries.Take(20), [10]) > 100);
    }

    /// <summary>6,000 fragments of 20–40 words drawn from Zipf(1) over 200 words "w0".."w199" (the bench's shape: several
    /// words in most fragments), over the four namespaces in turn.</summary>
    private static List<SignedFragment> ZipfCorpus(int seed)
    {
        var rng = new Random(seed);
        var cdf = new double[200];
        double sum = 0;
        for (int i = 0; i < cdf.Length; i++) cdf[i] = sum += 1.0 / (i + 1);
        return Enumerable.Range(0, 6000).Select(i =>
        {
            var words = Enumerable.Range(0, rng.Next(20, 41)).Select(_ =>
            {
                int j = Array.BinarySearch(cdf, rng.NextDouble() * sum);
                return "w" + Math.Min(j < 0 ? ~j : j, cdf.Length - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
            return Keys.Fragment(Keys.Alice, Names[i % Names.Length], string.Join(' ', words), t: i);
        }).ToList();
    }

    /// <summary>
    /// Queries made only of words in at least half of the fragments (the slow tail at scale: every word kept with FTS5's
    /// clamped idf, all bounds nearly equal, so MaxScore alone cannot prune): block-max skipping must pass over whole
    /// blocks and still give FTS5's list exactly, in a corpus large enough for many blocks per list.
    /// </summary>
    [Fact]
    public async Task All_common_word_queries_skip_blocks_and_still_rank_exactly_as_fts5()
    {
        using var t = new TempStore();
        var frags = ZipfCorpus(21);
        foreach (var chunk in frags.Chunk(500)) await t.Store.AppendAsync(chunk);
        // the words in at least half of the fragments (counted here from the texts)
        var common = Enumerable.Range(0, 12).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Where(w => 2 * frags.Count(f => f.Fragment.Content.Split(' ').Contains(w)) >= frags.Count).ToList();
        Assert.True(common.Count >= 3, $"the corpus has too few common words: [{string.Join(",", common)}]");
        var queries = new List<string>();
        for (int a = 0; a < common.Count; a++)
            for (int b = a + 1; b < common.Count; b++)
                queries.Add(common[a] + " " + common[b]);
        queries.Add(string.Join(' ', common.Take(3)));
        long skipped = Interlocked.Read(ref Bm25TopK.BlocksSkipped);
        Assert.True(await CompareAll(t, queries, [1, 10, 50]) > 500);
        Assert.True(Interlocked.Read(ref Bm25TopK.BlocksSkipped) > skipped, "block-max never skipped a block: the test would not exercise it");
    }

    /// <summary>
    /// A rare word beside a long list (the bench's slow tail: 'shihu mizu' scanned all ~500k postings of 'mizu'): the
    /// rare word's one block spans the whole doc range, so counting its block maximum in every range's bound kept each
    /// block of the long list from being skipped. Its fragments come last, so before the fix not one block was skipped.
    /// </summary>
    [Fact]
    public async Task A_rare_word_beside_a_long_list_lets_the_long_list_skip_blocks_and_ranks_exactly_as_fts5()
    {
        using var t = new TempStore();
        var frags = ZipfCorpus(5);
        frags.AddRange(Enumerable.Range(0, 3).Select(i => Keys.Fragment(Keys.Alice, Names[i], "zyrare alpha beta", t: 6000 + i)));
        foreach (var chunk in frags.Chunk(500)) await t.Store.AppendAsync(chunk);
        int df = frags.Count(f => f.Fragment.Content.Split(' ').Contains("w10"));
        Assert.True(df > 20 * TermPostings.BlockSize && 2 * df < frags.Count, $"w10 is in {df} fragments: the list must span many blocks and stay below half");
        long skipped = Interlocked.Read(ref Bm25TopK.BlocksSkipped);
        Assert.True(await CompareAll(t, ["zyrare w10"], [10, 20]) > 20);
        Assert.True(Interlocked.Read(ref Bm25TopK.BlocksSkipped) - skipped >= 10,
            $"block-max skipped {Interlocked.Read(ref Bm25TopK.BlocksSkipped) - skipped} runs of w10's {df} postings beside a 3-fragment word");
    }

    [Fact]
    public async Task Ties_across_the_cut_come_from_every_tied_fragment_in_cid_order()
    {
        using var t = new TempStore();
        var same = Enumerable.Range(0, 300).Select(i => Keys.Fragment(Keys.Node, Names[i % 2], "granite basalt", t: i)).ToList();
        var noise = Corpus(500, 3);
        await t.Store.AppendAsync([.. noise.Take(250), .. same, .. noise.Skip(250)]);
        Assert.True(await CompareAll(t, ["granite", "granite w1", "basalt granite w299"], [1, 7, 50]) > 100);
    }

    [Fact]
    public void Posting_blocks_round_trip_and_a_truncated_block_is_refused()
    {
        var ps = new[] { new Posting(1000, 1, 21, 3), new Posting(1001, 300, 70_000, 1), new Posting(5_000_000_000, 2, 5, 900) };
        var data = PostingBlock.Encode(990, ps);
        var back = new List<Posting>();
        PostingBlock.Decode(990, data, back);
        Assert.Equal(ps, back);
        Assert.Throws<InvalidDataException>(() => PostingBlock.Decode(990, data.AsSpan(0, data.Length - 1 - 3), new List<Posting>()));
        Assert.Throws<InvalidOperationException>(() => PostingBlock.Encode(1001, ps));
    }

    [Fact]
    public async Task A_format_1_store_is_migrated_to_the_own_index_on_open()
    {
        using var t = new TempStore();
        var frags = Corpus(400, 8);
        await t.Store.AppendAsync(frags);
        var before = await t.Store.SearchAsync("w3 w40 w7", Names, 10);
        t.Store.Dispose();
        using (var c = new SqliteConnection($"Data Source={t.DbPath};Pooling=False"))
        {
            // what format 1 held: FTS5 instead of lex_*
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "DROP TABLE lex_terms; DROP TABLE lex_postings; DROP TABLE lex_segments; DELETE FROM meta WHERE key IN ('lex_docs', 'lex_tokens', 'lex_gen'); UPDATE meta SET value = '1' WHERE key = 'format';"
                + "CREATE VIRTUAL TABLE fts USING fts5(content, ns); INSERT INTO meta (key, value) VALUES ('fts_docs', '400');";
            cmd.ExecuteNonQuery();
        }
        t.Reopen();
        Assert.Equal(before.Select(h => h.Cid), (await t.Store.SearchAsync("w3 w40 w7", Names, 10)).Select(h => h.Cid));
        using var check = new SqliteConnection($"Data Source={t.DbPath};Pooling=False");
        check.Open();
        using var q = check.CreateCommand();
        q.CommandText = "SELECT (SELECT value FROM meta WHERE key = 'format') || ',' || (SELECT count(*) FROM sqlite_master WHERE name = 'fts')";
        Assert.Equal("2,0", q.ExecuteScalar());
    }
}
