namespace Federation.Governance.Tests;

public sealed class ReputationSimulationTests
{
    private static readonly SimResult Run = ReputationSimulation.Run();

    private static SimNodeRow Row(int step, string name) => Run.Steps[step].Nodes.Single(n => n.Name == name);

    [Fact]
    public void The_run_is_deterministic()
    {
        Assert.Equal(ReputationSimulation.ToJson(Run), ReputationSimulation.ToJson(ReputationSimulation.Run()));
    }

    [Fact]
    public void No_node_is_ever_above_w_max_and_weights_sum_to_1()
    {
        foreach (var s in Run.Steps)
        {
            Assert.Equal(1.0, s.Nodes.Sum(n => n.Weight), 12);
            Assert.All(s.Nodes, n => Assert.True(n.Weight <= Run.Knobs.Math.WMax + 1e-12, $"step {s.Step} {n.Name} {n.Weight}"));
        }
    }

    [Fact]
    public void The_cartel_is_slashed_for_collusion_and_its_weight_falls_to_about_zero()
    {
        var step = Run.Steps.First(s => s.Events.Count > 0);
        Assert.Equal(3, step.Events.Count);
        Assert.All(step.Events, e => Assert.Contains("collusion", e, StringComparison.Ordinal));
        double before = Run.Steps[step.Step - 1].Nodes.Where(n => n.Name.StartsWith("cartel", StringComparison.Ordinal)).Sum(n => n.Weight);
        Assert.True(before > 0.1, $"cartel weight before {before}");
        foreach (var s in Run.Steps.Skip(step.Step))
        {
            Assert.All(s.Nodes.Where(n => n.Name.StartsWith("cartel", StringComparison.Ordinal)), n => Assert.True(n.Weight < 0.01, $"step {s.Step} {n.Name} {n.Weight}"));
            Assert.All(s.Nodes.Where(n => n.Name.StartsWith("cartel", StringComparison.Ordinal)), n => Assert.True(n.S < 0.5));
        }
        // No honest node is ever slashed.
        Assert.All(Run.Steps.SelectMany(s => s.Nodes).Where(n => !n.Name.StartsWith("cartel", StringComparison.Ordinal)), n => Assert.Equal(1.0, n.S));
    }

    [Fact]
    public void The_newcomer_builds_a_record_through_the_exploration_budget_and_overtakes_lazy()
    {
        var join = Run.Steps.First(s => s.Nodes.Any(n => n.Name == "newcomer"));
        Assert.Equal(0, Row(join.Step, "newcomer").N > 0 ? 0 : 1);
        Assert.True(Row(join.Step, "newcomer").Audits >= 1);
        var last = Run.Steps.Count - 1;
        Assert.True(Row(last, "newcomer").Weight > Row(last, "lazy").Weight);
        Assert.True(Row(last, "honest-1").Weight > Row(last, "lazy").Weight);
    }

    [Fact]
    public void The_effective_number_of_voters_grows_as_independence_is_measured()
    {
        Assert.True(Run.Steps[^1].EffectiveVoters > Run.Steps[0].EffectiveVoters);
        Assert.All(Run.Steps, s => Assert.True(s.EffectiveVoters <= s.Nodes.Count));
    }

    [Fact]
    public void The_committed_chart_and_table_in_docs_are_what_the_simulation_prints()
    {
        var svg = File.ReadAllText(RepoFiles.Path("docs/reputation-weights.svg"));
        Assert.Equal(ReputationSimulation.ToSvg(Run), svg);
        var md = File.ReadAllText(RepoFiles.Path("docs/reputation.md"));
        Assert.Contains(ReputationSimulation.ToText(Run), md, StringComparison.Ordinal);
    }
}
