using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federation.Bench;

/// <summary>
/// The load generator of <c>bench/peer/run.sh</c>: drives one OpenAI-style <c>/v1/completions</c> server (the node or
/// llama-server) with C concurrent clients spread over A adapters, greedy, a fixed number of completion tokens per
/// request, and prints one JSON line with completion tokens per second (from each response's <c>usage</c>).
/// </summary>
/// <remarks>
/// <c>peer-load --url U --kind node|llama --clients C --adapters A --requests R --max-tokens T
/// [--models id1,id2,…] [--api-key K] [--warmup W] [--label L]</c>. For the node, adapter i is the specialist
/// <c>models[i]</c> (the request's <c>model</c>); for llama-server it is the per-request <c>lora</c> list with adapter i
/// at scale 1 and every other at 0 (started with <c>--lora-init-without-apply</c>). Client k uses adapter k mod A.
/// </remarks>
internal static class PeerLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? url = null, kind = null, apiKey = null, label = null;
        int clients = 1, adapters = 1, requests = 32, maxTokens = 32, warmup = 4;
        string[] models = [];
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--url": url = Next().TrimEnd('/'); break;
                case "--kind": kind = Next(); break;
                case "--clients": clients = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--adapters": adapters = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--requests": requests = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--max-tokens": maxTokens = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--models": models = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
                case "--api-key": apiKey = Next(); break;
                case "--label": label = Next(); break;
                default: Console.Error.WriteLine($"peer-load: unknown option {args[i]}"); return 2;
            }
        }
        if (url is null || kind is not ("node" or "llama"))
        {
            Console.Error.WriteLine("peer-load: --url and --kind node|llama are required");
            return 2;
        }
        if (kind == "node" && models.Length < adapters)
        {
            Console.Error.WriteLine($"peer-load: --models must name at least {adapters} specialists for the node");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromMinutes(10) };
        if (apiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        // Each request's prompt differs (so no server can share one answer), the same across both servers; no "a-b"
        // arithmetic in it, which the node's class-A checker would verify.
        string Prompt(int client, int n) => string.Create(CultureInfo.InvariantCulture, $"hello, explain item {client} of round {n + 100} in a few words");

        string Body(int adapter, string prompt)
        {
            var o = new JsonObject
            {
                ["prompt"] = prompt,
                ["max_tokens"] = maxTokens,
                ["temperature"] = 0,
            };
            if (kind == "node") o["model"] = models[adapter];
            else
            {
                o["ignore_eos"] = true; // count exactly max_tokens like the node when the random model would stop early
                o["cache_prompt"] = true;
                var lora = new JsonArray();
                for (int a = 0; a < Math.Max(adapters, 1); a++) lora.Add(new JsonObject { ["id"] = a, ["scale"] = a == adapter ? 1.0 : 0.0 });
                o["lora"] = lora;
            }
            return o.ToJsonString();
        }

        async Task<int> OneAsync(int client, int n)
        {
            using var content = new StringContent(Body(client % adapters, Prompt(client, n)), Encoding.UTF8, "application/json");
            using var resp = await http.PostAsync("v1/completions", content).ConfigureAwait(false);
            var text = await resp.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"{kind} answered {(int)resp.StatusCode}: {text}");
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        }

        for (int w = 0; w < warmup; w++) await OneAsync(w % clients, -1 - w).ConfigureAwait(false);

        long tokens = 0;
        var latencies = new double[requests];
        int next = -1;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < requests)
            {
                var t0 = Stopwatch.GetTimestamp();
                Interlocked.Add(ref tokens, await OneAsync(c, n).ConfigureAwait(false));
                latencies[n] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        })).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = sw.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        var line = new JsonObject
        {
            ["label"] = label,
            ["kind"] = kind,
            ["clients"] = clients,
            ["adapters"] = adapters,
            ["requests"] = requests,
            ["completion_tokens"] = tokens,
            ["seconds"] = Math.Round(seconds, 3),
            ["tokens_per_second"] = Math.Round(tokens / seconds, 1),
            ["latency_p50_ms"] = Math.Round(latencies[requests / 2], 2),
            ["latency_p99_ms"] = Math.Round(latencies[Math.Min(requests - 1, (int)Math.Ceiling(requests * 0.99) - 1)], 2),
        };
        Console.WriteLine(line.ToJsonString());
        return 0;
    }
}
