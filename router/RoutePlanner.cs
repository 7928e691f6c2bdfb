using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Federation.Router;

/// <summary>Provenance a requester insists on. A null list means "no requirement on this axis". Matching is case-insensitive.</summary>
/// <param name="Lineages">Acceptable base lineages.</param>
/// <param name="Jurisdictions">Acceptable jurisdictions.</param>
public sealed record ProvenanceRequirement(IReadOnlyList<string>? Lineages = null, IReadOnlyList<string>? Jurisdictions = null)
{
    /// <summary>True when <paramref name="s"/> meets both axes.</summary>
    public bool Allows(SpecialistRef s) =>
        (Lineages is null || Lineages.Contains(s.BaseLineage, StringComparer.OrdinalIgnoreCase)) &&
        (Jurisdictions is null || Jurisdictions.Contains(s.Jurisdiction, StringComparer.OrdinalIgnoreCase));
}

/// <summary>
/// What the requester asked for: <see cref="Model"/> is <c>federation</c> (auto-route), <c>federation/&lt;topic&gt;</c>
/// or a specialist id; the rest mirrors the optional <c>federation</c> request object.
/// </summary>
/// <param name="Model">The OpenAI <c>model</c> field.</param>
/// <param name="Specialists">Exact specialists to ask (a panel when more than one).</param>
/// <param name="RequiredProvenance">Provenance every chosen specialist must have.</param>
/// <param name="PanelSize">Number of specialists to ask (overrides the class default).</param>
public sealed record RequestedRoute(string Model = RoutePlanner.AutoModel, IReadOnlyList<string>? Specialists = null,
    ProvenanceRequirement? RequiredProvenance = null, int? PanelSize = null);

/// <summary>How the specialists of a decision were chosen.</summary>
public enum DispatchMode
{
    /// <summary>The topic's champion.</summary>
    Champion,
    /// <summary>A challenger, on the deterministic exploration share.</summary>
    Challenger,
    /// <summary>Another topic specialist, because the requested provenance excluded the champion.</summary>
    Substitute,
    /// <summary>A provenance-diverse panel.</summary>
    Panel,
    /// <summary>Exactly the specialists the requester named.</summary>
    Requested,
    /// <summary>A topic specialist other than the champion, drawn by reputation weight (routing priority, §9.5).</summary>
    Reputation,
}

/// <summary>
/// A routing decision, recorded with every answer: the classification (topic, tier, class, score, runner-up, trace),
/// the policy CID it was made under, and the specialists chosen with the reason.
/// </summary>
public sealed record RouteDecision(
    string PolicyCid,
    string Model,
    string Topic,
    TrustTier Tier,
    VerificationClass Class,
    double Score,
    TopicScore? RunnerUp,
    IReadOnlyList<RuleMatch> Trace,
    bool FellBackToDefault,
    string QueryHash,
    IReadOnlyList<string> Specialists,
    DispatchMode Mode,
    bool Exploration,
    string Reason);

/// <summary>A request that cannot be served under the policy (never a silent fallback). Codes are listed in docs/routing.md.</summary>
/// <param name="Code">Stable code, e.g. <c>router.provenance_forbidden</c>.</param>
/// <param name="Message">What was expected, what was found, what to do.</param>
/// <param name="HttpStatus">400, 404 or 422.</param>
/// <param name="Param">The request field at fault, if one is.</param>
public sealed record RouteRejection(string Code, string Message, int HttpStatus, string? Param = null);

/// <summary>Either a <see cref="RouteDecision"/> or a <see cref="RouteRejection"/>.</summary>
public sealed record RoutePlan(RouteDecision? Decision, RouteRejection? Rejection)
{
    /// <summary>True when <see cref="Decision"/> is set.</summary>
    public bool IsAccepted => Decision is not null;
}

/// <summary>Dispatch: turns (query, policy, request) into the specialists to ask, or a typed rejection. Pure and deterministic.</summary>
public static class RoutePlanner
{
    /// <summary>The model name that means "auto-route".</summary>
    public const string AutoModel = "federation";

    /// <summary>Prefix of topic-pinned model names.</summary>
    public const string TopicModelPrefix = "federation/";

