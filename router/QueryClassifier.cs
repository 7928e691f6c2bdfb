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
        // Normalise every segment into one buffer, separated by '\n' (never a word character and never produced by
        // normalisation, so words, phrases and regex matches cannot span two segments). Only max_query_chars of
        // original text in all are read; the rest is reported as truncated.
        var segments = query.Segments;
        var buf = NormalizedBuffer.Rent();
        Span<int> segStart = segments.Count <= 64 ? stackalloc int[segments.Count + 1] : new int[segments.Count + 1];
        int budget = _policy.MaxQueryChars;
        bool truncated = false;
        int segCount = 0;
        for (int s = 0; s < segments.Count; s++)
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
        var text = new string(buf.Chars, 0, buf.Length);
        var span = text.AsSpan();

        var words = new List<WordSpan>(32);
        Span<int> segWordStart = segCount <= 64 ? stackalloc int[segCount + 1] : new int[segCount + 1];
        for (int s = 0; s < segCount; s++)
        {
            segWordStart[s] = words.Count;
            int a = segStart[s], b = segStart[s + 1] - 1;
            QueryText.Tokenize(span[a..b], a, words);
        }
        segWordStart[segCount] = words.Count;

        // First-match position per rule; -1 = not matched. A rule counts once however often it matches, across all segments.
        int[]? rentedStart = null, rentedLength = null;
        Span<int> start = _rules.Length <= 1024 ? stackalloc int[_rules.Length] : (rentedStart = System.Buffers.ArrayPool<int>.Shared.Rent(_rules.Length)).AsSpan(0, _rules.Length);
        Span<int> length = _rules.Length <= 1024 ? stackalloc int[_rules.Length] : (rentedLength = System.Buffers.ArrayPool<int>.Shared.Rent(_rules.Length)).AsSpan(0, _rules.Length);
        start.Fill(-1);
        int matchedCount = 0;

        for (int s = 0; s < segCount; s++)
        {
            int wEnd = segWordStart[s + 1];
            for (int i = segWordStart[s]; i < wEnd; i++)
            {
                var w = words[i];
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
                            var qw = words[i + k];
                            ok = span.Slice(qw.Start, qw.Length).SequenceEqual(pw[k]);
                        }
                        if (!ok) continue;
                        var last = words[i + pw.Count - 1];
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
        var scores = new double[_topics.Length];
        var bestRulePriority = new int[_topics.Length];
        Array.Fill(bestRulePriority, int.MinValue);
        var trace = new RuleMatch[matchedCount];
        int ti = 0;
        for (int g = 0; g < _rules.Length; g++)
        {
            if (start[g] < 0) continue;
            var r = _rules[g];
            int t = _ruleTopic[g];
            scores[t] += r.Weight;
            if (r.Priority > bestRulePriority[t]) bestRulePriority[t] = r.Priority;
            trace[ti++] = Match(r, _topics[t].Id, start[g], length[g], segStart, buf, segments, text);
        }

        static RuleMatch Match(MatchRule r, string topic, int st, int len, ReadOnlySpan<int> segStart, NormalizedBuffer buf, IReadOnlyList<QuerySegment> segments, string text)
        {
            int s = 0;
            while (segStart[s + 1] <= st) s++;
            int os = int.MaxValue, oe = 0;
            for (int j = st; j < st + len; j++)
            {
                if (buf.Starts[j] < os) os = buf.Starts[j];
                if (buf.Ends[j] > oe) oe = buf.Ends[j];
            }
            var seg = segments[s];
            return new RuleMatch(topic, r.Id, r.Kind, r.Pattern, r.Weight, s, seg.Role, os, oe - os, seg.Text.Substring(os, oe - os), text.Substring(st, len));
        }

        if (rentedStart is not null) System.Buffers.ArrayPool<int>.Shared.Return(rentedStart);
        if (rentedLength is not null) System.Buffers.ArrayPool<int>.Shared.Return(rentedLength);
        NormalizedBuffer.Return(buf);

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
        return new Classification(_topics[best], scores[best],
            second < 0 ? null : new TopicScore(_topics[second].Id, scores[second]),
            trace, fellBack, text, QueryClassifier.HashQuery(text), truncated);
    }

    // Effective tier: a topic's tier when it is present (score above min_score), else 0 (it can only be a runner-up).
    private int EffectiveTier(int t, double[] scores) => scores[t] > 0 && scores[t] > _topics[t].MinScore ? (int)_topics[t].Tier : 0;

    // Order (docs/routing.md): effective tier, then score, then topic priority, then best matched rule priority, then topic id (ordinal, smaller wins).
    private bool Better(int a, int b, double[] scores, int[] rulePriority)
    {
        int ta = EffectiveTier(a, scores), tb = EffectiveTier(b, scores);
        if (ta != tb) return ta > tb;
        if (scores[a] != scores[b]) return scores[a] > scores[b];
        if (_topics[a].Priority != _topics[b].Priority) return _topics[a].Priority > _topics[b].Priority;
        if (rulePriority[a] != rulePriority[b]) return rulePriority[a] > rulePriority[b];
        return string.CompareOrdinal(_topics[a].Id, _topics[b].Id) < 0;
    }
}
