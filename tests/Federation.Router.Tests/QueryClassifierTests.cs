using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

public class QueryClassifierTests
{
    private static readonly RoutingPolicy SmallPolicy = Parse(Small);

    private static double TraceSum(Classification c)
    {
        double s = 0;
        foreach (var m in c.Trace) if (m.Topic == c.Topic.Id) s += m.Weight;
        return s;
    }

    [Fact]
    public void Keyword_phrase_and_regex_add_their_weights()
    {
        var c = QueryClassifier.Classify("Python prints a Stack   Trace when main() fails", SmallPolicy);
        Assert.Equal("code", c.Topic.Id);
        Assert.Equal(2 + 3 + 1.5, c.Score);
        Assert.Equal(["python", "stack", "call"], c.Trace.Select(m => m.RuleId));
        var stack = c.Trace.Single(m => m.RuleId == "stack");
        // The trace shows the original text that matched (positions in the original segment) and its normal form.
        Assert.Equal("Stack   Trace", stack.Text);
        Assert.Equal("stack trace", stack.Normalized);
        Assert.Equal(MatchKind.Phrase, stack.Kind);
        Assert.Equal("Stack   Trace", "Python prints a Stack   Trace when main() fails".Substring(stack.Start, stack.Length));
        Assert.Equal(0, stack.Segment);
        Assert.Equal(SegmentRole.User, stack.Role);
        Assert.Equal("main()", c.Trace.Single(m => m.RuleId == "call").Text);
        Assert.False(c.FellBackToDefault);
    }

    [Fact]
    public void Keyword_matches_whole_words_only()
    {
        var c = QueryClassifier.Classify("pythonic bugs everywhere", SmallPolicy);
        Assert.Empty(c.Trace);
        Assert.Equal("general", c.Topic.Id);
        Assert.True(c.FellBackToDefault);
    }

    [Fact]
    public void Phrase_needs_contiguous_words()
    {
        var c = QueryClassifier.Classify("the stack has no trace", SmallPolicy);
        Assert.DoesNotContain(c.Trace, m => m.RuleId == "stack");
        var d = QueryClassifier.Classify("stack, trace!", SmallPolicy);
        Assert.Contains(d.Trace, m => m.RuleId == "stack"); // punctuation separates words; the phrase is still contiguous words
    }

    [Fact]
    public void A_rule_counts_once_however_often_it_matches()
    {
        var c = QueryClassifier.Classify("bug bug bug bug", SmallPolicy);
        Assert.Equal(1.0, c.Score);
        Assert.Single(c.Trace);
        Assert.Equal(0, c.Trace[0].Start);
    }

    [Fact]
    public void Normalisation_folds_case_width_and_whitespace()
    {
        // Fullwidth "ＰＹＴＨＯＮ" becomes "python" under NFKC; tabs/newlines collapse.
        var c = QueryClassifier.Classify("  ＰＹＴＨＯＮ\t\n  BUG  ", SmallPolicy);
        Assert.Equal("python bug", c.NormalizedQuery);
        Assert.Equal("code", c.Topic.Id);
        Assert.Equal(3.0, c.Score);
    }

    [Fact]
    public void Query_text_normalises_and_tokenises_unicode_words()
    {
        Assert.Equal("fi x", QueryText.Normalize("ﬁ   X"));
        Assert.Equal(["héllo", "wörld", "日本語", "x_y"], QueryText.Words(QueryText.Normalize("Héllo, wörld! 日本語 x_y")));
        Assert.Equal(["a", "b"], QueryText.Words("a\U0001F600b"));
    }

    [Fact]
    public void Default_topic_is_chosen_when_nothing_matches()
    {
        var c = QueryClassifier.Classify("what a lovely day", SmallPolicy);
        Assert.Equal("general", c.Topic.Id);
        Assert.Equal(0, c.Score);
        Assert.True(c.FellBackToDefault);
        Assert.Null(c.RunnerUp);
    }

    [Fact]
    public void Topic_at_or_below_its_min_score_is_not_chosen_but_is_runner_up()
    {
        var p = Parse(Mutate(Small, "    priority: 5\n", "    priority: 5\n    min_score: 1\n"));
        var c = QueryClassifier.Classify("a bug", p); // code scores exactly 1, which is not above min_score 1
        Assert.Equal("general", c.Topic.Id);
        Assert.True(c.FellBackToDefault);
        Assert.Equal(new TopicScore("code", 1), c.RunnerUp);
        var d = QueryClassifier.Classify("a bug in python", p);
        Assert.Equal("code", d.Topic.Id);
    }

    [Fact]
    public void Higher_score_wins_and_the_other_topic_is_runner_up()
    {
        var c = QueryClassifier.Classify("joint venture strategy for python", SmallPolicy);
        Assert.Equal("strategy", c.Topic.Id);
        Assert.Equal(5, c.Score);
        Assert.Equal(new TopicScore("code", 2), c.RunnerUp);
    }

    [Fact]
    public void Equal_scores_are_broken_by_topic_priority()
    {
        // code: python (2); strategy: strategy (2). strategy has priority 9 > 5.
        var c = QueryClassifier.Classify("python strategy", SmallPolicy);
        Assert.Equal("strategy", c.Topic.Id);
        Assert.Equal(new TopicScore("code", 2), c.RunnerUp);
    }

