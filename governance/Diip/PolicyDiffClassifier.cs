using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Governance.Diip;

/// <summary>Which policy document a diff changes.</summary>
public enum PolicyDocumentKind
{
    /// <summary><c>policies/routing.yaml</c>.</summary>
    Routing,
    /// <summary><c>policies/reputation.yaml</c>.</summary>
    Reputation,
    /// <summary><c>policies/diip.yaml</c>.</summary>
    Diip,
}

/// <summary>One row of the key-path table: a path pattern, the class a change under it needs, and why.</summary>
/// <param name="Pattern">Dotted path; <c>[*]</c> matches any list item (items with an <c>id</c> are named by it: <c>topics[code]</c>).</param>
public sealed record PolicyKeyRule(PolicyDocumentKind Document, string Pattern, DiipClass Class, string Why);

/// <summary>One changed key path and the rule that classed it.</summary>
public sealed record PolicyChange(string Path, DiipClass Class, string Rule, string Why);

/// <summary>A diff's class (the highest of its changes) and every change.</summary>
public sealed record PolicyDiffClassification(DiipClass Class, IReadOnlyList<PolicyChange> Changes);

/// <summary>
/// Decides a policy diff's DIIP class by what it changes (seed §7: "power-bearing knobs = class 3: who may answer/judge,
/// provenance constraints, and the reputation→influence mapping … The mechanical parts (topic classification, capacity
/// balancing) are class 1–2"). The most specific matching row of <see cref="Table"/> classes each changed path; a path
/// no row covers is class 3 (unknown knobs are treated as power-bearing). A diff takes the highest class of its changes.
/// </summary>
public static class PolicyDiffClassifier
{
    /// <summary>The key-path table (also in docs/diip.md).</summary>
    public static readonly IReadOnlyList<PolicyKeyRule> Table =
    [
        new(PolicyDocumentKind.Routing, "version", DiipClass.TopicAdapter, "schema version: mechanical"),
        new(PolicyDocumentKind.Routing, "default_topic", DiipClass.BaseOrCrossTopic, "topic classification across all topics"),
        new(PolicyDocumentKind.Routing, "max_query_chars", DiipClass.BaseOrCrossTopic, "capacity balancing across all topics"),
        new(PolicyDocumentKind.Routing, "exploration", DiipClass.Constitution, "who gets to answer (newcomer slots)"),
        new(PolicyDocumentKind.Routing, "panel", DiipClass.Constitution, "who judges: consensus panel size and agreement threshold"),
        new(PolicyDocumentKind.Routing, "tiers", DiipClass.Constitution, "provenance constraints (lineages, jurisdictions)"),
        new(PolicyDocumentKind.Routing, "specialists", DiipClass.Constitution, "who may answer: admission, topics, lineage, jurisdiction"),
        new(PolicyDocumentKind.Routing, "specialists[*].description", DiipClass.TopicAdapter, "text only"),
        new(PolicyDocumentKind.Routing, "specialists[*].adapter", DiipClass.TopicAdapter, "which adapter a specialist serves (a class-1 swap)"),
        new(PolicyDocumentKind.Routing, "topics", DiipClass.BaseOrCrossTopic, "adding or removing a topic changes classification across topics"),
        new(PolicyDocumentKind.Routing, "topics[*].description", DiipClass.TopicAdapter, "text only"),
        new(PolicyDocumentKind.Routing, "topics[*].rules", DiipClass.TopicAdapter, "topic rules and keywords (classification)"),
        new(PolicyDocumentKind.Routing, "topics[*].priority", DiipClass.TopicAdapter, "topic classification tie-break"),
        new(PolicyDocumentKind.Routing, "topics[*].min_score", DiipClass.TopicAdapter, "topic classification cut-off"),
        new(PolicyDocumentKind.Routing, "topics[*].neighbours", DiipClass.TopicAdapter, "which topics are neighbours (regression breadth)"),
        new(PolicyDocumentKind.Routing, "topics[*].champion", DiipClass.TopicAdapter, "the topic's champion (a class-1 adoption)"),
        new(PolicyDocumentKind.Routing, "topics[*].challengers", DiipClass.TopicAdapter, "shadow challengers (capacity)"),
        new(PolicyDocumentKind.Routing, "topics[*].tier", DiipClass.Constitution, "provenance constraint of the topic"),
        new(PolicyDocumentKind.Routing, "topics[*].class", DiipClass.Constitution, "who judges: checker (A), trust score (B) or panel (C)"),
        new(PolicyDocumentKind.Reputation, "version", DiipClass.TopicAdapter, "schema version: mechanical"),
        new(PolicyDocumentKind.Reputation, "defaults", DiipClass.Constitution, "reputation→influence mapping and slashing"),
        new(PolicyDocumentKind.Reputation, "topics", DiipClass.Constitution, "reputation→influence mapping and slashing per topic"),
        new(PolicyDocumentKind.Diip, "version", DiipClass.TopicAdapter, "schema version: mechanical"),
        new(PolicyDocumentKind.Diip, "gauntlet", DiipClass.Constitution, "thresholds: what evidence admits weights"),
        new(PolicyDocumentKind.Diip, "voting", DiipClass.Constitution, "voting rules"),
        new(PolicyDocumentKind.Diip, "monitoring", DiipClass.Constitution, "thresholds: when an activation rolls back"),
        new(PolicyDocumentKind.Diip, "classes", DiipClass.Constitution, "thresholds, quorum, bonds, time-locks"),
        new(PolicyDocumentKind.Diip, "profiles", DiipClass.Constitution, "durations of every class"),
    ];

