using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Bench;

/// <summary>
/// Plane H figures (issue 10): ingest rate of signed fragments (store append alone, and through MemoryService with
/// signature checks), BM25 top-10 latency p50/p99, fused BM25+vector latency (test embedder), proof generation and offline
/// verification. Texts are synthetic: 20-40 words drawn from a Zipf(1) vocabulary of 20,000 pseudo-words with a fixed
/// seed; queries are 2-3 words drawn the same way (so common words with long posting lists occur, as in real queries).
/// Usage: <c>dotnet run -c Release --project bench/Federation.Bench -- memory [fragments=100000] [dir] [--postgres CONNSTR]
/// [--only sqlite|postgres] [--no-service]</c>. With <c>--postgres</c> (or env FEDERATION_BENCH_POSTGRES) the same
/// append/search/proof figures are taken on <see cref="PostgresMemoryStore"/> too (its memory tables are dropped first).
/// </summary>
internal static class MemoryBench
{
    private const int Vocabulary = 20_000;
    private static int Queries = 1000;
    private static int? PgMergeLevels; // --pg-merge-levels: MemoryStoreOptions.LexicalMergeLevels for the PostgreSQL store (default 1)
    private static long? CacheMb; // --lexical-cache-mb: MemoryStoreOptions.LexicalCacheBytes for the SQLite store (default 256)

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    // CLOCK_THREAD_CPUTIME_ID: the calling thread's CPU time in ns; on a shared, overloaded machine it separates our
    // cost from the time spent waiting for a core.
    [DllImport("libc", EntryPoint = "clock_gettime")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int ClockGetTime(int clock, out Timespec ts);

    private static double ThreadCpuUs()
    {
        if (ClockGetTime(3, out var t) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return t.Sec * 1e6 + t.Nsec / 1e3;
    }

    private static double ProcessCpuS() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>CPU seconds (user + system) of every local process named "postgres" (the server, when it runs here).</summary>
    private static double PostgresCpuS()
    {
        double ticks = 0;
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(d, "stat"));
                int close = stat.LastIndexOf(')');
                if (close < 0 || !stat.AsSpan(0, close).EndsWith("(postgres")) continue;
                var f = stat[(close + 2)..].Split(' ');
                ticks += double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture); // utime, stime
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return ticks / 100.0; // USER_HZ
    }

    private static MemoryStoreOptions PgOptions() => PgMergeLevels is { } l ? new MemoryStoreOptions { LexicalMergeLevels = l } : new MemoryStoreOptions();

