using System.Diagnostics;
using Federation.Memory.Search;
using Federation.Memory.Storage;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Memory.Tests;

/// <summary>
/// The store contract (<see cref="IMemoryStore"/>, docs/memory.md §Storage), run against both stores: SQLite (embedded)
/// and PostgreSQL (a real server, <see cref="PostgresServer"/>). Each test gets a fresh store.
/// </summary>
public abstract class MemoryStoreContract
{
    /// <summary>A fresh, empty store location (file path or connection string).</summary>
    protected abstract string NewLocation();

    /// <summary>Opens the store at a location.</summary>
    protected abstract IMemoryStore Open(string location, IEmbedder? embedder = null);

    /// <summary>The WriterHost's first argument.</summary>
    protected abstract string Kind { get; }

    private readonly FixedTime _time = new(1_767_225_600_000);

    protected MemoryStoreOptions Options() => new() { TimeProvider = _time, Synchronous = "NORMAL" };

    private static string Json(JsonObject o) => CanonicalJson.SerializeToString(o);

    private static void AssertLogConsistent(IMemoryStore store)
    {
        foreach (var head in store.Heads())
        {
            var leaves = store.Export(head.Namespace).ToList();
            Assert.Equal(Enumerable.Range(0, (int)head.Size).Select(i => (long)i), leaves.Select(l => l.LeafIndex));
            var tree = new MerkleTree(new InMemoryMerkleNodeStore());
            foreach (var l in leaves) tree.Append(l.Cid.ToArray());
            Assert.Equal(Convert.ToHexStringLower(tree.Root()), Convert.ToHexStringLower(head.Root));
        }
    }

    [Fact]
    public async Task Proofs_of_every_fragment_verify_offline_against_the_signed_root()
    {
        using var s = Open(NewLocation());
        var frags = new List<SignedFragment>();
        for (int i = 0; i < 11; i++) frags.Add(Keys.Fragment(Keys.Alice, i % 3 == 0 ? "public" : "topic:rivers", $"river fact {i} about the Mara"));
        frags.Add(Keys.Fragment(Keys.Bob, "user:bob", "bob's private note"));
        var receipts = await s.AppendAsync(frags);
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Equal([0L, 1, 2, 3], receipts.Where(r => r.Namespace == "public").Select(r => r.LeafIndex));
        var verifier = new MemoryProofVerifier(Keys.Node.NodeId);
        foreach (var f in frags)
        {
            var check = verifier.Verify(Json(s.Prove(f.Cid)));
            Assert.True(check.IsValid, check.ToString());
            Assert.Equal(f.Cid, check.FragmentCid);
            Assert.Equal(f.Fragment.Namespace.Name, check.Namespace);
        }
        Assert.Equal(3, s.GlobalTree().Size);
        Assert.Equal(Keys.Node.NodeId, s.Signer);
        Assert.Equal(s.GlobalTree().Root, s.CurrentStatement().GlobalRoot);
        // appending the same fragments again changes nothing
        var again = await s.AppendAsync(frags.Take(3).ToList());
        Assert.All(again, r => Assert.True(r.Duplicate));
        Assert.Equal(12, s.Heads().Sum(h => h.Size));
        AssertLogConsistent(s);
    }

    [Fact]
    public async Task Tampered_content_root_path_or_signature_is_rejected_with_the_reason()
    {
        using var s = Open(NewLocation());
        var frags = Enumerable.Range(0, 6).Select(i => Keys.Fragment(Keys.Alice, "topic:rivers", $"the Nile is long, fact {i}")).ToList();
        frags.Add(Keys.Fragment(Keys.Alice, "public", "other"));
        await s.AppendAsync(frags);
        var proof = Json(s.Prove(frags[3].Cid));
        var v = new MemoryProofVerifier(Keys.Node.NodeId);
        Assert.True(v.Verify(proof).IsValid);

        Assert.Equal(MemoryProofFailure.FragmentCidMismatch, v.Verify(proof.Replace("the Nile is long", "the Nile is LONG", StringComparison.Ordinal)).Failure);
        Assert.Equal(MemoryProofFailure.GlobalPathInvalid, v.Verify(Mutate(proof, o => o["global_root"] = new string('a', 64))).Failure);
        Assert.Equal(MemoryProofFailure.NamespacePathInvalid, v.Verify(Mutate(proof, o => o["namespace_root"] = new string('0', 64))).Failure);
        var tampered = Mutate(proof, o =>
        {
            var path = (JsonArray)o["path"];
            var first = path[0].AsString();
            path[0] = (first[0] == '0' ? "1" : "0") + first[1..];
        });
        Assert.Equal(MemoryProofFailure.NamespacePathInvalid, v.Verify(tampered).Failure);
        var badSig = Mutate(proof, o =>
        {
            var env = (JsonObject)o["fragment"];
            var sig = env["signature"].AsString();
            env["signature"] = sig[..10] + (sig[10] == '0' ? "1" : "0") + sig[11..];
        });
        var check = v.Verify(badSig);
        Assert.Equal(MemoryProofFailure.ContributorSignatureInvalid, check.Failure);
        Assert.False(string.IsNullOrEmpty(check.Reason));
        // a statement signed by another node is not this node's
        Assert.Equal(MemoryProofFailure.StatementSignerUnexpected, new MemoryProofVerifier(Keys.Bob.NodeId).Verify(proof).Failure);
    }

