using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Governance;

/// <summary>All knobs of one topic: the §9.9 math, slashing, the exploration budget and the independence measure.</summary>
/// <param name="Math">The §9.9 knobs (half-life, κ, C₀, γ, β, stake₀, g_max, w_max).</param>
/// <param name="SlashFactor">S is multiplied by this on a slashing event (seed: 0.1).</param>
/// <param name="RecoveryHalfLife">Half-life of the slashing deficit 1 − S (see <see cref="Slashing"/>).</param>
/// <param name="ExplorationShare">Share of audits and routing slots reserved for newcomers.</param>
/// <param name="NewcomerMass">A node whose evidence mass N is below this is a newcomer.</param>
/// <param name="Independence">ρ₀ and m of the independence measure.</param>
public sealed record TopicReputationKnobs(ReputationKnobs Math, double SlashFactor, double RecoveryHalfLife, double ExplorationShare,
    double NewcomerMass, IndependenceKnobs Independence)
{
    /// <summary>The live-path knobs (optional in the file; <see cref="LiveKnobs.Default"/> when absent).</summary>
    public LiveKnobs Live { get; init; } = LiveKnobs.Default;
}

/// <summary>How a panel below the agreement threshold is handled (<c>low_agreement</c>).</summary>
public enum LowAgreementRule
{
    /// <summary>Escalate to a human reviewer (T3 always does).</summary>
    Review,
    /// <summary>Release with its measured confidence (the weighted agreement) shown (T2 only).</summary>
    Confidence,
}

/// <summary>
/// Knobs of reputation in the live path (docs/reputation.md "Live path"), all optional in <c>policies/reputation.yaml</c>.
/// </summary>
/// <param name="TrustThreshold">An answer no checker can check is released only when its specialist's trust score Ĉ is at least this (0: always).</param>
/// <param name="CompetenceFloor">Panel members need Ĉ at least this (newcomers on the exploration share excepted).</param>
/// <param name="LowAgreement">What a T2 panel below the agreement threshold gets.</param>
/// <param name="SlashPassRate">Failing class A: a target whose decayed pass rate C is below this …</param>
/// <param name="SlashMinMass">… on at least this much evidence mass N is slashed.</param>
/// <param name="CollusionRho">Collusion: a pair with ρ at least this, both failing class A (C below <see cref="SlashPassRate"/>).</param>
/// <param name="AuditRate">Share of the node's own answers its gate samples for re-checks.</param>
public sealed record LiveKnobs(double TrustThreshold, double CompetenceFloor, LowAgreementRule LowAgreement, double SlashPassRate,
    double SlashMinMass, double CollusionRho, double AuditRate)
{
    /// <summary>Release everything, no floor, escalate low agreement, slash below 50% on N ≥ 5, collusion at ρ ≥ 0.8, audit 5%.</summary>
    public static LiveKnobs Default { get; } = new(0, 0, LowAgreementRule.Review, 0.5, 5, 0.8, 0.05);
}

/// <summary><c>policies/reputation.yaml</c>: defaults plus per-topic overrides. <see cref="Cid"/> = SHA-256 of the file bytes.</summary>
public sealed record ReputationPolicy(string Cid, string Source, int Version, TopicReputationKnobs Defaults, IReadOnlyDictionary<string, TopicReputationKnobs> Topics)
{
    /// <summary>
    /// Node ids (64 lowercase hex, the Ed25519 public key) of the neutral auditors whose signed challenge verdicts this node accepts (top-level
    /// <c>auditors</c>, optional). Empty: the node judges challenges itself (a single-node federation has no one else).
    /// </summary>
    public IReadOnlyList<string> Auditors { get; init; } = [];

    /// <summary>
    /// Node ids whose signed <c>audit.record</c> and <c>canary.bounty_credit</c> envelopes the node's book counts (top-level
    /// <c>audit_signers</c>, optional), in addition to the node's own key and <see cref="Auditors"/>; any other signer is refused.
    /// </summary>
    public IReadOnlyList<string> AuditSigners { get; init; } = [];

    /// <summary>Whether the book counts audit records signed by <paramref name="signer"/>: the node's own key, an auditor or a listed audit signer.</summary>
    public static Func<string, bool> AuditSignerTrust(ReputationPolicy? policy, string? ownNodeId)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (policy is not null) { set.UnionWith(policy.Auditors); set.UnionWith(policy.AuditSigners); }
        if (ownNodeId is not null) set.Add(ownNodeId);
        return set.Contains;
    }

    /// <summary>
    /// Seconds between two scheduled runs of the slashing triggers (top-level <c>trigger_interval</c>, optional;
    /// <see cref="DefaultTriggerInterval"/> when absent, 0 turns the schedule off).
    /// </summary>
    public double TriggerInterval { get; init; } = DefaultTriggerInterval;

    /// <summary>One hour: triggers act on decayed evidence that moves over days, so an hourly sweep loses nothing.</summary>
    public const double DefaultTriggerInterval = 3600;

    /// <summary>The knobs of <paramref name="topic"/>: its overrides on top of the defaults, or the defaults.</summary>
    public TopicReputationKnobs For(string topic) => Topics.TryGetValue(topic, out var k) ? k : Defaults;
}