    public static async Task<int> RunAsync(string[] argv)
    {
        string? pg = Environment.GetEnvironmentVariable("FEDERATION_BENCH_POSTGRES"), only = null;
        bool service = true, reuse = false, compareBlockMax = false; // --reuse: search and prove on an existing <dir>/bm25.db (SQLite) without signing or appending
        var args = new List<string>();
        for (int a = 0; a < argv.Length; a++)
            switch (argv[a])
            {
                case "--postgres": pg = argv[++a]; break;
                case "--only": only = argv[++a]; break;
                case "--no-service": service = false; break;
                case "--reuse": reuse = true; break;
                case "--queries": Queries = int.Parse(argv[++a], CultureInfo.InvariantCulture); break;
                case "--lexical-cache-mb": CacheMb = long.Parse(argv[++a], CultureInfo.InvariantCulture); break;
                case "--compare-block-max": compareBlockMax = true; break;
                case "--pg-merge-levels": PgMergeLevels = int.Parse(argv[++a], CultureInfo.InvariantCulture); break;
                default: args.Add(argv[a]); break;
            }
        int n = args.Count > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var dir = args.Count > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "fed-memory-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        Console.WriteLine($"# memory bench: {n:N0} fragments ({Environment.ProcessorCount} cores, .NET {Environment.Version}), dir {dir}");
        var words = MakeWords();
        var cdf = ZipfCdf(Vocabulary);
        using var key = NodeKey.FromSeed(SHA256.HashData("memory-bench"u8));
        if (reuse && only == "postgres" && pg is not null)
        {
            Console.WriteLine("## PostgreSQL, existing memory tables (search and proofs only)");
            using var store = PostgresMemoryStore.Open(pg, key, null, PgOptions());
            Console.WriteLine($"  fragments: {store.Heads().Sum(h => h.Size):N0}");
            await Searches(store, words, cdf, "BM25 only");
            Proofs(store, store.Export().Select(f => f.Cid).ToArray(), key);
            return 0;
        }
        if (reuse)
        {
            var existing = Path.Combine(dir, "bm25.db");
            if (!File.Exists(existing)) throw new FileNotFoundException($"--reuse needs {existing} from an earlier run with the same dir.");
            Console.WriteLine("## SQLite, existing store (search and proofs only)");
            using var store = SqliteMemoryStore.Open(existing, key, null, CacheMb is { } mb ? new MemoryStoreOptions { LexicalCacheBytes = mb << 20 } : null);
            Console.WriteLine($"  fragments: {store.Heads().Sum(h => h.Size):N0}");
            if (compareBlockMax) await CompareBlockMax(store, words, cdf);
            await Searches(store, words, cdf, "BM25 only");
            Proofs(store, store.Export().Select(f => f.Cid).ToArray(), key);
            return 0;
        }
        try
        {
            // Sign (the contributor's cost, not the node's): in parallel, reported for reference.
            var sw = Stopwatch.StartNew();
            var frags = new SignedFragment[n];
            Parallel.For(0, n, i =>
            {
                var rng = new Random(i);
                var text = Text(rng, words, cdf, 20 + rng.Next(21));
                frags[i] = SignedFragment.Seal(new Fragment(MemoryNamespace.Topic("t" + (i % 8)), text, new JsonObject { ["i"] = i }, key.NodeId, 1_767_225_600_000 + i), key);
            });
            Line("sign fragments (contributor side, all cores)", n / sw.Elapsed.TotalSeconds, "frag/s", "-");

            // 1. Store append alone (fragments already checked), batches of 1000, synchronous=FULL.
            var path = Path.Combine(dir, "bm25.db");
            if (only is null or "sqlite")
            {
                Console.WriteLine("## SQLite (synchronous=FULL)");
                using (var store = SqliteMemoryStore.Open(path, key))
                    await StoreFigures(store, frags, words, cdf, key, "");
                Console.WriteLine($"  database size: {new FileInfo(path).Length / 1e6:F0} MB (+ WAL)");
            }
            if (pg is not null && only is null or "postgres")
            {
                // The server's CPU is not in this process: its time is the server processes' (reported by the caller).
                Console.WriteLine("## PostgreSQL (synchronous_commit=on); CPU figures are this client process only");
                PostgresMemoryStore.DropAll(pg!);
                using var store = PostgresMemoryStore.Open(pg!, key, null, PgOptions());
                await StoreFigures(store, frags, words, cdf, key, " (client CPU)");
            }
            if (!service) return 0;

            // 2. Through the service: signature + policy checks in parallel, then append (what POST /v1/memory/fragments does).
            int m = Math.Min(n, 100_000);
            var envs = frags.Take(m).Select(f => f.Envelope).ToArray();
            using (var store = SqliteMemoryStore.Open(Path.Combine(dir, "service.db"), key, new TestBagOfWordsEmbedder(64)))
            {
                var svc = new MemoryService(store, MemoryPolicy.Default);
                sw.Restart();
                double cpu0 = ProcessCpuS();
                for (int i = 0; i < m; i += 1000) await svc.PutAsync(MemoryPrincipal.Operator, envs.AsSpan(i, Math.Min(1000, m - i)).ToArray());
                double cpu = ProcessCpuS() - cpu0;
                Line($"service put: verify + policy + append + embed ({m:N0}), wall", m / sw.Elapsed.TotalSeconds, "frag/s", ">= 5000", m / sw.Elapsed.TotalSeconds / 5000);
                Line($"service put ({m:N0}), per CPU-second (all threads)", m / cpu, "frag/s", "-");
                await Searches(store, words, cdf, "fused BM25 + vector (64-d test embedder)");
            }
        }
        finally
        {
            if (args.Count < 2) Directory.Delete(dir, recursive: true);
        }
        return 0;
    }

    private static async Task StoreFigures(IMemoryStore store, SignedFragment[] frags, string[] words, double[] cdf, NodeKey key, string cpuNote)
    {
        int n = frags.Length;
        var sw = Stopwatch.StartNew();
        double cpu0 = ProcessCpuS(), server0 = PostgresCpuS();
        for (int i = 0; i < n; i += 1000) await store.AppendAsync(frags.AsSpan(i, Math.Min(1000, n - i)).ToArray());
        double cpu = ProcessCpuS() - cpu0, server = PostgresCpuS() - server0;
        Line($"store append, batches of 1000 ({n:N0}), wall", n / sw.Elapsed.TotalSeconds, "frag/s", ">= 5000", n / sw.Elapsed.TotalSeconds / 5000);
        Line($"store append ({n:N0}), per CPU-second{cpuNote}", n / cpu, "frag/s", ">= 5000", n / cpu / 5000);
        if (store is PostgresMemoryStore)
            Line($"store append ({n:N0}), per CPU-second (client + local server)", n / (cpu + server), "frag/s", ">= 5000", n / (cpu + server) / 5000);
        await Searches(store, words, cdf, "BM25 only");
        Proofs(store, frags.Select(f => f.Cid).ToArray(), key);
    }

