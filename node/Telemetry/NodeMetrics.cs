using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Federation.Node.Answering;
using Federation.Node.Hosting;

namespace Federation.Node.Telemetry;

/// <summary>The node's trace source: one span per step of a request (route → dispatch → engine → gate → ledger).</summary>
public static class NodeTelemetry
{
    public const string SourceName = "Federation.Node";

    public static readonly ActivitySource Source = new(SourceName);
}

/// <summary>
/// The node's metrics, one <see cref="Meter"/> per area and nothing kept beside them: OpenTelemetry exports them
/// (Prometheus text at <c>/metrics</c>, OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set). Names follow the
/// OpenTelemetry <c>gen_ai.*</c> conventions where they exist. The meters are process-wide: OpenTelemetry listens by
/// meter name, so per-host meters of several nodes in one process (tests, benchmarks) would shadow each other. Gauges
/// report each running node of the process with its <c>node_id</c>.
/// </summary>
public sealed class NodeMetrics : IDisposable
{
    /// <summary>Meter names: <c>Federation.Node.Http</c>, <c>.Answers</c>, <c>.Ledger</c>, <c>.Engine</c>.</summary>
    public const string MeterPrefix = "Federation.Node.";

    private static readonly Meter Http = new(MeterPrefix + "Http");
    private static readonly Meter Answers = new(MeterPrefix + "Answers");
    private static readonly Meter Ledger = new(MeterPrefix + "Ledger");
    private static readonly Meter Engine = new(MeterPrefix + "Engine");

    private static readonly Counter<long> Requests = Http.CreateCounter<long>("federation.requests", description: "API requests by endpoint and final HTTP status");
    private static readonly Counter<long> TokenUsage = Answers.CreateCounter<long>("gen_ai.client.token.usage", unit: "{token}", description: "Tokens used, by type and topic");
    private static readonly Histogram<double> RequestDuration = Answers.CreateHistogram<double>("gen_ai.server.request.duration", unit: "s", description: "Generation duration by topic");
    private static readonly Counter<long> Verifications = Answers.CreateCounter<long>("federation.verifications", description: "Verification gate outcomes by class and status");

    private static readonly Counter<long> CacheHits = Answers.CreateCounter<long>("federation.response_cache.hits", description: "Answers served from the signed response cache (the engine skipped)");
    private static readonly Counter<long> CacheMisses = Answers.CreateCounter<long>("federation.response_cache.misses", description: "Cacheable requests the response cache did not hold");
    private static readonly Counter<double> CacheSaved = Answers.CreateCounter<double>("federation.response_cache.saved", unit: "s", description: "Generation time response-cache hits did not spend (the original generations' durations)");
    private static long _cacheHits, _cacheLookups;

    private static readonly ConcurrentDictionary<RuntimeHolder, byte> Nodes = new();

    static NodeMetrics()
    {
        Ledger.CreateObservableGauge("federation.ledger.size", () => Observe(rt => rt.Ledger.Size), description: "Entries in the ledger");
        Engine.CreateObservableGauge("federation.engine.queue_length", () => Observe(rt => (long)rt.Engine.QueueLength), description: "Requests waiting for an engine context");
        Engine.CreateObservableCounter("federation.engine.adapter_swaps", () => Observe(rt => rt.Engine.AdapterSwaps), description: "LoRA adapter swaps");
        Answers.CreateObservableGauge("federation.response_cache.hit_ratio", () => Interlocked.Read(ref _cacheLookups) is var n and > 0 ? (double)Interlocked.Read(ref _cacheHits) / n : 0.0,
            description: "Response-cache hits over cacheable requests, since the process started");
        Engine.CreateObservableCounter("federation.engine.prefix_tokens_reused", () => Observe(rt => rt.Engine.PrefixTokensReused), description: "Prompt tokens whose KV cells were reused, not decoded again");
    }

    private readonly RuntimeHolder _holder;

    public NodeMetrics(RuntimeHolder holder)
    {
        _holder = holder;
        Nodes[holder] = 0;
    }

    private static IEnumerable<Measurement<long>> Observe(Func<NodeRuntime, long> read)
    {
        foreach (var holder in Nodes.Keys)
            if (holder.Runtime is { } rt)
                yield return new Measurement<long>(read(rt), new KeyValuePair<string, object?>("node_id", rt.Key.Id.ToString()));
    }

    /// <summary>One finished API request, with the status the client received.</summary>
    public void Request(string endpoint, int status) =>
        Requests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("status", status));

    public void Tokens(string topic, int prompt, int completion)
    {
        TokenUsage.Add(prompt, new KeyValuePair<string, object?>("gen_ai.token.type", "input"), new KeyValuePair<string, object?>("topic", topic));
        TokenUsage.Add(completion, new KeyValuePair<string, object?>("gen_ai.token.type", "output"), new KeyValuePair<string, object?>("topic", topic));
    }

    public void Duration(string topic, TimeSpan d) => RequestDuration.Record(d.TotalSeconds, new KeyValuePair<string, object?>("topic", topic));

    public void Verification(string cls, VerificationStatus status) =>
        Verifications.Add(1, new KeyValuePair<string, object?>("class", cls), new KeyValuePair<string, object?>("status", StatusName(status)));

    /// <summary>A response-cache hit, and the generation time it saved.</summary>
    public void CacheHit(TimeSpan saved)
    {
        CacheHits.Add(1);
        CacheSaved.Add(saved.TotalSeconds);
        Interlocked.Increment(ref _cacheHits);
        Interlocked.Increment(ref _cacheLookups);
    }

    /// <summary>A cacheable request the response cache did not hold.</summary>
    public void CacheMiss()
    {
        CacheMisses.Add(1);
        Interlocked.Increment(ref _cacheLookups);
    }

    /// <summary>Stops reporting this node's gauges (the host disposes it at shutdown).</summary>
    public void Dispose() => Nodes.TryRemove(_holder, out _);

    private static string StatusName(VerificationStatus s) => s switch
    {
        VerificationStatus.Passed => "passed",
        VerificationStatus.Unchecked => "unchecked",
        VerificationStatus.Failed => "failed",
        VerificationStatus.NeedsReview => "needs_review",
        _ => "rejected",
    };
}
