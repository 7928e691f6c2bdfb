using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Federation.Node.Verification;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Router;

namespace Federation.Node.Answering;

/// <summary>What the verification gate concluded about an answer (also the ledger's <c>verification.status</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VerificationStatus>))]
public enum VerificationStatus
{
    /// <summary>A checker confirmed it, a panel agreed, or a reviewer approved it: released.</summary>
    [JsonStringEnumMemberName("passed")] Passed,
    /// <summary>No objective checker applies: released on the specialist's trust score.</summary>
    [JsonStringEnumMemberName("unchecked")] Unchecked,
    /// <summary>A checker refuted it: withheld.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
    /// <summary>T3, or a panel below the agreement threshold: a human decides.</summary>
    [JsonStringEnumMemberName("needs_review")] NeedsReview,
    /// <summary>A reviewer rejected it: withheld.</summary>
    [JsonStringEnumMemberName("rejected")] Rejected,
}

/// <summary>A rule match of the route trace.</summary>
public sealed record RouteTraceInfo(string Topic, string Rule, string Kind, string Pattern, double Weight, int Segment, string Role, int Start, int Length, string Text, string Normalized);

public sealed record RunnerUpInfo(string Topic, double Score);

/// <summary>
/// A routing decision on the wire and in the ledger; the same fields as <c>fed route -o json</c>
/// (<see cref="RouteJson.Decision"/>), which a test keeps equal.
/// </summary>
public sealed record RouteInfo(
    string PolicyCid, string Model, string Topic, string Tier, string VerificationClass, double Score, RunnerUpInfo? RunnerUp,
    bool FellBackToDefault, string QueryHash, IReadOnlyList<string> Specialists, string Mode, bool Exploration, string Reason,
    IReadOnlyList<RouteTraceInfo> Trace)
{
    public static RouteInfo From(RouteDecision d) => new(
        d.PolicyCid, d.Model, d.Topic, d.Tier.ToString(), d.Class.ToString(), d.Score,
        d.RunnerUp is null ? null : new RunnerUpInfo(d.RunnerUp.Topic, d.RunnerUp.Score),
        d.FellBackToDefault, d.QueryHash, d.Specialists, d.Mode.ToString().ToLowerInvariant(), d.Exploration, d.Reason,
        d.Trace.Select(m => new RouteTraceInfo(m.Topic, m.RuleId, m.Kind.ToString().ToLowerInvariant(), m.Pattern, m.Weight, m.Segment, RouteQuery.RoleName(m.Role), m.Start, m.Length, m.Text, m.Normalized)).ToList());
}

/// <summary>A specialist that answered: its id and the exact base and adapter it ran with, and the requesting user's own adapter stacked on it, if any (PersonalAdapters).</summary>
public sealed record SpecialistInfo(string Id, string BaseCid, string AdapterCid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UserAdapterCid = null);

/// <summary>How much a class-C panel agreed (word-set Jaccard, see docs/routing.md).</summary>
public sealed record PanelInfo(double MeanSimilarity, double Threshold, bool Agreed, IReadOnlyList<string> LargestAgreeingGroup)
{
    public static PanelInfo From(PanelAgreementReport p) => new(p.MeanSimilarity, p.Threshold, p.Agreed, p.LargestAgreeingGroup);
}

/// <summary>The verification of one answer, as recorded in the ledger and in the response.</summary>
public sealed record VerificationInfo(
    VerificationStatus Status,
    string Class,
    IReadOnlyList<CheckResult> Checks,
    string MemoryProofs,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PanelInfo? Panel,
    // reputation in the live path (docs/reputation.md "Live path"): weights, agreement, n_eff, trust score and the rule
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReputationInfo? Reputation = null)
{
    /// <summary>No memory was put into the prompt (off, or nothing retrieved).</summary>
    public const string MemoryNotUsed = "not_used";

    /// <summary>Memory was put into the prompt; every fragment's proof (in <c>memory.proofs</c>) was verified by the node before use.</summary>
    public const string MemoryVerified = "verified";

    /// <summary>True when the answer may be sent to the client.</summary>
    [JsonIgnore]
    public bool Released => Status is VerificationStatus.Passed or VerificationStatus.Unchecked;
}

public sealed record LedgerInfo(long Index, string EntryId, string ProofUrl)
{
    public static LedgerInfo At(long index, string entryId) => new(index, entryId, $"/v1/federation/ledger/{index}/proof");
}

public sealed record ReviewInfo(string Id, string Status, string? Reviewer);

