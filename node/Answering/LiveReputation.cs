using System.Globalization;
using Federation.Canaries.Audit;
using Federation.Governance;
using Federation.Node.Cli;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Node.Verification;
using Federation.Router;

namespace Federation.Node.Answering;

/// <summary>
/// What reputation did to an answer, shown in <c>federation.verification.reputation</c> (docs/reputation.md "Live path").
/// </summary>
/// <param name="Rule">Which rule decided: <c>trust_release</c>, <c>trust_withheld</c>, <c>panel_weighted</c>,
/// <c>panel_escalated</c> or <c>panel_confidence</c>.</param>
/// <param name="Detail">The rule in words, with the numbers.</param>
/// <param name="TrustScore">The specialist's Ĉ in the topic (single answers).</param>
/// <param name="Threshold">The topic's <c>trust_threshold</c> (single answers) or the panel's agreement threshold.</param>
/// <param name="Similarity">How panel answers were compared: <c>embedding:base</c> (cosine) or <c>lexical</c>.</param>
/// <param name="Weights">Reputation weight w per panel member (§9.9).</param>
/// <param name="Independence">Down-weighting factor u per member (§10.2).</param>
/// <param name="Consensus">Normalised consensus weight v ∝ w·u per member (equal when no member has evidence).</param>
/// <param name="Agreement">Weighted agreement Σv_i v_j s_ij / Σv_i v_j over pairs.</param>
/// <param name="NEff">Effective number of independent voters.</param>
/// <param name="Confidence">The chosen answer's weighted support Σ_j v_j s_cj.</param>
/// <param name="AuditSampled">The gate drew this answer for a re-check at the topic's audit rate.</param>
public sealed record ReputationInfo(
    string Rule,
    string Detail,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? TrustScore = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? Threshold = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Similarity = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, double>? Weights = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, double>? Independence = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, double>? Consensus = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? Agreement = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? NEff = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] double? Confidence = null,
    bool AuditSampled = false);

/// <summary>
/// Reputation in the live path: the node's own reputation book (<c>&lt;data-dir&gt;/reputation/records.jsonl</c>) read
/// through one cache that reloads only when the file changes (size or write time), and the knobs of
/// <c>reputation.yaml</c> (next to an explicit routing policy, else found like <c>fed reputation show</c> does, else the
/// built-in defaults). It gives routing the topic's standing (<see cref="Standing"/>) and revises the gate's verdict
/// (<see cref="ReviseAsync"/>): panels weighted by reputation × independence and compared by meaning, release on trust.
/// </summary>
public sealed class LiveReputation(NodeOptions options, TimeProvider time, Auditing.SelfAuditQueue selfAudit)
{
    private readonly Lock _lock = new();
    private (long Length, DateTime Written, ReputationPolicy? Policy)? _bookStamp;
    private ReputationBook _book = new();
    private (string? Path, DateTime Written)? _policyStamp;
    private ReputationPolicy? _policy;

    /// <summary>The book as it is on disk now (cached; reloaded when the log changed).</summary>
    public ReputationBook Book
    {
        get
        {
            var path = ReputationBookLog.PathIn(options.DataDir);
            var info = new FileInfo(path);
            ReputationPolicy? policy;
            try { policy = Policy(); }
            catch (ReputationPolicyException) { policy = null; } // an invalid policy: only the node's own key is trusted
            (long, DateTime, ReputationPolicy?)? stamp = info.Exists ? (info.Length, info.LastWriteTimeUtc, policy) : null;
            lock (_lock)
            {
                if (_bookStamp != stamp)
                {
                    _book = ReputationBookLog.Load(options.DataDir, Auditing.AuditSignerTrust.For(options.DataDir, policy));
                    _bookStamp = stamp;
                }
                return _book;
            }
        }
    }

