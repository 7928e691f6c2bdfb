using System.Globalization;
using Federation.Canaries.Lifecycle;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance;

/// <summary>A slashing event not yet signed: the <c>reputation.slash</c> payload's fields.</summary>
/// <param name="Topic">The topic the event counts in.</param>
/// <param name="Node">The slashed node's key id.</param>
/// <param name="Specialist">The slashed specialist on that node.</param>
/// <param name="Time">Unix seconds.</param>
/// <param name="Reason">Which trigger, in words; starts with the trigger's name (<see cref="SlashingTriggers"/> constants).</param>
/// <param name="Evidence">Record ids and ledger indexes anyone can check (non-empty).</param>
public sealed record SlashProposal(string Topic, string Node, string Specialist, long Time, string Reason, IReadOnlyList<string> Evidence)
{
    /// <summary>The <c>reputation.slash</c> payload <c>{"v":1,"topic","node","specialist","time","reason","evidence"}</c>.</summary>
    public JsonObject ToPayload() => new()
    {
        ["v"] = 1,
        ["topic"] = Topic,
        ["node"] = Node,
        ["specialist"] = Specialist,
        ["time"] = Time,
        ["reason"] = Reason,
        ["evidence"] = new JsonArray(Evidence.Select(e => (JsonValue)e)),
    };

    /// <summary>Signs the event with <paramref name="key"/> (the auditor or node that found it).</summary>
    public SignedEnvelope Seal(NodeKey key)
    {
        if (Evidence.Count == 0) throw new ArgumentException("a slashing event needs evidence (record ids, ledger indexes)");
        return SignedEnvelope.Seal(ReputationBook.SlashType, ToPayload(), key);
    }
}

/// <summary>
/// The §9.5 slashing triggers as pure functions of the reputation book at τ (days): failing class-A canaries beyond the
/// topic's threshold, collusion (agreeing among themselves while failing class A, measured with <see cref="Independence"/>
/// over shared canaries), and the entry points for losing a challenge and for drift flagged by post-activation monitoring.
/// Each returns proposals; the caller signs them (<see cref="SlashProposal.Seal"/>), adds them to its book and ledgers them.
/// A trigger does not fire again on the same evidence: a target already slashed for the same trigger after its latest
/// evidence is skipped.
/// </summary>
public static class SlashingTriggers
{
    /// <summary>Reason prefix of the failing-class-A trigger.</summary>
    public const string FailingClassA = "failing class A";
    /// <summary>Reason prefix of the collusion trigger.</summary>
    public const string Collusion = "collusion";
    /// <summary>Reason prefix of a lost challenge.</summary>
    public const string LostChallenge = "lost a challenge";
    /// <summary>Reason prefix of the Goodhart detector (public vs secret canary pass-rate gap).</summary>
    public const string Goodhart = "goodhart";
    /// <summary>Reason prefix of drift flagged by post-activation monitoring.</summary>
    public const string Drift = "drift";

    /// <summary>
    /// Targets whose decayed class-A pass rate C is below <see cref="LiveKnobs.SlashPassRate"/> on at least
    /// <see cref="LiveKnobs.SlashMinMass"/> of evidence mass N. Evidence: the records that carry the failures.
    /// </summary>
    public static IReadOnlyList<SlashProposal> FailingCanaries(ReputationBook book, string topic, double tau, TopicReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(knobs);
        var table = book.Table(topic, tau, knobs);
        var evidence = book.Evidence(topic);
        var result = new List<SlashProposal>();
        foreach (var row in table.Nodes)
        {
            if (row.N < knobs.Live.SlashMinMass || row.N <= 0 || row.C >= knobs.Live.SlashPassRate) continue;
            var mine = evidence.Where(e => e.Target == row.Name && e.Audit.Time <= tau).ToArray();
            if (AlreadySlashed(book, topic, row.Name, FailingClassA, mine.Max(e => e.Audit.Time))) continue;
            var (node, specialist) = Split(row.Name);
            result.Add(new SlashProposal(topic, node, specialist, Seconds(tau),
                $"{FailingClassA}: decayed pass rate C = {F(row.C)} < {F(knobs.Live.SlashPassRate)} on evidence mass N = {F(row.N)} (≥ {F(knobs.Live.SlashMinMass)})",
                mine.Where(e => e.Audit.Outcome < 1).Select(e => e.RecordId).Distinct().Order(StringComparer.Ordinal).ToArray()));
        }
        return result;
    }

