using System.Threading.Channels;
using Federation.Governance;
using Federation.Memory.Rag;
using Federation.Node.Answering;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Node.Verification;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Router;
using Federation.Specialists.Engine;
using RouterGate = Federation.Router.Verification;

namespace Federation.Node.Auditing;

/// <summary>
/// One answer the gate drew for a re-check at the topic's audit rate: everything the re-check needs, captured when the
/// answer was ledgered (the request's question, the released text, the generation request and seed, the fragments).
/// </summary>
public sealed record SelfAuditJob(
    long LedgerIndex, string LedgerEntry, RouteDecision Decision, string Specialist, string CheckText, string Answer, GenerationRequest? Request, RagContext? Rag);

/// <summary>
/// The self-audit queue (docs/reputation.md "Self-audit"): the answer path hands sampled answers over here and returns at
/// once; <see cref="SelfAuditWorker"/> re-checks them off the request's hot path. Bounded: when re-checks fall behind,
/// the newest sample is dropped and counted (<see cref="Dropped"/>) rather than slowing answers down.
/// </summary>
public sealed class SelfAuditQueue
{
    private readonly Channel<SelfAuditJob> _jobs = Channel.CreateBounded<SelfAuditJob>(new BoundedChannelOptions(256)
    {
        FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true,
    });
    private long _dropped;
    private long _pending;

    /// <summary>Samples dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Samples queued or being re-checked right now.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Queues a sampled answer; never waits.</summary>
    public void Enqueue(SelfAuditJob job)
    {
        Interlocked.Increment(ref _pending);
        if (_jobs.Writer.TryWrite(job)) return;
        Interlocked.Decrement(ref _pending);
        Interlocked.Increment(ref _dropped);
    }

    /// <summary>Waits until no sample is queued or being re-checked (tests and shutdown use it to see a settled ledger).</summary>
    public async Task WaitIdleAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Pending > 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"{Pending} self-audit re-check(s) still pending after {timeout.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }

    internal void Done() => Interlocked.Decrement(ref _pending);

    internal ChannelReader<SelfAuditJob> Reader => _jobs.Reader;
}

/// <summary>
/// Re-checks the answers the gate sampled (seed: "the node's gate samples its own traffic for re-checks at [the audit
/// rate]"), one at a time, in the background. Class A: the topic's checkers re-run on the released answer and on an
/// independent re-execution; every single-specialist answer is replayed through the engine with its recorded request
/// and seed (greedy and seeded decoding replay bit for bit); class B: the signed-snapshot check against the fragments
/// the answer was given. The outcome is a <c>reputation.recheck</c> record signed by the node, booked (a failure is
/// class-A evidence, so the failing-class-A trigger sees it) and ledgered.
/// </summary>
public sealed partial class SelfAuditWorker(SelfAuditQueue queue, RuntimeHolder holder, NodeOptions options,
    TimeProvider time, ILogger<SelfAuditWorker> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var job in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                if (holder.Runtime is not { } rt) continue;
                await RecheckAsync(rt, options, time, job, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) when (e is InvalidOperationException or IOException or ReputationRecordException or ArgumentException)
            {
                RecheckFailed(logger, e, job.LedgerIndex);
            }
            finally { queue.Done(); }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "self-audit re-check of ledger entry {Index} could not be completed")]
    private static partial void RecheckFailed(ILogger logger, Exception exception, long index);

    /// <summary>Re-checks one sampled answer and signs, books and ledgers the <c>reputation.recheck</c> record; returns it and its ledger index.</summary>
    public static async Task<(SignedEnvelope Record, long Index)> RecheckAsync(NodeRuntime rt, NodeOptions options, TimeProvider time,
        SelfAuditJob job, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rt);
        ArgumentNullException.ThrowIfNull(job);
        var checks = new List<CheckResult>();
        var topicId = job.Decision.Topic;
        if (rt.Policy.TopicsById.TryGetValue(topicId, out var topic))
            foreach (var name in topic.Checkers)
                checks.Add(CheckResult.From(RouterGate.CheckerCatalog.Builtin.Get(name).Check(job.CheckText, job.Answer)) with { Checker = name });
        if (MemorySnapshotCheck.Applies(job.Decision, job.Rag))
        {
            var v = SnapshotMatch.Check(job.Answer, job.Rag!.Hits);
            checks.Add(new CheckResult(MemorySnapshotCheck.Name, v.Outcome switch
            {
                SnapshotOutcome.Agrees => CheckOutcome.Passed,
                SnapshotOutcome.Contradicts => CheckOutcome.Failed,
                _ => CheckOutcome.NotApplicable,
            }, v.Detail));
        }
        if (job.Request is { } g)
        {
            // independent re-execution: the same request, adapter and seed through the engine again
            var again = await rt.EngineFor(job.Specialist).GenerateAsync(g, ct);
            var same = again.Text == job.Answer;
            checks.Add(new CheckResult("replay", same ? CheckOutcome.Passed : CheckOutcome.Failed, same
                ? $"the recorded request replays bit for bit (SHA-256 {AnswerRecord.Sha256(again.Text)})"
                : $"the recorded request replays to SHA-256 {AnswerRecord.Sha256(again.Text)}, but the ledger vouches for {AnswerRecord.Sha256(job.Answer)}"));
            if (topic is not null && !same)
                foreach (var name in topic.Checkers)
                    checks.Add(CheckResult.From(RouterGate.CheckerCatalog.Builtin.Get(name).Check(job.CheckText, again.Text)) with { Checker = name + ":replay" });
        }
        var outcome = checks.Any(c => c.Outcome == CheckOutcome.Failed) ? "failed"
            : checks.Any(c => c.Outcome == CheckOutcome.Passed) ? "passed" : "not_checkable";
        var node = rt.Key.Id.ToString();
        var env = SignedEnvelope.Seal(ReputationBook.RecheckType, new JsonObject
        {
            ["v"] = 1, ["topic"] = topicId, ["node"] = node, ["specialist"] = job.Specialist,
            ["ledger_index"] = job.LedgerIndex, ["ledger_entry"] = job.LedgerEntry, ["class"] = job.Decision.Class.ToString(),
            ["checks"] = new JsonArray(checks.Select(c => (JsonValue)new JsonObject { ["checker"] = c.Checker, ["outcome"] = c.Outcome.ToString().ToLowerInvariant(), ["detail"] = c.Detail })),
            ["outcome"] = outcome, ["time"] = time.GetUtcNow().ToUnixTimeSeconds(),
        }, rt.Key);
        // a fresh load, not the live cache: this runs beside request threads that read the cached book
        ReputationBookLog.Append(options.DataDir, ReputationBookLog.Load(options.DataDir), env);
        var receipt = await rt.Ledger.AppendAsync(ReputationBook.RecheckType, env.ToJson(), ct);
        return (env, receipt.Index);
    }
}