    private static string Mutate(string proof, Action<JsonObject> change)
    {
        var o = (JsonObject)CanonicalJson.Parse(proof);
        change(o);
        return CanonicalJson.SerializeToString(o);
    }

    [Fact]
    public async Task A_tombstone_hides_the_fragment_from_search_and_keeps_it_provable()
    {
        using var s = Open(NewLocation(), new TestBagOfWordsEmbedder(32));
        var keep = Keys.Fragment(Keys.Alice, "public", "apples are red fruit");
        var gone = Keys.Fragment(Keys.Alice, "public", "apples are green fruit");
        await s.AppendAsync([keep, gone]);
        Assert.Equal(2, (await s.SearchAsync("apples fruit", ["public"], 10)).Count);
        var tomb = Keys.Fragment(Keys.Alice, "public", "", meta: new JsonObject { [Fragment.TombstoneKey] = gone.Cid.ToString() });
        var r = (await s.AppendAsync([tomb]))[0];
        Assert.Equal(2, r.LeafIndex);
        var hits = await s.SearchAsync("apples green fruit", ["public"], 10);
        Assert.Equal([keep.Cid], hits.Select(h => h.Cid));
        Assert.Equal(FragmentStatus.Deleted, s.Get(gone.Cid)!.Status);
        Assert.Equal(FragmentStatus.Tombstone, s.Get(tomb.Cid)!.Status);
        Assert.True(new MemoryProofVerifier(Keys.Node.NodeId).Verify(Json(s.Prove(gone.Cid))).IsValid);
        // deleting again, or a tombstone for something unknown, is refused and appends nothing
        var again = Keys.Fragment(Keys.Alice, "public", "", t: 1, meta: new JsonObject { [Fragment.TombstoneKey] = gone.Cid.ToString() });
        Assert.Equal("memory.bad_tombstone", (await Assert.ThrowsAsync<MemoryStoreException>(() => s.AppendAsync([again]))).Code);
        var unknown = Keys.Fragment(Keys.Alice, "public", "", meta: new JsonObject { [Fragment.TombstoneKey] = Keys.Fragment(Keys.Bob, "public", "x").Cid.ToString() });
        Assert.Equal("memory.not_found", (await Assert.ThrowsAsync<MemoryStoreException>(() => s.AppendAsync([unknown]))).Code);
        var foreign = Keys.Fragment(Keys.Alice, "topic:x", "", meta: new JsonObject { [Fragment.TombstoneKey] = keep.Cid.ToString() });
        Assert.Equal("memory.bad_tombstone", (await Assert.ThrowsAsync<MemoryStoreException>(() => s.AppendAsync([foreign]))).Code);
        Assert.Equal(3, s.Heads().Single().Size);
        AssertLogConsistent(s);
    }

