using System.Diagnostics;
using System.Globalization;
using System.Text;
using Federation.Router;

namespace Federation.Bench;

/// <summary>
/// Router decision latency (goal: p99 &lt; 50 µs) on a synthetic 50-topic × 20-rule policy (14 keywords, 5 phrases,
/// 1 regex per topic) with ~30-word queries. Run: <c>dotnet run -c Release --project bench/Federation.Bench -- router</c>.
/// </summary>
internal static class RouterBench
{
    public static int Run(string[] args)
    {
        int topics = 50, rules = 20, words = 30, iterations = 200_000;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--topics": topics = v; break;
                case "--rules": rules = v; break;
                case "--words": words = v; break;
                case "--iterations": iterations = v; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; expected --topics, --rules, --words, --iterations"); return 2;
            }
        }

        var rng = new Random(42);
        var vocab = Enumerable.Range(0, topics * rules * 2).Select(_ => Word(rng)).Distinct().ToArray();
        var yaml = BuildPolicy(topics, rules, vocab);
        var sw = Stopwatch.StartNew();
        var policy = PolicyLoader.Parse(yaml, "bench-policy.yaml");
        var loadMs = sw.Elapsed.TotalMilliseconds;

        var filler = Enumerable.Range(0, 500).Select(_ => Word(rng)).ToArray();
        var queries = Enumerable.Range(0, 1000).Select(_ =>
        {
            var sb = new StringBuilder();
            for (int w = 0; w < words; w++)
            {
                if (w > 0) sb.Append(' ');
                sb.Append(rng.Next(10) < 3 ? vocab[rng.Next(vocab.Length)] : filler[rng.Next(filler.Length)]);
                if (rng.Next(15) == 0) sb.Append(", ");
            }
            if (rng.Next(4) == 0) sb.Append(" Ünïcödé ﬁle");
            return sb.ToString();
        }).ToArray();

        Console.WriteLine($"router bench: {topics} topics x {rules} rules, ~{words}-word queries (avg {queries.Average(q => q.Length):F0} chars), {iterations} decisions");
        Console.WriteLine($"policy parse+validate+compile: {loadMs:F1} ms (cid {policy.Cid[..12]}…)");
        Console.WriteLine($"load average {LoadAverage()} (measured under load when above ~1)");
        Console.WriteLine($"{"operation",-28} {"p50 µs",8} {"p90 µs",8} {"p99 µs",8} {"p99.9 µs",9} {"max µs",9} {"alloc B/op",11}");
        Measure("decide (topic, no trace)", queries, iterations, q => QueryClassifier.Decide(q, policy).Topic);
        Measure("classify", queries, iterations, q => QueryClassifier.Classify(q, policy));
        var auto = new RequestedRoute();
        Measure("plan (auto route)", queries, iterations, q => RoutePlanner.Plan(q, policy, auto));
        return 0;
    }

    private static void Measure(string name, string[] queries, int iterations, Func<string, object> op)
    {
        for (int i = 0; i < 20_000; i++) op(queries[i % queries.Length]);   // warm-up: JIT tiers, regex DFA states
        var samples = new double[iterations];
        long allocBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            op(queries[i % queries.Length]);
            samples[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        long alloc = (GC.GetAllocatedBytesForCurrentThread() - allocBefore) / iterations;
        Array.Sort(samples);
        double P(double q) => samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))];
        Console.WriteLine($"{name,-28} {P(0.5),8:F2} {P(0.9),8:F2} {P(0.99),8:F2} {P(0.999),9:F2} {samples[^1],9:F1} {alloc,11}");
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string Word(Random rng)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        var len = rng.Next(4, 10);
        var c = new char[len];
        for (int i = 0; i < len; i++) c[i] = letters[rng.Next(letters.Length)];
        return new string(c);
    }

    private static string BuildPolicy(int topics, int rules, string[] vocab)
    {
        var sb = new StringBuilder();
        sb.AppendLine("version: 1\ndefault_topic: t0\nexploration:\n  share: 0.05\npanel:\n  size: 2");
        sb.AppendLine("tiers:\n  T1: { lineages: any, jurisdictions: any }\n  T2: { lineages: any, jurisdictions: any }\n  T3: { lineages: [mistral, olmo], jurisdictions: [EU, US] }");
        sb.AppendLine("specialists:");
        var lineages = new[] { ("mistral", "EU"), ("olmo", "US"), ("qwen", "CN"), ("llama", "US") };
        for (int t = 0; t < topics; t++)
        {
            var (l, j) = t % 5 == 4 ? lineages[t % 2] : lineages[t % lineages.Length];
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: s{t}, topics: [t{t}], base_lineage: {l}, jurisdiction: {j}, adapter: a{t} }}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: x{t}, topics: [t{t}], base_lineage: {lineages[(t + 1) % 2].Item1}, jurisdiction: {lineages[(t + 1) % 2].Item2}, adapter: b{t} }}");
        }
        sb.AppendLine("topics:");
        int v = 0;
        for (int t = 0; t < topics; t++)
        {
            var tier = t % 5 == 4 ? "T3" : t % 3 == 0 ? "T2" : "T1";
            var cls = t % 5 == 4 || t % 3 == 0 ? "C" : "A";
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - id: t{t}\n    tier: {tier}\n    class: {cls}\n    priority: {t % 7}\n    champion: s{t}\n    challengers: [x{t}]\n    rules:");
            for (int r = 0; r < rules; r++)
            {
                var w = (r % 10) * 0.5 + 0.5;
                if (r == rules - 1)
                    sb.AppendLine(CultureInfo.InvariantCulture, $"      - {{ regex: '{vocab[v++ % vocab.Length]}[0-9]+', weight: {w} }}");
                else if (r % 4 == 3)
                    sb.AppendLine(CultureInfo.InvariantCulture, $"      - {{ phrase: '{vocab[v++ % vocab.Length]} {vocab[v++ % vocab.Length]}', weight: {w} }}");
                else
                    sb.AppendLine(CultureInfo.InvariantCulture, $"      - {{ keyword: {vocab[v++ % vocab.Length]}, weight: {w}, priority: {r % 3} }}");
            }
        }
        return sb.ToString();
    }
}
