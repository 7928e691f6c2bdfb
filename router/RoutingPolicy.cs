namespace Federation.Router;

/// <summary>A trust tier (seed §"Substrate &amp; trust tiers"): how much the base's provenance matters for a topic.</summary>
public enum TrustTier
{
    /// <summary>Checkable: any provenance, because an algorithmic checker verifies the answer.</summary>
    T1 = 1,
    /// <summary>Subjective, low risk.</summary>
    T2 = 2,
    /// <summary>Strategic: only the provenance the policy allows (e.g. EU / US / fully open).</summary>
    T3 = 3,
}

/// <summary>A verification class (seed §"Verification architecture"): how an answer is judged.</summary>
public enum VerificationClass
{
    /// <summary>Objective: an algorithmic checker.</summary>
    A = 1,
    /// <summary>Reference: match against a signed snapshot.</summary>
    B = 2,
    /// <summary>Consensus: a provenance-diverse panel of k specialists.</summary>
    C = 3,
}

/// <summary>How a <see cref="MatchRule"/> matches the normalised query.</summary>
public enum MatchKind
{
    /// <summary>One whole word.</summary>
    Keyword,
    /// <summary>A contiguous sequence of whole words.</summary>
    Phrase,
    /// <summary>A .NET regular expression (non-backtracking engine) over the normalised text.</summary>
    Regex,
}

/// <summary>A position in a policy file (1-based line and column), for errors and for tracing a rule to its source.</summary>
public readonly record struct PolicyPosition(string Source, int Line, int Column)
{
    /// <summary><c>file:line:col</c>.</summary>
    public override string ToString() => $"{Source}:{Line}:{Column}";
}

/// <summary>One matching rule of a topic. A matching rule adds <see cref="Weight"/> to its topic's score once, however often it matches.</summary>
/// <param name="Id">Unique within the topic; defaults to <c>r&lt;n&gt;</c> (1-based position) when the file gives none.</param>
/// <param name="Kind">Keyword, phrase or regex.</param>
/// <param name="Pattern">The pattern as written in the policy.</param>
/// <param name="Words">For keywords and phrases: the pattern normalised and split into words (a keyword has exactly one).</param>
/// <param name="Weight">Finite and &gt; 0.</param>
/// <param name="Priority">Breaks score ties between topics after topic priority (higher wins); see docs/routing.md.</param>
/// <param name="Position">Where the rule is declared.</param>
public sealed record MatchRule(string Id, MatchKind Kind, string Pattern, IReadOnlyList<string> Words, double Weight, int Priority, PolicyPosition Position);

/// <summary>One topic: what it covers, how it is trusted and verified, how queries are matched to it and who serves it.</summary>
/// <param name="Id">Unique, <c>[a-z0-9][a-z0-9_-]*</c>.</param>
/// <param name="Description">Human text.</param>
/// <param name="Tier">Trust tier; its <see cref="TierConstraints"/> govern every specialist that may serve the topic.</param>
/// <param name="Class">Verification class; class C is served by a panel.</param>
/// <param name="Priority">Breaks score ties (higher wins).</param>
/// <param name="MinScore">The topic is chosen only when its score is strictly greater than this (≥ 0).</param>
/// <param name="Champion">The specialist that serves the topic by default.</param>
/// <param name="Challengers">Specialists that get the exploration share of this topic's traffic.</param>
/// <param name="Neighbours">Further specialists that may sit on this topic's panels.</param>
/// <param name="Rules">Matching rules in file order.</param>
/// <param name="Position">Where the topic is declared.</param>
/// <remarks><see cref="Checkers"/> (policy key <c>checkers</c>) names the answer checkers the verification gate runs.</remarks>
public sealed record TopicPolicy(
    string Id,
    string Description,
    TrustTier Tier,
    VerificationClass Class,
    int Priority,
    double MinScore,
    string Champion,
    IReadOnlyList<string> Challengers,
    IReadOnlyList<string> Neighbours,
    IReadOnlyList<MatchRule> Rules,
    PolicyPosition Position)
{
    /// <summary>Names of the class-A answer checkers the verification gate runs for this topic (policy key <c>checkers</c>), in file order.</summary>
    public IReadOnlyList<string> Checkers { get; init; } = [];
}

/// <summary>A specialist (frozen base + adapter) as the policy knows it, with the provenance axes the router enforces.</summary>
/// <param name="Id">Unique, <c>[a-z0-9][a-z0-9._-]*</c>; also a valid <c>model</c> value in requests.</param>
/// <param name="Topics">Topics the specialist is declared for (it may sit on their panels).</param>
/// <param name="BaseLineage">Base-model lineage from its provenance manifest (e.g. <c>qwen</c>, <c>mistral</c>).</param>
/// <param name="Jurisdiction">Operator jurisdiction from its provenance manifest (e.g. <c>EU</c>).</param>
/// <param name="Adapter">Adapter name, path, or <c>cid:&lt;hex&gt;</c> placeholder.</param>
/// <param name="Position">Where the specialist is declared.</param>
public sealed record SpecialistRef(string Id, IReadOnlyList<string> Topics, string BaseLineage, string Jurisdiction, string Adapter, PolicyPosition Position);

