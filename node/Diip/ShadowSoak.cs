using System.Security.Cryptography;
using System.Text;
using Federation.Governance.Diip;
using Federation.Router;
using Federation.Specialists.Engine;

namespace Federation.Node.Diip;

/// <summary>
/// Champion–challenger shadow soak (seed §10.3): while a proposal soaks, a configured share of the topic's live traffic is
/// also answered by the challenger, in the background, after the champion's answer is on its way. The challenger's answer
/// is checked by the same verification gate as the champion's and only counted — never returned to the client, never
/// ledgered as an answer. The paired counts (b = only the challenger passed, c = only the champion) become the
/// <c>soak_result</c>.
/// </summary>
public sealed class ShadowSoak
{
    private sealed class Entry(string proposal, string topic, string challenger, SpecialistEngine engine, double share)
    {
        public string Proposal { get; } = proposal;
        public string Topic { get; } = topic;
        public string Challenger { get; } = challenger;
        public SpecialistEngine Engine { get; } = engine;
        public double Share { get; } = share;
        public int B;
        public int C;
        public int N;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _byTopic = new(StringComparer.Ordinal);
    private readonly List<Task> _running = [];

    /// <summary>Starts soaking <paramref name="challenger"/> (an adapter id on <paramref name="engine"/>) on <paramref name="share"/> ∈ (0, 1] of the topic's traffic.</summary>
    public void Start(string proposal, string topic, string challenger, SpecialistEngine engine, double share)
    {
        if (share is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(share), share, "the shadow share must be in (0, 1]");
        lock (_lock) _byTopic[topic] = new Entry(proposal, topic, challenger, engine, share);
    }

    /// <summary>Stops the soak of <paramref name="proposal"/>; returns its counts (null when it was not soaking).</summary>
    public PairedCounts? Stop(string proposal)
    {
        lock (_lock)
        {
            var e = _byTopic.Values.FirstOrDefault(x => x.Proposal == proposal);
            if (e is null) return null;
            _byTopic.Remove(e.Topic);
            return new PairedCounts(e.B, e.C, e.N);
        }
    }

    /// <summary>The counts so far of <paramref name="proposal"/>, or null.</summary>
    public PairedCounts? Counts(string proposal)
    {
        lock (_lock)
            return _byTopic.Values.FirstOrDefault(x => x.Proposal == proposal) is { } e ? new PairedCounts(e.B, e.C, e.N) : null;
    }

    /// <summary>True when a soak runs on <paramref name="topic"/>.</summary>
    public bool IsSoaking(string topic) { lock (_lock) return _byTopic.ContainsKey(topic); }

    /// <summary>
    /// The answer path's hook (<c>AnswerService</c>): offers one answered request. When its topic soaks and the query falls
    /// in the share (by a hash of the query text, so the same query is always in or out), the challenger answers the same
    /// generation request in the background and <paramref name="check"/> (the gate) judges it.
    /// </summary>
    public void Offer(RouteDecision decision, string queryText, GenerationRequest request, bool championPassed, Func<string, bool> check)
    {
        Entry? e;
        lock (_lock) _byTopic.TryGetValue(decision.Topic, out e);
        if (e is null || decision.Specialists.Count != 1 || !InShare(queryText, e.Share)) return;
        var task = Task.Run(async () =>
        {
            bool passed;
            try
            {
                var r = await e.Engine.GenerateAsync(request with { Adapters = [new AdapterSelection(e.Challenger)] });
                passed = check(r.Text);
            }
            catch (Exception)
            {
                return; // a shadow answer that fails is not evidence either way, and must never disturb the live path
            }
            lock (_lock)
            {
                if (passed && !championPassed) e.B++;
                else if (!passed && championPassed) e.C++;
                e.N++;
            }
        });
        lock (_lock)
        {
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(task);
        }
    }

    /// <summary>Waits for the shadow answers in flight (tests, and before a soak_result is recorded).</summary>
    public Task DrainAsync()
    {
        Task[] all;
        lock (_lock) all = [.. _running];
        return Task.WhenAll(all);
    }

    private static bool InShare(string query, double share)
    {
        if (share >= 1) return true;
        var h = SHA256.HashData(Encoding.UTF8.GetBytes(query));
        return BitConverter.ToUInt32(h, 0) / (double)uint.MaxValue < share;
    }
}
