using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

public class RoutePlannerPropertyTests
{
    [Fact]
    public void Random_requests_never_throw_and_never_break_tier_or_provenance()
    {
        var policy = PolicyLoader.Load(DefaultPolicyPath());
        var vocab = policy.Topics.SelectMany(t => t.Rules).Where(r => r.Kind != MatchKind.Regex).SelectMany(r => r.Words)
            .Concat(["hello", "12 mg", "main()", "3 * 4", "weather"]).Distinct().ToArray();
        var models = new[] { "federation", "federation/strategy", "federation/code", "federation/nope", "gpt-4" }
            .Concat(policy.Specialists.Select(s => s.Id)).ToArray();
        var lineages = policy.Specialists.Select(s => s.BaseLineage).Distinct().ToArray();
        var jurisdictions = policy.Specialists.Select(s => s.Jurisdiction).Distinct().ToArray();
        var rng = new Random(7);
        int accepted = 0, rejected = 0;
        for (int i = 0; i < 2000; i++)
        {
            var q = string.Join(" ", Enumerable.Range(0, rng.Next(0, 25)).Select(_ => vocab[rng.Next(vocab.Length)]));
            var req = new RequestedRoute(
                models[rng.Next(models.Length)],
                rng.Next(4) == 0 ? policy.Specialists.OrderBy(_ => rng.Next()).Take(rng.Next(1, 4)).Select(s => s.Id).ToArray() : null,
                rng.Next(3) == 0 ? new ProvenanceRequirement(
                    rng.Next(2) == 0 ? [lineages[rng.Next(lineages.Length)], lineages[rng.Next(lineages.Length)]] : null,
                    rng.Next(2) == 0 ? [jurisdictions[rng.Next(jurisdictions.Length)]] : null) : null,
                rng.Next(4) == 0 ? rng.Next(0, 5) : null);
            var plan = RoutePlanner.Plan(q, policy, req);
            var again = RoutePlanner.Plan(q, policy, req);
            if (plan.Decision is { } d)
            {
                accepted++;
                Assert.Equal(d.Specialists, again.Decision!.Specialists);
                Assert.Equal(policy.Cid, d.PolicyCid);
                Assert.NotEmpty(d.Specialists);
                Assert.Equal(d.Specialists.Count, d.Specialists.Distinct().Count());
                var tier = policy.Tiers[d.Tier];
                Assert.Equal(policy.TopicsById[d.Topic].Tier, d.Tier);
                foreach (var id in d.Specialists)
                {
                    var s = policy.SpecialistsById[id];
                    Assert.True(tier.Allows(s), $"{id} served {d.Topic} ({d.Tier})");
                    if (req.RequiredProvenance is { } rp) Assert.True(rp.Allows(s), $"{id} violates required provenance");
                }
                if (req.PanelSize is { } k) Assert.Equal(k, d.Specialists.Count);
                double sum = 0;
                foreach (var m in d.Trace) if (m.Topic == d.Topic) sum += m.Weight;
                Assert.Equal(d.Score, sum);
            }
            else
            {
                rejected++;
                Assert.Equal(plan.Rejection, again.Rejection);
                Assert.InRange(plan.Rejection!.HttpStatus, 400, 499);
                Assert.StartsWith("router.", plan.Rejection.Code, StringComparison.Ordinal);
            }
        }
        Assert.True(accepted > 200 && rejected > 200, $"accepted {accepted}, rejected {rejected}");
    }
}