    private static async Task Searches(IMemoryStore store, string[] words, double[] cdf, string what)
    {
        var rng = new Random(7);
        var ns = Enumerable.Range(0, 8).Select(i => "topic:t" + i).ToArray();
        var queries = Enumerable.Range(0, Queries).Select(_ => Text(rng, words, cdf, 2 + rng.Next(2))).ToArray();
        for (int i = 0; i < 50; i++) await store.SearchAsync(queries[i], ns, 10);
        var us = new List<double>(queries.Length);
        var cpuUs = new List<double>(queries.Length);
        foreach (var q in queries)
        {
            long t0 = Stopwatch.GetTimestamp();
            double c0 = ThreadCpuUs();
            var task = store.SearchAsync(q, ns, 10);
            double c1 = ThreadCpuUs(); // the search completes synchronously (no awaited I/O), on this thread (PostgreSQL: client side only)
            var hits = await task;
            us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            cpuUs.Add(c1 - c0);
            if (hits.Count == 0) throw new InvalidOperationException($"no hit for '{q}'");
        }
        if (store is PostgresMemoryStore)
        {
            // server CPU per query: the whole run's server time over the queries (no per-query server clock)
            double s0 = PostgresCpuS();
            foreach (var q in queries.Take(200)) await store.SearchAsync(q, ns, 10);
            Line($"search top-10, {what}: local server CPU, mean of 200", (PostgresCpuS() - s0) * 1000 / 200, "ms", "-");
        }
        // the slowest queries by thread-CPU (what the tail is made of)
        foreach (var i in Enumerable.Range(0, queries.Length).OrderByDescending(i => cpuUs[i]).Take(Math.Max(3, queries.Length / 100 + 2)))
            Console.WriteLine($"  slow: '{queries[i]}' thread-CPU {cpuUs[i] / 1000:F2} ms, wall {us[i] / 1000:F2} ms");
        us.Sort();
        cpuUs.Sort();
        double p99 = us[(int)(us.Count * 0.99)] / 1000, cp99 = cpuUs[(int)(cpuUs.Count * 0.99)] / 1000;
        Line($"search top-10, {what}: wall p50", us[us.Count / 2] / 1000, "ms", "-");
        Line($"search top-10, {what}: wall p99", p99, "ms", "< 20", 20 / p99);
        Line($"search top-10, {what}: thread-CPU p50", cpuUs[cpuUs.Count / 2] / 1000, "ms", "-");
        Line($"search top-10, {what}: thread-CPU p99", cp99, "ms", "< 20", 20 / cp99);
    }

