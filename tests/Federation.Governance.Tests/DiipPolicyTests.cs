using Federation.Governance.Diip;

namespace Federation.Governance.Tests;

public class DiipPolicyTests
{
    private static string Repo() => File.ReadAllText(RepoFiles.Path("policies/diip.yaml"));

    [Fact]
    public void Repository_policy_loads_with_the_seed_bars()
    {
        var p = DiipPolicyLoader.Parse(File.ReadAllBytes(RepoFiles.Path("policies/diip.yaml")), "policies/diip.yaml");
        Assert.Equal("production", p.Profile);
        Assert.Null(p.Notice);
        Assert.Equal(0.51, p.For(DiipClass.BaseOrCrossTopic).Threshold);
        Assert.Equal(0.70, p.For(DiipClass.Constitution).Threshold);
        Assert.Equal(TimeSpan.FromDays(14), p.For(DiipClass.TopicAdapter).Soak);
        Assert.Equal(TimeSpan.FromDays(90), p.For(DiipClass.BaseOrCrossTopic).Soak);
        Assert.True(p.For(DiipClass.Constitution).Soak > p.For(DiipClass.BaseOrCrossTopic).Soak);
        Assert.True(p.For(DiipClass.Constitution).TimeLock > TimeSpan.Zero);
        Assert.Equal(64, p.Cid.Length);
    }

    [Fact]
    public void Demo_profile_shortens_durations_and_says_so()
    {
        var p = DiipPolicyLoader.Parse(Repo(), "policies/diip.yaml", "demo");
        Assert.Equal("demo", p.Profile);
        Assert.StartsWith("DEMO PROFILE", p.Notice, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMinutes(2), p.For(DiipClass.TopicAdapter).Soak);
        Assert.Equal(TimeSpan.FromMinutes(5), p.For(DiipClass.Constitution).TimeLock);
        Assert.Equal(0.70, p.For(DiipClass.Constitution).Threshold);
    }

