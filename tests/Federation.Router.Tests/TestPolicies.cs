namespace Federation.Router.Tests;

/// <summary>Policy texts and helpers shared by the router tests.</summary>
internal static class TestPolicies
{
    /// <summary>A small valid policy; tests mutate it with string replacement.</summary>
    public const string Small = """
        version: 1
        default_topic: general
        exploration:
          share: 0
        panel:
          size: 2
        tiers:
          T1: { lineages: any, jurisdictions: any }
          T2: { lineages: any, jurisdictions: any }
          T3: { lineages: [mistral, olmo], jurisdictions: [EU, US] }
        specialists:
          - { id: gen, topics: [general], base_lineage: qwen, jurisdiction: CN, adapter: gen }
          - { id: coder, topics: [code], base_lineage: qwen, jurisdiction: CN, adapter: coder }
          - { id: coder2, topics: [code], base_lineage: olmo, jurisdiction: US, adapter: coder2 }
          - { id: strat-eu, topics: [strategy], base_lineage: mistral, jurisdiction: EU, adapter: s1 }
          - { id: strat-us, topics: [strategy], base_lineage: olmo, jurisdiction: US, adapter: s2 }
        topics:
          - id: general
            tier: T1
            class: B
            champion: gen
            rules:
              - { id: hello, keyword: hello, weight: 0.5 }
          - id: code
            description: programming
            tier: T1
            class: A
            priority: 5
            champion: coder
            challengers: [coder2]
            rules:
              - { id: python, keyword: python, weight: 2 }
              - { id: bug, keyword: bug }
              - { id: stack, phrase: stack trace, weight: 3 }
              - { id: call, regex: '[a-z]+\(\)', weight: 1.5 }
          - id: strategy
            tier: T3
            class: C
            priority: 9
            champion: strat-eu
            neighbours: [strat-us]
            rules:
              - { id: strategy, keyword: strategy, weight: 2 }
              - { id: jv, phrase: joint venture, weight: 3 }
        """;

    public static RoutingPolicy Parse(string text) => PolicyLoader.Parse(text, "test.yaml");

    /// <summary>Parses text expected to fail and returns its errors.</summary>
    public static IReadOnlyList<PolicyError> Errors(string text) =>
        Assert.Throws<PolicyException>(() => PolicyLoader.Parse(text, "test.yaml")).Errors;

    /// <summary>1-based (line, column) of the first occurrence of <paramref name="marker"/> in <paramref name="text"/>.</summary>
    public static (int Line, int Column) PositionOf(string text, string marker, int occurrence = 1)
    {
        int idx = -1;
        for (int i = 0; i < occurrence; i++)
        {
            idx = text.IndexOf(marker, idx + 1, StringComparison.Ordinal);
            Assert.True(idx >= 0, $"marker '{marker}' not found");
        }
        int line = 1, col = 1;
        for (int i = 0; i < idx; i++)
        {
            if (text[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return (line, col);
    }

    /// <summary>Replaces exactly one occurrence of <paramref name="old"/>.</summary>
    public static string Mutate(string text, string old, string replacement)
    {
        int idx = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(idx >= 0, $"'{old}' not found in policy text");
        return string.Concat(text.AsSpan(0, idx), replacement, text.AsSpan(idx + old.Length));
    }

    /// <summary>The repository's policies/routing.yaml, found by searching upward from the test assembly.</summary>
    public static string DefaultPolicyPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            var p = Path.Combine(dir.FullName, "policies", "routing.yaml");
            if (File.Exists(p) && File.Exists(Path.Combine(dir.FullName, "Federation.sln"))) return p;
            dir = dir.Parent;
        }
        throw new FileNotFoundException("policies/routing.yaml not found above " + AppContext.BaseDirectory);
    }
}
