using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using LLama.Native;
using Federation.Specialists.Models;

namespace Federation.Bench;

/// <summary>
/// Specialist engine benchmark on project-generated models (tiny ≈0.87M and small ≈10.8M parameters):
/// single-adapter throughput, the same work over 8 and 64 interleaved adapters, naive swap-per-request vs the
/// adapter-affinity scheduler under 8 concurrent clients, swap overhead, adapter load time and memory, and cold vs
/// warm first-request latency with 1,000 registered adapters and 16 resident. Options: <c>--quick</c>,
/// <c>--models tiny,small</c>, <c>--json FILE</c>, <c>--threads N</c>.
/// </summary>
internal static class EngineBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var models = Arg(args, "--models")?.Split(',') ?? ["tiny", "small"];
        var jsonPath = Arg(args, "--json");
        var threads = int.Parse(Arg(args, "--threads") ?? "1", Inv);
        LlamaLibrary.EnsureLoaded();
        var dir = Path.Combine(Path.GetTempPath(), "fed-engine-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var all = new Dictionary<string, object>();
        try
        {
            Console.WriteLine($"llama.cpp {LlamaLibrary.Version} from {LlamaLibrary.LoadedDirectory}; {Environment.ProcessorCount} cores; threads {threads}; load average {LoadAverage()}");
            foreach (var name in models)
                all[name] = await RunModelAsync(name, dir, quick, threads, args.Contains("--peer-rows"));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        Console.WriteLine($"load average at the end: {LoadAverage()} (numbers on a shared machine vary with it; each throughput is the median of 3 runs)");
        if (jsonPath is not null)
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(all, Indented));
        return 0;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Completion tokens per wall-clock second and per CPU-second of this process (robust to other load).</summary>
    private readonly record struct Rate(double Wall, double Cpu)
    {
        public override string ToString() => $"{Wall:F0} tok/s ({Cpu:F0} tok/CPU-s)";
    }

    private static async Task<Rate> Median3(Func<Task<Rate>> run)
    {
        var xs = new List<Rate> { await run(), await run(), await run() };
        return new Rate(Pct(xs.Select(x => x.Wall).ToList(), 50), Pct(xs.Select(x => x.Cpu).ToList(), 50));
    }

    private static async Task<Rate> Measure(Func<Task<int>> work)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var tokens = await work();
        var wall = sw.Elapsed.TotalSeconds;
        var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        return new Rate(tokens / wall, tokens / Math.Max(used, 1e-6));
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task<Dictionary<string, object>> RunModelAsync(string name, string dir, bool quick, int threads, bool peerRowsOnly)
    {
        var small = name == "small";
        var preset = ModelPreset.Named(name);
        var sw = Stopwatch.StartNew();
        var basePath = TinyModelFactory.Create(preset, 1, Path.Combine(dir, $"{name}.gguf")).Path;
        var adapterCount = 64;
        var adapters = new List<string>();
        for (var i = 0; i < adapterCount; i++)
            adapters.Add(LoraAdapterFactory.Create(basePath, Path.Combine(dir, $"{name}-a{i}.gguf"), rank: 8, seed: (ulong)(100 + i)).Path);
        Console.WriteLine($"\n== {name} ({preset.ParameterCount:N0} params): files written in {sw.Elapsed.TotalSeconds:F1}s");
        var r = new Dictionary<string, object> { ["params"] = preset.ParameterCount };

        // Work: W requests of T tokens, all submitted at once.
        var requests = small ? (quick ? 16 : 32) : (quick ? 32 : 64);
        var tokens = Arg(Environment.GetCommandLineArgs(), "--tokens") is { } tk ? int.Parse(tk, Inv) : small ? 16 : 32;
        var opts = new EngineOptions { BaseModelPath = basePath, Threads = threads, BatchThreads = threads, ContextSize = 256, MaxResidentAdapters = 16 };

        var perClient = small ? (quick ? 3 : 4) : (quick ? 6 : 8);
        if (Environment.GetCommandLineArgs().Contains("--swap-only"))
        {
            var (p50, p99, d50) = SwapOverhead(basePath, adapters, quick ? 100 : 200, threads);
            var (z50, z99, _) = SwapOverhead(basePath, adapters, quick ? 100 : 200, threads, zeroKv: true);
            Console.WriteLine($"adapter swap overhead: p50 {p50:F3} ms, p99 {p99:F3} ms (plain 1-token decode p50 {d50:F3} ms); " +
                $"zeroing the KV buffer as before: p50 {z50:F3} ms, p99 {z99:F3} ms");
            r["swap_overhead_ms_p50"] = Math.Round(p50, 4);
            r["swap_overhead_ms_p99"] = Math.Round(p99, 4);
            return r;
        }
        if (Environment.GetCommandLineArgs().Contains("--decode-shapes"))
        {
            DecodeShapes(basePath, adapters[0], quick ? 100 : 300);
            return r;
        }
        if (Arg(Environment.GetCommandLineArgs(), "--layouts") is { } layouts)
        {
            await Layouts(r, opts, adapters, perClient, tokens, layouts, int.Parse(Arg(Environment.GetCommandLineArgs(), "--rounds") ?? "2", Inv));
            return r;
        }
        if (peerRowsOnly)
        {
            await PeerRows(r, opts, adapters, perClient, tokens, threads);
            return r;
        }
        Rate single, spread8, spread64;
        using (var engine = Open(opts, adapters))
        {
            await Throughput(engine, 8, tokens, _ => 0); // warm-up
            single = await Median3(() => Throughput(engine, requests, tokens, _ => 0));
            spread8 = await Median3(() => Throughput(engine, requests, tokens, i => i % 8));
            spread64 = await Median3(() => Throughput(engine, requests, tokens, i => i % 64));
        }
        Console.WriteLine($"single adapter: {single}; 8 adapters interleaved: {spread8} (ratio {spread8.Wall / single.Wall:F2} wall, {spread8.Cpu / single.Cpu:F2} CPU); " +
            $"64 adapters: {spread64} (ratio {spread64.Wall / single.Wall:F2} wall, {spread64.Cpu / single.Cpu:F2} CPU)");
        r["tok_s_single"] = Math.Round(single.Wall);
        r["tok_cpu_s_single"] = Math.Round(single.Cpu);
        r["tok_s_8_adapters"] = Math.Round(spread8.Wall);
        r["tok_cpu_s_8_adapters"] = Math.Round(spread8.Cpu);
        r["ratio_8"] = Math.Round(spread8.Wall / single.Wall, 3);
        r["ratio_8_cpu"] = Math.Round(spread8.Cpu / single.Cpu, 3);
        r["tok_s_64_adapters"] = Math.Round(spread64.Wall);
        r["tok_cpu_s_64_adapters"] = Math.Round(spread64.Cpu);
        r["ratio_64"] = Math.Round(spread64.Wall / single.Wall, 3);
        r["ratio_64_cpu"] = Math.Round(spread64.Cpu / single.Cpu, 3);

        // Naive: one context, one sequence, FIFO (no grouping: MaxBypass 0 serves the oldest first), swap per request.
        Rate naive, scheduled, batchedMode;
        using (var engine = Open(opts with { Contexts = 1, SequencesPerContext = 1, MaxBypass = 0 }, adapters))
            naive = await Median3(() => Clients(engine, 8, perClient, tokens));
        using (var engine = Open(opts, adapters))
            scheduled = await Median3(() => Clients(engine, 8, perClient, tokens));
        using (var engine = Open(opts with { SequencesPerContext = 1 }, adapters))
            batchedMode = await Median3(() => Clients(engine, 8, perClient, tokens));
        Console.WriteLine($"8 clients over 4 adapters: naive {naive}, scheduler (default: 4 sequences per padded decode, bit-identical) {scheduled} (x{scheduled.Wall / naive.Wall:F2} wall, x{scheduled.Cpu / naive.Cpu:F2} CPU), " +
            $"1 sequence per context {batchedMode} (x{batchedMode.Wall / naive.Wall:F2} wall, x{batchedMode.Cpu / naive.Cpu:F2} CPU)");
        r["tok_s_one_sequence_per_context_8_clients"] = Math.Round(batchedMode.Wall);

        r["tok_s_naive_8_clients"] = Math.Round(naive.Wall);
        r["tok_s_scheduler_8_clients"] = Math.Round(scheduled.Wall);
        r["scheduler_speedup"] = Math.Round(scheduled.Wall / naive.Wall, 3);
        r["scheduler_speedup_cpu"] = Math.Round(scheduled.Cpu / naive.Cpu, 3);
        await PeerRows(r, opts, adapters, perClient, tokens, threads);

        var (swapP50, swapP99, decodeP50) = SwapOverhead(basePath, adapters, quick ? 100 : 200, threads);
        Console.WriteLine($"adapter swap overhead (set + graph rebuild on the next 1-token decode): p50 {swapP50:F3} ms, p99 {swapP99:F3} ms (plain 1-token decode p50 {decodeP50:F3} ms)");
        r["swap_overhead_ms_p50"] = Math.Round(swapP50, 4);
        r["swap_overhead_ms_p99"] = Math.Round(swapP99, 4);
        r["decode_1_token_ms_p50"] = Math.Round(decodeP50, 4);

        var (loadP50, bytesPer, fileBytes) = LoadCost(basePath, adapters);
        Console.WriteLine($"adapter load: p50 {loadP50:F2} ms; resident memory ≈ {bytesPer / 1024.0:F0} KiB per adapter (file {fileBytes / 1024.0:F0} KiB)");
        r["adapter_load_ms_p50"] = Math.Round(loadP50, 3);
        r["adapter_resident_kib"] = Math.Round(bytesPer / 1024.0);
        r["adapter_file_kib"] = Math.Round(fileBytes / 1024.0);

        var (cold, warm) = await ColdWarm(opts, adapters, quick ? 10 : 20);
        Console.WriteLine($"1,000 registered / 16 resident: first-request latency (1 token) cold p50 {cold:F2} ms, warm p50 {warm:F2} ms");
        r["cold_first_request_ms_p50"] = Math.Round(cold, 3);
        r["warm_first_request_ms_p50"] = Math.Round(warm, 3);
        return r;
    }

    /// <summary>
    /// 8 clients on ONE adapter (the peer table's batching row) and one lone client: default engine against the
    /// previous defaults (1 sequence per context, threads fixed at --threads), same run. <c>--peer-rows</c> runs only this.
    /// </summary>
    private static async Task PeerRows(Dictionary<string, object> r, EngineOptions opts, List<string> adapters, int perClient, int tokens, int threads)
    {
        Rate same8, same8Old, lone, loneFixed;
        using (var engine = Open(opts, adapters))
        {
            same8 = await Median3(() => Clients(engine, 8, perClient, tokens, oneAdapter: true));
            lone = await Median3(() => Clients(engine, 1, perClient * 2, tokens, oneAdapter: true));
        }
        using (var engine = Open(opts with { SequencesPerContext = 1, SoloThreads = threads }, adapters))
        {
            same8Old = await Median3(() => Clients(engine, 8, perClient, tokens, oneAdapter: true));
            loneFixed = await Median3(() => Clients(engine, 1, perClient * 2, tokens, oneAdapter: true));
        }
        Console.WriteLine($"8 clients on 1 adapter: default {same8}, previous defaults {same8Old} (x{same8.Wall / same8Old.Wall:F2}); " +
            $"1 client: threads follow the load {lone}, fixed {loneFixed} (x{lone.Wall / loneFixed.Wall:F2})");
        r["tok_s_8_clients_1_adapter"] = Math.Round(same8.Wall);
        r["tok_s_8_clients_1_adapter_previous_defaults"] = Math.Round(same8Old.Wall);
        r["tok_s_1_client"] = Math.Round(lone.Wall);
        r["tok_s_1_client_fixed_threads"] = Math.Round(loneFixed.Wall);
    }

    /// <summary>
    /// <c>--layouts 2x4,2x8,1x8[:t[:own]]</c>: contexts × sequences per context (":t" fixes the lone-context threads at t whatever the
    /// machine's load, else auto; ":own" runs those wide decodes on each context's own thread instead of the shared one), each on the peer table's three engine rows (8 clients on 1 adapter, 8 clients on 8 adapters, 1 client),
    /// rounds interleaved (<c>--rounds N</c>, default 2); prints every round's tok/s and tok/CPU-s.
    /// </summary>
    private static async Task Layouts(Dictionary<string, object> r, EngineOptions opts, List<string> adapters, int perClient, int tokens, string spec, int rounds)
    {
        var layouts = spec.Split(',').Select(x =>
        {
            var parts = x.Split(':');
            var cs = parts[0].Split('x');
            return (Name: x, Opts: opts with
            {
                Contexts = int.Parse(cs[0], Inv),
                SequencesPerContext = int.Parse(cs[1], Inv),
                SoloThreads = parts.Length > 1 ? int.Parse(parts[1], Inv) : 0,
                // ":T" forces T threads on the lone busy context whatever the machine's load
                SoloThreadsMaxOtherLoad = parts.Length > 1 ? double.PositiveInfinity : opts.SoloThreadsMaxOtherLoad,
                // ":T:own" decodes them on the context's own thread (one OpenMP team per context) instead of the shared one
                SharedWideDecodeThread = !(parts.Length > 2 && parts[2] == "own"),
            });
        }).ToList();
        var results = layouts.ToDictionary(l => l.Name, _ => new Dictionary<string, List<Rate>> { ["8c1a"] = [], ["8c8a"] = [], ["1c"] = [] });
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, o) in round % 2 == 0 ? layouts : Enumerable.Reverse(layouts))
            {
                using var engine = Open(o, adapters);
                await Clients(engine, 2, 1, tokens, oneAdapter: true); // warm-up
                var res = results[name];
                res["8c1a"].Add(await Clients(engine, 8, perClient, tokens, oneAdapter: true));
                res["8c8a"].Add(await Clients(engine, 8, perClient, tokens, adapterOf: (c, _) => c % 8));
                res["1c"].Add(await Clients(engine, 1, perClient * 2, tokens, oneAdapter: true));
                Console.WriteLine($"round {round + 1} layout {name}: 8 clients 1 adapter {res["8c1a"][^1]}, 8 clients 8 adapters {res["8c8a"][^1]}, 1 client {res["1c"][^1]}; " +
                    $"peak group {engine.PeakGroupSize}, handed to a busy context {engine.RequestsHandedToBusyContext}, decodes on solo threads {engine.SoloThreadDecodes}, other processes now {(engine.MachineOthers is { } seen ? $"{seen:F2} cores" : "not measured")}; load {LoadAverage()}");
            }
        }
        foreach (var (name, res) in results)
            foreach (var (row, rates) in res)
                r[$"{name}/{row}"] = rates.Select(x => Math.Round(x.Wall)).ToArray();
    }

    private static SpecialistEngine Open(EngineOptions opts, List<string> adapters)
    {
        var e = SpecialistEngine.Open(opts);
        for (var i = 0; i < adapters.Count; i++) e.RegisterAdapter($"a{i}", adapters[i]);
        return e;
    }

    private static GenerationRequest Req(int adapter, int tokens, int salt) => new()
    {
        Prompt = $"request {salt} for the specialist",
        MaxTokens = tokens,
        Adapters = [new AdapterSelection($"a{adapter}")],
    };

    /// <summary>Submits all requests at once; completion tokens per second.</summary>
    private static Task<Rate> Throughput(SpecialistEngine engine, int requests, int tokens, Func<int, int> adapterOf) => Measure(async () =>
    {
        var results = await Task.WhenAll(Enumerable.Range(0, requests).Select(i => engine.GenerateAsync(Req(adapterOf(i), tokens, i))));
        return results.Sum(x => x.CompletionTokens);
    });

    /// <summary>Clients each sending requests one after another; client c's j-th request uses adapter (c+j) % 4 (or a0).</summary>
    private static Task<Rate> Clients(SpecialistEngine engine, int clients, int perClient, int tokens, bool oneAdapter = false, Func<int, int, int>? adapterOf = null) => Measure(async () =>
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            var n = 0;
            for (var j = 0; j < perClient; j++)
                n += (await engine.GenerateAsync(Req(adapterOf?.Invoke(c, j) ?? (oneAdapter ? 0 : (c + j) % 4), tokens, c * 100 + j))).CompletionTokens;
            return n;
        }));
        return counts.Sum();
    });

    private static (double P50, double P99, double DecodeP50) SwapOverhead(string basePath, List<string> adapters, int n, int threads, bool zeroKv = false)
    {
        using var model = BaseModel.Load(basePath, 0);
        var a = new PooledAdapter(model.LoadAdapter(adapters[0]));
        var b = new PooledAdapter(model.LoadAdapter(adapters[1]));
        // the node's context shape: 4 streams x 512 cells (the KV buffer a swap used to zero)
        using var ctx = EngineContext.Create(model, new ContextSettings { ContextPerSequence = 512, Sequences = 4, Threads = threads, BatchThreads = threads });
        using var batch = new NativeBatch(1);
        double Decode()
        {
            var t = Stopwatch.GetTimestamp();
            batch.Clear();
            batch.Add(65, 0, 0, true);
            ctx.RemoveSequence(0);
            ctx.Decode(batch);
            return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        ctx.SetAdapters([a], [1f]);
        for (var i = 0; i < 10; i++) Decode();
        var plain = new List<double>();
        for (var i = 0; i < n; i++) plain.Add(Decode());
        var swaps = new List<double>();
        for (var i = 0; i < n; i++)
        {
            var t = Stopwatch.GetTimestamp();
            ctx.SetAdapters([i % 2 == 0 ? b : a], [1f]);
            if (zeroKv) ctx.ClearMemory(); // what a swap did before issue 15: zero the whole KV buffer
            Decode();
            swaps.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
        var d50 = Pct(plain, 50);
        return (Pct(swaps, 50) - d50, Pct(swaps, 99) - d50, d50);
    }

    /// <summary>
    /// <c>--decode-shapes</c>: p50 of one generation-step decode (position 0) with an adapter set, for 1 row (llama-server's
    /// lone request), 2 rows (the engine's padded lone request: live row + padding row, both with logits) and 2 rows with
    /// the padding row's logits off, 3 and 4 rows (batched neighbours), each on 1 and 2 threads, rounds interleaved.
    /// </summary>
    private static void DecodeShapes(string basePath, string adapter, int n)
    {
        using var model = BaseModel.Load(basePath, 0);
        var a = new PooledAdapter(model.LoadAdapter(adapter));
        using var ctx = EngineContext.Create(model, new ContextSettings { ContextPerSequence = 512, Sequences = 4, Threads = 1, BatchThreads = 1 });
        ctx.SetAdapters([a], [1f]);
        using var batch = new NativeBatch(4);
        var shapes = new (string Name, int Rows, bool PadLogits)[] { ("1 row", 1, false), ("2 rows (padded)", 2, true), ("2 rows, pad without logits", 2, false), ("3 rows", 3, true), ("4 rows", 4, true) };
        var results = new Dictionary<string, List<double>>();
        foreach (var threads in new[] { 1, 2, 1, 2 })
        {
            ctx.Handle.GenerationThreads = threads;
            ctx.Handle.BatchThreads = threads;
            foreach (var (name, rows, padLogits) in shapes)
            {
                var times = new List<double>();
                for (var i = 0; i < n + 10; i++)
                {
                    for (var s = 0; s < rows; s++) ctx.RemoveSequence(s);
                    batch.Clear();
                    for (var s = 0; s < rows; s++) batch.Add(65 + s, 0, s, output: s == 0 || padLogits);
                    var t = Stopwatch.GetTimestamp();
                    ctx.Decode(batch);
                    if (i >= 10) times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                var key = $"{name}, {threads} thread{(threads > 1 ? "s" : "")}";
                (results.TryGetValue(key, out var l) ? l : results[key] = []).Add(Pct(times, 50));
            }
        }
        foreach (var (k, v) in results) Console.WriteLine($"decode {k}: p50 {string.Join(" / ", v.Select(x => x.ToString("F3", Inv)))} ms");
    }

    private static (double LoadP50, double BytesPerAdapter, long FileBytes) LoadCost(string basePath, List<string> adapters)
    {
        using var model = BaseModel.Load(basePath, 0);
        model.LoadAdapter(adapters[0]).Unload(); // warm the loader
        GC.Collect();
        var before = Process.GetCurrentProcess().WorkingSet64;
        var loaded = new List<LoraAdapter>();
        var times = new List<double>();
        foreach (var path in adapters)
        {
            var t = Stopwatch.GetTimestamp();
            loaded.Add(model.LoadAdapter(path));
            times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
        var after = Process.GetCurrentProcess().WorkingSet64;
        foreach (var l in loaded) l.Unload();
        return (Pct(times, 50), (after - before) / (double)adapters.Count, new FileInfo(adapters[0]).Length);
    }

    /// <summary>
    /// 1,000 adapter ids registered (cycling over the generated files, each registration loaded and validated), 16
    /// resident. Cold = an adapter evicted from the pool; warm = one just used.
    /// </summary>
    private static async Task<(double Cold, double Warm)> ColdWarm(EngineOptions opts, List<string> files, int samples)
    {
        using var engine = SpecialistEngine.Open(opts with { Contexts = 1, MaxResidentAdapters = 16 });
        for (var i = 0; i < 1000; i++) engine.RegisterAdapter($"r{i}", files[i % files.Count]);
        var cold = new List<double>();
        var warm = new List<double>();
        for (var s = 0; s < samples; s++)
        {
            var id = $"r{(s * 37) % 900}"; // registered long ago: evicted
            if (engine.Adapters.ResidentIds.Contains(id)) continue;
            cold.Add(await Time(engine, id));
            warm.Add(await Time(engine, id));
            // Use another adapter between warm samples so "warm" also pays a (cheap) set swap, like real traffic.
            await Time(engine, $"r{999 - s}");
        }
        return (Pct(cold, 50), Pct(warm, 50));
    }

    private static async Task<double> Time(SpecialistEngine engine, string id)
    {
        var t = Stopwatch.GetTimestamp();
        await engine.GenerateAsync(new GenerationRequest { Prompt = "latency", MaxTokens = 1, Adapters = [new AdapterSelection(id)] });
        return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
    }

    private static double Pct(List<double> xs, double p)
    {
        if (xs.Count == 0) return double.NaN;
        var s = xs.Order().ToList();
        var i = (int)Math.Ceiling(p / 100.0 * s.Count) - 1;
        return s[Math.Clamp(i, 0, s.Count - 1)];
    }
}