/// <summary>The <c>federation</c> object of every answer (docs/api.md).</summary>
public sealed record FederationInfo(
    RouteInfo Route,
    IReadOnlyList<SpecialistInfo> Specialists,
    VerificationInfo Verification,
    LedgerInfo Ledger,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReviewInfo? Review,
    // the memory put into the prompt: {"global_root","fragments":[{"fragment_cid","namespace","score"}],"proofs":[…]} (docs/memory.md §RAG)
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CanonicalJsonValue? Memory = null,
    // on a response-cache hit: the ledger entry of the answer that was generated (ResponseCache)
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CacheHitInfo? CacheHitOf = null);

public sealed record LedgerUsage(int PromptTokens, int CompletionTokens);

/// <summary>
/// Everything known about an answer before its release is decided: kept with a T3 review (in the review queue) so the
/// ledger entry written after the decision comes from the same facts through <see cref="AnswerRecord.Create"/>.
/// </summary>
public sealed record AnswerFacts(
    string QuerySha256,
    string DraftSha256,
    RouteInfo Route,
    IReadOnlyList<SpecialistInfo> Specialists,
    VerificationInfo Verification,
    long AnsweredAtMs,
    LedgerUsage Usage,
    string? Query,
    string? Draft,
    string? MemoryRoot = null,
    CanonicalJsonValue? Memory = null,
    // the generation request (with --store-bodies, single specialist) so a challenge can replay it (ChallengeReplay)
    CanonicalJsonValue? Request = null,
    // a response-cache hit: the entry of the original answer (ResponseCache)
    CacheHitInfo? CacheHitOf = null);

/// <summary>
/// The ledger payload of an <c>answer</c> entry (docs/api.md "Ledger entries"). Built only by <see cref="Create"/>, for
/// answers released or withheld at once and for reviewed ones alike. Bodies appear only with <c>--store-bodies</c>.
/// </summary>
public sealed record AnswerRecord(
    string QuerySha256,
    string? AnswerSha256,
    RouteInfo Route,
    string PolicyCid,
    IReadOnlyList<SpecialistInfo> Specialists,
    string? MemoryRoot,
    VerificationInfo Verification,
    CanonicalJsonValue? Review,
    long AnsweredAtMs,
    LedgerUsage Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Query,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Answer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CanonicalJsonValue? Memory,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CanonicalJsonValue? Request = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CacheHitInfo? CacheHitOf = null)
{
    /// <summary>The ledger entry type.</summary>
    public const string EntryType = "answer";

    /// <summary>
    /// The one constructor of answer entries. <paramref name="status"/> is the final status (a reviewed answer is
    /// <see cref="VerificationStatus.Passed"/> or <see cref="VerificationStatus.Rejected"/>); <paramref name="answer"/>
    /// is the text the entry vouches for (the released or withheld text; null for a rejection); <paramref name="review"/>
    /// is the reviewer's signed <c>review.decision</c> envelope.
    /// </summary>
    public static AnswerRecord Create(AnswerFacts facts, VerificationStatus status, string? answer, SignedEnvelope? review, string? reviewer)
    {
        var v = facts.Verification;
        var detail = reviewer is null ? v.Detail : $"{v.Detail}; {(status == VerificationStatus.Passed ? "approved" : "rejected")} by {reviewer}";
        return new AnswerRecord(
            facts.QuerySha256,
            answer is null ? null : Sha256(answer),
            facts.Route,
            facts.Route.PolicyCid,
            facts.Specialists,
            facts.MemoryRoot,
            v with { Status = status, Detail = detail },
            review is null ? null : new CanonicalJsonValue(review.ToJson()),
            facts.AnsweredAtMs,
            facts.Usage,
            facts.Query,
            facts.Query is null ? null : answer,
            facts.Memory,
            facts.Request,
            facts.CacheHitOf);
    }

    /// <summary>The canonical JSON the ledger signs (floats stay floats).</summary>
    public JsonValue ToLedgerPayload() => CanonicalJson.FromObject(this, NodeJson.Options);

    public static string Sha256(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}

/// <summary>A value of the registry's canonical JSON model embedded as it is (e.g. a signed envelope).</summary>
[JsonConverter(typeof(CanonicalJsonValueConverter))]
public sealed record CanonicalJsonValue(JsonValue Value);

internal sealed class CanonicalJsonValueConverter : JsonConverter<CanonicalJsonValue>
{
    public override CanonicalJsonValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        return new CanonicalJsonValue(CanonicalJson.FromElement(doc.RootElement));
    }

    public override void Write(Utf8JsonWriter writer, CanonicalJsonValue value, JsonSerializerOptions options) =>
        writer.WriteRawValue(CanonicalJson.Serialize(value.Value), skipInputValidation: true);
}

/// <summary>The serializer options of the node's generated JSON contract.</summary>
public static class NodeJson
{
    public static JsonSerializerOptions Options => Api.NodeJsonContext.Default.Options;
}