    private static readonly Dictionary<PolicyKeyRule, Regex> Compiled = Table.ToDictionary(r => r, r => new Regex(
        "^" + Regex.Escape(r.Pattern).Replace(@"\[\*]", @"\[[^\]]*]", StringComparison.Ordinal) + @"(?=$|\.|\[)",
        RegexOptions.CultureInvariant));

    /// <summary>Classes a list of changed key paths (e.g. <c>topics[code].rules[python].keyword</c>).</summary>
    public static PolicyDiffClassification Classify(IEnumerable<string> changedPaths, PolicyDocumentKind document)
    {
        var changes = new List<PolicyChange>();
        foreach (var path in changedPaths.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var rule = Table.Where(r => r.Document == document && Compiled[r].IsMatch(path)).MaxBy(r => r.Pattern.Length);
            changes.Add(rule is null
                ? new PolicyChange(path, DiipClass.Constitution, "(no row)", "a knob the table does not list is treated as power-bearing")
                : new PolicyChange(path, rule.Class, rule.Pattern, rule.Why));
        }
        var cls = changes.Count == 0 ? DiipClass.TopicAdapter : changes.Max(c => c.Class);
        return new PolicyDiffClassification(cls, changes);
    }

    /// <summary>Classes the change from <paramref name="oldYaml"/> to <paramref name="newYaml"/> (both parsed to trees and compared leaf by leaf).</summary>
    /// <exception cref="YamlException">Either document is not YAML.</exception>
    public static PolicyDiffClassification Classify(string oldYaml, string newYaml, PolicyDocumentKind document) =>
        Classify(ChangedPaths(oldYaml, newYaml), document);

    /// <summary>The key paths whose values differ between two YAML documents (added and removed ones included).</summary>
    public static IReadOnlyList<string> ChangedPaths(string oldYaml, string newYaml)
    {
        var a = Flatten(oldYaml);
        var b = Flatten(newYaml);
        return a.Keys.Union(b.Keys).Where(k => !a.TryGetValue(k, out var x) || !b.TryGetValue(k, out var y) || x != y)
            .Order(StringComparer.Ordinal).ToArray();
    }

    private static Dictionary<string, string> Flatten(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (stream.Documents.Count > 0) Walk(stream.Documents[0].RootNode, "", result);
        return result;
    }

    private static void Walk(YamlNode node, string path, Dictionary<string, string> into)
    {
        switch (node)
        {
            case YamlMappingNode m:
                foreach (var (k, v) in m.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? k.ToString();
                    Walk(v, path.Length == 0 ? key : $"{path}.{key}", into);
                }
                if (m.Children.Count == 0) into[path] = "{}";
                break;
            case YamlSequenceNode s when s.Children.All(c => c is YamlScalarNode):
                // A list of scalars (lineages, challengers, topics of a specialist) is one value: order matters to the reader.
                into[path] = "[" + string.Join(",", s.Children.Select(c => ((YamlScalarNode)c).Value)) + "]";
                break;
            case YamlSequenceNode s:
                for (int i = 0; i < s.Children.Count; i++)
                {
                    var item = s.Children[i];
                    // Items with an id are named by it, so inserting a topic does not renumber (and reclass) the others.
                    var id = item is YamlMappingNode im && im.Children.TryGetValue(new YamlScalarNode("id"), out var idn) && idn is YamlScalarNode ids ? ids.Value : null;
                    Walk(item, $"{path}[{id ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture)}]", into);
                }
                break;
            case YamlScalarNode sc:
                into[path] = sc.Value ?? "";
                break;
        }
    }
}