    [Fact]
    public async Task Erasure_removes_the_content_but_the_root_and_the_proof_stay_and_say_erased()
    {
        using var s = Open(NewLocation(), new TestBagOfWordsEmbedder(32));
        var secret = Keys.Fragment(Keys.Alice, "user:alice", "my passport number is zq7731");
        var other = Keys.Fragment(Keys.Alice, "user:alice", "my favourite colour is blue");
        await s.AppendAsync([secret, other]);
        var root = s.GlobalTree().Root;
        Assert.True(s.Erase(secret.Cid));
        Assert.False(s.Erase(secret.Cid));
        var stored = s.Get(secret.Cid)!;
        Assert.Equal(FragmentStatus.Erased, stored.Status);
        Assert.Null(stored.Envelope);
        Assert.Equal(_time.Ms, stored.ErasedAtMs);
        Assert.Equal(root, s.GlobalTree().Root);
        var check = new MemoryProofVerifier(Keys.Node.NodeId).Verify(Json(s.Prove(secret.Cid)));
        Assert.True(check.IsValid, check.ToString());
        Assert.True(check.Erased);
        Assert.DoesNotContain(await s.SearchAsync("passport number zq7731", ["user:alice"], 10), h => h.Cid == secret.Cid);
        Assert.DoesNotContain("zq7731", string.Concat(s.Export().Select(f => f.Envelope is null ? "" : CanonicalJson.SerializeToString(f.Envelope.ToJson()))), StringComparison.Ordinal);
        Assert.Throws<MemoryStoreException>(() => s.Erase(Keys.Fragment(Keys.Bob, "public", "never stored").Cid));
    }

    [Fact]
    public async Task Reopening_keeps_logs_roots_statements_search_and_proofs()
    {
        var at = NewLocation();
        var frags = Enumerable.Range(0, 9).Select(i => Keys.Fragment(Keys.Alice, i % 2 == 0 ? "topic:a" : "public", $"tide table {i} for the harbour")).ToList();
        byte[] root;
        string statement, proof;
        List<Cid> hits;
        using (var s = Open(at, new TestBagOfWordsEmbedder(32)))
        {
            await s.AppendAsync(frags);
            root = s.GlobalTree().Root;
            statement = s.CurrentStatement().Envelope.ToCanonicalBytes() is var eb ? System.Text.Encoding.UTF8.GetString(eb) : "";
            proof = Json(s.Prove(frags[4].Cid));
            hits = (await s.SearchAsync("tide harbour 4", ["topic:a", "public"], 5)).Select(h => h.Cid).ToList();
        }
        using (var s = Open(at, new TestBagOfWordsEmbedder(32)))
        {
            Assert.Equal(root, s.GlobalTree().Root);
            Assert.Equal(statement, s.CurrentStatement().Envelope.ToCanonicalBytes() is var eb ? System.Text.Encoding.UTF8.GetString(eb) : "");
            Assert.Equal(proof, Json(s.Prove(frags[4].Cid)));
            Assert.Equal(hits, (await s.SearchAsync("tide harbour 4", ["topic:a", "public"], 5)).Select(h => h.Cid));
            Assert.Equal(frags.Select(f => f.Cid).Order(), s.Export().Select(f => f.Cid).Order());
            var more = Keys.Fragment(Keys.Alice, "public", "one more");
            Assert.Equal(4, (await s.AppendAsync([more]))[0].LeafIndex);
            AssertLogConsistent(s);
        }
    }

    [Fact]
    public async Task The_same_query_on_the_same_state_gives_the_same_list_with_ties_broken_by_cid()
    {
        using var s = Open(NewLocation(), new TestBagOfWordsEmbedder(32));
        var frags = Enumerable.Range(0, 6).Select(i => Keys.Fragment(Keys.Alice, "public", "identical text about tides", t: i)).ToList();
        frags.Add(Keys.Fragment(Keys.Alice, "public", "tides and moons and tides"));
        frags.Add(Keys.Fragment(Keys.Alice, "topic:b", "tides elsewhere"));
        frags.Add(Keys.Fragment(Keys.Alice, "public", "nothing related"));
        await s.AppendAsync(frags);
        var first = await s.SearchAsync("tides", ["public"], 10);
        var second = await s.SearchAsync("tides", ["public"], 10);
        Assert.Equal(first.Select(h => (h.Cid, h.Score)), second.Select(h => (h.Cid, h.Score)));
        Assert.Equal(8, first.Count); // seven share a word; the vector list brings the eighth
        Assert.All(first, h => Assert.Equal("public", h.Namespace));
        for (int i = 1; i < first.Count; i++)
            Assert.True(first[i - 1].Score > first[i].Score || (first[i - 1].Score == first[i].Score && first[i - 1].Cid.CompareTo(first[i].Cid) < 0));
        // the six identical texts tie on both lists, so their order is by CID
        var ties = first.Where(h => h.Content == "identical text about tides").Select(h => h.Cid).ToList();
        Assert.Equal(ties.Order(), ties);
        Assert.Equal(frags[6].Cid, (await s.SearchAsync("moons", ["public", "topic:b"], 2))[0].Cid);
        Assert.All(await s.SearchAsync("zzzz", ["public"], 5), h => Assert.Null(h.LexicalRank));
    }

