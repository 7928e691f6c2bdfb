using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Memory.Policy;

/// <summary>Every problem in a memory policy file, each as <c>file:line:col: message</c>.</summary>
public sealed class MemoryPolicyException(IReadOnlyList<string> errors) : Exception(string.Join("\n", errors))
{
    /// <summary>The errors in file order.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// Reads <c>policies/memory.yaml</c> strictly: unknown keys, wrong kinds and bad values are all reported with their
/// position. Schema (docs/memory.md §Policy): <c>version: 1</c>; <c>limits: {max_content_bytes, max_metadata_bytes,
/// max_batch}</c>; <c>user: {custodial}</c>; <c>topic: {custodial, curators: {topic-id|"*": [user…]}}</c>;
/// <c>public: {custodial, writers: [user…]}</c>; <c>anonymous_read</c>.
/// </summary>
public static class MemoryPolicyLoader
{
    /// <summary>Loads the file at <paramref name="path"/>.</summary>
    /// <exception cref="MemoryPolicyException">Not a valid policy.</exception>
    public static MemoryPolicy Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses policy bytes; the policy CID is the SHA-256 of exactly these bytes.</summary>
    /// <exception cref="MemoryPolicyException">Not a valid policy.</exception>
    public static MemoryPolicy Parse(byte[] bytes, string source)
    {
        var cid = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new MemoryPolicyException([$"{source}:1:1: expected UTF-8 text, found invalid bytes; save the file as UTF-8"]); }
        var errors = new List<string>();
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            throw new MemoryPolicyException([$"{source}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.InnerException?.Message ?? e.Message}"]);
        }
        if (stream.Documents.Count != 1)
            throw new MemoryPolicyException([$"{source}:1:1: expected exactly one YAML document, found {stream.Documents.Count}"]);

        string Pos(YamlNode n) => $"{source}:{n.Start.Line}:{n.Start.Column}";
        void Err(YamlNode n, string m) => errors.Add($"{Pos(n)}: {m}");

        YamlMappingNode? Map(YamlNode n, string what, string[] keys)
        {
            if (n is not YamlMappingNode m)
            {
                Err(n, $"expected {what} to be a mapping");
                return null;
            }
            foreach (var k in m.Children.Keys)
            {
                var name = (k as YamlScalarNode)?.Value ?? "";
                if (!keys.Contains(name)) Err(k, $"unknown key \"{name}\" in {what}; expected one of: {string.Join(", ", keys)}");
            }
            return m;
        }
        YamlNode? Get(YamlMappingNode m, string key) =>
            m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;
        int? Int(YamlNode n, string what, int min, int max)
        {
            if (n is YamlScalarNode { Style: ScalarStyle.Plain } s && int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                if (v < min || v > max) { Err(n, $"expected {what} between {min} and {max}, found {v}"); return null; }
                return v;
            }
            Err(n, $"expected {what} to be an integer, found \"{(n as YamlScalarNode)?.Value ?? n.NodeType.ToString()}\"");
            return null;
        }
        bool? Bool(YamlNode n, string what)
        {
            if (n is YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } s) return s.Value == "true";
            Err(n, $"expected {what} to be true or false, found \"{(n as YamlScalarNode)?.Value ?? n.NodeType.ToString()}\"");
            return null;
        }
        List<string> Users(YamlNode n, string what)
        {
            var list = new List<string>();
            if (n is not YamlSequenceNode seq) { Err(n, $"expected {what} to be a list of user ids"); return list; }
            foreach (var item in seq)
            {
                if (item is YamlScalarNode { Value: { } u } && MemoryNamespace.ValidId(u)) list.Add(u);
                else Err(item, $"expected a user id in {what} (1-{MemoryNamespace.MaxIdLength} characters of A-Z a-z 0-9 . _ @ -)");
            }
            return list;
        }

        var root = Map(stream.Documents[0].RootNode, "the memory policy", ["version", "limits", "user", "topic", "public", "anonymous_read"]);
        if (root is null) throw new MemoryPolicyException(errors);
        if (Get(root, "version") is not { } vn) Err(root, "missing \"version\"; add 'version: 1'");
        else if (Int(vn, "version", 0, int.MaxValue) is { } v && v != 1) Err(vn, $"expected version 1, found {v}; this build reads version 1 memory policies");

        var d = MemoryPolicy.Default;
        int maxContent = d.Limits.MaxContentBytes, maxMeta = d.Limits.MaxMetadataBytes, maxBatch = d.Limits.MaxBatch;
        if (Get(root, "limits") is { } ln && Map(ln, "limits", ["max_content_bytes", "max_metadata_bytes", "max_batch"]) is { } lm)
        {
            if (Get(lm, "max_content_bytes") is { } x && Int(x, "limits.max_content_bytes", 1, 16 << 20) is { } xv) maxContent = xv;
            if (Get(lm, "max_metadata_bytes") is { } y && Int(y, "limits.max_metadata_bytes", 2, 1 << 20) is { } yv) maxMeta = yv;
            if (Get(lm, "max_batch") is { } z && Int(z, "limits.max_batch", 1, 1_000_000) is { } zv) maxBatch = zv;
        }
        bool userCustodial = d.UserCustodial, topicCustodial = d.TopicCustodial, publicCustodial = d.PublicCustodial, anon = d.AnonymousRead;
        var curators = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var writers = new List<string>();
        if (Get(root, "user") is { } un && Map(un, "user", ["custodial"]) is { } um && Get(um, "custodial") is { } uc && Bool(uc, "user.custodial") is { } ucv)
            userCustodial = ucv;
        if (Get(root, "topic") is { } tn && Map(tn, "topic", ["custodial", "curators"]) is { } tm)
        {
            if (Get(tm, "custodial") is { } tc && Bool(tc, "topic.custodial") is { } tcv) topicCustodial = tcv;
            if (Get(tm, "curators") is { } cn)
            {
                if (cn is not YamlMappingNode cm) Err(cn, "expected topic.curators to be a mapping from topic id (or \"*\") to a list of user ids");
                else
                    foreach (var (k, val) in cm.Children)
                    {
                        var topic = (k as YamlScalarNode)?.Value ?? "";
                        if (topic != "*" && !MemoryNamespace.ValidId(topic)) Err(k, $"\"{topic}\" is not a topic id (or \"*\" for every topic)");
                        else curators[topic] = Users(val, $"topic.curators.{topic}");
                    }
            }
        }
        if (Get(root, "public") is { } pn && Map(pn, "public", ["custodial", "writers"]) is { } pm)
        {
            if (Get(pm, "custodial") is { } pc && Bool(pc, "public.custodial") is { } pcv) publicCustodial = pcv;
            if (Get(pm, "writers") is { } wn) writers = Users(wn, "public.writers");
        }
        if (Get(root, "anonymous_read") is { } an && Bool(an, "anonymous_read") is { } anv) anon = anv;
        if (errors.Count > 0) throw new MemoryPolicyException(errors);
        return new MemoryPolicy(new MemoryLimits(maxContent, maxMeta, maxBatch), userCustodial, topicCustodial, publicCustodial, curators, writers, anon, cid);
    }
}
