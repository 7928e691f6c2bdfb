using System.Security.Cryptography;
using System.Text;
using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

public class PolicyLoaderTests
{
    private static void AssertSingleErrorAt(string text, string marker, string messagePart, int occurrence = 1)
    {
        var errors = Errors(text);
        var (line, col) = PositionOf(text, marker, occurrence);
        // exactly one error: a mistake must not also be reported as a cascade of others
        var e = Assert.Single(errors);
        Assert.Equal((line, col), (e.Position.Line, e.Position.Column));
        Assert.Contains(messagePart, e.Message, StringComparison.Ordinal);
        Assert.StartsWith($"test.yaml:{line}:{col}: ", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Small_policy_parses_with_every_field()
    {
        var p = Parse(Small);
        Assert.Equal(1, p.Version);
        Assert.Equal("general", p.DefaultTopic);
        Assert.Equal(2, p.PanelSize);
        Assert.Equal(0, p.ExplorationShare);
        Assert.Equal(0.5, p.AgreementThreshold);
        Assert.Equal(["general", "code", "strategy"], p.Topics.Select(t => t.Id));
        var code = p.TopicsById["code"];
        Assert.Equal(TrustTier.T1, code.Tier);
        Assert.Equal(VerificationClass.A, code.Class);
        Assert.Equal(5, code.Priority);
        Assert.Equal("coder", code.Champion);
        Assert.Equal(["coder2"], code.Challengers);
        Assert.Equal(MatchKind.Phrase, code.Rules[2].Kind);
        Assert.Equal(["stack", "trace"], code.Rules[2].Words);
        Assert.Equal(1.0, code.Rules[1].Weight);
        Assert.Null(p.Tiers[TrustTier.T1].AllowedLineages);
        Assert.Equal(["mistral", "olmo"], p.Tiers[TrustTier.T3].AllowedLineages!);
        Assert.Equal("olmo", p.SpecialistsById["coder2"].BaseLineage);
    }

    [Fact]
    public void Rules_without_an_id_are_named_by_position()
    {
        var p = Parse(Mutate(Small, "{ id: bug, keyword: bug }", "{ keyword: bug }"));
        Assert.Equal("r2", p.TopicsById["code"].Rules[1].Id);
    }

    [Fact]
    public void Repository_default_policy_is_valid_and_small()
    {
        var p = PolicyLoader.Load(DefaultPolicyPath());
        Assert.Equal("general", p.DefaultTopic);
        Assert.True(p.Topics.Count >= 6);
        Assert.InRange(p.Specialists.Count, 1, 10);
        Assert.Equal(TrustTier.T3, p.TopicsById["strategy"].Tier);
        Assert.Equal(VerificationClass.C, p.TopicsById["strategy"].Class);
    }

    [Fact]
    public void Cid_is_sha256_of_the_file_bytes()
    {
        var path = DefaultPolicyPath();
        var expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(expected, PolicyLoader.Load(path).Cid);
        Assert.Equal(64, expected.Length);
    }

    [Fact]
    public void Cid_is_stable_across_reparse_and_changes_with_any_byte()
    {
        var a = Parse(Small).Cid;
        Assert.Equal(a, Parse(Small).Cid);
        Assert.Equal(a, PolicyLoader.Parse(Encoding.UTF8.GetBytes(Small), "other-name.yaml").Cid);
        Assert.NotEqual(a, Parse(Small + "\n# a comment\n").Cid);
        Assert.NotEqual(a, Parse(Mutate(Small, "weight: 2 }", "weight: 2.5 }")).Cid);
    }

    [Fact]
    public void Unknown_top_level_key_is_reported_at_its_position()
    {
        var text = Small + "\ncolour: blue\n";
        AssertSingleErrorAt(text, "colour", "unknown key 'colour' in the policy");
    }

    [Fact]
    public void Unknown_key_in_a_rule_is_reported_at_its_position()
    {
        var text = Mutate(Small, "{ id: bug, keyword: bug }", "{ id: bug, keyword: bug, wieght: 2 }");
        AssertSingleErrorAt(text, "wieght", "unknown key 'wieght'");
    }

    [Fact]
    public void Unknown_key_in_a_topic_and_in_a_specialist_are_both_reported()
    {
        var text = Mutate(Small, "    champion: gen\n", "    champion: gen\n    owner: me\n");
        text = Mutate(text, "adapter: coder }", "adapter: coder, gpu: h200 }");
        var errors = Errors(text);
        Assert.Equal(2, errors.Count);
        Assert.Equal(PositionOf(text, "gpu"), (errors[0].Position.Line, errors[0].Position.Column));
        Assert.Equal(PositionOf(text, "owner"), (errors[1].Position.Line, errors[1].Position.Column));
    }

    [Fact]
    public void Bad_tier_is_reported_with_what_was_expected()
    {
        var text = Mutate(Small, "tier: T3", "tier: T9");
        AssertSingleErrorAt(text, "T9", "expected tier T1, T2 or T3 in topic 'strategy', found 'T9'");
    }

    [Fact]
    public void Bad_verification_class_is_reported()
    {
        var text = Mutate(Small, "class: A", "class: Z");
        AssertSingleErrorAt(text, "Z\n", "expected verification class A, B or C");
    }

    [Fact]
    public void Unknown_tier_in_tiers_section_is_reported()
    {
        var text = Mutate(Small, "  T2: { lineages: any, jurisdictions: any }", "  T4: { lineages: any, jurisdictions: any }");
        AssertSingleErrorAt(text, "T4", "unknown tier 'T4'");
    }

    [Fact]
    public void Topic_whose_tier_has_no_constraints_entry_is_reported()
    {
        var text = Mutate(Small, "  T1: { lineages: any, jurisdictions: any }\n", "");
        var errors = Errors(text);
        Assert.Equal(2, errors.Count); // general and code both use T1
        Assert.All(errors, e => Assert.Contains("tiers: has no T1 entry", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Dangling_champion_is_reported_at_the_reference()
    {
        var text = Mutate(Small, "champion: coder\n", "champion: nobody\n");
        AssertSingleErrorAt(text, "nobody", "champion 'nobody' of topic 'code' is not a declared specialist");
    }

    [Fact]
    public void Dangling_neighbour_and_challenger_are_reported()
    {
        var text = Mutate(Small, "challengers: [coder2]", "challengers: [ghost1]");
        text = Mutate(text, "neighbours: [strat-us]", "neighbours: [ghost2]");
        var errors = Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("challenger 'ghost1'", StringComparison.Ordinal) && (e.Position.Line, e.Position.Column) == PositionOf(text, "ghost1"));
        Assert.Contains(errors, e => e.Message.Contains("neighbour 'ghost2'", StringComparison.Ordinal) && (e.Position.Line, e.Position.Column) == PositionOf(text, "ghost2"));
    }

    [Fact]
    public void Specialist_naming_an_unknown_topic_is_reported()
    {
        var text = Mutate(Small, "topics: [general]", "topics: [gneral]");
        AssertSingleErrorAt(text, "gneral", "names topic 'gneral', which is not declared");
    }

    [Fact]
    public void Regex_that_does_not_compile_is_reported()
    {
        var text = Mutate(Small, @"regex: '[a-z]+\(\)'", "regex: '[a-z'");
        AssertSingleErrorAt(text, "'[a-z'", "regex does not compile");
    }

    [Fact]
    public void Regex_with_a_backreference_is_rejected_because_the_engine_is_non_backtracking()
    {
        var text = Mutate(Small, @"regex: '[a-z]+\(\)'", @"regex: '(a)\1'");
        AssertSingleErrorAt(text, @"'(a)\1'", "non-backtracking");
    }

    [Fact]
    public void Regex_that_matches_the_empty_string_is_rejected()
    {
        var text = Mutate(Small, @"regex: '[a-z]+\(\)'", "regex: 'x*'");
        AssertSingleErrorAt(text, "'x*'", "matches the empty string");
    }

    [Fact]
    public void Duplicate_topic_id_is_reported_at_the_second_declaration()
    {
        var text = Mutate(Small, "  - id: strategy\n", "  - id: code\n");
        var errors = Errors(text);
        var (line, col) = PositionOf(text, "- id: code", 2);
        Assert.Contains(errors, e => e.Position.Line == line && e.Position.Column == col + 6 && e.Message.Contains("duplicate topic id 'code'", StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_specialist_and_rule_ids_are_reported()
    {
        var text = Mutate(Small, "{ id: coder2,", "{ id: coder,");
        text = Mutate(text, "{ id: bug, keyword: bug }", "{ id: python, keyword: bug }");
        var errors = Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("duplicate specialist id 'coder'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("duplicate rule id 'python'", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_version_is_reported()
    {
        var errors = Errors(Small.Replace("version: 1\n", "", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("missing required key 'version'", StringComparison.Ordinal));
    }

    [Fact]
    public void Unsupported_version_is_reported()
    {
        var text = Mutate(Small, "version: 1", "version: 2");
        AssertSingleErrorAt(text, "2\n", "expected version 1, found 2");
    }

    [Fact]
    public void Default_topic_that_does_not_exist_is_reported()
    {
        var text = Mutate(Small, "default_topic: general", "default_topic: chitchat");
        AssertSingleErrorAt(text, "chitchat", "default_topic 'chitchat' is not a declared topic");
    }

    [Theory]
    [InlineData("weight: 2 }", "weight: 0 }", "finite number > 0")]
    [InlineData("weight: 2 }", "weight: -1 }", "finite number > 0")]
    [InlineData("weight: 2 }", "weight: .inf }", "finite number")]
    [InlineData("weight: 2 }", "weight: heavy }", "finite number")]
    [InlineData("share: 0", "share: 1.5", "exploration.share in [0, 1]")]
    [InlineData("size: 2", "size: 0", "panel.size >= 1")]
    [InlineData("priority: 5", "priority: high", "to be an integer")]
    public void Bad_values_are_reported(string old, string replacement, string messagePart)
    {
        var errors = Errors(Mutate(Small, old, replacement));
        Assert.Contains(errors, e => e.Message.Contains(messagePart, StringComparison.Ordinal));
    }

    [Fact]
    public void Keyword_of_several_words_is_rejected_with_a_hint()
    {
        var text = Mutate(Small, "keyword: python", "keyword: 'python code'");
        AssertSingleErrorAt(text, "'python code'", "exactly one word");
    }

    [Fact]
    public void Rule_with_two_kinds_is_rejected()
    {
        var text = Mutate(Small, "{ id: bug, keyword: bug }", "{ id: bug, keyword: bug, phrase: a bug }");
        var errors = Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("exactly one of keyword, phrase or regex, found keyword and phrase", StringComparison.Ordinal));
    }

    [Fact]
    public void T3_champion_with_forbidden_provenance_is_rejected_at_load()
    {
        var text = Mutate(Small, "champion: strat-eu", "champion: gen");
        AssertSingleErrorAt(text, "gen\n    neighbours", "forbidden by tier T3");
    }

    [Fact]
    public void Class_C_topic_that_cannot_fill_a_panel_is_rejected_at_load()
    {
        var text = Mutate(Small, "size: 2", "size: 3");
        var errors = Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("needs a panel of 3 specialists allowed by T3, found 2", StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_yaml_is_reported_with_a_position()
    {
        var text = Mutate(Small, "default_topic: general", "default_topic: [general");
        var errors = Errors(text);
        var e = Assert.Single(errors);
        Assert.StartsWith("invalid YAML", e.Message, StringComparison.Ordinal);
        Assert.True(e.Position.Line >= 2);
    }

    [Fact]
    public void Wrong_shapes_are_reported_not_thrown()
    {
        var errors = Errors(Mutate(Small, "topics:\n  - id: general", "topics: 7\nx:\n  - id: general"));
        Assert.Contains(errors, e => e.Message.Contains("expected topics to be a list, found '7'", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_is_collected_in_one_exception()
    {
        var text = Mutate(Small, "tier: T3", "tier: T9");
        text = Mutate(text, "champion: coder\n", "champion: nobody\n");
        text += "\nextra: 1\n";
        var ex = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(text, "test.yaml"));
        Assert.True(ex.Errors.Count >= 3);
        Assert.Equal(ex.Errors.Count, ex.Message.Split('\n').Length);
        Assert.All(ex.Errors, e => Assert.Matches(@"^test\.yaml:\d+:\d+: ", e.ToString()));
    }

    [Fact]
    public void Invalid_utf8_is_reported_at_the_start()
    {
        var bytes = Encoding.UTF8.GetBytes(Small).Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        var ex = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(bytes, "bad.yaml"));
        Assert.StartsWith("bad.yaml:1:1: expected UTF-8", ex.Errors[0].ToString(), StringComparison.Ordinal);
    }
}

public class PolicyLoaderEdgeTests
{
    [Fact]
    public void Duplicate_key_in_a_mapping_is_reported_at_a_position()
    {
        var text = TestPolicies.Mutate(TestPolicies.Small, "default_topic: general\n", "default_topic: general\ndefault_topic: code\n");
        var errors = TestPolicies.Errors(text);
        var e = Assert.Single(errors);
        Assert.Contains("default_topic", e.ToString(), StringComparison.Ordinal);
        Assert.True(e.Position.Line is 2 or 3, e.ToString());
    }

    [Fact]
    public void Empty_file_is_reported()
    {
        var errors = TestPolicies.Errors("");
        Assert.Single(errors);
        Assert.Equal(1, errors[0].Position.Line);
    }

    [Fact]
    public void Scalar_root_is_reported_as_not_a_mapping()
    {
        var e = Assert.Single(TestPolicies.Errors("just text\n"));
        Assert.Contains("expected the policy to be a mapping", e.Message, StringComparison.Ordinal);
        Assert.Equal((1, 1), (e.Position.Line, e.Position.Column));
    }

    [Fact]
    public void Empty_allow_list_is_rejected_because_it_would_forbid_everyone()
    {
        var text = TestPolicies.Mutate(TestPolicies.Small, "T3: { lineages: [mistral, olmo]", "T3: { lineages: []");
        var errors = TestPolicies.Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("non-empty list", StringComparison.Ordinal));
    }

    [Fact]
    public void Specialist_id_starting_with_federation_is_rejected()
    {
        var text = TestPolicies.Mutate(TestPolicies.Small, "{ id: gen,", "{ id: federation-gen,");
        text = text.Replace("champion: gen\n", "champion: federation-gen\n", StringComparison.Ordinal);
        var errors = TestPolicies.Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("reserved for model names", StringComparison.Ordinal));
    }
}

public class PolicyLoaderEmptyValueTests
{
    [Theory]
    [InlineData("champion: coder\n", "champion: ''\n")]
    [InlineData("champion: coder\n", "champion:\n")]
    [InlineData("adapter: coder }", "adapter: \"\" }")]
    [InlineData("keyword: python", "keyword: ~")]
    public void Empty_or_null_values_are_reported(string old, string replacement)
    {
        var text = TestPolicies.Mutate(TestPolicies.Small, old, replacement);
        var errors = TestPolicies.Errors(text);
        Assert.Contains(errors, e => e.Message.Contains("non-empty text value, found nothing", StringComparison.Ordinal));
    }
}