    /// <summary>
    /// Pairs whose pairwise ρ over shared canaries (<see cref="ReputationBook.AnswerLabels"/>) is at least
    /// <see cref="LiveKnobs.CollusionRho"/> while both fail class A (C below <see cref="LiveKnobs.SlashPassRate"/>, N &gt; 0):
    /// each member of such a pair is slashed once, naming its partners. Evidence: the audit records of the group.
    /// </summary>
    public static IReadOnlyList<SlashProposal> Collusions(ReputationBook book, string topic, double tau, TopicReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(knobs);
        var table = book.Table(topic, tau, knobs);
        var failing = table.Nodes.Where(n => n.N > 0 && n.C < knobs.Live.SlashPassRate).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var labels = book.AnswerLabels(topic);
        var names = labels.Keys.Where(failing.Contains).ToArray();
        var partners = names.ToDictionary(n => n, _ => new SortedSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
            for (int j = i + 1; j < names.Length; j++)
                if (Independence.Correlation(labels[names[i]], labels[names[j]], knobs.Independence) >= knobs.Live.CollusionRho)
                {
                    partners[names[i]].Add(names[j]);
                    partners[names[j]].Add(names[i]);
                }
        var evidence = book.Evidence(topic);
        var result = new List<SlashProposal>();
        foreach (var (name, with) in partners)
        {
            if (with.Count == 0) continue;
            var group = with.Append(name).ToHashSet(StringComparer.Ordinal);
            var groupEvidence = evidence.Where(e => group.Contains(e.Target) && e.Audit.Time <= tau).ToArray();
            if (groupEvidence.Length == 0 || AlreadySlashed(book, topic, name, Collusion, groupEvidence.Max(e => e.Audit.Time))) continue;
            var (node, specialist) = Split(name);
            result.Add(new SlashProposal(topic, node, specialist, Seconds(tau),
                $"{Collusion} with {string.Join(", ", with)}: ρ ≥ {F(knobs.Live.CollusionRho)} over shared canaries while failing class A",
                groupEvidence.Select(e => e.RecordId).Distinct().Order(StringComparer.Ordinal).ToArray()));
        }
        return result;
    }

    /// <summary>
    /// Targets the Goodhart detector (<see cref="CanaryLifecycle.Goodhart"/>, docs/canaries.md) flags at τ: over the class-A
    /// checks of the book whose audit items name their canary's visibility, the public pass rate exceeds the secret one by
    /// more than the threshold, significantly. The reason carries the verdict (rates, gap, z); evidence: the audit records
    /// of those checks. Not again on the same evidence.
    /// </summary>
    public static IReadOnlyList<SlashProposal> GoodhartGaps(ReputationBook book, string topic, double tau, LifecycleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(book);
        var result = new List<SlashProposal>();
        foreach (var g in book.CanaryChecks(topic).Where(c => c.Time <= tau).GroupBy(c => c.Target).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var pub = g.Where(c => !c.Secret).ToArray();
            var sec = g.Where(c => c.Secret).ToArray();
            var verdict = CanaryLifecycle.Goodhart(pub.Sum(c => c.O), pub.Length, sec.Sum(c => c.O), sec.Length, options);
            if (!verdict.Overfit || AlreadySlashed(book, topic, g.Key, Goodhart, g.Max(c => c.Time))) continue;
            var (node, specialist) = Split(g.Key);
            result.Add(new SlashProposal(topic, node, specialist, Seconds(tau), $"{Goodhart}: {verdict.Detail}",
                g.Select(c => c.RecordId).Distinct().Order(StringComparer.Ordinal).ToArray()));
        }
        return result;
    }

    /// <summary>
    /// Every automatic trigger (failing class A, collusion, then the Goodhart detector) on every topic of the book at τ, topics in ordinal order:
    /// what one scheduled sweep (<see cref="TriggerSchedule"/>) or <c>POST …/triggers</c> signs, books and ledgers.
    /// Idempotent like each trigger: once its proposals are booked, a second sweep at the same or a later τ without new
    /// evidence proposes nothing.
    /// </summary>
    public static IReadOnlyList<SlashProposal> Sweep(ReputationBook book, double tau, Func<string, TopicReputationKnobs> knobs)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(knobs);
        var result = new List<SlashProposal>();
        foreach (var topic in book.Topics)
        {
            var k = knobs(topic);
            result.AddRange(FailingCanaries(book, topic, tau, k));
            result.AddRange(Collusions(book, topic, tau, k));
            result.AddRange(GoodhartGaps(book, topic, tau));
        }
        return result;
    }

    /// <summary>The loser of a challenge (§9.3): evidence is the challenge record and the disputed ledger entry.</summary>
    public static SlashProposal Challenge(string topic, string node, string specialist, long time, string detail, IReadOnlyList<string> evidence) =>
        new(topic, node, specialist, time, $"{LostChallenge}: {detail}", Require(evidence));

    /// <summary>
    /// The entry point for post-activation monitoring (DIIP): a specialist whose live metrics drifted past the guard the
    /// monitor enforces. <paramref name="evidence"/> names the monitor's signed records or ledger entries.
    /// </summary>
    public static SlashProposal DriftFlagged(string topic, string node, string specialist, long time, string detail, IReadOnlyList<string> evidence) =>
        new(topic, node, specialist, time, $"{Drift}: {detail}", Require(evidence));

    private static IReadOnlyList<string> Require(IReadOnlyList<string> evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        if (evidence.Count == 0 || evidence.Any(string.IsNullOrEmpty))
            throw new ArgumentException("a slashing event needs non-empty evidence (record ids, ledger indexes) so anyone can check it", nameof(evidence));
        return evidence.ToArray();
    }

    private static bool AlreadySlashed(ReputationBook book, string topic, string target, string trigger, double latestEvidence) =>
        book.Slashes(topic).Any(s => s.Target == target && s.Reason.StartsWith(trigger, StringComparison.Ordinal) && s.Time >= latestEvidence);

    private static (string Node, string Specialist) Split(string target)
    {
        var cut = target.IndexOf('/', StringComparison.Ordinal);
        return cut < 0 ? (target, target) : (target[..cut], target[(cut + 1)..]);
    }

    private static long Seconds(double tau) => (long)Math.Floor(tau * ReputationBook.SecondsPerDay); // never after τ: an event after τ does not count at τ

    private static string F(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