/// <summary>One problem in a reputation policy, at a 1-based line and column: <c>file:line:col: message</c>.</summary>
public sealed record ReputationPolicyError(string File, int Line, int Column, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>A reputation policy that cannot be used; carries every error found.</summary>
public sealed class ReputationPolicyException(IReadOnlyList<ReputationPolicyError> errors)
    : Exception(string.Join("\n", errors.Select(e => e.ToString())))
{
    /// <summary>Every error, in file order.</summary>
    public IReadOnlyList<ReputationPolicyError> Errors { get; } = errors;
}

/// <summary>
/// Strict reader of <c>policies/reputation.yaml</c> (schema in docs/reputation.md): unknown keys, repeated keys, wrong
/// types and out-of-range values are all reported as <c>file:line:col: message</c>. Pure: the caller reads the bytes.
/// </summary>
public static class ReputationPolicyLoader
{
    /// <summary>The only schema version this build reads.</summary>
    public const int SupportedVersion = 1;

    private static readonly string[] TopKeys = ["version", "defaults", "topics", "auditors", "audit_signers", "trigger_interval"];
    private static readonly string[] KnobKeys =
        ["half_life", "kappa", "C0", "gamma", "beta", "stake0", "g_max", "w_max", "slash_factor", "recovery_half_life",
         "exploration_share", "newcomer_mass", "independence_prior", "independence_min_shared",
         // live path (optional even in defaults)
         "trust_threshold", "competence_floor", "low_agreement", "slash_pass_rate", "slash_min_mass", "collusion_rho", "audit_rate"];

    /// <summary>Parses policy bytes (UTF-8) named <paramref name="sourceName"/> in errors.</summary>
    /// <exception cref="ReputationPolicyException">The bytes are not a valid reputation policy.</exception>
    public static ReputationPolicy Parse(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var cid = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new ReputationPolicyException([new(sourceName, 1, 1, "expected UTF-8 text, found invalid UTF-8 bytes; save the file as UTF-8")]); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        return new Reader(sourceName).Read(text, cid);
    }

    /// <summary>Parses policy text.</summary>
    public static ReputationPolicy Parse(string text, string sourceName) => Parse(Encoding.UTF8.GetBytes(text), sourceName);

    private sealed class Reader(string source) : StrictYamlReader
    {
        private readonly List<ReputationPolicyError> _errors = [];

        protected override void Error(YamlNode n, string m) => _errors.Add(new(source, (int)n.Start.Line, (int)n.Start.Column, m));

        public ReputationPolicy Read(string text, string cid)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlException e)
            {
                var inner = e.InnerException as YamlException ?? e;
                var msg = inner.Message;
                var cut = msg.IndexOf("): ", StringComparison.Ordinal);
                if (msg.StartsWith("(Lin", StringComparison.Ordinal) && cut >= 0) msg = msg[(cut + 3)..];
                throw new ReputationPolicyException([new(source, (int)inner.Start.Line, (int)inner.Start.Column, $"invalid YAML: {msg}")]);
            }
            catch (InvalidOperationException)
            {
                throw new ReputationPolicyException([new(source, 1, 1, "invalid YAML (unclosed bracket, brace or quote?)")]);
            }
            if (stream.Documents.Count != 1)
                throw new ReputationPolicyException([new(source, 1, 1, $"expected exactly one YAML document, found {stream.Documents.Count}")]);
            var root = stream.Documents[0].RootNode;
            var top = Mapping(root, "the reputation policy", TopKeys);
            if (top is null) throw new ReputationPolicyException(_errors);

            int version = 0;
            if (Require(top, root, "version", "the reputation policy") is { } vn)
            {
                if (vn is YamlScalarNode vs && vs.Style == ScalarStyle.Plain && int.TryParse(vs.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                {
                    version = v;
                    if (v != SupportedVersion) Error(vn, $"expected version {SupportedVersion}, found {v}; this build reads version {SupportedVersion} reputation policies");
                }
                else Error(vn, $"expected version to be an integer, found {Describe(vn)}");
            }

            var defaults = Fallback;
            if (Require(top, root, "defaults", "the reputation policy") is { } dn && Mapping(dn, "defaults", KnobKeys) is { } dm)
                defaults = Knobs(dm, Fallback, "defaults", requireAll: true);

            var topics = new Dictionary<string, TopicReputationKnobs>(StringComparer.Ordinal);
            if (Get(top, "topics") is { } tn && Mapping(tn, "topics", null) is { } tm)
            {
                foreach (var (k, v) in tm.Children)
                {
                    var id = (k as YamlScalarNode)?.Value ?? "";
                    if (Mapping(v, $"topics.{id}", KnobKeys) is { } m) topics[id] = Knobs(m, defaults, $"topics.{id}", requireAll: false);
                }
            }

            var auditors = NodeIds(top, "auditors");
            var auditSigners = NodeIds(top, "audit_signers");
            double interval = ReputationPolicy.DefaultTriggerInterval;
            if (Get(top, "trigger_interval") is { } tin)
            {
                if (tin is YamlScalarNode ts && ts.Style == ScalarStyle.Plain &&
                    double.TryParse(ts.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var tv) && double.IsFinite(tv))
                    interval = tv;
                else Error(tin, $"expected trigger_interval to be a number of seconds >= 0 (0: no schedule), found {Describe(tin)}");
            }

            if (_errors.Count > 0) throw new ReputationPolicyException(_errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToArray());
            return new ReputationPolicy(cid, source, version, defaults, topics) { Auditors = auditors, AuditSigners = auditSigners, TriggerInterval = interval };
        }

        private List<string> NodeIds(YamlMappingNode top, string key)
        {
            var ids = new List<string>();
            if (Get(top, key) is { } an)
            {
                if (an is YamlSequenceNode aseq)
                    foreach (var a in aseq.Children)
                    {
                        if (a is YamlScalarNode { Value: { } av } && Federation.Registry.Crypto.NodeId.TryParse(av, out _)) ids.Add(av);
                        else Error(a, $"expected {key} to list node ids (64 lowercase hex: the node's public key, as its signed tree head names it), found {Describe(a)}");
                    }
                else Error(an, $"expected {key} to be a list of node key ids, found {Describe(an)}");
            }
            return ids;
        }

        private static readonly TopicReputationKnobs Fallback = new(ReputationKnobs.Default, Slashing.DefaultFactor, 120, 0.1, 5, IndependenceKnobs.Default);

        private TopicReputationKnobs Knobs(YamlMappingNode m, TopicReputationKnobs b, string ctx, bool requireAll)
        {
            double N(string key, double fallback, Func<double, bool> ok, string range, bool optional = false)
            {
                var n = requireAll && !optional ? Require(m, m, key, ctx) : Get(m, key);
                if (n is null) return fallback;
                if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain &&
                    double.TryParse(s.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var v) &&
                    double.IsFinite(v))
                {
                    if (ok(v)) return v;
                    Error(n, $"expected {ctx}.{key} {range}, found {s.Value}");
                    return fallback;
                }
                Error(n, $"expected {ctx}.{key} to be a number {range}, found {Describe(n)}");
                return fallback;
            }
            var bm = b.Math;
            var math = new ReputationKnobs(
                N("half_life", bm.HalfLife, v => v > 0, "> 0"),
                N("kappa", bm.Kappa, v => v >= 0, ">= 0"),
                N("C0", bm.C0, v => v is >= 0 and <= 1, "in [0, 1]"),
                N("gamma", bm.Gamma, v => v is > 0 and < 1, "in (0, 1)"),
                N("beta", bm.Beta, v => v >= 0, ">= 0"),
                N("stake0", bm.Stake0, v => v > 0, "> 0"),
                N("g_max", bm.GMax, v => v >= 1, ">= 1"),
                N("w_max", bm.WMax, v => v is > 0 and <= 1, "in (0, 1]"));
            var bl = b.Live;
            var rule = bl.LowAgreement;
            if (Get(m, "low_agreement") is { } la)
            {
                if (la is YamlScalarNode { Value: "review" }) rule = LowAgreementRule.Review;
                else if (la is YamlScalarNode { Value: "confidence" }) rule = LowAgreementRule.Confidence;
                else Error(la, $"expected {ctx}.low_agreement to be review or confidence, found {Describe(la)}");
            }
            var live = new LiveKnobs(
                N("trust_threshold", bl.TrustThreshold, v => v is >= 0 and <= 1, "in [0, 1]", true),
                N("competence_floor", bl.CompetenceFloor, v => v is >= 0 and <= 1, "in [0, 1]", true),
                rule,
                N("slash_pass_rate", bl.SlashPassRate, v => v is >= 0 and <= 1, "in [0, 1]", true),
                N("slash_min_mass", bl.SlashMinMass, v => v >= 0, ">= 0", true),
                N("collusion_rho", bl.CollusionRho, v => v is > 0 and <= 1, "in (0, 1]", true),
                N("audit_rate", bl.AuditRate, v => v is >= 0 and <= 1, "in [0, 1]", true));
            return new TopicReputationKnobs(math,
                N("slash_factor", b.SlashFactor, v => v is >= 0 and < 1, "in [0, 1)"),
                N("recovery_half_life", b.RecoveryHalfLife, v => v > 0, "> 0"),
                N("exploration_share", b.ExplorationShare, v => v is >= 0 and <= 1, "in [0, 1]"),
                N("newcomer_mass", b.NewcomerMass, v => v >= 0, ">= 0"),
                new IndependenceKnobs(
                    N("independence_prior", b.Independence.Prior, v => v is >= 0 and <= 1, "in [0, 1]"),
                    N("independence_min_shared", b.Independence.MinShared, v => v >= 0, ">= 0"))) { Live = live };
        }
    }
}
