using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

public class RoutePlannerTests
{
    private static readonly RoutingPolicy SmallPolicy = Parse(Small);
    private static readonly RoutingPolicy DefaultPolicy = PolicyLoader.Load(DefaultPolicyPath());

    private static RouteDecision Accepted(RoutePlan plan)
    {
        Assert.True(plan.IsAccepted, plan.Rejection?.ToString());
        return plan.Decision!;
    }

    private static RouteRejection Rejected(RoutePlan plan)
    {
        Assert.False(plan.IsAccepted, plan.Decision?.ToString());
        return plan.Rejection!;
    }

    [Fact]
    public void Auto_route_sends_a_class_A_query_to_the_champion_and_records_the_policy_cid()
    {
        var d = Accepted(RoutePlanner.Plan("python bug", SmallPolicy, new RequestedRoute()));
        Assert.Equal("code", d.Topic);
        Assert.Equal(TrustTier.T1, d.Tier);
        Assert.Equal(VerificationClass.A, d.Class);
        Assert.Equal(["coder"], d.Specialists);
        Assert.Equal(DispatchMode.Champion, d.Mode);
        Assert.Equal(SmallPolicy.Cid, d.PolicyCid);
        Assert.Equal(3, d.Score);
        Assert.Contains("champion 'coder'", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_request_gives_an_equal_decision()
    {
        var a = Accepted(RoutePlanner.Plan("joint venture strategy", DefaultPolicy, new RequestedRoute()));
        var b = Accepted(RoutePlanner.Plan("joint venture strategy", PolicyLoader.Load(DefaultPolicyPath()), new RequestedRoute()));
        Assert.Equal(a with { Trace = [], Specialists = [] }, b with { Trace = [], Specialists = [] });
        Assert.Equal(a.Trace, b.Trace);
        Assert.Equal(a.Specialists, b.Specialists);
    }

    [Fact]
    public void Class_C_query_gets_a_provenance_diverse_panel_led_by_the_champion()
    {
        var d = Accepted(RoutePlanner.Plan("joint venture strategy", DefaultPolicy, new RequestedRoute()));
        Assert.Equal("strategy", d.Topic);
        Assert.Equal(DispatchMode.Panel, d.Mode);
        Assert.Equal(3, d.Specialists.Count);
        Assert.Equal("strategy-mistral", d.Specialists[0]);
        var specs = d.Specialists.Select(id => DefaultPolicy.SpecialistsById[id]).ToList();
        Assert.Equal(3, specs.Select(s => s.BaseLineage).Distinct().Count());
        Assert.Equal(3, specs.Select(s => s.Jurisdiction).Distinct().Count());
        Assert.All(specs, s => Assert.True(DefaultPolicy.Tiers[TrustTier.T3].Allows(s)));
    }

    [Fact]
    public void Panel_selection_prefers_new_lineage_and_jurisdiction_then_smaller_id()
    {
        SpecialistRef S(string id, string l, string j) => new(id, ["t"], l, j, id, default);
        var champion = S("m", "qwen", "CN");
        var candidates = new[] { champion, S("b", "qwen", "CN"), S("a", "qwen", "EU"), S("z", "olmo", "US"), S("y", "olmo", "US") };
        var panel = RoutePlanner.SelectPanel(candidates, 3, [champion]);
        Assert.Equal(["m", "y", "a"], panel.Select(s => s.Id)); // y and z tie on gain 2 → y; then a (new EU) beats b (nothing new)
        Assert.Equal(2, RoutePlanner.SelectPanel(candidates.Take(2).ToArray(), 3, [champion]).Count);
    }

    [Fact]
    public void T3_query_to_a_specialist_the_tier_forbids_is_refused_with_422()
    {
        var r = Rejected(RoutePlanner.Plan("joint venture strategy", DefaultPolicy, new RequestedRoute("general-qwen")));
        Assert.Equal("router.provenance_forbidden", r.Code);
        Assert.Equal(422, r.HttpStatus);
        Assert.Equal("model", r.Param);
        Assert.Contains("'qwen' is not among T3's allowed lineages", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void T3_query_with_a_forbidden_specialist_in_the_request_list_is_refused()
    {
        var r = Rejected(RoutePlanner.Plan("joint venture strategy", DefaultPolicy,
            new RequestedRoute(Specialists: ["strategy-mistral", "math-deepseek"])));
        Assert.Equal("router.provenance_forbidden", r.Code);
        Assert.Equal("federation.specialists", r.Param);
        Assert.Contains("math-deepseek", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_T3_decision_only_reaches_allowed_specialists()
    {
        var t3 = DefaultPolicy.Tiers[TrustTier.T3];
        foreach (var spec in DefaultPolicy.Specialists)
        {
            foreach (var route in new[] { new RequestedRoute(spec.Id), new RequestedRoute(Specialists: [spec.Id]), new RequestedRoute("federation/strategy"), new RequestedRoute() })
            {
                var plan = RoutePlanner.Plan("geopolitics and national security", DefaultPolicy, route);
                if (plan.Decision is { } d)
                {
                    Assert.Equal(TrustTier.T3, d.Tier);
                    Assert.All(d.Specialists, id => Assert.True(t3.Allows(DefaultPolicy.SpecialistsById[id]), id));
                }
                else
                {
                    Assert.Equal(422, plan.Rejection!.HttpStatus);
                }
            }
        }
    }

    [Fact]
    public void Specialist_id_as_model_is_served_when_the_tier_allows_it()
    {
        var d = Accepted(RoutePlanner.Plan("python bug", DefaultPolicy, new RequestedRoute("code-olmo")));
        Assert.Equal(["code-olmo"], d.Specialists);
        Assert.Equal(DispatchMode.Requested, d.Mode);
        Assert.Equal("code", d.Topic);
    }

    [Fact]
    public void Topic_model_pins_the_topic_and_scores_only_its_rules()
    {
        var d = Accepted(RoutePlanner.Plan("python bug and a joint venture", SmallPolicy, new RequestedRoute("federation/strategy")));
        Assert.Equal("strategy", d.Topic);
        Assert.Equal(3, d.Score);
        Assert.Equal(new TopicScore("code", 3), d.RunnerUp);
        Assert.Equal(["strat-eu", "strat-us"], d.Specialists);
        Assert.False(d.FellBackToDefault);
        Assert.Contains("pinned by model", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_topic_model_is_404()
    {
        var r = Rejected(RoutePlanner.Plan("hi", SmallPolicy, new RequestedRoute("federation/cooking")));
        Assert.Equal("router.unknown_topic", r.Code);
        Assert.Equal(404, r.HttpStatus);
        Assert.Contains("general, code, strategy", r.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("")]
    [InlineData("federationx")]
    public void Unknown_model_is_404_and_lists_what_is_accepted(string model)
    {
        var r = Rejected(RoutePlanner.Plan("hi", SmallPolicy, new RequestedRoute(model)));
        Assert.Equal("router.unknown_model", r.Code);
        Assert.Equal(404, r.HttpStatus);
        Assert.Contains("'federation/<topic>'", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_specialist_in_the_request_is_404()
    {
        var r = Rejected(RoutePlanner.Plan("hi", SmallPolicy, new RequestedRoute(Specialists: ["nobody"])));
        Assert.Equal("router.unknown_specialist", r.Code);
        Assert.Equal(404, r.HttpStatus);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(99)]
    public void Panel_size_out_of_range_is_400(int k)
    {
        var r = Rejected(RoutePlanner.Plan("hi", SmallPolicy, new RequestedRoute(PanelSize: k)));
        Assert.Equal("router.invalid_panel_size", r.Code);
        Assert.Equal(400, r.HttpStatus);
    }

    [Fact]
    public void Requested_panel_size_overrides_the_class_default()
    {
        var d = Accepted(RoutePlanner.Plan("python bug", SmallPolicy, new RequestedRoute(PanelSize: 2)));
        Assert.Equal(DispatchMode.Panel, d.Mode);
        Assert.Equal(["coder", "coder2"], d.Specialists);
    }

    [Fact]
    public void Panel_larger_than_the_eligible_specialists_is_refused_not_shrunk()
    {
        var r = Rejected(RoutePlanner.Plan("joint venture", SmallPolicy, new RequestedRoute(PanelSize: 3)));
        Assert.Equal("router.no_eligible_specialist", r.Code);
        Assert.Equal(422, r.HttpStatus);
    }

    [Fact]
    public void Required_provenance_substitutes_another_topic_specialist_and_says_so()
    {
        var d = Accepted(RoutePlanner.Plan("python bug", SmallPolicy,
            new RequestedRoute(RequiredProvenance: new ProvenanceRequirement(Jurisdictions: ["us"]))));
        Assert.Equal(["coder2"], d.Specialists);
        Assert.Equal(DispatchMode.Substitute, d.Mode);
        Assert.Contains("excludes champion 'coder'", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Required_provenance_that_nobody_meets_is_422()
    {
        var r = Rejected(RoutePlanner.Plan("python bug", SmallPolicy,
            new RequestedRoute(RequiredProvenance: new ProvenanceRequirement(Lineages: ["mistral"]))));
        Assert.Equal("router.no_eligible_specialist", r.Code);
        Assert.Equal(422, r.HttpStatus);
    }

    [Fact]
    public void Named_specialist_must_meet_required_provenance()
    {
        var r = Rejected(RoutePlanner.Plan("python bug", SmallPolicy,
            new RequestedRoute("coder", RequiredProvenance: new ProvenanceRequirement(Lineages: ["olmo"]))));
        Assert.Equal("router.provenance_unsatisfied", r.Code);
    }

    [Fact]
    public void Exploration_share_zero_never_and_one_always_picks_a_challenger()
    {
        var never = SmallPolicy;
        var always = Parse(Mutate(Small, "share: 0", "share: 1"));
        for (int i = 0; i < 50; i++)
        {
            var q = $"python bug number {i}";
            Assert.Equal(DispatchMode.Champion, Accepted(RoutePlanner.Plan(q, never, new RequestedRoute())).Mode);
            var d = Accepted(RoutePlanner.Plan(q, always, new RequestedRoute()));
            Assert.Equal(DispatchMode.Challenger, d.Mode);
            Assert.True(d.Exploration);
            Assert.Equal(["coder2"], d.Specialists);
        }
    }

    [Fact]
    public void Exploration_draw_is_deterministic_and_close_to_the_share()
    {
        var cid = new string('a', 64);
        int hits = 0;
        for (int i = 0; i < 20000; i++)
        {
            var qh = QueryClassifier.HashQuery($"query {i}");
            var pick = RoutePlanner.ExplorationPick(cid, qh, 0.05, 3);
            Assert.Equal(pick, RoutePlanner.ExplorationPick(cid, qh, 0.05, 3));
            if (pick is { } p) { hits++; Assert.InRange(p, 0, 2); }
        }
        Assert.InRange(hits, 800, 1200); // 5% of 20000 = 1000
    }

    [Fact]
    public void Exploration_applies_only_to_auto_routing_not_to_named_specialists()
    {
        var always = Parse(Mutate(Small, "share: 0", "share: 1"));
        var d = Accepted(RoutePlanner.Plan("python bug", always, new RequestedRoute("coder")));
        Assert.Equal(["coder"], d.Specialists);
        Assert.False(d.Exploration);
    }

    [Fact]
    public void Model_naming_a_specialist_together_with_a_specialist_list_is_400()
    {
        var r = Rejected(RoutePlanner.Plan("python", SmallPolicy, new RequestedRoute("coder", Specialists: ["coder2"])));
        Assert.Equal(400, r.HttpStatus);
        Assert.Equal("router.invalid_request", r.Code);
    }

    [Fact]
    public void Default_topic_fallback_is_reported_in_the_decision()
    {
        var d = Accepted(RoutePlanner.Plan("lovely weather", SmallPolicy, new RequestedRoute()));
        Assert.Equal("general", d.Topic);
        Assert.True(d.FellBackToDefault);
        Assert.Equal(["gen"], d.Specialists);
        Assert.Contains("default topic 'general'", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Candidate_pool_orders_champion_challengers_neighbours_then_declared_specialists()
    {
        var topic = DefaultPolicy.TopicsById["medical"];
        Assert.Equal(["medical-mistral", "panel-llama-kr", "panel-olmo-us"],
            RoutePlanner.CandidatePool(topic, DefaultPolicy.Specialists).Select(s => s.Id));
    }
}
