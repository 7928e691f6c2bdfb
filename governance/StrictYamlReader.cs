using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Governance;

/// <summary>
/// The shared core of the governance policy loaders (<c>reputation.yaml</c>, <c>diip.yaml</c>): closed mappings
/// (unknown and duplicate keys are errors), required keys, and readable descriptions of what was found. Each loader
/// collects errors at node positions and reports them as <c>file:line:col: message</c>.
/// </summary>
internal abstract class StrictYamlReader
{
    /// <summary>Records an error at <paramref name="n"/>'s start.</summary>
    protected abstract void Error(YamlNode n, string m);

    /// <summary><paramref name="node"/> as a mapping whose keys are plain, unique and (when given) among <paramref name="allowed"/>.</summary>
    protected YamlMappingNode? Mapping(YamlNode node, string what, string[]? allowed)
    {
        if (node is not YamlMappingNode m) { Error(node, $"expected {what} to be a mapping (key: value lines), found {Describe(node)}"); return null; }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var k in m.Children.Keys)
        {
            if (k is not YamlScalarNode ks || string.IsNullOrEmpty(ks.Value)) { Error(k, $"expected a plain key in {what}, found {Describe(k)}"); continue; }
            if (!seen.Add(ks.Value)) Error(k, $"duplicate key '{ks.Value}' in {what}");
            if (allowed is not null && Array.IndexOf(allowed, ks.Value) < 0)
                Error(k, $"unknown key '{ks.Value}' in {what}; expected one of: {string.Join(", ", allowed)}");
        }
        return m;
    }

    /// <summary>The value of <paramref name="key"/> in <paramref name="m"/>, or null.</summary>
    protected static YamlNode? Get(YamlMappingNode m, string key)
    {
        foreach (var (k, v) in m.Children)
            if (k is YamlScalarNode s && s.Value == key) return v;
        return null;
    }

    /// <summary>The value of <paramref name="key"/>; an error at <paramref name="owner"/> when it is missing.</summary>
    protected YamlNode? Require(YamlMappingNode m, YamlNode owner, string key, string what)
    {
        var v = Get(m, key);
        if (v is null) Error(owner, $"missing required key '{key}' in {what}");
        return v;
    }

    /// <summary>What a node holds, in words for an error message.</summary>
    protected static string Describe(YamlNode n) => n switch
    {
        YamlScalarNode s when string.IsNullOrEmpty(s.Value) || (s.Style == ScalarStyle.Plain && s.Value is "~" or "null") => "nothing (an empty or null value)",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => n.NodeType.ToString(),
    };
}