    [Fact]
    public void Equal_scores_and_priorities_are_broken_by_rule_priority_then_topic_id()
    {
        // Same tier for both topics, so only the tie-breaks decide (a higher tier present always wins first).
        var text = Mutate(Mutate(Small, "    priority: 9\n", "    priority: 5\n"), "    tier: T3\n", "    tier: T1\n");
        var p = Parse(text);
        Assert.Equal("code", QueryClassifier.Classify("python strategy", p).Topic.Id); // "code" < "strategy" ordinally
        var q = Parse(Mutate(text, "{ id: strategy, keyword: strategy, weight: 2 }", "{ id: strategy, keyword: strategy, weight: 2, priority: 3 }"));
        Assert.Equal("strategy", QueryClassifier.Classify("python strategy", q).Topic.Id);
    }

    [Fact]
    public void Query_is_cut_to_max_query_chars_before_classification()
    {
        var p = Parse(Mutate(Small, "default_topic: general", "default_topic: general\nmax_query_chars: 20"));
        var c = QueryClassifier.Classify(new string('x', 19) + " python", p);
        Assert.Empty(c.Trace);
        Assert.Equal(19, c.NormalizedQuery.Length);
        Assert.True(c.Truncated);
        Assert.False(QueryClassifier.Classify(new string('x', 19), p).Truncated);
    }

    [Fact]
    public void Same_query_and_policy_give_the_same_classification_across_reparses()
    {
        var a = QueryClassifier.Classify("Python stack trace in main()", Parse(Small));
        var b = QueryClassifier.Classify("Python stack trace in main()", Parse(Small));
        Assert.Equal(a.Topic.Id, b.Topic.Id);
        Assert.Equal(a.Score, b.Score);
        Assert.Equal(a.Trace, b.Trace);
        Assert.Equal(a.QueryHash, b.QueryHash);
        Assert.Equal(a.RunnerUp, b.RunnerUp);
    }

    [Fact]
    public void Query_hash_is_sha256_of_the_normalised_text()
    {
        var c = QueryClassifier.Classify("Hello  World", SmallPolicy);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("hello world"u8)), c.QueryHash);
    }

    [Fact]
    public void Property_random_queries_are_deterministic_and_traces_sum_to_scores()
    {
        var policy = PolicyLoader.Load(DefaultPolicyPath());
        var again = PolicyLoader.Load(DefaultPolicyPath());
        var vocab = policy.Topics.SelectMany(t => t.Rules).Where(r => r.Kind != MatchKind.Regex).SelectMany(r => r.Words)
            .Concat(["the", "a", "of", "12 mg", "3 + 4", "foo()", "c#", "Ünïcode", "ＷＩＤＥ", "\t", "STRATEGY"]).Distinct().ToArray();
        var rng = new Random(20261122);
        for (int i = 0; i < 500; i++)
        {
            var n = rng.Next(0, 40);
            var q = string.Join(rng.Next(3) == 0 ? "  " : " ", Enumerable.Range(0, n).Select(_ => vocab[rng.Next(vocab.Length)]));
            var a = QueryClassifier.Classify(q, policy);
            var b = QueryClassifier.Classify(q, again);
            Assert.Equal(a.Topic.Id, b.Topic.Id);
            Assert.Equal(a.Trace, b.Trace);
            Assert.Equal(a.Score, TraceSum(a));
            Assert.All(a.Trace, m => Assert.Equal(m.Text, q.Substring(m.Start, m.Length)));
            Assert.All(a.Trace, m => Assert.Contains(m.Normalized, a.NormalizedQuery, StringComparison.Ordinal));
            Assert.All(a.Trace.Where(m => m.Kind != MatchKind.Regex), m => Assert.Equal(m.Normalized, QueryText.Normalize(m.Text)));
            // No present topic of a higher tier, or of the same tier with a higher score, was passed over.
            Assert.All(policy.Topics, t =>
            {
                double s = a.Trace.Where(m => m.Topic == t.Id).Sum(m => m.Weight);
                if (a.FellBackToDefault || !(s > t.MinScore)) return;
                Assert.True(t.Tier <= a.Tier, $"{t.Id} ({t.Tier}) is present but {a.Topic.Id} ({a.Tier}) was chosen for '{q}'");
                if (t.Tier == a.Tier) Assert.True(s <= a.Score + 1e-12, $"{t.Id} scored {s} > {a.Score} for '{q}'");
            });
        }
    }

    [Fact]
    public void Default_policy_routes_sample_queries_to_the_expected_topics()
    {
        var p = PolicyLoader.Load(DefaultPolicyPath());
        Assert.Equal("code", QueryClassifier.Classify("Why does my Python function throw this stack trace?", p).Topic.Id);
        Assert.Equal("math", QueryClassifier.Classify("Solve the equation and calculate the integral", p).Topic.Id);
        Assert.Equal("medical", QueryClassifier.Classify("What dosage of ibuprofen, 400 mg, is safe for blood pressure patients?", p).Topic.Id);
        Assert.Equal("legal", QueryClassifier.Classify("Does this contract clause limit our liability under GDPR?", p).Topic.Id);
        Assert.Equal("strategy", QueryClassifier.Classify("Draft a market entry strategy for a defence joint venture", p).Topic.Id);
        Assert.Equal("general", QueryClassifier.Classify("Tell me a story about a cat", p).Topic.Id);
    }
}

public class QueryTextTests
{
    [Fact]
    public void Truncation_never_splits_a_surrogate_pair()
    {
        var s = "ab\U0001F600cd";              // a, b, high, low, c, d
        Assert.Equal("ab", QueryText.Normalize(s, 3));
        Assert.Equal("ab\U0001F600", QueryText.Normalize(s, 4));
    }

    [Fact]
    public void Whitespace_only_query_normalises_to_empty_and_has_no_words()
    {
        Assert.Equal("", QueryText.Normalize(" \t\r\n\u00a0 "));
        Assert.Empty(QueryText.Words(""));
    }
}
