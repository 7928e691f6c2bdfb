using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Federation.Router;

/// <summary>
/// One matched rule in a classification trace: which rule of which topic matched where. Positions are in the
/// ORIGINAL text of the segment (what the client sent), so the trace stays readable after normalisation removed
/// zero-width characters or folded look-alike letters; <see cref="Normalized"/> is the text the rule actually matched.
/// </summary>
/// <param name="Topic">The rule's topic.</param>
/// <param name="RuleId">The rule's id within the topic.</param>
/// <param name="Kind">Keyword, phrase or regex.</param>
/// <param name="Pattern">The pattern as written in the policy.</param>
/// <param name="Weight">What the rule added to the topic's score.</param>
/// <param name="Segment">Index of the segment (message part, prompt, memory fragment) of the first match.</param>
/// <param name="Role">That segment's role.</param>
/// <param name="Start">Start of the first match in the segment's original text (UTF-16 index).</param>
/// <param name="Length">Length of that match in the original text.</param>
/// <param name="Text">The original text that matched.</param>
/// <param name="Normalized">The normalised text the rule matched.</param>
public sealed record RuleMatch(string Topic, string RuleId, MatchKind Kind, string Pattern, double Weight,
    int Segment, SegmentRole Role, int Start, int Length, string Text, string Normalized);

/// <summary>A topic and its score.</summary>
public sealed record TopicScore(string Topic, double Score);

/// <summary>
/// The classifier's answer. Invariant: the sum of <see cref="RuleMatch.Weight"/> over <see cref="Trace"/> entries of
/// <see cref="Topic"/>, added in trace order, equals <see cref="Score"/> exactly; and no topic whose score is above its
/// min_score has a higher tier than <see cref="Topic"/> (the highest tier present wins).
/// </summary>
/// <param name="Topic">The chosen topic.</param>
/// <param name="Score">Its score.</param>
/// <param name="RunnerUp">The best other topic with a positive score, if any.</param>
/// <param name="Trace">Every matched rule of every topic, in policy order (topic file order, then rule file order).</param>
/// <param name="FellBackToDefault">True when no topic scored above its min_score and the default topic was chosen.</param>
/// <param name="NormalizedQuery">The text the rules ran on: the segments' normal forms joined by a line feed.</param>
/// <param name="QueryHash">Lowercase hex SHA-256 of <see cref="NormalizedQuery"/>'s UTF-8 bytes.</param>
/// <param name="Truncated">True when the segments held more than max_query_chars and only a prefix was read (the planner refuses such queries).</param>
public sealed record Classification(TopicPolicy Topic, double Score, TopicScore? RunnerUp, IReadOnlyList<RuleMatch> Trace,
    bool FellBackToDefault, string NormalizedQuery, string QueryHash, bool Truncated = false)
{
    /// <summary>The chosen topic's tier: the highest tier of any topic present in the query.</summary>
    public TrustTier Tier => Topic.Tier;
}

/// <summary>
/// The deterministic classifier: a pure function of (query, policy) — no clock, no randomness, no I/O. See docs/routing.md
/// for the algorithm and tie-breaks.
/// </summary>
public static class QueryClassifier
{
    /// <summary>Classifies a single user message (same as <see cref="Classify(RouteQuery, RoutingPolicy)"/> with <see cref="RouteQuery.FromText"/>).</summary>
    public static Classification Classify(string query, RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Index.Classify(RouteQuery.FromText(query));
    }

    /// <summary>Classifies every segment of <paramref name="query"/> under <paramref name="policy"/>; the highest tier present wins.</summary>
    public static Classification Classify(RouteQuery query, RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Index.Classify(query);
    }

    /// <summary>
    /// The topic decision of a single user message without the trace, normalised text and hash that
    /// <see cref="Classify(string, RoutingPolicy)"/> returns: the same topic, score and runner-up, and no allocation.
    /// </summary>
    public static TopicDecision Decide(string query, RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Index.Decide(query);
    }

