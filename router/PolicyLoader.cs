using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Router;

/// <summary>
/// Reads <c>routing.yaml</c> strictly: unknown keys, wrong types, bad values and dangling references are all reported,
/// each as <c>file:line:col: message</c>, in one <see cref="PolicyException"/>. The server and <c>fed policy validate</c>
/// use this same parser. The schema is documented key by key in docs/routing.md.
/// </summary>
public static class PolicyLoader
{
    /// <summary>The only schema version this build reads.</summary>
    public const int SupportedVersion = 1;

    /// <summary>Default for <c>max_query_chars</c>.</summary>
    public const int DefaultMaxQueryChars = 4096;

    /// <summary>Loads and validates the policy file at <paramref name="path"/>; errors name the file as given.</summary>
    /// <exception cref="PolicyException">The file is not a valid policy.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RoutingPolicy Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses policy text; the CID is SHA-256 of its UTF-8 bytes.</summary>
    /// <exception cref="PolicyException">The text is not a valid policy.</exception>
    public static RoutingPolicy Parse(string text, string sourceName) => Parse(Encoding.UTF8.GetBytes(text), sourceName);

    /// <summary>Parses policy bytes (UTF-8); the CID is the lowercase hex SHA-256 of exactly these bytes.</summary>
    /// <exception cref="PolicyException">The bytes are not a valid policy.</exception>
    public static RoutingPolicy Parse(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        // Why the file bytes and not a canonical form: the canonical JSON writer lives on another branch; hashing the exact
        // bytes is stricter (any edit, even a comment, is a new policy) and anyone can reproduce it with sha256sum.
        var cid = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new PolicyException([new PolicyError(new PolicyPosition(sourceName, 1, 1), "expected UTF-8 text, found invalid UTF-8 bytes; save the file as UTF-8")]);
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        return new Reader(sourceName).Read(text, cid);
    }

    private sealed class Reader(string source)
    {
        private readonly List<PolicyError> _errors = [];

        private static readonly string[] TopKeys = ["version", "default_topic", "max_query_chars", "exploration", "panel", "tiers", "specialists", "topics"];
        private static readonly string[] ExplorationKeys = ["share"];
        private static readonly string[] PanelKeys = ["size", "agreement_threshold", "embedding_model"];
        private static readonly string[] TierKeys = ["lineages", "jurisdictions"];
        private static readonly string[] SpecialistKeys = ["id", "topics", "base_lineage", "jurisdiction", "adapter", "description"];
        private static readonly string[] TopicKeys = ["id", "description", "tier", "class", "priority", "min_score", "champion", "challengers", "neighbours", "checkers", "rules"];
        private static readonly string[] RuleKeys = ["id", "keyword", "phrase", "regex", "weight", "priority"];

        private static readonly Regex IdPattern = new("^[a-z0-9][a-z0-9._-]*$", RegexOptions.CultureInvariant);

        private PolicyPosition Pos(YamlNode n) => new(source, (int)n.Start.Line, (int)n.Start.Column);

        private void Error(YamlNode n, string message) => _errors.Add(new PolicyError(Pos(n), message));

        public RoutingPolicy Read(string text, string cid)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                var inner = e.InnerException is YamlException ie ? ie : e;
                var msg = inner.Message;
                // YamlDotNet prefixes "(Lin: x, Col: y, Chr: z) - (...): "; keep only the words.
                var cut = msg.IndexOf("): ", StringComparison.Ordinal);
                if (msg.StartsWith("(Lin", StringComparison.Ordinal) && cut >= 0) msg = msg[(cut + 3)..];
                throw new PolicyException([new PolicyError(new PolicyPosition(source, (int)inner.Start.Line, (int)inner.Start.Column), $"invalid YAML: {msg}")]);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                // YamlDotNet's scanner sometimes fails (InvalidOperationException; ArgumentException "The current event is of an
                // unsupported type" for a mapping key the parser cannot represent, found by the fuzz suite, issue 8) without a position (e.g. an unclosed flow sequence); replay the parser
                // to find the last event it read, so the error still points somewhere useful.
                var last = LastParsedMark(text);
                throw new PolicyException([new PolicyError(new PolicyPosition(source, (int)last.Line, (int)last.Column),
                    "invalid YAML after this point (unclosed bracket, brace or quote?)")]);
            }
            if (stream.Documents.Count != 1)
                throw new PolicyException([new PolicyError(new PolicyPosition(source, 1, 1), $"expected exactly one YAML document, found {stream.Documents.Count}")]);

