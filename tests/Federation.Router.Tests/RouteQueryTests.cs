using System.Text.Json.Nodes;
using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

/// <summary>Issue 8, "the tier decision must hold against the client": everything the model reads is classified, the highest tier wins, and the requester's choice narrows but never lowers.</summary>
public class RouteQueryTests
{
    private static readonly RoutingPolicy Policy = PolicyLoader.Load(DefaultPolicyPath());

    // T3 text padded with enough T1 keywords that code outscores strategy by far (code: 2+2+2+2+1.5 = 9.5 > 3).
    private const string T1Padding = "python rust sql compile bug";
    private const string T3Text = "we plan a defence partnership";

    private static RouteQuery Chat(params (SegmentRole Role, string Text)[] parts) => new(parts.Select(p => new QuerySegment(p.Role, p.Text)).ToArray());

    [Fact]
    public void T3_text_padded_with_T1_keywords_is_still_T3()
    {
        var c = QueryClassifier.Classify($"{T3Text} {T1Padding}", Policy);
        Assert.Equal("strategy", c.Topic.Id);
        Assert.Equal(TrustTier.T3, c.Tier);
        Assert.Equal(3, c.Score);
        Assert.Equal("code", c.RunnerUp!.Topic);
        Assert.True(c.RunnerUp.Score > c.Score, "the T1 topic must outscore the T3 one for this test to mean anything");
        var d = RoutePlanner.Plan($"{T3Text} {T1Padding}", Policy, new RequestedRoute()).Decision!;
        Assert.Contains("the highest tier present wins over runner-up 'code' (T1, 9.5)", d.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SegmentRole.System)]
    [InlineData(SegmentRole.Developer)]
    [InlineData(SegmentRole.Assistant)]
    [InlineData(SegmentRole.Tool)]
    [InlineData(SegmentRole.Memory)]
    [InlineData(SegmentRole.User)]
    public void T3_text_in_any_earlier_segment_makes_the_request_T3(SegmentRole role)
    {
        var q = Chat((role, T3Text), (SegmentRole.User, $"please fix this {T1Padding}"));
        var c = QueryClassifier.Classify(q, Policy);
        Assert.Equal(TrustTier.T3, c.Tier);
        var m = c.Trace.Single(t => t.Topic == "strategy");
        Assert.Equal(0, m.Segment);
        Assert.Equal(role, m.Role);
        Assert.Equal("defence", m.Text);
        Assert.Equal(T3Text.IndexOf("defence", StringComparison.Ordinal), m.Start);

        var d = RoutePlanner.Plan(q, Policy, new RequestedRoute()).Decision!;
        Assert.Equal(TrustTier.T3, d.Tier);
        Assert.All(d.Specialists, id => Assert.True(Policy.Tiers[TrustTier.T3].Allows(Policy.SpecialistsById[id])));
    }

    [Fact]
    public void A_completions_prompt_is_classified_like_a_chat_message()
    {
        var chat = RoutePlanner.Plan(RouteQuery.FromText($"{T3Text} {T1Padding}"), Policy, new RequestedRoute()).Decision!;
        var prompt = RoutePlanner.Plan(RouteQuery.FromPrompt($"{T3Text} {T1Padding}"), Policy, new RequestedRoute()).Decision!;
        Assert.Equal(chat.Topic, prompt.Topic);
        Assert.Equal(chat.Tier, prompt.Tier);
        Assert.Equal(chat.Specialists, prompt.Specialists);
        Assert.Equal(SegmentRole.Prompt, prompt.Trace[0].Role);
    }

