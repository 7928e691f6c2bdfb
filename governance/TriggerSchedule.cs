namespace Federation.Governance;

/// <summary>
/// Runs the slashing triggers on a schedule (§9.5; docs/reputation.md "Slashing triggers"): every interval (read again
/// before each wait, so a policy edit takes effect at the next round) it calls the sweep, which evaluates
/// <see cref="SlashingTriggers.Sweep"/> and signs, books and ledgers what it proposes. Time comes from the injected
/// <see cref="TimeProvider"/> only, so tests drive it without waiting. An interval of 0 (or less) pauses the schedule;
/// it looks again after <see cref="PausedRecheck"/>. A failing sweep is reported and the schedule goes on.
/// </summary>
public sealed class TriggerSchedule(TimeProvider time, Func<TimeSpan> interval, Func<CancellationToken, Task> sweep, Action<Exception>? failed = null)
{
    /// <summary>How long a paused schedule (interval 0) waits before it reads the interval again.</summary>
    public static readonly TimeSpan PausedRecheck = TimeSpan.FromMinutes(1);

    /// <summary>Completed sweeps so far (failed ones included).</summary>
    public int Sweeps { get; private set; }

    /// <summary>Waits an interval, sweeps, and again, until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(interval);
        ArgumentNullException.ThrowIfNull(sweep);
        while (!ct.IsCancellationRequested)
        {
            var wait = interval();
            if (wait <= TimeSpan.Zero)
            {
                try { await Task.Delay(PausedRecheck, time, ct); } catch (OperationCanceledException) { return; }
                continue;
            }
            try { await Task.Delay(wait, time, ct); } catch (OperationCanceledException) { return; }
            try { await sweep(ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (failed is not null) { failed(e); }
            finally { Sweeps++; }
        }
    }
}
