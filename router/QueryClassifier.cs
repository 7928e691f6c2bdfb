using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Federation.Router;

/// <summary>One matched rule in a classification trace: which rule of which topic matched where in the normalised query.</summary>
/// <param name="Topic">The rule's topic.</param>
/// <param name="RuleId">The rule's id within the topic.</param>
/// <param name="Kind">Keyword, phrase or regex.</param>
/// <param name="Pattern">The pattern as written in the policy.</param>
/// <param name="Weight">What the rule added to the topic's score.</param>
/// <param name="Start">Start of the first match in <see cref="Classification.NormalizedQuery"/> (UTF-16 index).</param>
/// <param name="Length">Length of that match.</param>
/// <param name="Text">The matched text.</param>
public sealed record RuleMatch(string Topic, string RuleId, MatchKind Kind, string Pattern, double Weight, int Start, int Length, string Text);

/// <summary>A topic and its score.</summary>
public sealed record TopicScore(string Topic, double Score);

/// <summary>
/// The classifier's answer. Invariant: the sum of <see cref="RuleMatch.Weight"/> over <see cref="Trace"/> entries of
/// <see cref="Topic"/>, added in trace order, equals <see cref="Score"/> exactly.
/// </summary>
/// <param name="Topic">The chosen topic.</param>
/// <param name="Score">Its score.</param>
/// <param name="RunnerUp">The best other topic with a positive score, if any.</param>
/// <param name="Trace">Every matched rule of every topic, in policy order (topic file order, then rule file order).</param>
/// <param name="FellBackToDefault">True when no topic scored above its min_score and the default topic was chosen.</param>
/// <param name="NormalizedQuery">The text the rules ran on.</param>
/// <param name="QueryHash">Lowercase hex SHA-256 of <see cref="NormalizedQuery"/>'s UTF-8 bytes.</param>
public sealed record Classification(TopicPolicy Topic, double Score, TopicScore? RunnerUp, IReadOnlyList<RuleMatch> Trace,
    bool FellBackToDefault, string NormalizedQuery, string QueryHash);

/// <summary>
/// The deterministic classifier: a pure function of (query, policy) — no clock, no randomness, no I/O. See docs/routing.md
/// for the algorithm and tie-breaks.
/// </summary>
public static class QueryClassifier
{
    /// <summary>Classifies <paramref name="query"/> under <paramref name="policy"/>.</summary>
    public static Classification Classify(string query, RoutingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Index.Classify(query);
    }

    /// <summary>Lowercase hex SHA-256 of the UTF-8 bytes of <paramref name="normalized"/>.</summary>
    public static string HashQuery(string normalized)
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

    public Classification Classify(string query)
    {
        var text = QueryText.Normalize(query, _policy.MaxQueryChars);
        var words = new List<WordSpan>(32);
        QueryText.Tokenize(text, words);
        var span = text.AsSpan();

        // First-match position per rule; -1 = not matched. A rule counts once however often it matches.
        int[]? rentedStart = null, rentedLength = null;
        Span<int> start = _rules.Length <= 1024 ? stackalloc int[_rules.Length] : (rentedStart = System.Buffers.ArrayPool<int>.Shared.Rent(_rules.Length)).AsSpan(0, _rules.Length);
        Span<int> length = _rules.Length <= 1024 ? stackalloc int[_rules.Length] : (rentedLength = System.Buffers.ArrayPool<int>.Shared.Rent(_rules.Length)).AsSpan(0, _rules.Length);
        start.Fill(-1);
        int matchedCount = 0;

        for (int i = 0; i < words.Count; i++)
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
                    if (i + pw.Count > words.Count) continue;
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
        foreach (var (g, rx) in _regexes)
        {
            foreach (var m in rx.EnumerateMatches(span))
            {
                start[g] = m.Index;
                length[g] = m.Length;
                matchedCount++;
                break;
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
            trace[ti++] = new RuleMatch(_topics[t].Id, r.Id, r.Kind, r.Pattern, r.Weight, start[g], length[g], text.Substring(start[g], length[g]));
        }

        if (rentedStart is not null) System.Buffers.ArrayPool<int>.Shared.Return(rentedStart);
        if (rentedLength is not null) System.Buffers.ArrayPool<int>.Shared.Return(rentedLength);

        int best = -1, second = -1;
        for (int t = 0; t < _topics.Length; t++)
        {
            if (!(scores[t] > 0)) continue;
            bool eligible = scores[t] > _topics[t].MinScore;
            if (eligible && (best < 0 || Better(t, best, scores, bestRulePriority))) best = t;
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
            trace, fellBack, text, QueryClassifier.HashQuery(text));
    }

    // Tie-break order (docs/routing.md): score, then topic priority, then best matched rule priority, then topic id (ordinal, smaller wins).
    private bool Better(int a, int b, double[] scores, int[] rulePriority)
    {
        if (scores[a] != scores[b]) return scores[a] > scores[b];
        if (_topics[a].Priority != _topics[b].Priority) return _topics[a].Priority > _topics[b].Priority;
        if (rulePriority[a] != rulePriority[b]) return rulePriority[a] > rulePriority[b];
        return string.CompareOrdinal(_topics[a].Id, _topics[b].Id) < 0;
    }
}