/// <summary>Provenance a tier allows. A <c>null</c> list means "any".</summary>
/// <param name="Tier">The tier constrained.</param>
/// <param name="AllowedLineages">Allowed base lineages, or null for any.</param>
/// <param name="AllowedJurisdictions">Allowed jurisdictions, or null for any.</param>
public sealed record TierConstraints(TrustTier Tier, IReadOnlyList<string>? AllowedLineages, IReadOnlyList<string>? AllowedJurisdictions)
{
    /// <summary>True when <paramref name="s"/>'s lineage and jurisdiction are both allowed (case-insensitive).</summary>
    public bool Allows(SpecialistRef s) =>
        (AllowedLineages is null || AllowedLineages.Contains(s.BaseLineage, StringComparer.OrdinalIgnoreCase)) &&
        (AllowedJurisdictions is null || AllowedJurisdictions.Contains(s.Jurisdiction, StringComparer.OrdinalIgnoreCase));

    /// <summary>Why <paramref name="s"/> is not allowed, or null when it is.</summary>
    public string? WhyForbidden(SpecialistRef s)
    {
        if (AllowedLineages is not null && !AllowedLineages.Contains(s.BaseLineage, StringComparer.OrdinalIgnoreCase))
            return $"base lineage '{s.BaseLineage}' is not among {Tier}'s allowed lineages [{string.Join(", ", AllowedLineages)}]";
        if (AllowedJurisdictions is not null && !AllowedJurisdictions.Contains(s.Jurisdiction, StringComparer.OrdinalIgnoreCase))
            return $"jurisdiction '{s.Jurisdiction}' is not among {Tier}'s allowed jurisdictions [{string.Join(", ", AllowedJurisdictions)}]";
        return null;
    }
}

/// <summary>
/// A parsed, validated routing policy (<c>policies/routing.yaml</c>). Immutable; build it with <see cref="PolicyLoader"/>.
/// Invariants: topic and specialist ids are unique; every reference (default topic, champion, challengers, neighbours,
/// specialist topics, tiers) resolves; every regex compiled with the non-backtracking engine; every class C topic can
/// fill a panel of <see cref="PanelSize"/> specialists its tier allows.
/// </summary>
public sealed class RoutingPolicy
{
    internal RoutingPolicy(
        string cid, string source, int version, string defaultTopic, int maxQueryChars, double explorationShare,
        int panelSize, double agreementThreshold, IReadOnlyDictionary<TrustTier, TierConstraints> tiers,
        IReadOnlyList<SpecialistRef> specialists, IReadOnlyList<TopicPolicy> topics)
    {
        Cid = cid;
        Source = source;
        Version = version;
        DefaultTopic = defaultTopic;
        MaxQueryChars = maxQueryChars;
        ExplorationShare = explorationShare;
        PanelSize = panelSize;
        AgreementThreshold = agreementThreshold;
        Tiers = tiers;
        Specialists = specialists;
        Topics = topics;
        TopicsById = topics.ToDictionary(t => t.Id, StringComparer.Ordinal);
        SpecialistsById = specialists.ToDictionary(s => s.Id, StringComparer.Ordinal);
        Index = new ClassifierIndex(this);
        CandidatesByTopic = topics.ToDictionary(t => t.Id, t => (IReadOnlyList<SpecialistRef>)RoutePlanner.CandidatePool(t, specialists).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Per topic, the specialists that may serve it in preference order (see <see cref="RoutePlanner.CandidatePool"/>), computed once.</summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<SpecialistRef>> CandidatesByTopic { get; }

    /// <summary>Lowercase hex SHA-256 of the policy file's exact bytes (see docs/routing.md); recorded with every decision.</summary>
    public string Cid { get; }

    /// <summary>The source name used in error positions (usually the file path).</summary>
    public string Source { get; }

    /// <summary>The schema version (this build reads 1).</summary>
    public int Version { get; }

    /// <summary>The topic chosen when no topic scores above its <see cref="TopicPolicy.MinScore"/>.</summary>
    public string DefaultTopic { get; }

    /// <summary>Only the first this-many characters of a query are classified (bounds latency).</summary>
    public int MaxQueryChars { get; }

    /// <summary>Share of auto-routed single-specialist traffic given to challengers, in [0, 1].</summary>
    public double ExplorationShare { get; }

    /// <summary>Default panel size k for class C topics (≥ 1).</summary>
    public int PanelSize { get; }

    /// <summary>Mean pairwise answer similarity at or above which a panel is reported as agreeing, in [0, 1].</summary>
    public double AgreementThreshold { get; }

    /// <summary>
    /// How class-C panel answers are compared (<c>panel.embedding_model</c>): <see cref="EmbeddingBase"/> — cosine of the
    /// serving base's mean-pooled embeddings (the node computes them; the default) — or <see cref="EmbeddingLexical"/>.
    /// </summary>
    public string EmbeddingModel { get; init; } = EmbeddingBase;

    /// <summary><c>panel.embedding_model: base</c>: the serving base model's embeddings.</summary>
    public const string EmbeddingBase = "base";

    /// <summary><c>panel.embedding_model: lexical</c>: word-set Jaccard (no model pass).</summary>
    public const string EmbeddingLexical = "lexical";

    /// <summary>Provenance constraints per tier.</summary>
    public IReadOnlyDictionary<TrustTier, TierConstraints> Tiers { get; }

    /// <summary>Specialists in file order.</summary>
    public IReadOnlyList<SpecialistRef> Specialists { get; }

    /// <summary>Topics in file order.</summary>
    public IReadOnlyList<TopicPolicy> Topics { get; }

    /// <summary>Topics by id (ordinal).</summary>
    public IReadOnlyDictionary<string, TopicPolicy> TopicsById { get; }

    /// <summary>Specialists by id (ordinal).</summary>
    public IReadOnlyDictionary<string, SpecialistRef> SpecialistsById { get; }

    internal ClassifierIndex Index { get; }
}
