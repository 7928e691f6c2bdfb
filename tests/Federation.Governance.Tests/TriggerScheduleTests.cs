using Federation.Governance;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Tests;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when the test says so: timers fire from <see cref="Advance"/>, on
/// the test's thread (what Task.Delay(…, TimeProvider, …) needs, and nothing more).
/// </summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<Timer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() { lock (_lock) return _now; }

    public int PendingTimers { get { lock (_lock) return _timers.Count(t => t.Due is not null); } }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new Timer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    /// <summary>Moves the clock by <paramref name="by"/>, firing every timer that falls due on the way, in time order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset end;
        lock (_lock) end = _now + by;
        while (true)
        {
            Timer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.Due is { } d && d <= end).OrderBy(t => t.Due).FirstOrDefault();
                if (next is null) { _now = end; return; }
                _now = next.Due!.Value;
                next.Due = next.Period > TimeSpan.Zero ? _now + next.Period : null;
            }
            next.Fire();
        }
    }

    private sealed class Timer(ManualTime owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }
        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                if (!owner._timers.Contains(this)) owner._timers.Add(this);
            }
            return true;
        }

        public void Dispose() { lock (owner._lock) owner._timers.Remove(this); }

        public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
    }
}

/// <summary>
/// The slashing triggers on a schedule (<see cref="TriggerSchedule"/> driving <see cref="SlashingTriggers.Sweep"/>), with
/// an injected clock: nothing happens before the interval, each interval sweeps once, a repeated sweep on the same
/// evidence slashes nothing, new evidence fires again, and a policy that sets the interval to 0 pauses it.
/// </summary>
public sealed class TriggerScheduleTests
{
    private const long T0 = 1_790_000_000;

    private static SignedEnvelope Failures(NodeKey auditor, string specialist, long time, int n, string prefix)
    {
        var items = new JsonArray();
        for (int i = 0; i < n; i++)
            items.Add(new JsonObject
            {
                ["handle"] = $"{prefix}{i}", ["class"] = "A", ["difficulty"] = 1.0, ["specialist"] = specialist,
                ["o"] = 0.0, ["status"] = "scored", ["detail"] = "", ["answer_sha256"] = $"{prefix}{i}", ["time"] = time,
            });
        return SignedEnvelope.Seal(ReputationBook.AuditRecordType, new JsonObject
        {
            ["v"] = 1, ["target"] = "http://node", ["target_node"] = "n1", ["topic"] = "math", ["items"] = items, ["started"] = time, ["finished"] = time,
        }, auditor);
    }

    [Fact]
    public async Task Each_interval_sweeps_once_and_the_same_evidence_never_slashes_twice()
    {
        using var auditor = NodeKey.Generate();
        using var node = NodeKey.Generate();
        var time = new ManualTime(DateTimeOffset.FromUnixTimeSeconds(T0 + 60));
        var book = new ReputationBook();
        book.Ingest(Failures(auditor, "bad", T0, 8, "a"));
        var interval = TimeSpan.FromMinutes(10);
        var slashes = new List<SignedEnvelope>();
        var swept = new SemaphoreSlim(0);
        var schedule = new TriggerSchedule(time, () => interval, _ =>
        {
            var tau = time.GetUtcNow().ToUnixTimeSeconds() / ReputationBook.SecondsPerDay;
            foreach (var p in SlashingTriggers.Sweep(book, tau, _ => ReputationSimulation.DefaultKnobs))
            {
                var env = p.Seal(node);
                book.Ingest(env);
                slashes.Add(env);
            }
            swept.Release();
            return Task.CompletedTask;
        });
        using var cts = new CancellationTokenSource();
        var run = schedule.RunAsync(cts.Token);
        await WaitForTimerAsync(time);

        time.Advance(interval - TimeSpan.FromSeconds(1));
        Assert.Equal(0, schedule.Sweeps); // not yet
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await swept.WaitAsync(TimeSpan.FromSeconds(10)));
        var first = Assert.Single(slashes);
        Assert.True(first.Verify().IsValid);
        var payload = (JsonObject)first.Payload;
        Assert.StartsWith(SlashingTriggers.FailingClassA, ((JsonString)payload["reason"]).Value);
        Assert.Equal("bad", ((JsonString)payload["specialist"]).Value);
        Assert.NotEmpty((JsonArray)payload["evidence"]);