    [Fact]
    public void Unknown_profile_is_an_error_listing_the_profiles()
    {
        var e = Assert.Throws<DiipPolicyException>(() => DiipPolicyLoader.Parse(Repo(), "p.yaml", "fast"));
        Assert.Contains("profile 'fast' is not defined", e.Message, StringComparison.Ordinal);
        Assert.Contains("production, demo", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  alpha: 0.05 ", "  alpha: 0.7 ", "p.yaml:7:10: expected gauntlet.alpha in (0, 0.5), found 0.7")]
    [InlineData("    soak: 14d ", "    soak: two weeks ", "p.yaml:28:11: expected classes.topic_adapter.soak to be a duration such as 14d, 12h, 30m or 45s, found 'two weeks'")]
    [InlineData("  proposer_factor: 0.5 ", "  proposer_factr: 0.5 ", "p.yaml:16:3: unknown key 'proposer_factr' in voting")]
    [InlineData("    threshold: 0.70", "    threshold: 0.5", "p.yaml:43:16: expected classes.constitution.threshold in (0.5, 1] (a majority at least), found 0.5")]
    [InlineData("    soak: 180d", "    soak: 30d", "classes.constitution: soak 30d is shorter than base_or_cross_topic's 90d")]
    [InlineData("    time_lock: 14d", "    time_lock: 0d", "veto_window 14d is longer than time_lock 0d")]
    public void Bad_values_are_reported_at_file_line_col(string find, string replace, string expected)
    {
        var text = Repo();
        var at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{find}' not in policies/diip.yaml");
        text = text[..at] + replace + text[(at + find.Length)..];
        var e = Assert.Throws<DiipPolicyException>(() => DiipPolicyLoader.Parse(text, "p.yaml"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Durations_parse_strictly()
    {
        Assert.True(DiipPolicyLoader.TryParseDuration("14d", out var d));
        Assert.Equal(TimeSpan.FromDays(14), d);
        Assert.True(DiipPolicyLoader.TryParseDuration("90s", out d));
        Assert.Equal("90s", DiipPolicyLoader.FormatDuration(d));
        Assert.Equal("2m", DiipPolicyLoader.FormatDuration(TimeSpan.FromSeconds(120)));
        Assert.False(DiipPolicyLoader.TryParseDuration("14", out _));
        Assert.False(DiipPolicyLoader.TryParseDuration("-3d", out _));
        Assert.False(DiipPolicyLoader.TryParseDuration("1.5h", out _));
    }
}

public class PolicyDiffClassifierTests
{
    [Fact]
    public void Keyword_change_is_class_one_and_tier_change_is_class_three()
    {
        var routing = File.ReadAllText(RepoFiles.Path("policies/routing.yaml"));
        var kw = routing.Replace("{ id: python, keyword: python, weight: 2 }", "{ id: python, keyword: python3, weight: 2 }", StringComparison.Ordinal);
        Assert.NotEqual(routing, kw);
        var c = PolicyDiffClassifier.Classify(routing, kw, PolicyDocumentKind.Routing);
        Assert.Equal(DiipClass.TopicAdapter, c.Class);
        Assert.Equal("topics[code].rules[python].keyword", Assert.Single(c.Changes).Path);

        var tier = routing.Replace("lineages: [mistral, olmo, own]", "lineages: [mistral, olmo, own, qwen]", StringComparison.Ordinal);
        c = PolicyDiffClassifier.Classify(routing, tier, PolicyDocumentKind.Routing);
        Assert.Equal(DiipClass.Constitution, c.Class);
        Assert.Equal("tiers.T3.lineages", Assert.Single(c.Changes).Path);

        var both = tier.Replace("{ id: python, keyword: python, weight: 2 }", "{ id: python, keyword: python3, weight: 2 }", StringComparison.Ordinal);
        c = PolicyDiffClassifier.Classify(routing, both, PolicyDocumentKind.Routing);
        Assert.Equal(DiipClass.Constitution, c.Class);
        Assert.Equal(2, c.Changes.Count);
    }

    [Theory]
    [InlineData("topics[code].rules[python].weight", DiipClass.TopicAdapter)]
    [InlineData("topics[code].champion", DiipClass.TopicAdapter)]
    [InlineData("specialists[code-qwen].adapter", DiipClass.TopicAdapter)]
    [InlineData("max_query_chars", DiipClass.BaseOrCrossTopic)]
    [InlineData("default_topic", DiipClass.BaseOrCrossTopic)]
    [InlineData("topics[code].class", DiipClass.Constitution)]
    [InlineData("topics[code].tier", DiipClass.Constitution)]
    [InlineData("specialists[code-qwen].jurisdiction", DiipClass.Constitution)]
    [InlineData("specialists[new-one].topics", DiipClass.Constitution)]
    [InlineData("panel.agreement_threshold", DiipClass.Constitution)]
    [InlineData("exploration.share", DiipClass.Constitution)]
    [InlineData("something_new", DiipClass.Constitution)]
    [InlineData("topics_extra", DiipClass.Constitution)]
    public void Routing_key_paths_follow_the_table(string path, DiipClass expected) =>
        Assert.Equal(expected, PolicyDiffClassifier.Classify([path], PolicyDocumentKind.Routing).Class);

    [Fact]
    public void Reputation_and_diip_knobs_are_power_bearing()
    {
        Assert.Equal(DiipClass.Constitution, PolicyDiffClassifier.Classify(["defaults.w_max"], PolicyDocumentKind.Reputation).Class);
        Assert.Equal(DiipClass.Constitution, PolicyDiffClassifier.Classify(["topics.legal.slash_factor"], PolicyDocumentKind.Reputation).Class);
        Assert.Equal(DiipClass.Constitution, PolicyDiffClassifier.Classify(["classes.constitution.threshold"], PolicyDocumentKind.Diip).Class);
        Assert.Equal(DiipClass.TopicAdapter, PolicyDiffClassifier.Classify(["version"], PolicyDocumentKind.Diip).Class);
        Assert.Equal(DiipClass.TopicAdapter, PolicyDiffClassifier.Classify([], PolicyDocumentKind.Diip).Class);
    }

    [Fact]
    public void Inserting_a_topic_does_not_renumber_the_others()
    {
        var a = "topics:\n  - id: a\n    rules: [x]\n  - id: b\n    rules: [y]\n";
        var b = "topics:\n  - id: new\n    rules: [z]\n  - id: a\n    rules: [x]\n  - id: b\n    rules: [y]\n";
        Assert.Equal(["topics[new].id", "topics[new].rules"], PolicyDiffClassifier.ChangedPaths(a, b));
    }
}
