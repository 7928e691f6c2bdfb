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
/// OpenTelemetry <c>gen_ai.*</c> conventions where they exist.
/// </summary>
public sealed class NodeMetrics
{
    /// <summary>Meter names: <c>Federation.Node.Http</c>, <c>.Answers</c>, <c>.Ledger</c>, <c>.Engine</c>.</summary>
    public const string MeterPrefix = "Federation.Node.";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _verifications;

    public NodeMetrics(IMeterFactory meters, RuntimeHolder holder)
    {
        var http = meters.Create(MeterPrefix + "Http");
        _requests = http.CreateCounter<long>("federation.requests", description: "API requests by endpoint and final HTTP status");

        var answers = meters.Create(MeterPrefix + "Answers");
        _tokens = answers.CreateCounter<long>("gen_ai.client.token.usage", unit: "{token}", description: "Tokens used, by type and topic");
        _duration = answers.CreateHistogram<double>("gen_ai.server.request.duration", unit: "s", description: "Generation duration by topic");
        _verifications = answers.CreateCounter<long>("federation.verifications", description: "Verification gate outcomes by class and status");

        var ledger = meters.Create(MeterPrefix + "Ledger");
        ledger.CreateObservableGauge("federation.ledger.size", () => Observe(holder, rt => rt.Ledger.Size), description: "Entries in the ledger");

        var engine = meters.Create(MeterPrefix + "Engine");
        engine.CreateObservableGauge("federation.engine.queue_length", () => Observe(holder, rt => (long)rt.Engine.QueueLength), description: "Requests waiting for an engine context");
        engine.CreateObservableCounter("federation.engine.adapter_swaps", () => Observe(holder, rt => rt.Engine.AdapterSwaps), description: "LoRA adapter swaps");
    }

    private static IEnumerable<Measurement<long>> Observe(RuntimeHolder holder, Func<NodeRuntime, long> read) =>
        holder.Runtime is { } rt ? [new Measurement<long>(read(rt))] : [];

    /// <summary>One finished API request, with the status the client received.</summary>
    public void Request(string endpoint, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("status", status));

    public void Tokens(string topic, int prompt, int completion)
    {
        _tokens.Add(prompt, new KeyValuePair<string, object?>("gen_ai.token.type", "input"), new KeyValuePair<string, object?>("topic", topic));
        _tokens.Add(completion, new KeyValuePair<string, object?>("gen_ai.token.type", "output"), new KeyValuePair<string, object?>("topic", topic));
    }

    public void Duration(string topic, TimeSpan d) => _duration.Record(d.TotalSeconds, new KeyValuePair<string, object?>("topic", topic));

    public void Verification(string cls, VerificationStatus status) =>
        _verifications.Add(1, new KeyValuePair<string, object?>("class", cls), new KeyValuePair<string, object?>("status", StatusName(status)));

    private static string StatusName(VerificationStatus s) => s switch
    {
        VerificationStatus.Passed => "passed",
        VerificationStatus.Unchecked => "unchecked",
        VerificationStatus.Failed => "failed",
        VerificationStatus.NeedsReview => "needs_review",
        _ => "rejected",
    };
}
