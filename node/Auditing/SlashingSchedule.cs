using Federation.Governance;
using Federation.Node.Answering;
using Federation.Node.Hosting;
using Federation.Registry.Envelopes;

namespace Federation.Node.Auditing;

/// <summary>One slashing event a sweep signed, booked and ledgered.</summary>
public sealed record SweptSlash(SlashProposal Proposal, SignedEnvelope Envelope, long LedgerIndex);

/// <summary>
/// One sweep of the automatic slashing triggers over the node's book (<see cref="SlashingTriggers.Sweep"/>, or one topic):
/// each proposal is signed with the node key, booked and ledgered (<c>reputation.slash</c>). Sweeps are serialised, so
/// the schedule and <c>POST /v1/federation/reputation/{topic}/triggers</c> never slash the same evidence twice.
/// </summary>
public sealed class SlashingSweep(NodeOptions options, LiveReputation live) : IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Runs the triggers now (every topic, or only <paramref name="topic"/>) and returns the slashes made.</summary>
    public async Task<IReadOnlyList<SweptSlash>> RunAsync(NodeRuntime rt, string? topic, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rt);
        await _one.WaitAsync(ct);
        try
        {
            var book = ReputationBookLog.Load(options.DataDir, live.TrustedAuditSigner()); // fresh: the triggers' idempotency reads the slashes already booked
            var tau = live.Tau;
            var proposals = topic is null
                ? SlashingTriggers.Sweep(book, tau, live.Knobs)
                : SlashingTriggers.FailingCanaries(book, topic, tau, live.Knobs(topic)).Concat(SlashingTriggers.Collusions(book, topic, tau, live.Knobs(topic))).Concat(SlashingTriggers.GoodhartGaps(book, topic, tau)).ToList();
            var done = new List<SweptSlash>();
            foreach (var p in proposals)
            {
                var env = p.Seal(rt.Key);
                ReputationBookLog.Append(options.DataDir, book, env);
                var receipt = await rt.Ledger.AppendAsync(ReputationBook.SlashType, env.ToJson(), ct);
                done.Add(new SweptSlash(p, env, receipt.Index));
            }
            return done;
        }
        finally { _one.Release(); }
    }

    /// <inheritdoc/>
    public void Dispose() => _one.Dispose();
}

/// <summary>
/// The hosted service that runs <see cref="SlashingSweep"/> every <c>trigger_interval</c> seconds of
/// <c>policies/reputation.yaml</c> (<see cref="TriggerSchedule"/>; time from the host's <see cref="TimeProvider"/>).
/// </summary>
public sealed partial class SlashingScheduleService(RuntimeHolder holder, SlashingSweep sweep, LiveReputation live, TimeProvider time,
    ILogger<SlashingScheduleService> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new TriggerSchedule(time, () => live.TriggerInterval,
            async ct => { if (holder.Runtime is { } rt) SweepDone(logger, (await sweep.RunAsync(rt, null, ct)).Count); },
            e => SweepFailed(logger, e)).RunAsync(stoppingToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "scheduled slashing triggers: {Count} new slashing events")]
    private static partial void SweepDone(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "scheduled slashing triggers failed; the next round tries again")]
    private static partial void SweepFailed(ILogger logger, Exception exception);
}
