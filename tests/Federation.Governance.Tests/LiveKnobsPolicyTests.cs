namespace Federation.Governance.Tests;

/// <summary>The optional live-path knobs of policies/reputation.yaml.</summary>
public sealed class LiveKnobsPolicyTests
{
    private const string Base = ReputationYamlFixture.Defaults;

    [Fact]
    public void Absent_live_knobs_take_the_defaults_and_topics_override_them()
    {
        var p = ReputationPolicyLoader.Parse(Base, "r.yaml");
        Assert.Equal(LiveKnobs.Default, p.Defaults.Live);
        var q = ReputationPolicyLoader.Parse(Base + """

            topics:
              medical:
                trust_threshold: 0.6
                competence_floor: 0.55
                low_agreement: confidence
                slash_pass_rate: 0.4
                slash_min_mass: 8
                collusion_rho: 0.9
                audit_rate: 0.2
            """, "r.yaml");
        var m = q.For("medical").Live;
        Assert.Equal(new LiveKnobs(0.6, 0.55, LowAgreementRule.Confidence, 0.4, 8, 0.9, 0.2), m);
        Assert.Equal(LiveKnobs.Default, q.For("code").Live);
        Assert.Equal(30, q.For("medical").Math.HalfLife); // the §9.9 knobs still come from the defaults
    }

    [Theory]
    [InlineData("low_agreement: maybe", "low_agreement to be review or confidence")]
    [InlineData("trust_threshold: 1.5", "trust_threshold in [0, 1]")]
    [InlineData("audit_rate: -0.1", "audit_rate in [0, 1]")]
    [InlineData("collusion_rho: 0", "collusion_rho in (0, 1]")]
    public void A_bad_live_knob_is_an_error_at_its_position(string line, string expected)
    {
        var e = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse(Base + "\ntopics:\n  medical:\n    " + line + "\n", "r.yaml"));
        var err = Assert.Single(e.Errors);
        Assert.Contains(expected, err.Message);
        Assert.Equal(19, err.Line);
    }

    [Fact]
    public void The_repository_policy_sets_live_knobs_within_range()
    {
        var p = ReputationPolicyLoader.Parse(File.ReadAllBytes(RepoFiles.Path("policies/reputation.yaml")), "policies/reputation.yaml");
        Assert.InRange(p.Defaults.Live.AuditRate, 0.0001, 1);
        Assert.Equal(LowAgreementRule.Review, p.Defaults.Live.LowAgreement);
    }
}