    [Theory]
    [InlineData("federation/general")]
    [InlineData("federation/code")]
    [InlineData("federation/medical")]
    public void Pinning_a_topic_below_the_content_tier_is_refused_naming_the_rule(string model)
    {
        foreach (var q in new[] { RouteQuery.FromText(T3Text), RouteQuery.FromPrompt(T3Text), Chat((SegmentRole.System, T3Text), (SegmentRole.User, "hello")) })
        {
            var r = RoutePlanner.Plan(q, Policy, new RequestedRoute(model)).Rejection!;
            Assert.Equal("router.tier_downgrade_refused", r.Code);
            Assert.Equal(422, r.HttpStatus);
            Assert.Equal("model", r.Param);
            Assert.Contains("narrows, never lowers", r.Message, StringComparison.Ordinal);
            Assert.Contains("\"defence\"", r.Message, StringComparison.Ordinal);
            Assert.Contains("federation/strategy", r.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Pinning_a_topic_of_the_content_tier_or_above_is_allowed()
    {
        var d = RoutePlanner.Plan(T3Text, Policy, new RequestedRoute("federation/strategy")).Decision!;
        Assert.Equal("strategy", d.Topic);
        // Raising is fine: T1 content pinned to a T2 topic.
        var up = RoutePlanner.Plan("python bug", Policy, new RequestedRoute("federation/medical")).Decision!;
        Assert.Equal(TrustTier.T2, up.Tier);
    }

    [Fact]
    public void Naming_a_specialist_the_content_tier_forbids_is_refused_even_when_T1_keywords_dominate()
    {
        var q = Chat((SegmentRole.System, T3Text), (SegmentRole.User, T1Padding));
        var r = RoutePlanner.Plan(q, Policy, new RequestedRoute("code-qwen")).Rejection!;
        Assert.Equal("router.provenance_forbidden", r.Code);
        var r2 = RoutePlanner.Plan(q, Policy, new RequestedRoute(Specialists: ["general-qwen"])).Rejection!;
        Assert.Equal("router.provenance_forbidden", r2.Code);
        // A specialist the tier allows keeps the T3 tier (so the gate sends the answer to review).
        var d = RoutePlanner.Plan(q, Policy, new RequestedRoute(Specialists: ["code-olmo"])).Decision!;
        Assert.Equal(TrustTier.T3, d.Tier);
        Assert.Equal(DispatchMode.Requested, d.Mode);
    }

    [Fact]
    public void Text_beyond_max_query_chars_in_any_segment_is_refused_not_truncated()
    {
        var p = Parse(Mutate(Small, "default_topic: general", "default_topic: general\nmax_query_chars: 40"));
        var q = Chat((SegmentRole.User, new string('x', 30)), (SegmentRole.Tool, "filler text then strategy"));
        var r = RoutePlanner.Plan(q, p, new RequestedRoute()).Rejection!;
        Assert.Equal("router.query_too_long", r.Code);
        Assert.Equal(400, r.HttpStatus);
        Assert.Equal("messages", r.Param);
        Assert.Contains("55", r.Message, StringComparison.Ordinal);
        Assert.Contains("40", r.Message, StringComparison.Ordinal);
        Assert.Equal("prompt", RoutePlanner.Plan(RouteQuery.FromPrompt(new string('y', 41)), p, new RequestedRoute()).Rejection!.Param);
        Assert.True(RoutePlanner.Plan(RouteQuery.FromPrompt(new string('y', 40)), p, new RequestedRoute()).IsAccepted);
    }

    [Fact]
    public void Phrases_and_regexes_do_not_span_two_segments_but_keywords_count_once_across_all()
    {
        var q = Chat((SegmentRole.User, "a joint"), (SegmentRole.User, "venture for python"), (SegmentRole.Assistant, "python again"));
        var c = QueryClassifier.Classify(q, Parse(Small));
        Assert.DoesNotContain(c.Trace, m => m.RuleId == "jv");
        Assert.Single(c.Trace, m => m.RuleId == "python");
        Assert.Equal(1, c.Trace.Single(m => m.RuleId == "python").Segment);
        Assert.Equal("a joint\nventure for python\npython again", c.NormalizedQuery);
        Assert.Equal(QueryClassifier.HashQuery(c.NormalizedQuery), c.QueryHash);
    }

    [Fact]
    public void A_single_user_segment_hashes_like_the_string_overload()
    {
        var a = QueryClassifier.Classify("Hello  World", Policy);
        var b = QueryClassifier.Classify(RouteQuery.FromText("Hello  World"), Policy);
        Assert.Equal(a.QueryHash, b.QueryHash);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("hello world"u8)), b.QueryHash);
    }

    [Fact]
    public void Zero_width_characters_and_look_alikes_inside_a_keyword_still_match_and_the_trace_shows_the_original()
    {
        var evasive = "d\u200Be\u00ADf\u0435\u2060n\u0455\u0435";   // d ZWSP e SHY f Cyrillic-ie WJ n Cyrillic-dze Cyrillic-ie
        var q = $"write a {evasive} plan in {T1Padding}";
        var d = RoutePlanner.Plan(q, Policy, new RequestedRoute()).Decision!;
        Assert.Equal("strategy", d.Topic);
        var m = d.Trace.Single(t => t.Topic == "strategy");
        Assert.Equal("defense", m.Normalized);
        Assert.Equal(evasive, m.Text);
        Assert.Equal(q.IndexOf(evasive, StringComparison.Ordinal), m.Start);
        Assert.Equal(evasive.Length, m.Length);
        var json = RouteJson.Decision(d)["trace"]!.AsArray().Single(t => (string?)t!["topic"] == "strategy")!;
        Assert.Equal(evasive, (string?)json["text"]);
        Assert.Equal("defense", (string?)json["normalized"]);
        Assert.Equal("user", (string?)json["role"]);
        Assert.Equal(0, (int?)json["segment"]);
    }

    [Theory]
    [InlineData("my \uFF30\uFF59\uFF54\uFF48\uFF4F\uFF4E code", "python", "\uFF30\uFF59\uFF54\uFF48\uFF4F\uFF4E")]   // fullwidth: one char each
    [InlineData("a stack\u00A0\u200B  trace here", "stack", "stack\u00A0\u200B  trace")]                                   // NBSP + ZWSP + spaces collapse to one space
    [InlineData("x P\u0443th\u043En\uFE0F!", "python", "P\u0443th\u043En")]                                              // trailing variation selector is not part of the span
    [InlineData("\u0399\u200D NFO python", "python", "python")]
    public void The_trace_maps_every_normalisation_back_to_the_original_span(string query, string rule, string original)
    {
        var c = QueryClassifier.Classify(query, Parse(Small));
        var m = c.Trace.Single(t => t.RuleId == rule);
        Assert.Equal(original, m.Text);
        Assert.Equal(query.IndexOf(original, StringComparison.Ordinal), m.Start);
        Assert.Equal(original.Length, m.Length);
    }

    [Fact]
    public void Roles_parse_from_openai_names_and_unknown_roles_are_refused()
    {
        var q = RouteQuery.FromMessages([("system", "s"), ("developer", "d"), ("user", "u"), ("assistant", "a"), ("tool", "t"), ("function", "f")]);
        Assert.Equal([SegmentRole.System, SegmentRole.Developer, SegmentRole.User, SegmentRole.Assistant, SegmentRole.Tool, SegmentRole.Tool], q.Segments.Select(s => s.Role));
        Assert.Equal("u", q.CheckText);
        var e = Assert.Throws<ArgumentException>(() => RouteQuery.FromMessages([("wizard", "x")]));
        Assert.Contains("wizard", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new RouteQuery([]));
    }

    [Fact]
    public void Check_text_is_the_last_user_or_prompt_segment()
    {
        Assert.Equal("what is 2+2", Chat((SegmentRole.System, "be brief"), (SegmentRole.User, "what is 2+2"), (SegmentRole.Tool, "tool says 5")).CheckText);
        Assert.Equal("only tool", Chat((SegmentRole.Tool, "only tool")).CheckText);
    }

    [Fact]
    public void Decision_json_keeps_every_documented_field()
    {
        var d = RoutePlanner.Plan("python bug", Policy, new RequestedRoute()).Decision!;
        var o = RouteJson.Decision(d);
        foreach (var k in new[] { "policy_cid", "model", "topic", "tier", "verification_class", "score", "runner_up", "fell_back_to_default", "query_hash", "specialists", "mode", "exploration", "reason", "trace" })
            Assert.True(o.ContainsKey(k), k);
        var t = (JsonObject)o["trace"]![0]!;
        foreach (var k in new[] { "topic", "rule", "kind", "pattern", "weight", "segment", "role", "start", "length", "text", "normalized" })
            Assert.True(t.ContainsKey(k), k);
    }
}