    /// <summary>The topic decision of every segment of <paramref name="query"/> (see <see cref="Decide(string, RoutingPolicy)"/>).</summary>
    public static TopicDecision Decide(RouteQuery query, RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Index.Decide(query);
    }

    /// <summary>Lowercase hex SHA-256 of the UTF-8 bytes of <paramref name="normalized"/>.</summary>
    public static string HashQuery(string normalized) => HashQuery(normalized.AsSpan());

    internal static string HashQuery(ReadOnlySpan<char> normalized)
    {
        Span<byte> hash = stackalloc byte[32];
        int max = Encoding.UTF8.GetMaxByteCount(normalized.Length);
        byte[]? rented = null;
        Span<byte> buf = max <= 1024 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        int n = Encoding.UTF8.GetBytes(normalized, buf);
        SHA256.HashData(buf[..n], hash);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return Convert.ToHexStringLower(hash);
    }
}

/// <summary>The policy's rules precompiled for fast lookup: a word → rules dictionary for keywords, a first-word index for phrases, compiled regexes.</summary>
internal sealed class ClassifierIndex
{
    private readonly RoutingPolicy _policy;
    private readonly TopicPolicy[] _topics;
    private readonly MatchRule[] _rules;      // all rules, flattened in policy order
    private readonly int[] _ruleTopic;        // rule index → topic index
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _keywords;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _phrasesByFirstWord;
    private readonly (int Rule, Regex Regex)[] _regexes;
    private readonly int _defaultTopic;