        // the next round: same evidence, no second slash
        await WaitForTimerAsync(time);
        time.Advance(interval);
        Assert.True(await swept.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(slashes);

        // new failures after the slash: the next round fires again
        book.Ingest(Failures(auditor, "bad", T0 + 60 + (long)(2 * interval.TotalSeconds), 3, "b"));
        await WaitForTimerAsync(time);
        time.Advance(interval);
        Assert.True(await swept.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, slashes.Count);

        // interval 0 (trigger_interval: 0): the schedule pauses, however far the clock moves
        await WaitForTimerAsync(time); // the next wait is armed (with the old interval)
        Assert.Equal(3, schedule.Sweeps);
        interval = TimeSpan.Zero;
        time.Advance(TimeSpan.FromMinutes(10)); // the wait already armed ends, sweeps, then the schedule reads 0
        Assert.True(await swept.WaitAsync(TimeSpan.FromSeconds(10)));
        await WaitForTimerAsync(time);
        time.Advance(TimeSpan.FromHours(5));
        Assert.False(await swept.WaitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(4, schedule.Sweeps);

        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_failing_sweep_is_reported_and_the_schedule_goes_on()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeSeconds(T0));
        var errors = new List<Exception>();
        int calls = 0;
        var done = new SemaphoreSlim(0);
        var schedule = new TriggerSchedule(time, () => TimeSpan.FromMinutes(1), _ =>
        {
            calls++;
            done.Release();
            return calls == 1 ? throw new InvalidOperationException("ledger busy") : Task.CompletedTask;
        }, errors.Add);
        using var cts = new CancellationTokenSource();
        var run = schedule.RunAsync(cts.Token);
        for (int i = 0; i < 2; i++)
        {
            await WaitForTimerAsync(time);
            time.Advance(TimeSpan.FromMinutes(1));
            Assert.True(await done.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        await cts.CancelAsync();
        await run;
        Assert.Equal("ledger busy", Assert.Single(errors).Message);
        Assert.Equal(2, calls);
    }

    private static async Task WaitForTimerAsync(ManualTime time)
    {
        for (int i = 0; i < 1000 && time.PendingTimers == 0; i++) await Task.Delay(5);
        Assert.True(time.PendingTimers > 0, "the schedule never armed its timer");
    }
}

/// <summary>The issue-11 additions to <c>reputation.yaml</c> and the book: auditors, trigger_interval, re-check records.</summary>
public sealed class AuditorsAndRechecksTests
{
    private const string Defaults = ReputationYamlFixture.Defaults + "\n";

    [Fact]
    public void Auditors_and_trigger_interval_are_read_strictly()
    {
        var id = new string('a', 64);
        var p = ReputationPolicyLoader.Parse(Defaults + $"auditors: [{id}]\ntrigger_interval: 600\n", "r.yaml");
        Assert.Equal([id], p.Auditors);
        Assert.Equal(600, p.TriggerInterval);
        var plain = ReputationPolicyLoader.Parse(Defaults, "r.yaml");
        Assert.Empty(plain.Auditors);
        Assert.Equal(ReputationPolicy.DefaultTriggerInterval, plain.TriggerInterval);

        var bad = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse(Defaults + "auditors: [ed25519:xyz]\ntrigger_interval: -5\n", "r.yaml"));
        Assert.Equal(2, bad.Errors.Count);
        Assert.Contains("auditors to list node ids", bad.Errors[0].Message);
        Assert.Equal(17, bad.Errors[0].Line);
        Assert.Contains("trigger_interval", bad.Errors[1].Message);
    }

    private static SignedEnvelope Recheck(NodeKey signer, string node, string outcome, long time) =>
        SignedEnvelope.Seal(ReputationBook.RecheckType, new JsonObject
        {
            ["v"] = 1, ["topic"] = "math", ["node"] = node, ["specialist"] = "s", ["ledger_index"] = 3, ["ledger_entry"] = "x",
            ["class"] = "A", ["checks"] = new JsonArray(), ["outcome"] = outcome, ["time"] = time,
        }, signer);

    [Fact]
    public void A_failed_recheck_is_evidence_a_pass_is_not_and_only_the_answering_node_may_sign_one()
    {
        using var node = NodeKey.Generate();
        using var other = NodeKey.Generate();
        var id = node.Id.ToString();
        var book = new ReputationBook();
        Assert.Equal(0, book.Ingest(Recheck(node, id, "passed", 1_790_000_000)).Evidence);
        Assert.DoesNotContain("math", book.Topics);
        var failed = book.Ingest(Recheck(node, id, "failed", 1_790_000_100));
        Assert.Equal(1, failed.Evidence);
        var row = book.Table("math", 1_790_000_200 / ReputationBook.SecondsPerDay, ReputationSimulation.DefaultKnobs).Nodes.Single();
        Assert.Equal(id + "/s", row.Name);
        Assert.True(row.CHat < ReputationSimulation.DefaultKnobs.Math.C0, $"C_hat {row.CHat}");

        var forged = Assert.Throws<ReputationRecordException>(() => book.Ingest(Recheck(other, id, "failed", 1_790_000_100)));
        Assert.Contains("signed by", forged.Message);
        Assert.Throws<ReputationRecordException>(() => book.Ingest(Recheck(node, id, "maybe", 1_790_000_100)));
    }
}