    /// <summary>
    /// The same queries with block-max skipping off and on, each query run both ways back to back (so load and cache
    /// state are alike): thread-CPU p50/p99 of each, and a check that both give the same hits, bit for bit.
    /// </summary>
    private static async Task CompareBlockMax(IMemoryStore store, string[] words, double[] cdf)
    {
        var rng = new Random(7);
        var ns = Enumerable.Range(0, 8).Select(i => "topic:t" + i).ToArray();
        var queries = Enumerable.Range(0, Queries).Select(_ => Text(rng, words, cdf, 2 + rng.Next(2))).ToArray();
        foreach (var q in queries.Take(50)) await store.SearchAsync(q, ns, 10);
        var off = new List<double>(); var on = new List<double>();
        long skipped0 = Interlocked.Read(ref Federation.Memory.Storage.Lexical.Bm25TopK.BlocksSkipped);
        try
        {
            foreach (var q in queries)
            {
                Federation.Memory.Storage.Lexical.Bm25TopK.BlockMax = false;
                double c0 = ThreadCpuUs();
                var a = await store.SearchAsync(q, ns, 10);
                off.Add(ThreadCpuUs() - c0);
                Federation.Memory.Storage.Lexical.Bm25TopK.BlockMax = true;
                c0 = ThreadCpuUs();
                var b = await store.SearchAsync(q, ns, 10);
                on.Add(ThreadCpuUs() - c0);
                if (!a.Select(h => (h.Cid, h.Score, h.LexicalRank)).SequenceEqual(b.Select(h => (h.Cid, h.Score, h.LexicalRank))))
                    throw new InvalidOperationException($"block-max changed the hits of '{q}'");
            }
        }
        finally { Federation.Memory.Storage.Lexical.Bm25TopK.BlockMax = true; }
        long skipped = Interlocked.Read(ref Federation.Memory.Storage.Lexical.Bm25TopK.BlocksSkipped) - skipped0;
        Console.WriteLine($"  block-max A/B over {queries.Length} queries: same hits for every query; {skipped:N0} block skips");
        foreach (var i in Enumerable.Range(0, queries.Length).OrderByDescending(i => off[i]).Take(5))
            Console.WriteLine($"  slow without block-max: '{queries[i]}' thread-CPU {off[i] / 1000:F2} ms, with {on[i] / 1000:F2} ms");
        off.Sort(); on.Sort();
        Line("search top-10, BM25, block-max off: thread-CPU p50", off[off.Count / 2] / 1000, "ms", "-");
        Line("search top-10, BM25, block-max off: thread-CPU p99", off[(int)(off.Count * 0.99)] / 1000, "ms", "< 20", 20 / (off[(int)(off.Count * 0.99)] / 1000));
        Line("search top-10, BM25, block-max on: thread-CPU p50", on[on.Count / 2] / 1000, "ms", "-");
        Line("search top-10, BM25, block-max on: thread-CPU p99", on[(int)(on.Count * 0.99)] / 1000, "ms", "< 20", 20 / (on[(int)(on.Count * 0.99)] / 1000));
    }

    private static void Proofs(IMemoryStore store, Cid[] frags, NodeKey key)
    {
        var rng = new Random(11);
        store.CurrentStatement();
        var picks = Enumerable.Range(0, 1000).Select(_ => frags[rng.Next(frags.Length)]).ToArray();
        var proofs = new List<JsonObject>(picks.Length);
        var sw = Stopwatch.StartNew();
        double t0 = ThreadCpuUs();
        foreach (var c in picks) proofs.Add(store.Prove(c));
        Line("proof generation (namespace + global path, statement), wall", sw.Elapsed.TotalMicroseconds / picks.Length, "us/proof", "-");
        Line("proof generation, thread-CPU", (ThreadCpuUs() - t0) / picks.Length, "us/proof", "-");
        var full = new MemoryProofVerifier(key.NodeId);
        for (int i = 0; i < 100; i++) full.Verify(proofs[i]);
        sw.Restart();
        t0 = ThreadCpuUs();
        foreach (var p in proofs) if (!full.Verify(p).IsValid) throw new InvalidOperationException("a proof did not verify");
        double cpuFull = (ThreadCpuUs() - t0) / proofs.Count;
        Line("proof verification, full (2 Ed25519 verifies), wall", sw.Elapsed.TotalMicroseconds / proofs.Count, "us/proof", "< 100", 100 / (sw.Elapsed.TotalMicroseconds / proofs.Count));
        Line("proof verification, full, thread-CPU", cpuFull, "us/proof", "< 100", 100 / cpuFull);
        var memo = new MemoryProofVerifier(key.NodeId, memoizeStatements: true);
        if (Environment.GetEnvironmentVariable("FED_BENCH_VERIFY_LOOP") is { } loops) // profiling aid: the memoized verify alone, repeated
            for (int l = int.Parse(loops, CultureInfo.InvariantCulture); l > 0; l--) foreach (var p in proofs) memo.Verify(p);
        sw.Restart();
        t0 = ThreadCpuUs();
        foreach (var p in proofs) memo.Verify(p);
        double cpuMemo = (ThreadCpuUs() - t0) / proofs.Count;
        Line("proof verification, statement checked once per answer, wall", sw.Elapsed.TotalMicroseconds / proofs.Count, "us/proof", "< 100", 100 / (sw.Elapsed.TotalMicroseconds / proofs.Count));
        Line("proof verification, statement once, thread-CPU", cpuMemo, "us/proof", "< 100", 100 / cpuMemo);
        // The Merkle part alone (what remains once signatures are checked).
        var texts = proofs.Select(p => CanonicalJson.SerializeToString(p)).ToArray();
        sw.Restart();
        foreach (var t in texts) CanonicalJson.Parse(t);
        Line("  of which: parsing the proof JSON", sw.Elapsed.TotalMicroseconds / texts.Length, "us/proof", "-");
        VerifyBreakdown(proofs);
        var env = SignedEnvelope.FromJson(proofs[0]["fragment"]);
        t0 = ThreadCpuUs();
        for (int i = 0; i < 1000; i++) env.Verify();
        Line("  of which: one envelope verify (Ed25519), thread-CPU", (ThreadCpuUs() - t0) / 1000, "us", "-");
    }

