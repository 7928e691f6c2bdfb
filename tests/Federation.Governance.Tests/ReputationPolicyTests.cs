namespace Federation.Governance.Tests;

public sealed class ReputationPolicyTests
{
    private const string Valid = ReputationYamlFixture.Defaults + "\ntopics:\n  code:\n    half_life: 14";

    [Fact]
    public void The_repository_policy_parses_and_topics_override_the_defaults()
    {
        var path = RepoFiles.Path("policies/reputation.yaml");
        var p = ReputationPolicyLoader.Parse(File.ReadAllBytes(path), path);
        Assert.Equal(1, p.Version);
        Assert.Equal(ReputationKnobs.Default, p.Defaults.Math);
        Assert.Equal(ReputationSimulation.DefaultKnobs, p.Defaults);
        Assert.Equal(14, p.For("code").Math.HalfLife);
        Assert.Equal(p.Defaults.Math.Kappa, p.For("code").Math.Kappa);
        Assert.Equal(p.Defaults, p.For("no-such-topic"));
        Assert.Equal(64, p.Cid.Length);
    }

    [Fact]
    public void A_valid_policy_reads_every_knob()
    {
        var p = ReputationPolicyLoader.Parse(Valid, "r.yaml");
        Assert.Equal(0.1, p.Defaults.SlashFactor);
        Assert.Equal(120, p.Defaults.RecoveryHalfLife);
        Assert.Equal(new IndependenceKnobs(0.5, 10), p.Defaults.Independence);
        Assert.Equal(14, p.For("code").Math.HalfLife);
    }

    [Theory]
    [InlineData("  gamma: 0.5", "  gamma: 1.5", "r.yaml:6:10: expected defaults.gamma in (0, 1), found 1.5")]
    [InlineData("  w_max: 0.15", "  w_max: lots", "r.yaml:10:10: expected defaults.w_max to be a number in (0, 1], found 'lots'")]
    [InlineData("    half_life: 14", "    half_lif: 14", "r.yaml:19:5: unknown key 'half_lif' in topics.code")]
    [InlineData("version: 1", "version: 2", "r.yaml:1:10: expected version 1, found 2")]
    [InlineData("  kappa: 10\n", "", "r.yaml:3:3: missing required key 'kappa' in defaults")]
    public void Errors_point_at_file_line_and_column(string from, string to, string expected)
    {
        var e = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse(Valid.Replace(from, to, StringComparison.Ordinal), "r.yaml"));
        Assert.Contains(e.Errors, x => x.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_is_reported_not_only_the_first()
    {
        var text = Valid.Replace("C0: 0.5", "C0: 2", StringComparison.Ordinal).Replace("beta: 0.5", "beta: -1", StringComparison.Ordinal);
        var e = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse(text, "r.yaml"));
        Assert.Equal(2, e.Errors.Count);
        Assert.Equal(5, e.Errors[0].Line);
        Assert.Equal(7, e.Errors[1].Line);
    }

    [Fact]
    public void Broken_yaml_is_reported_with_a_position()
    {
        var e = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse("version: 1\ndefaults: [\n", "r.yaml"));
        Assert.StartsWith("r.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains("YAML", e.Message, StringComparison.Ordinal);
    }
}