            var root = stream.Documents[0].RootNode;
            var top = Mapping(root, "the policy", TopKeys);
            if (top is null) throw new PolicyException(_errors);

            // version
            int version = 0;
            if (Require(top, root, "version", "the policy") is { } vn && Int(vn, "version") is { } v)
            {
                version = v;
                if (v != SupportedVersion)
                    Error(vn, $"expected version {SupportedVersion}, found {v}; this build reads version {SupportedVersion} policies");
            }

            int maxChars = DefaultMaxQueryChars;
            if (Get(top, "max_query_chars") is { } mq && Int(mq, "max_query_chars") is { } mqv)
            {
                if (mqv < 16 || mqv > 1_000_000) Error(mq, $"expected max_query_chars between 16 and 1000000, found {mqv}");
                else maxChars = mqv;
            }

            double share = 0;
            if (Get(top, "exploration") is { } exNode && Mapping(exNode, "exploration", ExplorationKeys) is { } ex &&
                Get(ex, "share") is { } shNode && Number(shNode, "exploration.share") is { } sh)
            {
                if (sh is < 0 or > 1) Error(shNode, $"expected exploration.share in [0, 1], found {Fmt(sh)}");
                else share = sh;
            }

            int panelSize = 3;
            double agreement = 0.5;
            string embedding = RoutingPolicy.EmbeddingBase;
            if (Get(top, "panel") is { } pnNode && Mapping(pnNode, "panel", PanelKeys) is { } pn)
            {
                if (Get(pn, "size") is { } ps && Int(ps, "panel.size") is { } psv)
                {
                    if (psv < 1) Error(ps, $"expected panel.size >= 1, found {psv}");
                    else panelSize = psv;
                }
                if (Get(pn, "agreement_threshold") is { } at && Number(at, "panel.agreement_threshold") is { } atv)
                {
                    if (atv is < 0 or > 1) Error(at, $"expected panel.agreement_threshold in [0, 1], found {Fmt(atv)}");
                    else agreement = atv;
                }
                if (Get(pn, "embedding_model") is { } em && Str(em, "panel.embedding_model") is { } emv)
                {
                    if (emv is not (RoutingPolicy.EmbeddingBase or RoutingPolicy.EmbeddingLexical))
                        Error(em, $"expected panel.embedding_model to be '{RoutingPolicy.EmbeddingBase}' (the serving base's embeddings) or '{RoutingPolicy.EmbeddingLexical}' (word-set Jaccard), found '{emv}'");
                    else embedding = emv;
                }
            }

            var tiers = ReadTiers(top, root);
            var topicNodes = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            var topics = ReadTopics(top, root, topicNodes);
            var specialists = ReadSpecialists(top, root);

            // default topic
            string defaultTopic = "";
            if (Require(top, root, "default_topic", "the policy") is { } dn && Str(dn, "default_topic") is { } dt)
            {
                defaultTopic = dt;
                if (topics.Count > 0 && !topics.Any(t => t.Topic.Id == dt))
                    Error(dn, $"default_topic '{dt}' is not a declared topic; expected one of: {string.Join(", ", topics.Select(t => t.Topic.Id))}");
            }

            CrossCheck(topics, specialists, tiers, panelSize);

            if (_errors.Count > 0)
                throw new PolicyException(_errors.OrderBy(e => e.Position.Line).ThenBy(e => e.Position.Column).ToArray());

