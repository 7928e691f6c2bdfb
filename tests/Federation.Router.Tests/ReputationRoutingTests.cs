using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

/// <summary>Reputation in routing: panels top-k by weight under the diversity constraint with a floor; routing priority.</summary>
public class ReputationRoutingTests
{
    private static readonly RoutingPolicy Policy = PolicyLoader.Load(DefaultPolicyPath());
    private const string LegalQuery = "Is this contract clause a liability under GDPR?";

    private static TopicStanding Standing(double floor, double share, params (string Id, double W, double CHat, bool New)[] rows) =>
        new(rows.ToDictionary(r => r.Id, r => new SpecialistStanding(r.W, r.CHat, r.New)), floor, share);

    private static RouteDecision Plan(string query, TopicStanding? standing, string model = RoutePlanner.AutoModel)
    {
        var plan = RoutePlanner.Plan(RouteQuery.FromText(query), Policy, new RequestedRoute(model), _ => standing);
        Assert.True(plan.IsAccepted, plan.Rejection?.ToString());
        return plan.Decision!;
    }

    private static void Same(RouteDecision a, RouteDecision b)
    {
        Assert.Equal(a.Specialists, b.Specialists);
        Assert.Equal(a.Mode, b.Mode);
        Assert.Equal(a.Exploration, b.Exploration);
        Assert.Equal(a.Reason, b.Reason);
    }

    [Fact]
    public void Without_evidence_the_plan_is_exactly_the_reputation_free_one()
    {
        var plain = RoutePlanner.Plan(RouteQuery.FromText(LegalQuery), Policy, new RequestedRoute()).Decision!;
        Same(plain, Plan(LegalQuery, null));
        Same(plain, Plan(LegalQuery, Standing(0, 0.1, ("legal-olmo", 0, 0.5, true))));
        var code = RoutePlanner.Plan(RouteQuery.FromText("fix the python bug"), Policy, new RequestedRoute()).Decision!;
        Same(code, Plan("fix the python bug", Standing(0, 0.1)));
    }

    [Fact]
    public void A_panel_is_top_k_by_weight_under_the_diversity_constraint()
    {
        // legal-olmo outweighs two others, but panel-olmo-us already seats the olmo lineage: two new lineages come first.
        var d = Plan(LegalQuery, Standing(0, 0,
            ("panel-olmo-us", 0.5, 0.8, false), ("legal-olmo", 0.3, 0.8, false), ("panel-llama-kr", 0.1, 0.8, false), ("medical-mistral", 0.1, 0.8, false)));
        Assert.Equal(DispatchMode.Panel, d.Mode);
        Assert.Equal(["panel-olmo-us", "medical-mistral", "panel-llama-kr"], d.Specialists);
        Assert.False(d.Exploration);
        Assert.Contains("top-k by reputation weight", d.Reason);

        // Among one lineage the heavier member is taken.
        var d2 = Plan(LegalQuery, Standing(0, 0,
            ("panel-olmo-us", 0.1, 0.8, false), ("legal-olmo", 0.6, 0.8, false), ("panel-llama-kr", 0.2, 0.8, false), ("medical-mistral", 0.1, 0.8, false)));
        Assert.Equal(["legal-olmo", "panel-llama-kr", "medical-mistral"], d2.Specialists);
    }

    [Fact]
    public void The_competence_floor_keeps_a_weak_member_off_unless_the_panel_cannot_be_filled()
    {
        var d = Plan(LegalQuery, Standing(0.6, 0,
            ("panel-olmo-us", 0.5, 0.8, false), ("legal-olmo", 0.3, 0.8, false), ("panel-llama-kr", 0.1, 0.3, false), ("medical-mistral", 0.1, 0.8, false)));
        Assert.Equal(["panel-olmo-us", "medical-mistral", "legal-olmo"], d.Specialists);
        Assert.DoesNotContain("below the competence floor", d.Reason);

        var thin = Plan(LegalQuery, Standing(0.6, 0,
            ("panel-olmo-us", 0.5, 0.8, false), ("legal-olmo", 0.3, 0.2, false), ("panel-llama-kr", 0.1, 0.3, false), ("medical-mistral", 0.1, 0.8, false)));
        Assert.Equal(3, thin.Specialists.Count);
        Assert.Contains("1 seated below the competence floor 0.6", thin.Reason);
    }

    [Fact]
    public void A_newcomer_takes_a_seat_on_the_exploration_share_regardless_of_its_score()
    {
        var rows = new (string, double, double, bool)[]
            { ("panel-olmo-us", 0.5, 0.8, false), ("legal-olmo", 0.3, 0.8, false), ("panel-llama-kr", 0, 0, true), ("medical-mistral", 0.1, 0.8, false) };
        var always = Plan(LegalQuery, Standing(0.6, 1, rows));
        Assert.Equal("panel-llama-kr", always.Specialists[0]);
        Assert.True(always.Exploration);
        Assert.Contains("newcomer 'panel-llama-kr' seated on the exploration share", always.Reason);
        var never = Plan(LegalQuery, Standing(0.6, 0, rows));
        Assert.DoesNotContain("panel-llama-kr", never.Specialists);

        // With a 10% share about one query in ten seats the newcomer, deterministically.
        int seated = 0;
        for (int i = 0; i < 400; i++)
        {
            var q = $"{LegalQuery} case {i}";
            var a = Plan(q, Standing(0.6, 0.1, rows));
            Same(a, Plan(q, Standing(0.6, 0.1, rows)));
            if (a.Specialists.Contains("panel-llama-kr")) seated++;
        }
        Assert.InRange(seated, 20, 65);
    }

    [Fact]
    public void Higher_reputation_gets_more_work_and_a_specialist_below_the_floor_none()
    {
        int olmo = 0, qwen = 0;
        for (int i = 0; i < 500; i++)
        {
            var q = $"fix the python bug number {i}";
            var d = Plan(q, Standing(0.5, 0.1, ("code-qwen", 0.2, 0.7, false), ("code-olmo", 0.8, 0.9, false)));
            Same(d, Plan(q, Standing(0.5, 0.1, ("code-qwen", 0.2, 0.7, false), ("code-olmo", 0.8, 0.9, false))));
            if (d.Specialists[0] == "code-olmo") olmo++; else qwen++;
            if (d.Mode == DispatchMode.Reputation) Assert.Contains("drawn by reputation weight", d.Reason);
        }
        Assert.InRange(olmo, 350, 450); // ≈ 80% (+ the exploration share, which also seats the challenger)
        Assert.True(qwen > 50, $"code-qwen still gets its share: {qwen}");

        for (int i = 0; i < 100; i++)
        {
            var d = Plan($"fix the python bug number {i}", Standing(0.5, 0.1, ("code-qwen", 0.2, 0.7, false), ("code-olmo", 0.8, 0.3, false)));
            if (d.Specialists[0] == "code-olmo") Assert.True(d.Exploration, "below the floor, code-olmo only gets the exploration share");
        }
    }

    [Fact]
    public void The_embedding_model_is_a_policy_knob_with_two_values()
    {
        Assert.Equal(RoutingPolicy.EmbeddingBase, Policy.EmbeddingModel);
        var lexical = Parse(Small.Replace("panel:\n", "panel:\n  embedding_model: lexical\n", StringComparison.Ordinal));
        Assert.Equal(RoutingPolicy.EmbeddingLexical, lexical.EmbeddingModel);
        var e = Assert.Throws<PolicyException>(() => Parse(Small.Replace("panel:\n", "panel:\n  embedding_model: bert\n", StringComparison.Ordinal)));
        Assert.Contains("panel.embedding_model", e.Message);
    }
}