    /// <summary>Where verification time goes: each step alone over the same proofs, thread-CPU per proof.</summary>
    private static void VerifyBreakdown(List<JsonObject> proofs)
    {
        void Step(string what, Action<JsonObject> f)
        {
            foreach (var p in proofs.Take(100)) f(p);
            double t0 = ThreadCpuUs();
            foreach (var p in proofs) f(p);
            Line("  step: " + what, (ThreadCpuUs() - t0) / proofs.Count, "us/proof", "-");
        }
        static long L(JsonObject p, string k) { ((JsonInt)p[k]).TryGetInt64(out var v); return v; }
        Step("envelope shape (fragment)", p => SignedEnvelope.TryFromJson(p["fragment"], out _, out _));
        Step("envelope shape (statement)", p => SignedEnvelope.TryFromJson(p["statement"], out _, out _));
        Step("fragment shape", p => { SignedEnvelope.TryFromJson(p["fragment"], out var e, out _); Fragment.TryFromJson(e!.Payload, out _, out _); });
        Step("signing bytes (fragment)", p => { var e = SignedEnvelope.FromJson(p["fragment"]); SignedEnvelope.SigningBytes(e.Type, e.Payload, e.Signer); });
        Step("signing bytes + 2 sha256", p => { var e = SignedEnvelope.FromJson(p["fragment"]); var b = SignedEnvelope.SigningBytes(e.Type, e.Payload, e.Signer); Cid.Of(b); Cid.Of(b.AsSpan(11, b.Length - 100)); });
        Step("ed25519 verify (fragment)", p => { var e = SignedEnvelope.FromJson(p["fragment"]); var b = SignedEnvelope.SigningBytes(e.Type, e.Payload, e.Signer); Federation.Registry.Crypto.Ed25519Verifier.Verify(e.Signer, b, e.SignatureBytes.Span); });
        Step("path hex decode", p => { foreach (var h in (JsonArray)p["path"]) Convert.FromHexString(((JsonString)h).Value); });
        Step("ns merkle fold (decoded)", p =>
        {
            var path = ((JsonArray)p["path"]).Select(h => Convert.FromHexString(((JsonString)h).Value)).ToList();
            var leaf = Federation.Registry.Merkle.MerkleHasher.HashLeaf(Cid.Parse(((JsonString)p["fragment_cid"]).Value).ToArray());
            Federation.Registry.Merkle.MerkleVerifier.VerifyInclusion(L(p, "leaf_index"), L(p, "tree_size"), leaf, path, Convert.FromHexString(((JsonString)p["namespace_root"]).Value));
        });
        Step("global leaf data", p => NamespaceHead.GlobalLeafData(((JsonString)p["namespace"]).Value, Convert.FromHexString(((JsonString)p["namespace_root"]).Value), L(p, "tree_size")));
        Step("statement memo check (signing bytes + sha256)", p => { var e = SignedEnvelope.FromJson(p["statement"]); Cid.Of(SignedEnvelope.SigningBytes(e.Type, e.Payload, e.Signer)); });
    }

    private static void Line(string what, double value, string unit, string target, double? ratio = null) =>
        Console.WriteLine($"{what,-62} {value,12:F2} {unit,-9} target {target,-8}" + (ratio is { } r ? $" ratio {r,6:F2}" : ""));

    private static string[] MakeWords()
    {
        string[] syl = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "zu", "an", "el", "or", "is", "um", "qa", "de", "fi", "go", "hu"];
        var rng = new Random(1);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (set.Count < Vocabulary) set.Add(string.Concat(Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => syl[rng.Next(syl.Length)])));
        return [.. set];
    }

    private static double[] ZipfCdf(int n)
    {
        var cdf = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) cdf[i] = sum += 1.0 / (i + 1);
        for (int i = 0; i < n; i++) cdf[i] /= sum;
        return cdf;
    }

    private static string Text(Random rng, string[] words, double[] cdf, int count)
    {
        var parts = new string[count];
        for (int i = 0; i < count; i++)
        {
            int j = Array.BinarySearch(cdf, rng.NextDouble());
            parts[i] = words[j < 0 ? Math.Min(~j, words.Length - 1) : j];
        }
        return string.Join(' ', parts);
    }
}
