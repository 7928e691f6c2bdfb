using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Federation.Node.Telemetry;

/// <summary>
/// The node's metrics: one <see cref="Meter"/> ("Federation.Node") for OpenTelemetry listeners, and the same values
/// kept here for the Prometheus text endpoint (no Prometheus exporter package restores here, so /metrics is written by hand).
/// </summary>
public sealed class NodeMetrics : IDisposable
{
    private readonly Meter _meter = new("Federation.Node");
    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<(string Name, string Labels), double> _counters = new();
    private readonly ConcurrentDictionary<string, Histo> _histos = new();

    public NodeMetrics()
    {
        _requests = _meter.CreateCounter<long>("federation.requests", description: "API requests by endpoint and outcome");
        _tokens = _meter.CreateCounter<long>("gen_ai.client.token.usage", unit: "{token}", description: "Tokens used, by type");
        _duration = _meter.CreateHistogram<double>("gen_ai.server.request.duration", unit: "s", description: "Generation request duration");
    }

    public void Request(string endpoint, int status)
    {
        _requests.Add(1, new("endpoint", endpoint), new("status", status));
        Add("federation_requests_total", $"endpoint=\"{endpoint}\",status=\"{status}\"", 1);
    }

    public void Tokens(string topic, int prompt, int completion)
    {
        _tokens.Add(prompt, new("gen_ai.token.type", "input"), new("topic", topic));
        _tokens.Add(completion, new("gen_ai.token.type", "output"), new("topic", topic));
        Add("gen_ai_client_token_usage_total", $"type=\"input\",topic=\"{topic}\"", prompt);
        Add("gen_ai_client_token_usage_total", $"type=\"output\",topic=\"{topic}\"", completion);
    }

    public void Duration(string topic, TimeSpan d)
    {
        _duration.Record(d.TotalSeconds, new KeyValuePair<string, object?>("topic", topic));
        _histos.GetOrAdd("gen_ai_server_request_duration_seconds", _ => new Histo()).Observe(d.TotalSeconds);
    }

    public void Count(string name, string labels, double by = 1) => Add(name, labels, by);

    private void Add(string name, string labels, double by) => _counters.AddOrUpdate((name, labels), by, (_, v) => v + by);

    /// <summary>The Prometheus text exposition (version 0.0.4) of everything counted so far.</summary>
    public string ToPrometheusText()
    {
        var sb = new StringBuilder();
        foreach (var group in _counters.GroupBy(kv => kv.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(" counter\n");
            foreach (var kv in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
                sb.Append(group.Key).Append('{').Append(kv.Key.Labels).Append("} ").Append(kv.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        foreach (var (name, h) in _histos.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            h.Write(sb, name);
        return sb.ToString();
    }

    public void Dispose() => _meter.Dispose();

    private sealed class Histo
    {
        private static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
        private readonly long[] _buckets = new long[Bounds.Length];
        private long _count;
        private double _sum;
        private readonly Lock _gate = new();

        public void Observe(double v)
        {
            lock (_gate)
            {
                _count++;
                _sum += v;
                for (var i = 0; i < Bounds.Length; i++) if (v <= Bounds[i]) _buckets[i]++;
            }
        }

        public void Write(StringBuilder sb, string name)
        {
            lock (_gate)
            {
                sb.Append("# TYPE ").Append(name).Append(" histogram\n");
                for (var i = 0; i < Bounds.Length; i++)
                    sb.Append(name).Append("_bucket{le=\"").Append(Bounds[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ").Append(_buckets[i]).Append('\n');
                sb.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(_count).Append('\n');
                sb.Append(name).Append("_sum ").Append(_sum.ToString(CultureInfo.InvariantCulture)).Append('\n');
                sb.Append(name).Append("_count ").Append(_count).Append('\n');
            }
        }
    }
}