    [Fact]
    public async Task Two_writer_processes_on_one_namespace_keep_its_log_consistent()
    {
        var at = NewLocation();
        using (Open(at)) { } // schema first, so the two processes race only on appends
        const int PerWriter = 150;
        var host = Path.Combine(AppContext.BaseDirectory, "Federation.Memory.WriterHost.dll");
        Assert.True(File.Exists(host), $"{host} is missing: the test project references WriterHost, build it.");
        Process Start(string who) => Process.Start(new ProcessStartInfo("dotnet", [host, Kind, at, "topic:shared", who, PerWriter.ToString(System.Globalization.CultureInfo.InvariantCulture), "5"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var one = Start("writer-one");
        using var two = Start("writer-two");
        var outs = await Task.WhenAll(Finish(one), Finish(two));
        Assert.All(outs, o => Assert.True(o.Code == 0, $"writer exited {o.Code}: {o.Out} {o.Err}"));
        Assert.All(outs, o => Assert.Equal(PerWriter.ToString(System.Globalization.CultureInfo.InvariantCulture), o.Out.Trim()));

        using var s = Open(at);
        var head = s.Heads().Single();
        Assert.Equal(2 * PerWriter, head.Size);
        var leaves = s.Export("topic:shared").ToList();
        Assert.Equal(2 * PerWriter, leaves.Select(l => l.Cid).Distinct().Count());
        foreach (var who in new[] { "writer-one", "writer-two" })
            Assert.Equal(PerWriter, leaves.Count(l => CanonicalJson.SerializeToString(l.Envelope!.ToJson()).Contains(who + " fragment", StringComparison.Ordinal)));
        // each writer's own fragments are in its order in the shared log; batches of the two interleave
        AssertLogConsistent(s);
        Assert.True(new MemoryProofVerifier(Keys.Node.NodeId).Verify(Json(s.Prove(leaves[^1].Cid))).IsValid);
    }

    private static async Task<(int Code, string Out, string Err)> Finish(Process p)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await o, await e);
    }
}

/// <summary>The contract on the embedded SQLite store.</summary>
public sealed class SqliteStoreContractTests : MemoryStoreContract, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-memory-contract-" + Guid.NewGuid().ToString("N")[..8]);
    private int _n;

    protected override string Kind => "sqlite";

    protected override string NewLocation()
    {
        Directory.CreateDirectory(_dir);
        return Path.Combine(_dir, $"m{Interlocked.Increment(ref _n)}.db");
    }

    protected override IMemoryStore Open(string location, IEmbedder? embedder = null) => SqliteMemoryStore.Open(location, Keys.Node, embedder, Options());

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The contract on the shared PostgreSQL store, against a real server started for these tests.</summary>
[Collection("postgres")]
public sealed class PostgresStoreContractTests(PostgresServer server) : MemoryStoreContract
{
    protected override string Kind => "postgres";

    protected override string NewLocation() => server.NewDatabase();

    protected override IMemoryStore Open(string location, IEmbedder? embedder = null) => PostgresMemoryStore.Open(location, Keys.Node, embedder, Options());

    [Fact]
    public async Task Cached_posting_lists_are_not_used_after_another_process_appends_or_erases()
    {
        var at = server.NewDatabase();
        using var reader = PostgresMemoryStore.Open(at, Keys.Node, null, Options());
        using var writer = PostgresMemoryStore.Open(at, Keys.Node, null, Options()); // another node process on the same database
        var first = Enumerable.Range(0, 30).Select(i => Keys.Fragment(Keys.Alice, "public", $"filler{i} common text zeta{(i % 3 == 0 ? " quasar" : "")}", t: i)).ToList();
        await writer.AppendAsync(first);
        var before = (await reader.SearchAsync("quasar", ["public"], 50)).Select(h => h.Cid).ToHashSet();
        Assert.Equal(10, before.Count); // the reader has cached 'quasar' now
        var added = Keys.Fragment(Keys.Alice, "public", "quasar quasar quasar", t: 100);
        await writer.AppendAsync([added]);
        var after = await reader.SearchAsync("quasar", ["public"], 50);
        Assert.Equal(11, after.Count);
        Assert.Equal(added.Cid, after[0].Cid); // three occurrences in a short text: the best
        Assert.True(writer.Erase(added.Cid));
        var erased = await reader.SearchAsync("quasar", ["public"], 50);
        Assert.Equal(before, erased.Select(h => h.Cid).ToHashSet());
        // the same state read again gives the very same list (and the cache serves it)
        Assert.Equal(erased.Select(h => h.Cid), (await reader.SearchAsync("quasar", ["public"], 50)).Select(h => h.Cid));
    }

