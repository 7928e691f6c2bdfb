using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Federation.Node.Hosting;
using Federation.Specialists.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federation.Bench;

/// <summary>
/// End-to-end gateway overhead: the same greedy request through <c>POST /v1/chat/completions</c> on a real node
/// (HTTP on loopback, routing, verification, durable signed ledger append) against a direct engine call on the same
/// node's engine, measured in one run. Goal: overhead p50 &lt; 2 ms.
/// </summary>
internal static class GatewayBench
{
    public static int Run(string[] args)
    {
        var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        Console.WriteLine($"load average {RouterBench.LoadAverage()} (measured under load when above ~1)");
        Once(n, "FULL");
        Once(n, "NORMAL");
        Once(n, "FULL", cache: true);   // the same greedy request repeated: every request after the first is a cache hit
        return 0;
    }

    private static void Once(int n, string sync, bool cache = false)
    {
        var dir = Path.Combine(Path.GetTempPath(), "fed-bench-gw-" + Guid.NewGuid().ToString("N")[..8]);
        var app = NodeHost.Build(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", LedgerSync = sync, ResponseCacheEntries = cache ? 64 : 0 }, l => l.AddFilter(_ => false));
        app.StartAsync().GetAwaiter().GetResult();
        try
        {
            var holder = app.Services.GetRequiredService<RuntimeHolder>();
            holder.Started.GetAwaiter().GetResult();
            if (holder.Runtime is null) throw new InvalidOperationException(holder.StartError);
            var rt = holder.Runtime;
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            const string query = "hello, explain how tides work";
            const int maxTokens = 8;
            var direct = new GenerationRequest
            {
                Messages = [new ChatMessage("user", query)],
                Adapters = [new AdapterSelection("general-qwen")],
                MaxTokens = maxTokens,
            };
            var body = new { model = "federation", messages = new[] { new { role = "user", content = query } }, max_tokens = maxTokens };

            // warm-up, and a check that both paths produce the same text
            var d0 = rt.Engine.GenerateAsync(direct).GetAwaiter().GetResult().Text;
            using (var r = http.PostAsJsonAsync("/v1/chat/completions", body).GetAwaiter().GetResult())
            {
                r.EnsureSuccessStatusCode();
                var j = r.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>().GetAwaiter().GetResult();
                var g0 = j.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
                if (g0 != d0) throw new InvalidOperationException("gateway and direct engine answers differ");
            }

            var directMs = new List<double>(n);
            var gatewayMs = new List<double>(n);
            for (var i = 0; i < n; i++)
            {
                // interleaved, so drift in machine load hits both sides alike
                var sw = Stopwatch.StartNew();
                rt.Engine.GenerateAsync(direct).GetAwaiter().GetResult();
                directMs.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                using var r = http.PostAsJsonAsync("/v1/chat/completions", body).GetAwaiter().GetResult();
                r.EnsureSuccessStatusCode();
                r.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
                gatewayMs.Add(sw.Elapsed.TotalMilliseconds);
            }
            var overhead = gatewayMs.Zip(directMs, (g, d) => g - d).ToList();
            Console.WriteLine($"gateway overhead ({n} interleaved requests, {maxTokens} tokens, tiny model, ledger append each, ledger sync {sync}{(cache ? ", response cache on: all but the first are hits" : "")})");
            Console.WriteLine($"  direct engine   p50 {P(directMs, 50):0.000} ms  p99 {P(directMs, 99):0.000} ms  (baseline)");
            Console.WriteLine($"  via gateway     p50 {P(gatewayMs, 50):0.000} ms  p99 {P(gatewayMs, 99):0.000} ms  ratio p50 {P(gatewayMs, 50) / P(directMs, 50):0.00}x");
            Console.WriteLine($"  overhead        p50 {P(overhead, 50):0.000} ms  p99 {P(overhead, 99):0.000} ms  goal p50 < 2 ms: {(P(overhead, 50) < 2 ? "met" : "NOT met")}");
            Breakdown(http, body, n / 2);
            Console.WriteLine($"  ledger size after run: {rt.Ledger.Size}; verify: {(rt.Ledger.VerifyAll(rt.Key.Id).IsValid ? "ok" : "FAILED")}");
        }
        finally
        {
            app.StopAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    // Where a gateway request's time goes: p50 of each span of the node's trace (route, memory, dispatch, engine, gate,
    // ledger) and of ASP.NET Core's whole server-side request, in a separate pass (listening makes spans cost a little).
    private static void Breakdown(HttpClient http, object body, int n)
    {
        var spans = new System.Collections.Concurrent.ConcurrentDictionary<string, List<double>>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is Federation.Node.Telemetry.NodeTelemetry.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                var list = spans.GetOrAdd(a.Source.Name == "Microsoft.AspNetCore" ? "server (whole request)" : a.OperationName, _ => []);
                lock (list) list.Add(a.Duration.TotalMilliseconds);
            },
        };
        ActivitySource.AddActivityListener(listener);
        var total = new List<double>(n);
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            using var r = http.PostAsJsonAsync("/v1/chat/completions", body).GetAwaiter().GetResult();
            r.EnsureSuccessStatusCode();
            r.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            total.Add(sw.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine($"  breakdown ({n} more requests, spans recorded), p50 ms: client round trip {P(total, 50):0.000}; "
            + string.Join("; ", spans.OrderByDescending(kv => P(kv.Value, 50)).Select(kv => $"{kv.Key} {P(kv.Value, 50):0.000}")));
    }

    private static double P(List<double> xs, double p)
    {
        var s = xs.Order().ToList();
        return s[Math.Min(s.Count - 1, (int)Math.Ceiling(p / 100 * s.Count) - 1)];
    }
}