    public ClassifierIndex(RoutingPolicy policy)
    {
        _policy = policy;
        _topics = policy.Topics.ToArray();
        var rules = new List<MatchRule>();
        var ruleTopic = new List<int>();
        var keywords = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var phrases = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var regexes = new List<(int, Regex)>();
        for (int t = 0; t < _topics.Length; t++)
        {
            foreach (var r in _topics[t].Rules)
            {
                int g = rules.Count;
                rules.Add(r);
                ruleTopic.Add(t);
                switch (r.Kind)
                {
                    case MatchKind.Keyword:
                        Add(keywords, r.Words[0], g);
                        break;
                    case MatchKind.Phrase:
                        Add(phrases, r.Words[0], g);
                        break;
                    default:
                        regexes.Add((g, PolicyLoader.CompileRegex(r.Pattern, out _)!));
                        break;
                }
            }
        }
        _rules = rules.ToArray();
        _ruleTopic = ruleTopic.ToArray();
        _keywords = keywords.ToDictionary(k => k.Key, k => k.Value.ToArray(), StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _phrasesByFirstWord = phrases.ToDictionary(k => k.Key, k => k.Value.ToArray(), StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _regexes = regexes.ToArray();
        _defaultTopic = Array.FindIndex(_topics, t => t.Id == policy.DefaultTopic);

        static void Add(Dictionary<string, List<int>> d, string key, int g)
        {
            if (!d.TryGetValue(key, out var l)) d[key] = l = [];
            l.Add(g);
        }
    }

    public Classification Classify(RouteQuery query)
    {
        var buf = NormalizedBuffer.Rent();
        var sc = ClassifyScratch.Rent(_rules.Length, _topics.Length);
        try
        {
            var r = Score(Segments(query, sc), buf, sc);
            var text = new string(buf.Chars, 0, buf.Length);
            // The trace lists matched rules in rule order, the order scores were summed in, so it sums to the score exactly.
            var trace = new RuleMatch[r.Matched];
            int ti = 0;
            var segments = query.Segments;
            for (int g = 0; g < _rules.Length; g++)
            {
                int st = sc.Start[g];
                if (st < 0) continue;
                int len = sc.Length[g];
                var rule = _rules[g];
                int s = 0;
                while (sc.SegStart[s + 1] <= st) s++;
                int os = int.MaxValue, oe = 0;
                for (int j = st; j < st + len; j++)
                {
                    if (buf.Starts[j] < os) os = buf.Starts[j];
                    if (buf.Ends[j] > oe) oe = buf.Ends[j];
                }
                var seg = segments[s];
                trace[ti++] = new RuleMatch(_topics[_ruleTopic[g]].Id, rule.Id, rule.Kind, rule.Pattern, rule.Weight, s, seg.Role, os, oe - os,
                    seg.Text.Substring(os, oe - os), text.Substring(st, len));
            }
            return new Classification(_topics[r.Best], sc.Scores[r.Best],
                r.Second < 0 ? null : new TopicScore(_topics[r.Second].Id, sc.Scores[r.Second]),
                trace, r.FellBack, text, QueryClassifier.HashQuery(text), r.Truncated);
        }
        finally
        {
            ClassifyScratch.Return(sc);
            NormalizedBuffer.Return(buf);
        }
    }

    /// <summary>The topic decision alone (no trace, no normalised text, no hash): allocates nothing once warm.</summary>
    public TopicDecision Decide(RouteQuery query)
    {
        var buf = NormalizedBuffer.Rent();
        var sc = ClassifyScratch.Rent(_rules.Length, _topics.Length);
        try
        {
            return Decision(Score(Segments(query, sc), buf, sc), sc);
        }
        finally
        {
            ClassifyScratch.Return(sc);
            NormalizedBuffer.Return(buf);
        }
    }

    /// <inheritdoc cref="Decide(RouteQuery)"/>
    public TopicDecision Decide(string userText)
    {
        var buf = NormalizedBuffer.Rent();
        var sc = ClassifyScratch.Rent(_rules.Length, _topics.Length);
        try
        {
            var one = new QuerySegment(SegmentRole.User, userText);
            return Decision(Score(new ReadOnlySpan<QuerySegment>(in one), buf, sc), sc);
        }
        finally
        {
            ClassifyScratch.Return(sc);
            NormalizedBuffer.Return(buf);
        }
    }

    private TopicDecision Decision(Scored r, ClassifyScratch sc) =>
        new(_topics[r.Best], sc.Scores[r.Best], r.Second < 0 ? null : _topics[r.Second], r.Second < 0 ? 0 : sc.Scores[r.Second], r.FellBack, r.Truncated, r.Matched);

    private static ReadOnlySpan<QuerySegment> Segments(RouteQuery query, ClassifyScratch sc)
    {
        var segments = query.Segments;
        if (segments is QuerySegment[] array) return array;
        if (segments is List<QuerySegment> list) return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list);
        if (sc.SegmentCopy.Length < segments.Count) sc.SegmentCopy = new QuerySegment[Math.Max(segments.Count, sc.SegmentCopy.Length * 2)];
        for (int i = 0; i < segments.Count; i++) sc.SegmentCopy[i] = segments[i];
        return sc.SegmentCopy.AsSpan(0, segments.Count);
    }

    private readonly record struct Scored(int Best, int Second, bool FellBack, bool Truncated, int Matched);

    // Normalises, tokenizes and matches every rule into the scratch arrays (start/length of each rule's first match,
    // -1 when none; per-topic score and best matched rule priority), then picks the topic and runner-up. No allocation
    // once the thread's buffers have grown to the query's size.
    private Scored Score(ReadOnlySpan<QuerySegment> segments, NormalizedBuffer buf, ClassifyScratch sc)
    {
        // Normalise every segment into one buffer, separated by '\n' (never a word character and never produced by
        // normalisation, so words, phrases and regex matches cannot span two segments). Only max_query_chars of
        // original text in all are read; the rest is reported as truncated.
        sc.EnsureSegments(segments.Length + 1);
        var segStart = sc.SegStart;
        int budget = _policy.MaxQueryChars;
        bool truncated = false;
        int segCount = 0;
        for (int s = 0; s < segments.Length; s++)
        {
            if (s > 0) buf.Append('\n', -1, -1);
            segStart[s] = buf.Length;
            segCount = s + 1;
            var t = segments[s].Text;
            int take = QueryText.CutLength(t, budget);
            buf.AppendSegment(t.AsSpan(0, take));
            budget -= take;
            if (take < t.Length) { truncated = true; break; }
        }
        segStart[segCount] = buf.Length + 1;
        ReadOnlySpan<char> span = buf.Chars.AsSpan(0, buf.Length);

        var words = sc.Words;
        words.Clear();
        var segWordStart = sc.SegWordStart;
        for (int s = 0; s < segCount; s++)
        {
            segWordStart[s] = words.Count;
            int a = segStart[s], b = segStart[s + 1] - 1;
            QueryText.Tokenize(span[a..b], a, words);
        }
        segWordStart[segCount] = words.Count;
        var wordSpans = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(words);

        // First-match position per rule; -1 = not matched. A rule counts once however often it matches, across all segments.
        var start = sc.Start.AsSpan(0, _rules.Length);
        var length = sc.Length.AsSpan(0, _rules.Length);
        start.Fill(-1);
        int matchedCount = 0;

        for (int s = 0; s < segCount; s++)
        {
            int wEnd = segWordStart[s + 1];
            for (int i = segWordStart[s]; i < wEnd; i++)
            {
                var w = wordSpans[i];
                var word = span.Slice(w.Start, w.Length);
                if (_keywords.TryGetValue(word, out var kws))
                {
                    foreach (var g in kws)
                        if (start[g] < 0) { start[g] = w.Start; length[g] = w.Length; matchedCount++; }
                }
                if (_phrasesByFirstWord.TryGetValue(word, out var phs))
                {
                    foreach (var g in phs)
                    {
                        if (start[g] >= 0) continue;
                        var pw = _rules[g].Words;
                        if (i + pw.Count > wEnd) continue;
                        bool ok = true;
                        for (int k = 1; k < pw.Count && ok; k++)
                        {
                            var qw = wordSpans[i + k];
                            ok = span.Slice(qw.Start, qw.Length).SequenceEqual(pw[k]);
                        }
                        if (!ok) continue;
                        var last = wordSpans[i + pw.Count - 1];
                        start[g] = w.Start;
                        length[g] = last.Start + last.Length - w.Start;
                        matchedCount++;
                    }
                }
            }
        }
        foreach (var (g, rx) in _regexes)
        {
            for (int s = 0; s < segCount && start[g] < 0; s++)
            {
                int a = segStart[s];
                foreach (var m in rx.EnumerateMatches(span[a..(segStart[s + 1] - 1)]))
                {
                    start[g] = a + m.Index;
                    length[g] = m.Length;
                    matchedCount++;
                    break;
                }
            }
        }

        // Scores are summed in rule order, the same order as the trace, so the trace sums to the score exactly.
        var scores = sc.Scores.AsSpan(0, _topics.Length);
        var bestRulePriority = sc.RulePriority.AsSpan(0, _topics.Length);
        scores.Clear();
        bestRulePriority.Fill(int.MinValue);
        for (int g = 0; g < _rules.Length; g++)
        {
            if (start[g] < 0) continue;
            var r = _rules[g];
            int t = _ruleTopic[g];
            scores[t] += r.Weight;
            if (r.Priority > bestRulePriority[t]) bestRulePriority[t] = r.Priority;
        }

        // The highest tier present wins (issue 8): a topic is present when its score is positive and above its min_score;
        // among present topics the order is tier, then score and the tie-breaks. Runner-up: the best other positive topic.
        int best = -1, second = -1;
        for (int t = 0; t < _topics.Length; t++)
        {
            if (!(scores[t] > 0) || !(scores[t] > _topics[t].MinScore)) continue;
            if (best < 0 || Better(t, best, scores, bestRulePriority)) best = t;
        }
        for (int t = 0; t < _topics.Length; t++)
        {
            if (t == best || !(scores[t] > 0)) continue;
            if (second < 0 || Better(t, second, scores, bestRulePriority)) second = t;
        }
        bool fellBack = best < 0;
        if (fellBack)
        {
            best = _defaultTopic;
            if (second == best) second = -1;
        }
        return new Scored(best, second, fellBack, truncated, matchedCount);
    }

    // Effective tier: a topic's tier when it is present (score above min_score), else 0 (it can only be a runner-up).
    private int EffectiveTier(int t, ReadOnlySpan<double> scores) => scores[t] > 0 && scores[t] > _topics[t].MinScore ? (int)_topics[t].Tier : 0;

    // Order (docs/routing.md): effective tier, then score, then topic priority, then best matched rule priority, then topic id (ordinal, smaller wins).
    private bool Better(int a, int b, ReadOnlySpan<double> scores, ReadOnlySpan<int> rulePriority)
    {
        int ta = EffectiveTier(a, scores), tb = EffectiveTier(b, scores);
        if (ta != tb) return ta > tb;
        if (scores[a] != scores[b]) return scores[a] > scores[b];
        if (_topics[a].Priority != _topics[b].Priority) return _topics[a].Priority > _topics[b].Priority;
        if (rulePriority[a] != rulePriority[b]) return rulePriority[a] > rulePriority[b];
        return string.CompareOrdinal(_topics[a].Id, _topics[b].Id) < 0;
    }
}

/// <summary>
/// The topic decision of a query without its trace (<see cref="QueryClassifier.Decide(string, RoutingPolicy)"/>): the
/// same topic, score, runner-up and fallback as <see cref="Classification"/>, computed without allocating.
/// </summary>
/// <param name="Topic">The chosen topic.</param>
/// <param name="Score">Its score.</param>
/// <param name="RunnerUp">The best other topic with a positive score, or null.</param>
/// <param name="RunnerUpScore">The runner-up's score (0 when none).</param>
/// <param name="FellBackToDefault">True when no topic scored above its min_score.</param>
/// <param name="Truncated">True when only a prefix of max_query_chars was read.</param>
/// <param name="MatchedRules">How many rules matched (the trace's length).</param>
public readonly record struct TopicDecision(TopicPolicy Topic, double Score, TopicPolicy? RunnerUp, double RunnerUpScore,
    bool FellBackToDefault, bool Truncated, int MatchedRules);

/// <summary>Per-thread working arrays of the classifier, grown to the largest policy and query seen, so a warm classification allocates nothing.</summary>
internal sealed class ClassifyScratch
{
    public readonly List<WordSpan> Words = new(64);
    public int[] Start = [], Length = [], RulePriority = [], SegStart = new int[8], SegWordStart = new int[8];
    public double[] Scores = [];
    public QuerySegment[] SegmentCopy = [];

    [ThreadStatic] private static ClassifyScratch? t_cached;

    public static ClassifyScratch Rent(int rules, int topics)
    {
        var s = t_cached ?? new ClassifyScratch();
        t_cached = null; // a nested classification on this thread (none today) would get its own
        if (s.Start.Length < rules)
        {
            s.Start = new int[rules];
            s.Length = new int[rules];
        }
        if (s.Scores.Length < topics)
        {
            s.Scores = new double[topics];
            s.RulePriority = new int[topics];
        }
        return s;
    }

    public void EnsureSegments(int n)
    {
        if (SegStart.Length >= n) return;
        SegStart = new int[Math.Max(n, SegStart.Length * 2)];
        SegWordStart = new int[SegStart.Length];
    }

    public static void Return(ClassifyScratch s)
    {
        // a huge query's buffers are not kept
        if (s.Words.Capacity <= 1 << 16 && s.SegStart.Length <= 1 << 12 && s.SegmentCopy.Length <= 1 << 12)
        {
            Array.Clear(s.SegmentCopy); // no references to old query text
            t_cached = s;
        }
    }
}
