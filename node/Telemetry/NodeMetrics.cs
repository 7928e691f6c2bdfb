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

    private static readonly ConcurrentDictionary<RuntimeHolder, byte> Nodes = new();

    static NodeMetrics()
    {
        Ledger.CreateObservableGauge("federation.ledger.size", () => Observe(rt => rt.Ledger.Size), description: "Entries in the ledger");
        Engine.CreateObservableGauge("federation.engine.queue_length", () => Observe(rt => (long)rt.Engine.QueueLength), description: "Requests waiting for an engine context");
        Engine.CreateObservableCounter("federation.engine.adapter_swaps", () => Observe(rt => rt.Engine.AdapterSwaps), description: "LoRA adapter swaps");
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