            return new RoutingPolicy(cid, source, version, defaultTopic, maxChars, share, panelSize, agreement,
                tiers.ToDictionary(t => t.Key, t => t.Value.Constraints), specialists.Select(s => s.Spec).ToArray(),
                topics.Select(t => t.Topic).ToArray()) { EmbeddingModel = embedding };
        }

        private static Mark LastParsedMark(string text)
        {
            var parser = new Parser(new StringReader(text));
            var last = Mark.Empty;
            try
            {
                while (parser.MoveNext()) last = parser.Current!.Start;
            }
            catch (Exception e) when (e is YamlException or InvalidOperationException)
            {
                // expected: we are locating the failure
            }
            return last;
        }

        private sealed record TopicRead(TopicPolicy Topic, YamlNode Node, YamlNode? TierNode, YamlNode? ClassNode, YamlNode? ChampionNode,
            IReadOnlyList<YamlNode> ChallengerNodes, IReadOnlyList<YamlNode> NeighbourNodes);

        private sealed record SpecialistRead(SpecialistRef Spec, YamlNode Node, IReadOnlyList<YamlNode> TopicNodes);

        private sealed record TierRead(TierConstraints Constraints, YamlNode Node);

        private Dictionary<TrustTier, TierRead> ReadTiers(YamlMappingNode top, YamlNode root)
        {
            var result = new Dictionary<TrustTier, TierRead>();
            if (Require(top, root, "tiers", "the policy") is not { } tn || Mapping(tn, "tiers", null) is not { } tm) return result;
            foreach (var (k, v) in tm.Children)
            {
                var name = (k as YamlScalarNode)?.Value ?? "";
                if (!TryTier(name, out var tier))
                {
                    Error(k, $"unknown tier '{name}' in tiers; expected one of: T1, T2, T3");
                    continue;
                }
                if (Mapping(v, $"tiers.{name}", TierKeys) is not { } m) continue;
                var lineages = AnyOrList(m, v, "lineages", $"tiers.{name}");
                var jurisdictions = AnyOrList(m, v, "jurisdictions", $"tiers.{name}");
                result[tier] = new TierRead(new TierConstraints(tier, lineages, jurisdictions), k);
            }
            return result;
        }

        private string[]? AnyOrList(YamlMappingNode m, YamlNode owner, string key, string ctx)
        {
            if (Require(m, owner, key, ctx) is not { } n) return null;
            if (n is YamlScalarNode s && s.Value == "any") return null;
            if (n is YamlSequenceNode)
            {
                var list = StrList(n, $"{ctx}.{key}");
                if (list.Count == 0) Error(n, $"expected {ctx}.{key} to be 'any' or a non-empty list, found an empty list (which would forbid every specialist)");
                return list.Select(x => x.Value).ToArray();
            }
            Error(n, $"expected {ctx}.{key} to be 'any' or a list of names, found {Describe(n)}");
            return null;
        }

        private List<TopicRead> ReadTopics(YamlMappingNode top, YamlNode root, Dictionary<string, YamlNode> seen)
        {
            var result = new List<TopicRead>();
            if (Require(top, root, "topics", "the policy") is not { } tn) return result;
            if (tn is not YamlSequenceNode seq) { Error(tn, $"expected topics to be a list, found {Describe(tn)}"); return result; }
            if (seq.Children.Count == 0) Error(tn, "expected at least one topic, found an empty list");
            foreach (var item in seq.Children)
            {
                if (Mapping(item, "a topic", TopicKeys) is not { } m) continue;
                var idNode = Require(m, item, "id", "topic");
                var id = idNode is null ? null : Id(idNode, "topic id");
                var ctx = $"topic '{id ?? "?"}'";
                if (id is not null && idNode is not null)
                {
                    if (seen.TryGetValue(id, out var first))
                        Error(idNode, $"duplicate topic id '{id}' (first declared at {Pos(first)}); topic ids must be unique");
                    else seen[id] = idNode;
                }
                var desc = Get(m, "description") is { } dn ? Str(dn, $"{ctx} description") ?? "" : "";
                var tierNode = Require(m, item, "tier", ctx);
                TrustTier tier = TrustTier.T1;
                if (tierNode is not null && Str(tierNode, $"{ctx} tier") is { } ts && !TryTier(ts, out tier))
                    Error(tierNode, $"expected tier T1, T2 or T3 in {ctx}, found '{ts}'");
                var classNode = Require(m, item, "class", ctx);
                VerificationClass cls = VerificationClass.A;
                if (classNode is not null && Str(classNode, $"{ctx} class") is { } cs && !TryClass(cs, out cls))
                    Error(classNode, $"expected verification class A, B or C in {ctx}, found '{cs}'");
                int priority = Get(m, "priority") is { } pn ? Int(pn, $"{ctx} priority") ?? 0 : 0;
                double minScore = 0;
                if (Get(m, "min_score") is { } msn && Number(msn, $"{ctx} min_score") is { } ms)
                {
                    if (ms < 0) Error(msn, $"expected {ctx} min_score >= 0, found {Fmt(ms)}");
                    else minScore = ms;
                }
                var champNode = Require(m, item, "champion", ctx);
                var champion = champNode is null ? "" : Str(champNode, $"{ctx} champion") ?? "";
                var challengers = Get(m, "challengers") is { } chn ? StrList(chn, $"{ctx} challengers") : [];
                var neighbours = Get(m, "neighbours") is { } nbn ? StrList(nbn, $"{ctx} neighbours") : [];
                var checkers = Get(m, "checkers") is { } ckn ? ReadCheckers(ckn, ctx) : [];
                var rules = Get(m, "rules") is { } rn ? ReadRules(rn, ctx) : [];
                if (id is null) continue;
                result.Add(new TopicRead(
                    new TopicPolicy(id, desc, tier, cls, priority, minScore, champion,
                        challengers.Select(x => x.Value).ToArray(), neighbours.Select(x => x.Value).ToArray(), rules, Pos(item)) { Checkers = checkers },
                    item, tierNode, classNode, champNode, challengers.Select(x => x.Node).ToArray(), neighbours.Select(x => x.Node).ToArray()));
            }
            return result;
        }

        // Checker names resolve against the built-in catalogue (Verification/AnswerCheckers.cs); unknown or repeated names are errors.
        private string[] ReadCheckers(YamlNode n, string ctx)
        {
            var result = new List<string>();
            foreach (var (name, node) in StrList(n, $"{ctx} checkers"))
            {
                if (!Verification.CheckerCatalog.Builtin.Contains(name))
                    Error(node, $"unknown checker '{name}' in {ctx}; known checkers: {string.Join(", ", Verification.CheckerCatalog.Builtin.Names)}");
                else if (result.Contains(name))
                    Error(node, $"checker '{name}' is listed twice in {ctx}; list each checker once");
                else result.Add(name);
            }
            return result.ToArray();
        }

        private List<MatchRule> ReadRules(YamlNode rn, string ctx)
        {
            var rules = new List<MatchRule>();
            if (rn is not YamlSequenceNode seq) { Error(rn, $"expected {ctx} rules to be a list, found {Describe(rn)}"); return rules; }
            var ids = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            int n = 0;
            foreach (var item in seq.Children)
            {
                n++;
                if (Mapping(item, $"a rule of {ctx}", RuleKeys) is not { } m) continue;
                string ruleId = $"r{n}";
                if (Get(m, "id") is { } idn && Id(idn, "rule id") is { } rid) ruleId = rid;
                var rctx = $"rule '{ruleId}' of {ctx}";
                if (ids.TryGetValue(ruleId, out var firstRule))
                    Error(Get(m, "id") ?? item, $"duplicate rule id '{ruleId}' in {ctx} (first at {Pos(firstRule)}); rule ids must be unique within a topic");
                else ids[ruleId] = item;

                var present = new[] { "keyword", "phrase", "regex" }.Where(k => Get(m, k) is not null).ToArray();
                if (present.Length != 1)
                {
                    Error(item, present.Length == 0
                        ? $"expected {rctx} to have one of keyword, phrase or regex, found none"
                        : $"expected {rctx} to have exactly one of keyword, phrase or regex, found {string.Join(" and ", present)}");
                    continue;
                }
                var kindKey = present[0];
                var patNode = Get(m, kindKey)!;
                var pattern = Str(patNode, $"{rctx} {kindKey}");
                double weight = 1;
                if (Get(m, "weight") is { } wn && Number(wn, $"{rctx} weight") is { } w)
                {
                    if (!(w > 0) || double.IsInfinity(w)) Error(wn, $"expected {rctx} weight to be a finite number > 0, found {Fmt(w)}");
                    else weight = w;
                }
                int priority = Get(m, "priority") is { } pn ? Int(pn, $"{rctx} priority") ?? 0 : 0;
                if (pattern is null) continue;

                MatchKind kind;
                IReadOnlyList<string> words = [];
                switch (kindKey)
                {
                    case "keyword":
                        kind = MatchKind.Keyword;
                        words = QueryText.Words(QueryText.Normalize(pattern));
                        if (words.Count != 1)
                        {
                            Error(patNode, $"expected {rctx} keyword to be exactly one word after normalisation, found {words.Count} ({string.Join(" ", words.Select(x => $"'{x}'"))}); use phrase: for several words or regex: for symbols");
                            continue;
                        }
                        break;
                    case "phrase":
                        kind = MatchKind.Phrase;
                        words = QueryText.Words(QueryText.Normalize(pattern));
                        if (words.Count == 0)
                        {
                            Error(patNode, $"expected {rctx} phrase to contain at least one word, found '{pattern}'; use regex: for symbols");
                            continue;
                        }
                        break;
                    default:
                        kind = MatchKind.Regex;
                        if (pattern.Length == 0) { Error(patNode, $"expected {rctx} regex to be non-empty"); continue; }
                        var rx = CompileRegex(pattern, out var why);
                        if (rx is null) { Error(patNode, $"{rctx} regex does not compile: {why}"); continue; }
                        if (FirstUpperCaseLiteral(pattern) is { } upper) { Error(patNode, $"expected {rctx} regex to be written in lower case (it runs on the lower-cased query), found '{pattern[upper]}' at offset {upper}; write it in lower case"); continue; }
                        if (rx.IsMatch("")) { Error(patNode, $"expected {rctx} regex to need at least one character, found '{pattern}', which matches the empty string and so every query"); continue; }
                        break;
                }
                rules.Add(new MatchRule(ruleId, kind, pattern, words, weight, priority, Pos(item)));
            }
            return rules;
        }

        private List<SpecialistRead> ReadSpecialists(YamlMappingNode top, YamlNode root)
        {
            var result = new List<SpecialistRead>();
            if (Require(top, root, "specialists", "the policy") is not { } sn) return result;
            if (sn is not YamlSequenceNode seq) { Error(sn, $"expected specialists to be a list, found {Describe(sn)}"); return result; }
            if (seq.Children.Count == 0) Error(sn, "expected at least one specialist, found an empty list");
            var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var item in seq.Children)
            {
                if (Mapping(item, "a specialist", SpecialistKeys) is not { } m) continue;
                var idNode = Require(m, item, "id", "specialist");
                var id = idNode is null ? null : Id(idNode, "specialist id");
                var ctx = $"specialist '{id ?? "?"}'";
                if (id is not null && idNode is not null)
                {
                    if (id.StartsWith("federation", StringComparison.Ordinal))
                        Error(idNode, $"expected a specialist id that does not start with 'federation' (reserved for model names), found '{id}'");
                    if (seen.TryGetValue(id, out var first))
                        Error(idNode, $"duplicate specialist id '{id}' (first declared at {Pos(first)}); specialist ids must be unique");
                    else seen[id] = idNode;
                }
                var topicsNode = Require(m, item, "topics", ctx);
                var topics = topicsNode is null ? [] : StrList(topicsNode, $"{ctx} topics");
                if (topicsNode is YamlSequenceNode && topics.Count == 0) Error(topicsNode, $"expected {ctx} topics to list at least one topic, found an empty list");
                var lineage = Require(m, item, "base_lineage", ctx) is { } ln ? Str(ln, $"{ctx} base_lineage") : null;
                var jur = Require(m, item, "jurisdiction", ctx) is { } jn ? Str(jn, $"{ctx} jurisdiction") : null;
                var adapter = Require(m, item, "adapter", ctx) is { } an ? Str(an, $"{ctx} adapter") : null;
                if (Get(m, "description") is { } dn) Str(dn, $"{ctx} description");
                if (id is null || lineage is null || jur is null || adapter is null) continue;
                result.Add(new SpecialistRead(new SpecialistRef(id, topics.Select(t => t.Value).ToArray(), lineage, jur, adapter, Pos(item)),
                    item, topics.Select(t => t.Node).ToArray()));
            }
            return result;
        }

        private void CrossCheck(List<TopicRead> topics, List<SpecialistRead> specialists, Dictionary<TrustTier, TierRead> tiers, int panelSize)
        {
            var specById = new Dictionary<string, SpecialistRef>(StringComparer.Ordinal);
            foreach (var s in specialists) specById.TryAdd(s.Spec.Id, s.Spec);
            var topicIds = new HashSet<string>(topics.Select(t => t.Topic.Id), StringComparer.Ordinal);

            foreach (var s in specialists)
                for (int i = 0; i < s.Spec.Topics.Count; i++)
                    if (!topicIds.Contains(s.Spec.Topics[i]))
                        Error(s.TopicNodes[i], $"specialist '{s.Spec.Id}' names topic '{s.Spec.Topics[i]}', which is not declared under topics:");

            foreach (var t in topics)
            {
                var topic = t.Topic;
                TierConstraints? constraints = null;
                if (t.TierNode is not null && t.TierNode is YamlScalarNode && TryTier(((YamlScalarNode)t.TierNode).Value ?? "", out _))
                {
                    if (tiers.TryGetValue(topic.Tier, out var tr)) constraints = tr.Constraints;
                    else Error(t.TierNode, $"topic '{topic.Id}' uses tier {topic.Tier}, but tiers: has no {topic.Tier} entry; declare it (lineages: any, jurisdictions: any for no constraint)");
                }

                void CheckRef(string id, YamlNode node, string role)
                {
                    if (!specById.TryGetValue(id, out var spec))
                    {
                        Error(node, $"{role} '{id}' of topic '{topic.Id}' is not a declared specialist; declare it under specialists: or fix the id");
                        return;
                    }
                    if (constraints?.WhyForbidden(spec) is { } why)
                        Error(node, $"{role} '{id}' of topic '{topic.Id}' is forbidden by tier {topic.Tier}: {why}");
                }

                if (t.ChampionNode is not null && topic.Champion.Length > 0) CheckRef(topic.Champion, t.ChampionNode, "champion");
                for (int i = 0; i < topic.Challengers.Count; i++) CheckRef(topic.Challengers[i], t.ChallengerNodes[i], "challenger");
                for (int i = 0; i < topic.Neighbours.Count; i++) CheckRef(topic.Neighbours[i], t.NeighbourNodes[i], "neighbour");

                if (topic.Class == VerificationClass.C && t.ClassNode is not null && constraints is not null)
                {
                    var eligible = RoutePlanner.CandidatePool(topic, specialists.Select(s => s.Spec))
                        .Count(s => constraints.Allows(s));
                    if (eligible < panelSize)
                        Error(t.ClassNode, $"class C topic '{topic.Id}' needs a panel of {panelSize} specialists allowed by {topic.Tier}, found {eligible}; add neighbours or specialists for it, or lower panel.size");
                }
            }
        }

        // --- node helpers ---

        private YamlMappingNode? Mapping(YamlNode node, string what, string[]? allowedKeys)
        {
            if (node is not YamlMappingNode m)
            {
                Error(node, $"expected {what} to be a mapping (key: value lines), found {Describe(node)}");
                return null;
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var k in m.Children.Keys)
            {
                if (k is not YamlScalarNode ks || ks.Value is null) { Error(k, $"expected a plain key in {what}, found {Describe(k)}"); continue; }
                if (!seen.Add(ks.Value)) Error(k, $"duplicate key '{ks.Value}' in {what}");
                if (allowedKeys is not null && Array.IndexOf(allowedKeys, ks.Value) < 0)
                    Error(k, $"unknown key '{ks.Value}' in {what}; expected one of: {string.Join(", ", allowedKeys)}");
            }
            return m;
        }

        private static YamlNode? Get(YamlMappingNode m, string key)
        {
            foreach (var (k, v) in m.Children)
                if (k is YamlScalarNode s && s.Value == key) return v;
            return null;
        }

        private YamlNode? Require(YamlMappingNode m, YamlNode owner, string key, string what)
        {
            var v = Get(m, key);
            if (v is null) Error(owner, $"missing required key '{key}' in {what}");
            return v;
        }

        private string? Str(YamlNode n, string what)
        {
            if (n is YamlScalarNode s && !string.IsNullOrEmpty(s.Value) && !(s.Style == ScalarStyle.Plain && s.Value is "~" or "null"))
                return s.Value;
            Error(n, $"expected {what} to be a non-empty text value, found {Describe(n)}");
            return null;
        }

        private string? Id(YamlNode n, string what)
        {
            var s = Str(n, what);
            if (s is null) return null;
            if (!IdPattern.IsMatch(s)) { Error(n, $"expected {what} to match [a-z0-9][a-z0-9._-]*, found '{s}'"); return null; }
            return s;
        }

        private int? Int(YamlNode n, string what)
        {
            if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain &&
                int.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                return v;
            Error(n, $"expected {what} to be an integer, found {Describe(n)}");
            return null;
        }

        private double? Number(YamlNode n, string what)
        {
            if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain &&
                double.TryParse(s.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                    CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
                return v;
            Error(n, $"expected {what} to be a finite number, found {Describe(n)}");
            return null;
        }

        private List<(string Value, YamlNode Node)> StrList(YamlNode n, string what)
        {
            var list = new List<(string, YamlNode)>();
            if (n is not YamlSequenceNode seq) { Error(n, $"expected {what} to be a list, found {Describe(n)}"); return list; }
            foreach (var c in seq.Children)
                if (Str(c, $"each of {what}") is { } s) list.Add((s, c));
            return list;
        }

        private static string Describe(YamlNode n) => n switch
        {
            YamlScalarNode s when string.IsNullOrEmpty(s.Value) || (s.Style == ScalarStyle.Plain && s.Value is "~" or "null") => "nothing (an empty or null value)",
            YamlScalarNode s => $"'{s.Value}'",
            YamlSequenceNode => "a list",
            YamlMappingNode => "a mapping",
            _ => n.NodeType.ToString(),
        };

        private static string Fmt(double d) => d.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Index of the first upper-case letter that the regex would have to match literally, or null. Escapes (<c>\D</c>,
    /// <c>\p{Lu}</c>, <c>\k&lt;Name&gt;</c>) and group names are skipped. Why: queries are lower-cased before matching, and
    /// RegexOptions.IgnoreCase makes the non-backtracking engine about 4× slower, so patterns must be lower case instead.
    /// </summary>
    internal static int? FirstUpperCaseLiteral(string pattern)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                char n = pattern[i + 1];
                if ((n is 'p' or 'P') && i + 2 < pattern.Length && pattern[i + 2] == '{') i = SkipTo(pattern, i + 3, '}');
                else if (n == 'k' && i + 2 < pattern.Length && pattern[i + 2] is '<' or '\'') i = SkipTo(pattern, i + 3, pattern[i + 2] == '<' ? '>' : '\'');
                else i++;
                continue;
            }
            if (c == '(' && i + 3 < pattern.Length && pattern[i + 1] == '?' && pattern[i + 2] is '<' or '\'' && pattern[i + 3] is not ('=' or '!'))
            {
                i = SkipTo(pattern, i + 3, pattern[i + 2] == '<' ? '>' : '\'');
                continue;
            }
            if (char.IsUpper(c)) return i;
        }
        return null;

        static int SkipTo(string s, int from, char end)
        {
            int j = s.IndexOf(end, from);
            return j < 0 ? s.Length : j;
        }
    }

    internal static bool TryTier(string s, out TrustTier tier)
    {
        tier = s switch { "T1" => TrustTier.T1, "T2" => TrustTier.T2, "T3" => TrustTier.T3, _ => 0 };
        return tier != 0;
    }

    internal static bool TryClass(string s, out VerificationClass cls)
    {
        cls = s switch { "A" => VerificationClass.A, "B" => VerificationClass.B, "C" => VerificationClass.C, _ => 0 };
        return cls != 0;
    }

    /// <summary>
    /// Compiles a rule regex the one way the classifier runs it: non-backtracking (linear time, so no timeout is needed and
    /// the result never depends on machine speed), culture-invariant. Constructs that engine lacks (backreferences,
    /// lookarounds, atomic groups) are rejected with the engine's message.
    /// </summary>
    internal static Regex? CompileRegex(string pattern, out string? why)
    {
        try
        {
            why = null;
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, Regex.InfiniteMatchTimeout);
        }
        catch (ArgumentException e)
        {
            why = e.Message;
            return null;
        }
        catch (NotSupportedException e)
        {
            why = e.Message + " (the router runs regexes with the non-backtracking engine; rewrite without backreferences or lookarounds)";
            return null;
        }
    }
}
