using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Federation.Canaries.Spore;

/// <summary>Settings of <see cref="SporeAutoVerifier"/> (the reference's defaults, notes §8).</summary>
public sealed record AutoVerifyOptions
{
    /// <summary>Base spot-check probability before the §8 multipliers.</summary>
    public double SpotCheckProbability { get; init; } = 0.05;

    /// <summary>How often the loop looks at the graph (the reference's challenger polls every 5 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a challenger waits for responses before giving up without a dispute (SPORE_CHALLENGE_TIMEOUT).</summary>
    public TimeSpan ChallengeTimeout { get; init; } = TimeSpan.FromSeconds(1800);
}

/// <summary>
/// The scheduled side of §8 (difference 10 in docs/spore.md): each step spot-checks records of others that it has not
/// considered yet (probability of §8, drawn by a keyed hash instead of <c>random.random()</c>), answers challenges it can
/// help with, and settles this node's challenges once <c>min(3, independent nodes)</c> responses are held, or gives them up
/// after the timeout. Every action goes through <see cref="SporeWorker"/>, which is idempotent, so a step may be repeated.
/// </summary>
/// <param name="drawKey">Secret key of the spot-check draw (so a publisher cannot grind record ids to dodge a node's checks).</param>
public sealed class SporeAutoVerifier(SporeNode node, SporeWorker worker, byte[] drawKey, AutoVerifyOptions? options = null, TimeProvider? time = null)
{
    private readonly AutoVerifyOptions _o = options ?? new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly HashSet<string> _considered = new(StringComparer.Ordinal);
    private readonly HashSet<string> _answered = new(StringComparer.Ordinal);
    private readonly HashSet<string> _closed = new(StringComparer.Ordinal);

    /// <summary>Diagnostics (one line per action).</summary>
    public event Action<string>? Log;

    /// <summary>
    /// §8's spot-check probability of a record: base p, ×3 if the publisher's Spore score is below 0, otherwise ×2 if
    /// below 5, then ×2 if the metric is below 0.9; capped at 1.
    /// </summary>
    public static double Probability(SporeGraph g, ExperimentRecord r, double p)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(r);
        var score = g.Reputation.TryGetValue(r.NodeId, out var row) ? row.Score : 0.0;
        p *= score < 0 ? 3 : score < 5 ? 2 : 1;
        if (r.ValBpb < 0.9) p *= 2;
        return Math.Min(1.0, p);
    }

    /// <summary>The keyed draw: HMAC-SHA256(key, record id), first 8 bytes big-endian / 2⁶⁴, below p.</summary>
    public static bool Draw(byte[] key, string recordId, double p)
    {
        var h = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(recordId));
        return BinaryPrimitives.ReadUInt64BigEndian(h) / 18446744073709551616.0 < p;
    }

    /// <summary>One pass; returns the events published.</summary>
    public async Task<IReadOnlyList<ControlEvent>> StepAsync(CancellationToken ct = default)
    {
        var published = new List<ControlEvent>();
        var me = worker.NodeId;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();

        var fresh = node.Read(g => g.Records
            .Where(r => r.NodeId != me && r.Status != RecordStatus.Crash && !_considered.Contains(r.Id) && !g.Verified.Contains(r.Id))
            .Select(r => (Record: r, Task: g.Tasks.GetValueOrDefault(r.TaskId)?.Manifest, P: Probability(g, r, _o.SpotCheckProbability))).ToList());
        foreach (var (r, task, p) in fresh)
        {
            if (task is null) continue; // no manifest yet: look again when the task has arrived
            _considered.Add(r.Id);
            if (!Draw(drawKey, r.Id, p)) continue;
            if (await worker.VerifyAsync(r, task, now, ct) is { } e) Add(e, $"spot-check of {r.Id[..12]}: {e.Type}");
        }

        var challenges = node.Read(g => g.ControlEvents.Values
            .Where(e => e.Type == ControlTypes.Challenge && e.NodeId != me && !_answered.Contains(e.Id))
            .Select(e => (Event: e, Task: g.GetRecord(e.ExperimentId) is { } r ? g.Tasks.GetValueOrDefault(r.TaskId)?.Manifest : null)).ToList());
        foreach (var (c, task) in challenges)
        {
            if (task is null) continue;
            _answered.Add(c.Id);
            if (await worker.RespondAsync(c, task, now, ct) is { } e) Add(e, $"response to challenge {c.Id[..12]}");
        }

        var mine = node.Read(g => g.ControlEvents.Values
            .Where(e => e.Type == ControlTypes.Challenge && e.NodeId == me && !_closed.Contains(e.Id))
            .Select(e => (Challenge: e, Record: g.GetRecord(e.ExperimentId),
                Responses: g.ControlEvents.Values.Count(x => x.Type == ControlTypes.ChallengeResponse && x.ExperimentId == e.ExperimentId
                    && x.Payload["challenger_id"].AsString() == me))).ToList());
        foreach (var (c, r, responses) in mine)
        {
            if (r is null) continue;
            var need = Math.Min(3, worker.IndependentNodes(r).Count);
            if (need > 0 && responses >= need)
            {
                _closed.Add(c.Id);
                if (worker.Resolve(r, c, now) is { } e) Add(e, $"dispute of {r.Id[..12]}: {e.Payload["outcome"].AsString()}");
            }
            else if (now - c.Timestamp > (long)_o.ChallengeTimeout.TotalSeconds)
            {
                _closed.Add(c.Id);
                if (responses > 0 && worker.Resolve(r, c, now) is { } e) Add(e, $"dispute of {r.Id[..12]} at timeout: {e.Payload["outcome"].AsString()}");
                else Log?.Invoke($"challenge {c.Id[..12]} timed out without responses: no dispute");
            }
        }
        return published;

        void Add(ControlEvent e, string line)
        {
            published.Add(e);
            Log?.Invoke(line);
        }
    }

    /// <summary>Runs <see cref="StepAsync"/> every <see cref="AutoVerifyOptions.PollInterval"/> until cancelled; a failing step is logged, not fatal.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_o.PollInterval, _time);
        try
        {
            do
            {
                try
                {
                    await StepAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log?.Invoke($"auto-verify step failed: {e.Message}");
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