    /// <summary>The reputation policy file the node reads: <c>reputation.yaml</c> next to <c>--policy</c>, else found upward.</summary>
    public string? PolicyPath()
    {
        if (options.PolicyPath is not null)
        {
            var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.PolicyPath)) ?? ".", "reputation.yaml");
            if (File.Exists(sibling)) return sibling;
        }
        return ReputationShowCommands.FindPolicy();
    }

    /// <summary>The topic's knobs (cached policy, reloaded when the file changes).</summary>
    public TopicReputationKnobs Knobs(string topic) => Policy()?.For(topic) ?? ReputationSimulation.DefaultKnobs;

    /// <summary>The reputation policy the node reads now (cached, reloaded when the file changes); null: built-in defaults.</summary>
    public ReputationPolicy? Policy()
    {
        var path = PolicyPath();
        var stamp = (path, path is null ? default : File.GetLastWriteTimeUtc(path));
        lock (_lock)
        {
            if (_policyStamp != stamp)
            {
                _policy = path is null ? null : ReputationPolicyLoader.Parse(File.ReadAllBytes(path), path);
                _policyStamp = stamp;
            }
            return _policy;
        }
    }

    /// <summary>The node ids whose signed challenge verdicts the policy accepts (empty: the node judges challenges itself).</summary>
    public IReadOnlyList<string> Auditors => Policy()?.Auditors ?? [];

    /// <summary>Whose audit records the book counts: the node's own key, <c>auditors</c> and <c>audit_signers</c>.</summary>
    public Func<string, bool> TrustedAuditSigner() => Auditing.AuditSignerTrust.For(options.DataDir, Policy());

    /// <summary>The slashing triggers' schedule (<c>trigger_interval</c>; zero: off).</summary>
    public TimeSpan TriggerInterval => TimeSpan.FromSeconds(Policy()?.TriggerInterval ?? ReputationPolicy.DefaultTriggerInterval);

    /// <summary>
    /// After an answer was ledgered: when the gate drew it for a re-check (<see cref="ReputationInfo.AuditSampled"/>), hands
    /// it to the self-audit queue (docs/reputation.md "Self-audit") and returns at once; answers a human must approve
    /// are judged by the human instead.
    /// </summary>
    public void Sampled(NodeRuntime rt, CompletionRequestIn req, RouteDecision decision, int chosen, Specialists.Engine.GenerationResult primary,
        VerificationInfo verification, long ledgerIndex, string ledgerEntry)
    {
        ArgumentNullException.ThrowIfNull(rt);
        ArgumentNullException.ThrowIfNull(req);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(verification);
        if (verification.Reputation is not { AuditSampled: true } || verification.Status == VerificationStatus.NeedsReview) return;
        var specialist = decision.Specialists[chosen];
        var g = AnswerService.ToGeneration(rt, req, decision, specialist); // what was served: champion and personal adapters included
        if ((primary.Seed ?? g.Seed) is { } seed) g = g with { Seed = seed }; // the seed the engine used: sampled answers replay too
        selfAudit.Enqueue(new Auditing.SelfAuditJob(ledgerIndex, ledgerEntry, decision, specialist, req.Query.CheckText, primary.Text, g, req.Rag));
    }

    /// <summary>Now, in the policy's unit (days).</summary>
    public double Tau => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0 / ReputationBook.SecondsPerDay;

    /// <summary>
    /// This node's specialists' standing in <paramref name="topic"/> now (null when the book has no record of the topic):
    /// weight and Ĉ of each row <c>&lt;this node&gt;/&lt;specialist&gt;</c>, the competence floor and exploration share.
    /// </summary>
    public TopicStanding? Standing(NodeRuntime rt, string topic)
    {
        var book = Book;
        if (!book.Topics.Contains(topic)) return null;
        var knobs = Knobs(topic);
        var prefix = rt.Key.Id + "/";
        var rows = new Dictionary<string, SpecialistStanding>(StringComparer.Ordinal);
        foreach (var n in book.Table(topic, Tau, knobs).Nodes)
            if (n.Name.StartsWith(prefix, StringComparison.Ordinal))
                rows[n.Name[prefix.Length..]] = new SpecialistStanding(n.Weight, n.CHat, n.N < knobs.NewcomerMass);
        return new TopicStanding(rows, knobs.Live.CompetenceFloor, knobs.ExplorationShare);
    }

    /// <summary>
    /// Revises the gate's verdict with reputation. A class-C panel that no checker refuted is re-judged by meaning
    /// (cosine of the serving base's embeddings, or word sets when <c>panel.embedding_model: lexical</c>), combined by
    /// reputation weight × independence: the answer with the most weighted support is chosen; weighted agreement below
    /// <c>panel.agreement_threshold</c> goes to a human (T3 always; T2 unless <c>low_agreement: confidence</c>, which
    /// releases it with its measured confidence). A single answer no checker could check is released only when its
    /// specialist's trust score Ĉ reaches the topic's <c>trust_threshold</c>, otherwise withheld.
    /// </summary>
    public async Task<GateVerdict> ReviseAsync(NodeRuntime rt, RouteDecision decision, IReadOnlyList<string> answers, GateVerdict verdict, CancellationToken ct)
    {
        var v = verdict.Verification;
        var knobs = Knobs(decision.Topic);
        bool sampled = AuditRate.ShouldAudit(System.Text.Encoding.UTF8.GetBytes(rt.Key.Id.ToString()), decision.QueryHash + ":" + time.GetUtcNow().ToUnixTimeMilliseconds(), knobs.Live.AuditRate);
        if (answers.Count > 1 && decision.Class == VerificationClass.C && v.Status != VerificationStatus.Failed)
            return await PanelAsync(rt, decision, answers, verdict, knobs, sampled, ct);
        if (answers.Count == 1 && v.Status == VerificationStatus.Unchecked)
        {
            var specialist = decision.Specialists[0];
            var score = TrustScore(rt, decision.Topic, specialist, knobs);
            var threshold = knobs.Live.TrustThreshold;
            if (score >= threshold)
                return verdict with { Verification = v with { Reputation = new ReputationInfo("trust_release",
                    $"released on trust: specialist '{specialist}' has trust score C_hat {F(score)} in topic '{decision.Topic}', at or above the topic's trust_threshold {F(threshold)}",
                    score, threshold, AuditSampled: sampled) } };
            var detail = $"no checker applies and specialist '{specialist}' has trust score C_hat {F(score)} in topic '{decision.Topic}', below the topic's trust_threshold {F(threshold)} (policies/reputation.yaml); withheld until audits raise it";
            return verdict with { Verification = v with { Status = VerificationStatus.Failed, Detail = detail,
                Reputation = new ReputationInfo("trust_withheld", detail, score, threshold, AuditSampled: sampled) } };
        }
        return sampled ? verdict with { Verification = v with { Reputation = new ReputationInfo("none", "no reputation rule applies to this answer", AuditSampled: true) } } : verdict;
    }

    /// <summary>False when the topic has a trust threshold: the trust rule must judge the answer before any of it is sent.</summary>
    public bool CanStreamLive(RouteDecision decision) => !(Knobs(decision.Topic).Live.TrustThreshold > 0);

    /// <summary>The trust score of <paramref name="specialist"/> on this node in <paramref name="topic"/>: Ĉ now (C₀ without evidence).</summary>
    public double TrustScore(NodeRuntime rt, string topic, string specialist, TopicReputationKnobs knobs)
    {
        var book = Book;
        if (!book.Topics.Contains(topic)) return knobs.Math.C0;
        var row = book.Table(topic, Tau, knobs).Nodes.FirstOrDefault(n => n.Name == ReputationBook.Target(rt.Key.Id.ToString(), specialist));
        return row?.CHat ?? knobs.Math.C0;
    }

    private async Task<GateVerdict> PanelAsync(NodeRuntime rt, RouteDecision decision, IReadOnlyList<string> answers, GateVerdict verdict,
        TopicReputationKnobs knobs, bool sampled, CancellationToken ct)
    {
        var ids = decision.Specialists;
        int n = answers.Count;
        string measure;
        double[,] sim;
        if (rt.Policy.EmbeddingModel == RoutingPolicy.EmbeddingBase && answers.All(a => a.Length > 0))
        {
            measure = "embedding:base";
            var vectors = await rt.Engine.EmbedAsync(answers, ct);
            sim = WeightedPanel.Cosines(vectors);
        }
        else
        {
            measure = "lexical";
            sim = WeightedPanel.Jaccards(answers);
        }

        var book = Book;
        var table = book.Topics.Contains(decision.Topic) ? book.Table(decision.Topic, Tau, knobs) : null;
        var node = rt.Key.Id.ToString();
        var weights = ids.Select(id => table?.Nodes.FirstOrDefault(r => r.Name == ReputationBook.Target(node, id))?.Weight ?? 0).ToArray();
        var labels = book.AnswerLabels(decision.Topic);
        var rho = Independence.CorrelationMatrix(ids.Select(id => labels.TryGetValue(ReputationBook.Target(node, id), out var l) ? l : new Dictionary<string, string>()).ToList(), knobs.Independence);
        var r = WeightedPanel.Combine(sim, weights, rho);

        var threshold = rt.Policy.AgreementThreshold;
        var v = verdict.Verification;
        // checkers (if the topic has any) judged the router's choice; keep it then, otherwise the weighted choice stands
        int chosen = v.Checks.Count > 0 ? verdict.ChosenIndex : r.Chosen;
        var mean = WeightedPanel.MeanPair(sim);
        var group = Enumerable.Range(0, n).Where(j => sim[chosen, j] >= threshold).Select(j => ids[j]).ToList();
        var info = new ReputationInfo("panel_weighted", "",
            Threshold: threshold, Similarity: measure,
            Weights: Map(ids, weights), Independence: Map(ids, r.Independence), Consensus: Map(ids, r.Consensus),
            Agreement: r.Agreement, NEff: r.EffectiveVoters, Confidence: r.Support[chosen], AuditSampled: sampled);
        var agreed = r.Agreement >= threshold;
        var panel = new PanelInfo(mean, threshold, agreed, group);
        var numbers = $"weighted agreement {F(r.Agreement)} ({measure}), threshold {F(threshold)}, n_eff {F(r.EffectiveVoters)} of {n}, confidence {F(r.Support[chosen])}";
        VerificationInfo Set(VerificationStatus status, string rule, string detail) =>
            v with { Status = status, Detail = detail, Panel = panel, Reputation = info with { Rule = rule, Detail = detail } };

        var tier = decision.Tier > rt.Policy.TopicsById[decision.Topic].Tier ? decision.Tier : rt.Policy.TopicsById[decision.Topic].Tier;
        GateVerdict Out(VerificationInfo vi) => new(chosen, vi);
        if (tier == TrustTier.T3)
            return Out(Set(VerificationStatus.NeedsReview, agreed ? "panel_weighted" : "panel_escalated", $"T3 answers need human approval; panel {numbers}"));
        if (agreed)
            return Out(Set(v.Status == VerificationStatus.NeedsReview ? VerificationStatus.Passed : v.Status is VerificationStatus.Unchecked ? VerificationStatus.Passed : v.Status,
                "panel_weighted", $"panel agreed by meaning, weighted by reputation × independence: {numbers}"));
        if (knobs.Live.LowAgreement == LowAgreementRule.Confidence)
            return Out(Set(VerificationStatus.Unchecked, "panel_confidence", $"panel below the agreement threshold, released with its measured confidence (low_agreement: confidence): {numbers}"));
        return Out(Set(VerificationStatus.NeedsReview, "panel_escalated", $"panel {numbers}: below the threshold, escalated to a human (low_agreement: review)"));
    }

    private static Dictionary<string, double> Map(IReadOnlyList<string> ids, IReadOnlyList<double> values)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Count; i++) d[ids[i]] = values[i];
        return d;
    }

    private static string F(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