    [Fact]
    public async Task Bm25_ranks_exactly_as_sqlite_fts5_on_the_same_ascii_corpus()
    {
        var rng = new Random(7);
        string[] vocab = [.. Enumerable.Range(0, 60).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var frags = Enumerable.Range(0, 400).Select(i =>
        {
            var words = Enumerable.Range(0, rng.Next(3, 15)).Select(_ => vocab[(int)Math.Floor(Math.Pow(rng.NextDouble(), 2) * vocab.Length)]);
            return Keys.Fragment(Keys.Alice, i % 4 == 0 ? "topic:a" : "public", string.Join(' ', words), t: i);
        }).ToList();
        var dir = Path.Combine(Path.GetTempPath(), "fed-memory-cmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var sqlite = SqliteMemoryStore.Open(Path.Combine(dir, "m.db"), Keys.Node, null, Options());
            using var pg = Open(NewLocation());
            foreach (var chunk in frags.Chunk(100)) { await sqlite.AppendAsync(chunk); await pg.AppendAsync(chunk); }
            // delete a few, so the statistics (N, df, avgdl) must follow deletions too
            var tombs = frags.Where((_, i) => i % 37 == 1).Select(f => Keys.Fragment(Keys.Alice, f.Fragment.Namespace.Name, "", meta: new JsonObject { [Fragment.TombstoneKey] = f.Cid.ToString() })).ToList();
            await sqlite.AppendAsync(tombs);
            await pg.AppendAsync(tombs);
            Assert.Equal(sqlite.GlobalTree().Root, pg.GlobalTree().Root);
            int compared = 0;
            foreach (var q in new[] { "w1 w7", "w30", "w2 w3 w59", "w0", "w44 w45 w46 w47", "w12 nothing" })
                foreach (var ns in new[] { new[] { "public" }, ["public", "topic:a"], ["topic:a"] })
                {
                    var a = (await sqlite.SearchAsync(q, ns, 10)).Select(h => h.Cid).ToList();
                    var b = (await pg.SearchAsync(q, ns, 10)).Select(h => h.Cid).ToList();
                    Assert.Equal(a, b);
                    compared += a.Count;
                }
            Assert.True(compared > 100, $"only {compared} hits compared");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Sql(string connectionString, string sql)
    {
        using var ds = Npgsql.NpgsqlDataSource.Create(connectionString);
        using var c = ds.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static async Task<List<List<Cid>>> Rankings(IMemoryStore s, string[] queries, string[][] namespaces)
    {
        var all = new List<List<Cid>>();
        foreach (var q in queries)
            foreach (var ns in namespaces)
                all.Add((await s.SearchAsync(q, ns, 10)).Select(h => h.Cid).ToList());
        return all;
    }

    [Fact]
    public async Task Segments_whose_fragment_ids_interleave_still_rank_exactly_as_sqlite()
    {
        // Two writers of different namespaces draw fragment ids from one sequence, so a later segment may hold lower ids
        // than an earlier one. Forced here with the sequence: the second batch gets ids below the first's.
        var rng = new Random(3);
        string[] vocab = [.. Enumerable.Range(0, 30).Select(i => "v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        List<SignedFragment> Batch(string ns, int from) => Enumerable.Range(from, 60).Select(i =>
            Keys.Fragment(Keys.Alice, ns, string.Join(' ', Enumerable.Range(0, rng.Next(2, 10)).Select(_ => vocab[rng.Next(vocab.Length)])), t: i)).ToList();
        var a = Batch("topic:a", 0);
        var b = Batch("public", 100);
        var at = NewLocation();
        var dir = Path.Combine(Path.GetTempPath(), "fed-memory-ilv-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var sqlite = SqliteMemoryStore.Open(Path.Combine(dir, "m.db"), Keys.Node, null, Options());
            using var pg = Open(at);
            Sql(at, "SELECT setval('memory_fragment_ids', 100000)");
            await pg.AppendAsync(a);
            Sql(at, "SELECT setval('memory_fragment_ids', 10)");
            await pg.AppendAsync(b);
            await sqlite.AppendAsync(a);
            await sqlite.AppendAsync(b);
            string[] queries = ["v1 v2", "v3", "v4 v5 v6", "v0", "v29 v7"];
            string[][] spaces = [["public"], ["public", "topic:a"], ["topic:a"]];
            var want = await Rankings(sqlite, queries, spaces);
            Assert.Equal(want, await Rankings(pg, queries, spaces));
            Assert.True(want.Sum(l => l.Count) > 60);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_format_1_database_is_migrated_to_segments_on_open()
    {
        var at = NewLocation();
        var frags = Enumerable.Range(0, 120).Select(i => Keys.Fragment(Keys.Alice, i % 3 == 0 ? "topic:a" : "public", $"word{i % 7} shared{i % 4} text{i}", t: i)).ToList();
        string[] queries = ["word1 shared2", "word3", "text5 word0", "shared1"];
        string[][] spaces = [["public"], ["public", "topic:a"]];
        List<List<Cid>> before;
        using (var s = Open(at))
        {
            foreach (var chunk in frags.Chunk(50)) await s.AppendAsync(chunk);
            await s.AppendAsync([Keys.Fragment(Keys.Alice, "public", "", t: 999, meta: new JsonObject { [Fragment.TombstoneKey] = frags[1].Cid.ToString() })]);
            before = await Rankings(s, queries, spaces);
        }
        // Rewrite the database into format 1's layout: one row per posting and per-namespace df, no segments.
        var rows = new System.Text.StringBuilder();
        using (var s = (PostgresMemoryStore)Open(at))
            foreach (var f in s.Export().Where(f => f.Status == FragmentStatus.Live))
            {
                var content = ((JsonString)((JsonObject)f.Envelope!.Payload)["content"]).Value;
                foreach (var (term, tf) in PostgresMemoryStore.Terms(content).Terms)
                    rows.Append($"INSERT INTO memory_postings SELECT '{term}', id, {tf} FROM memory_fragments WHERE cid = '\\x{f.Cid}'::bytea;\n");
            }
        Sql(at, "CREATE TABLE memory_postings (term text COLLATE \"C\" NOT NULL, frag_id bigint NOT NULL, tf int NOT NULL, PRIMARY KEY (term, frag_id)); "
            + "CREATE TABLE memory_df (ns_id bigint NOT NULL, term text COLLATE \"C\" NOT NULL, df bigint NOT NULL, PRIMARY KEY (term, ns_id)); "
            + rows
            + "INSERT INTO memory_df SELECT f.ns_id, p.term, count(*) FROM memory_postings p JOIN memory_fragments f ON f.id = p.frag_id GROUP BY f.ns_id, p.term; "
            + "DROP TABLE memory_lex, memory_lex_segments, memory_lex_moves; UPDATE memory_fragments SET lex_seg = NULL; UPDATE memory_meta SET value = '1' WHERE key = 'format';");
        using (var s = Open(at))
        {
            Assert.Equal(before, await Rankings(s, queries, spaces));
            Assert.Contains(before, l => l.Count > 0);
            // the migrated index takes erasures: the erased fragment leaves the results
            var gone = before[0][0];
            Assert.True(s.Erase(gone));
            Assert.DoesNotContain(gone, (await s.SearchAsync(queries[0], spaces[0], 10)).Select(h => h.Cid));
        }
        using var check = Npgsql.NpgsqlDataSource.Create(at);
        using var cmd = check.CreateCommand("SELECT (SELECT value FROM memory_meta WHERE key = 'format') || ',' || (SELECT count(*) FROM pg_tables WHERE tablename IN ('memory_postings', 'memory_df'))");
        Assert.Equal("3,0", cmd.ExecuteScalar());
    }

    /// <summary>
    /// 80 batches from two namespaces whose fragment ids interleave (as two writers' do), with two merge levels: level-0
    /// segments merge into level 1 and level 2, tombstones and erasures then find their postings in merged segments through the recorded
    /// moves, and every ranking stays SQLite's, before and after a restart.
    /// </summary>
    [Fact]
    public async Task Segments_merge_by_levels_and_removals_find_merged_postings_ranking_as_sqlite()
    {
        var rng = new Random(9);
        string[] vocab = [.. Enumerable.Range(0, 40).Select(i => "m" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var batches = Enumerable.Range(0, 80).Select(b => Enumerable.Range(0, 12).Select(i =>
            Keys.Fragment(Keys.Alice, b % 2 == 0 ? "topic:a" : "public",
                string.Join(' ', Enumerable.Range(0, rng.Next(2, 9)).Select(_ => vocab[(int)Math.Min(vocab.Length - 1, Math.Floor(Math.Pow(rng.NextDouble(), 2) * vocab.Length))])), t: b * 100 + i)).ToList()).ToList();
        var at = NewLocation();
        var dir = Path.Combine(Path.GetTempPath(), "fed-memory-merge-" + Guid.NewGuid().ToString("N")[..8]);
        string[] queries = ["m1 m2", "m3", "m4 m5 m6", "m0", "m39 m7", "m20 m0 m1"];
        string[][] spaces = [["public"], ["public", "topic:a"], ["topic:a"]];
        long merges = Interlocked.Read(ref PostgresMemoryStore.Merges);
        try
        {
            using var sqlite = SqliteMemoryStore.Open(Path.Combine(dir, "m.db"), Keys.Node, null, Options());
            MemoryStoreOptions TwoLevels() { var o = Options(); o.LexicalMergeLevels = 2; return o; }
            using (var pg = PostgresMemoryStore.Open(at, Keys.Node, null, TwoLevels()))
            {
                for (int b = 0; b < batches.Count; b++)
                {
                    // every third batch takes ids below the previous one's, as a second writer's would
                    if (b % 3 == 2) Sql(at, $"SELECT setval('memory_fragment_ids', {1_000_000 - b * 1000})");
                    else if (b % 3 == 0) Sql(at, $"SELECT setval('memory_fragment_ids', {2_000_000 + b * 1000})");
                    await pg.AppendAsync(batches[b]);
                    await sqlite.AppendAsync(batches[b]);
                }
                var want = await Rankings(sqlite, queries, spaces);
                Assert.Equal(want, await Rankings(pg, queries, spaces));
                Assert.True(want.Sum(l => l.Count) > 100);
                // 80 level-0 segments: 10 level-1 merges, one level-2 merge (merges run one per append, so all are done)
                Assert.Equal("1:2,2:1", LevelCounts(at));
                Assert.True(Interlocked.Read(ref PostgresMemoryStore.Merges) - merges >= 11);

                // removals of fragments whose postings now live in merged segments
                var all = batches.SelectMany(x => x).ToList();
                var tombs = all.Where((_, i) => i % 9 == 4).Select(f => Keys.Fragment(Keys.Alice, f.Fragment.Namespace.Name, "", t: 90_000 + all.IndexOf(f),
                    meta: new JsonObject { [Fragment.TombstoneKey] = f.Cid.ToString() })).ToList();
                await pg.AppendAsync(tombs);
                await sqlite.AppendAsync(tombs);
                foreach (var f in all.Where((_, i) => i % 13 == 6))
                {
                    Assert.True(pg.Erase(f.Cid));
                    Assert.True(sqlite.Erase(f.Cid));
                }
                want = await Rankings(sqlite, queries, spaces);
                Assert.Equal(want, await Rankings(pg, queries, spaces));
                foreach (var f in all.Where((_, i) => i % 9 == 4 || i % 13 == 6))
                    foreach (var q in queries)
                        Assert.DoesNotContain(f.Cid, (await pg.SearchAsync(q, ["public", "topic:a"], 50)).Select(h => h.Cid));
            }
            using (var pg = Open(at)) // default options (one level) read the same store after a restart
                Assert.Equal(await Rankings(sqlite, queries, spaces), await Rankings(pg, queries, spaces));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static string LevelCounts(string at)
    {
        using var db = Npgsql.NpgsqlDataSource.Create(at);
        using var cmd = db.CreateCommand("SELECT coalesce(string_agg(level || ':' || n, ',' ORDER BY level), '') FROM (SELECT level, count(*) AS n FROM memory_lex_segments WHERE level > 0 GROUP BY level) x");
        return (string)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void The_data_dir_config_and_the_env_var_select_the_store()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fed-memory-cfg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Equal("sqlite", MemoryStores.Resolve(dir, _ => null).Kind);
            var cs = NewLocation();
            Assert.Equal(("postgres", cs), MemoryStores.Resolve(dir, n => n == MemoryStores.PostgresEnv ? cs : null) is var r ? (r.Kind, r.Target) : default);
            File.WriteAllText(Path.Combine(dir, MemoryStores.ConfigFile), "{\"store\": \"postgres\", \"connection\": \"" + cs + "\"}");
            Assert.Equal(("postgres", cs), MemoryStores.Resolve(dir, _ => null) is var f ? (f.Kind, f.Target) : default);
            File.WriteAllText(Path.Combine(dir, MemoryStores.ConfigFile), "{\"store\": \"mysql\"}");
            Assert.Contains("use \"sqlite\" or \"postgres\"", Assert.Throws<InvalidDataException>(() => MemoryStores.Resolve(dir, _ => null)).Message, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, MemoryStores.ConfigFile), "{\"store\": \"postgres\"}");
            Assert.Contains("needs \"connection\"", Assert.Throws<InvalidDataException>(() => MemoryStores.Resolve(dir, _ => null)).Message, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

/// <summary>Top-k pruning (MaxScore) must give exactly the list the full BM25 ranking gives (PostgreSQL; SQLite: LexicalIndexTests).</summary>
public abstract class PruningContract
{
    protected abstract IMemoryStore Open(string location, bool prune);

    protected abstract string NewLocation();

    protected abstract long PrunedSoFar { get; }

    [Fact]
    public async Task Pruned_bm25_gives_the_same_list_as_the_full_ranking()
    {
        long before = PrunedSoFar;
        var rng = new Random(3);
        string[] vocab = [.. Enumerable.Range(0, 40).Select(i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        string[] rare = ["zeta", "eta", "theta", "iota"];
        var frags = Enumerable.Range(0, 1500).Select(i =>
        {
            var words = Enumerable.Range(0, rng.Next(4, 20)).Select(_ => vocab[(int)Math.Floor(Math.Pow(rng.NextDouble(), 3) * vocab.Length)]).ToList();
            if (i % 53 == 0) words.Insert(rng.Next(words.Count), rare[i % 4]);
            if (i % 211 == 0) words.Add(rare[(i + 1) % 4]);
            return Keys.Fragment(Keys.Alice, i % 5 == 0 ? "topic:a" : "public", string.Join(' ', words), t: i);
        }).ToList();
        var at = NewLocation();
        using (var s = Open(at, true)) foreach (var chunk in frags.Chunk(500)) await s.AppendAsync(chunk);
        using var pruned = Open(at, true);
        using var full = Open(at, false);
        int compared = 0;
        foreach (var q in new[] { "zeta c0", "zeta c1 c2", "eta theta c0 c3", "iota c5", "zeta eta theta iota c0 c1", "theta c0", "c0 c1", "zeta" })
            foreach (var ns in new[] { new[] { "public" }, ["public", "topic:a"], ["topic:a"] })
                foreach (var k in new[] { 1, 3, 10 })
                {
                    var a = (await pruned.SearchAsync(q, ns, k)).Select(h => h.Cid).ToList();
                    var b = (await full.SearchAsync(q, ns, k)).Select(h => h.Cid).ToList();
                    Assert.Equal(b, a);
                    compared += a.Count;
                }
        Assert.True(compared > 200, $"only {compared} hits compared");
        Assert.True(PrunedSoFar > before, "no query took the pruned path: the test compares nothing");
    }
}

[Collection("postgres")]
public sealed class PostgresPruningTests(PostgresServer server) : PruningContract
{
    protected override string NewLocation() => server.NewDatabase();

    protected override long PrunedSoFar => Interlocked.Read(ref PostgresMemoryStore.PrunedSearches);

    protected override IMemoryStore Open(string location, bool prune)
    {
        var s = PostgresMemoryStore.Open(location, Keys.Node, null, new MemoryStoreOptions { FusionDepth = 1 });
        s.RankEverything = !prune;
        return s;
    }
}
