using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

/// <summary>
/// Issue 15: the router's topic decision without a trace (<see cref="QueryClassifier.Decide(string, RoutingPolicy)"/>)
/// allocates nothing once warm and always agrees with the full classification.
/// </summary>
public class AllocationFreeDecisionTests
{
    private static readonly RoutingPolicy Policy = PolicyLoader.Load(DefaultPolicyPath());

    private static IEnumerable<RouteQuery> Queries()
    {
        // words of every rule of the shipped policy, mixed with filler, upper case, look-alikes, invisible characters,
        // several segments and roles, and one query longer than max_query_chars
        var words = Policy.Topics.SelectMany(t => t.Rules).Select(r => r.Pattern).Where(p => p.All(c => char.IsLetter(c) || c == ' ')).ToArray();
        var filler = new[] { "the", "a", "please", "explain", "how", "tides", "work", "and", "then", "today", "Ünïcödé", "ﬁle", "w\u200Bord", "\u0440ython" };
        var rng = new Random(15);
        for (int i = 0; i < 400; i++)
        {
            string Text(int n) => string.Join(rng.Next(5) == 0 ? ",  " : " ", Enumerable.Range(0, n).Select(_ =>
            {
                var w = rng.Next(3) == 0 ? words[rng.Next(words.Length)] : filler[rng.Next(filler.Length)];
                return rng.Next(6) == 0 ? w.ToUpperInvariant() : w;
            }));
            yield return rng.Next(4) switch
            {
                0 => RouteQuery.FromText(Text(rng.Next(1, 40))),
                1 => RouteQuery.FromPrompt(Text(rng.Next(1, 40))),
                2 => RouteQuery.FromMessages([("system", Text(5)), ("user", Text(rng.Next(1, 20))), ("assistant", Text(3)), ("user", Text(rng.Next(1, 20)))]),
                _ => new RouteQuery([new QuerySegment(SegmentRole.User, Text(10)), new QuerySegment(SegmentRole.Memory, Text(10))]),
            };
        }
        yield return RouteQuery.FromText(new string('x', Policy.MaxQueryChars + 10) + " " + words[0]);
        yield return RouteQuery.FromText("");
    }

    [Fact]
    public void The_decision_equals_the_full_classification_on_every_query()
    {
        int checkedCount = 0;
        foreach (var q in Queries())
        {
            var c = QueryClassifier.Classify(q, Policy);
            var d = QueryClassifier.Decide(q, Policy);
            Assert.Equal(c.Topic.Id, d.Topic.Id);
            Assert.Equal(c.Score, d.Score);
            Assert.Equal(c.RunnerUp?.Topic, d.RunnerUp?.Id);
            Assert.Equal(c.RunnerUp?.Score ?? 0, d.RunnerUpScore);
            Assert.Equal(c.FellBackToDefault, d.FellBackToDefault);
            Assert.Equal(c.Truncated, d.Truncated);
            Assert.Equal(c.Trace.Count, d.MatchedRules);
            if (q.Segments.Count == 1 && q.Segments[0].Role == SegmentRole.User)
                Assert.Equal(d, QueryClassifier.Decide(q.Segments[0].Text, Policy));
            checkedCount++;
        }
        Assert.Equal(402, checkedCount);
    }

    [Fact]
    public void A_warm_decision_allocates_nothing()
    {
        var queries = Queries().Take(60).ToList();
        var texts = queries.Where(q => q.Segments.Count == 1 && q.Segments[0].Role == SegmentRole.User).Select(q => q.Segments[0].Text).ToList();
        Assert.NotEmpty(texts);
        for (int round = 0; round < 3; round++) // warm: buffers grown, regexes compiled
        {
            foreach (var q in queries) QueryClassifier.Decide(q, Policy);
            foreach (var t in texts) QueryClassifier.Decide(t, Policy);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        double sum = 0;
        foreach (var q in queries) sum += QueryClassifier.Decide(q, Policy).Score;
        foreach (var t in texts) sum += QueryClassifier.Decide(t, Policy).Score;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(sum >= 0);
        Assert.Equal(0, allocated);
    }
}