    /// <summary>Plans the route for a single user message (a thin overload of <see cref="Plan(RouteQuery, RoutingPolicy, RequestedRoute)"/>).</summary>
    public static RoutePlan Plan(string query, RoutingPolicy policy, RequestedRoute request)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Plan(RouteQuery.FromText(query), policy, request);
    }

    /// <summary>
    /// Plans the route for everything the model will read (<paramref name="query"/>: every message part of every role,
    /// the prompt, retrieved memory). The content decides the tier — the highest tier present wins — and the request can
    /// only narrow the choice within it: a pinned topic below the content's tier is refused
    /// (<c>router.tier_downgrade_refused</c>), a named specialist the tier forbids is refused
    /// (<c>router.provenance_forbidden</c>), and text beyond <c>max_query_chars</c> is refused (<c>router.query_too_long</c>)
    /// because text the router has not read must not reach a model.
    /// </summary>
    public static RoutePlan Plan(RouteQuery query, RoutingPolicy policy, RequestedRoute request) => Plan(query, policy, request, null);

    /// <summary>
    /// <see cref="Plan(RouteQuery, RoutingPolicy, RequestedRoute)"/> with reputation (<paramref name="standing"/>: the
    /// routed topic's standing, or null): when a topic's specialists have evidence, a single specialist is drawn by weight
    /// (<see cref="ReputationRouting.PriorityPick"/>, outside the exploration share) and a panel is top-k by weight under
    /// the diversity constraint with a competence floor (<see cref="ReputationRouting.SelectPanel"/>). Without evidence
    /// the plan is exactly the reputation-free one.
    /// </summary>
    public static RoutePlan Plan(RouteQuery query, RoutingPolicy policy, RequestedRoute request, Func<string, TopicStanding?>? standing)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(request);
        var model = request.Model ?? "";

        if (query.TotalLength > policy.MaxQueryChars)
            return Reject("router.query_too_long", $"the request holds {query.TotalLength} characters of text for the model (every message part, prompt and memory fragment counted), but policy {Short(policy.Cid)} classifies at most {policy.MaxQueryChars}; text the router has not read must not reach a model, so shorten the request", 400,
                query.Segments.Any(s => s.Role == SegmentRole.Prompt) ? "prompt" : "messages");

        if (request.PanelSize is { } ps && (ps < 1 || ps > policy.Specialists.Count))
            return Reject("router.invalid_panel_size", $"expected federation.panel_size between 1 and {policy.Specialists.Count} (the policy's specialists), found {ps}", 400, "federation.panel_size");

        List<SpecialistRef>? explicitList = null;
        if (request.Specialists is { } names)
        {
            if (names.Count == 0)
                return Reject("router.invalid_request", "expected federation.specialists to name at least one specialist, found an empty list; omit it to let the router choose", 400, "federation.specialists");
            explicitList = [];
            foreach (var n in names)
            {
                if (!policy.SpecialistsById.TryGetValue(n, out var s))
                    return Reject("router.unknown_specialist", $"specialist '{n}' is not in policy {Short(policy.Cid)}; known: {string.Join(", ", policy.Specialists.Select(x => x.Id))}", 404, "federation.specialists");
                if (explicitList.Contains(s))
                    return Reject("router.invalid_request", $"specialist '{n}' is named twice in federation.specialists; name each once", 400, "federation.specialists");
                explicitList.Add(s);
            }
        }

        var cls = QueryClassifier.Classify(query, policy);
        TopicPolicy topic;
        double score;
        TopicScore? runnerUp;
        string topicReason;
        bool autoTopic = true;
        if (model == AutoModel)
        {
            topic = cls.Topic;
            score = cls.Score;
            runnerUp = cls.RunnerUp;
            topicReason = cls.FellBackToDefault
                ? $"no topic scored above its min_score; default topic '{topic.Id}'"
                : $"topic '{topic.Id}' ({topic.Tier}) scored {Fmt(score)}" + RunnerUpNote(policy, topic, score, runnerUp);
        }
        else if (model.StartsWith(TopicModelPrefix, StringComparison.Ordinal))
        {
            var id = model[TopicModelPrefix.Length..];
            if (!policy.TopicsById.TryGetValue(id, out var pinned))
                return Reject("router.unknown_topic", $"model '{model}' names topic '{id}', which policy {Short(policy.Cid)} does not declare; known topics: {string.Join(", ", policy.Topics.Select(t => t.Id))}", 404, "model");
            // The requester's choice narrows, never lowers (issue 8): a pinned topic must be at least the content's tier.
            if (pinned.Tier < cls.Topic.Tier)
                return Reject("router.tier_downgrade_refused",
                    $"model '{model}' pins topic '{id}' ({pinned.Tier}), but the request carries {cls.Topic.Tier} content ({Evidence(cls)}); the requester's choice narrows, never lowers: use model '{AutoModel}' or pin a topic of tier {cls.Topic.Tier} or above ({string.Join(", ", policy.Topics.Where(t => t.Tier >= cls.Topic.Tier).Select(t => TopicModelPrefix + t.Id))})",
                    422, "model");
            topic = pinned;
            score = 0;
            foreach (var m in cls.Trace) if (m.Topic == id) score += m.Weight;
            runnerUp = cls.Topic.Id != id ? new TopicScore(cls.Topic.Id, cls.Score) : cls.RunnerUp;
            topicReason = $"topic '{id}' pinned by model '{model}'";
            autoTopic = false;
        }
        else if (policy.SpecialistsById.TryGetValue(model, out var named))
        {
            if (explicitList is not null)
                return Reject("router.invalid_request", $"model '{model}' names a specialist and federation.specialists names others; use model 'federation' with federation.specialists, or drop the list", 400, "federation.specialists");
            explicitList = [named];
            // The query is still classified: its tier decides whether the named specialist may see it.
            topic = cls.Topic;
            score = cls.Score;
            runnerUp = cls.RunnerUp;
            topicReason = $"specialist '{model}' requested by model; query classified as '{topic.Id}' ({topic.Tier})";
        }
        else
        {
            return Reject("router.unknown_model", $"model '{model}' is not known; expected '{AutoModel}', '{TopicModelPrefix}<topic>' (topics: {string.Join(", ", policy.Topics.Select(t => t.Id))}) or a specialist id ({string.Join(", ", policy.Specialists.Select(s => s.Id))})", 404, "model");
        }

        var tier = policy.Tiers[topic.Tier];
        var required = request.RequiredProvenance;

        RoutePlan Accept(IReadOnlyList<SpecialistRef> chosen, DispatchMode mode, bool exploration, string why) =>
            new(new RouteDecision(policy.Cid, model, topic.Id, topic.Tier, topic.Class, score, runnerUp, cls.Trace, cls.FellBackToDefault && autoTopic,
                cls.QueryHash, chosen.Select(s => s.Id).ToArray(), mode, exploration, $"{topicReason}; {why}"), null);

        if (explicitList is not null)
        {
            foreach (var s in explicitList)
            {
                if (tier.WhyForbidden(s) is { } why)
                    return Reject("router.provenance_forbidden", $"specialist '{s.Id}' may not serve topic '{topic.Id}' ({topic.Tier}): {why}; choose a specialist {topic.Tier} allows, or model '{AutoModel}'", 422, request.Specialists is null ? "model" : "federation.specialists");
                if (required is not null && !required.Allows(s))
                    return Reject("router.provenance_unsatisfied", $"specialist '{s.Id}' ({s.BaseLineage}, {s.Jurisdiction}) does not meet the requested provenance {Describe(required)}", 422, "federation.required_provenance");
            }
            if (request.PanelSize is { } k && k != explicitList.Count)
                return Reject("router.invalid_request", $"federation.panel_size is {k} but {explicitList.Count} specialist(s) were named; give one or the other", 400, "federation.panel_size");
            return Accept(explicitList, DispatchMode.Requested, false, $"requested specialist(s) {string.Join(", ", explicitList.Select(s => s.Id))}");
        }

        int size = request.PanelSize ?? (topic.Class == VerificationClass.C ? policy.PanelSize : 1);
        var pool = policy.CandidatesByTopic[topic.Id];
        var eligible = pool.Where(s => tier.Allows(s) && (required is null || required.Allows(s))).ToList();

        // Exploration (seed §9.9 "guaranteed exploration budget"): deterministic from (policy CID, query hash).
        SpecialistRef? challenger = null;
        if (policy.ExplorationShare > 0 && topic.Challengers.Count > 0)
        {
            var eligibleChallengers = topic.Challengers.Select(id => policy.SpecialistsById[id]).Where(eligible.Contains).ToList();
            if (eligibleChallengers.Count > 0 && ExplorationPick(policy.Cid, cls.QueryHash, policy.ExplorationShare, eligibleChallengers.Count) is { } idx)
                challenger = eligibleChallengers[idx];
        }

        if (size == 1)
        {
            if (challenger is not null)
                return Accept([challenger], DispatchMode.Challenger, true, $"challenger '{challenger.Id}' on the exploration share ({Fmt(policy.ExplorationShare)})");
            var champion = policy.SpecialistsById[topic.Champion];
            if (standing?.Invoke(topic.Id) is { HasEvidence: true } st
                && ReputationRouting.PriorityPick(new[] { champion }.Concat(topic.Challengers.Select(id => policy.SpecialistsById[id])).Where(eligible.Contains).ToList(), st, policy.Cid, cls.QueryHash) is { } pick)
                return Accept([pick], pick == champion ? DispatchMode.Champion : DispatchMode.Reputation, false,
                    $"'{pick.Id}' drawn by reputation weight {ReputationRouting.Fmt(st.Of(pick.Id).Weight)} (routing priority, §9.5)");
            if (eligible.Contains(champion))
                return Accept([champion], DispatchMode.Champion, false, $"champion '{champion.Id}'");
            if (eligible.Count == 0)
                return Reject("router.no_eligible_specialist", $"no specialist for topic '{topic.Id}' meets {topic.Tier} and the requested provenance {Describe(required)}; candidates were {string.Join(", ", pool.Select(s => $"{s.Id} ({s.BaseLineage}, {s.Jurisdiction})"))}; relax federation.required_provenance", 422, "federation.required_provenance");
            return Accept([eligible[0]], DispatchMode.Substitute, false, $"'{eligible[0].Id}' because the requested provenance {Describe(required)} excludes champion '{champion.Id}'");
        }

        if (standing?.Invoke(topic.Id) is { HasEvidence: true } pst && eligible.Count >= size)
        {
            var (chosen, explorer, below) = ReputationRouting.SelectPanel(eligible, size, pst, policy.Cid, cls.QueryHash);
            var lin = chosen.Select(s => s.BaseLineage).Distinct(StringComparer.OrdinalIgnoreCase).Count();
            return Accept(chosen, DispatchMode.Panel, explorer is not null,
                $"panel of {size} top-k by reputation weight under the diversity constraint: {lin} lineage(s), weights {string.Join(", ", chosen.Select(s => $"{s.Id} {ReputationRouting.Fmt(pst.Of(s.Id).Weight)}"))}"
                + (explorer is null ? "" : $"; newcomer '{explorer.Id}' seated on the exploration share ({ReputationRouting.Fmt(pst.ExplorationShare)})")
                + (below == 0 ? "" : $"; {below} seated below the competence floor {ReputationRouting.Fmt(pst.CompetenceFloor)} to fill the panel"));
        }
        var seeds = new List<SpecialistRef>();
        var champ = policy.SpecialistsById[topic.Champion];
        if (eligible.Contains(champ)) seeds.Add(champ);
        if (challenger is not null && !seeds.Contains(challenger)) seeds.Add(challenger);
        var panel = SelectPanel(eligible, size, seeds);
        if (panel.Count < size)
            return Reject("router.no_eligible_specialist", $"topic '{topic.Id}' ({topic.Tier}, class {topic.Class}) needs a panel of {size}, but only {eligible.Count} specialist(s) meet {topic.Tier}" + (required is null ? "" : $" and the requested provenance {Describe(required)}") + "; ask for a smaller federation.panel_size or relax the provenance", 422, request.PanelSize is null ? "federation.required_provenance" : "federation.panel_size");
        var lineages = panel.Select(s => s.BaseLineage).Distinct(StringComparer.OrdinalIgnoreCase).Count();
        var jurisdictions = panel.Select(s => s.Jurisdiction).Distinct(StringComparer.OrdinalIgnoreCase).Count();
        return Accept(panel, DispatchMode.Panel, challenger is not null,
            $"panel of {size} for diversity: {lineages} lineage(s), {jurisdictions} jurisdiction(s)" + (challenger is null ? "" : $"; challenger '{challenger.Id}' seated on the exploration share"));
    }

    /// <summary>
    /// The specialists that may serve <paramref name="topic"/>, in preference order: champion, challengers, neighbours, then
    /// every other specialist that lists the topic (file order). No duplicates.
    /// </summary>
    public static IEnumerable<SpecialistRef> CandidatePool(TopicPolicy topic, IEnumerable<SpecialistRef> specialists)
    {
        var all = specialists.ToList();
        var byId = new Dictionary<string, SpecialistRef>(StringComparer.Ordinal);
        foreach (var s in all) byId.TryAdd(s.Id, s);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in new[] { topic.Champion }.Concat(topic.Challengers).Concat(topic.Neighbours))
            if (byId.TryGetValue(id, out var s) && seen.Add(id)) yield return s;
        foreach (var s in all)
            if (s.Topics.Contains(topic.Id, StringComparer.Ordinal) && seen.Add(s.Id)) yield return s;
    }

    /// <summary>
    /// Greedy provenance-diverse panel (seed §10.3): start from <paramref name="seeds"/>, then repeatedly add the candidate
    /// bringing the most new values (a new base lineage counts 1, a new jurisdiction counts 1); ties go to the smaller id
    /// (ordinal). Returns fewer than <paramref name="size"/> only when there are not enough candidates.
    /// </summary>
    public static IReadOnlyList<SpecialistRef> SelectPanel(IReadOnlyList<SpecialistRef> candidates, int size, IReadOnlyList<SpecialistRef>? seeds = null)
    {
        var panel = new List<SpecialistRef>();
        var lineages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var jurisdictions = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Take(SpecialistRef s)
        {
            panel.Add(s);
            lineages.Add(s.BaseLineage);
            jurisdictions.Add(s.Jurisdiction);
        }
        foreach (var s in seeds ?? [])
            if (panel.Count < size && !panel.Contains(s)) Take(s);
        var rest = candidates.Where(c => !panel.Contains(c)).ToList();
        while (panel.Count < size && rest.Count > 0)
        {
            SpecialistRef? best = null;
            int bestGain = -1;
            foreach (var c in rest)
            {
                int gain = (lineages.Contains(c.BaseLineage) ? 0 : 1) + (jurisdictions.Contains(c.Jurisdiction) ? 0 : 1);
                if (gain > bestGain || (gain == bestGain && string.CompareOrdinal(c.Id, best!.Id) < 0))
                {
                    best = c;
                    bestGain = gain;
                }
            }
            Take(best!);
            rest.Remove(best!);
        }
        return panel;
    }

    /// <summary>
    /// The exploration draw: h = SHA-256(bytes(policyCid) ‖ bytes(queryHash)) over the two 32-byte digests;
    /// explore when BE64(h[0..8]) mod 10000 &lt; floor(share × 10000), then pick challenger BE64(h[8..16]) mod count.
    /// Returns the challenger index, or null for "no exploration".
    /// </summary>
    public static int? ExplorationPick(string policyCid, string queryHash, double share, int challengerCount)
    {
        if (challengerCount <= 0 || !(share > 0)) return null;
        Span<byte> input = stackalloc byte[64];
        Convert.FromHexString(policyCid, input[..32], out _, out _);
        Convert.FromHexString(queryHash, input[32..], out _, out _);
        Span<byte> h = stackalloc byte[32];
        SHA256.HashData(input, h);
        ulong bucket = BinaryPrimitives.ReadUInt64BigEndian(h) % 10000UL;
        ulong threshold = (ulong)Math.Floor(Math.Clamp(share, 0, 1) * 10000);
        if (bucket >= threshold) return null;
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(h[8..]) % (ulong)challengerCount);
    }

    // Says when a lower-tier runner-up outscored the chosen topic: the highest tier present won.
    private static string RunnerUpNote(RoutingPolicy policy, TopicPolicy topic, double score, TopicScore? runnerUp)
    {
        if (runnerUp is null) return "";
        var ru = policy.TopicsById[runnerUp.Topic];
        return ru.Tier < topic.Tier && runnerUp.Score >= score
            ? $"; the highest tier present wins over runner-up '{ru.Id}' ({ru.Tier}, {Fmt(runnerUp.Score)})"
            : $" (runner-up '{ru.Id}' {Fmt(runnerUp.Score)})";
    }

    // The content's tier as words: the chosen topic's first matched rules with their original text and segment.
    private static string Evidence(Classification cls)
    {
        if (cls.FellBackToDefault) return $"no topic matched, so the default topic '{cls.Topic.Id}' applies";
        var parts = cls.Trace.Where(m => m.Topic == cls.Topic.Id).Take(3)
            .Select(m => $"rule '{m.RuleId}' matched \"{m.Text}\" in segment {m.Segment} ({RouteQuery.RoleName(m.Role)})");
        return $"topic '{cls.Topic.Id}': {string.Join(", ", parts)}";
    }

    private static RoutePlan Reject(string code, string message, int status, string? param) => new(null, new RouteRejection(code, message, status, param));

    private static string Describe(ProvenanceRequirement? r)
    {
        if (r is null) return "(none)";
        var sb = new StringBuilder("{");
        if (r.Lineages is not null) sb.Append("lineages: [").AppendJoin(", ", r.Lineages).Append(']');
        if (r.Jurisdictions is not null) sb.Append(r.Lineages is null ? "" : "; ").Append("jurisdictions: [").AppendJoin(", ", r.Jurisdictions).Append(']');
        return sb.Append('}').ToString();
    }

    private static string Short(string cid) => cid.Length > 12 ? cid[..12] : cid;

    private static string Fmt(double d) => d.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
