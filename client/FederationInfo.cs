using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federation.Client;

/// <summary>
/// The <c>federation</c> object a node attaches to every answer (docs/api.md "The federation object"): how the query was
/// routed, which specialists answered, how the answer was verified, and where it sits in the node's ledger.
/// </summary>
/// <param name="Route">The routing decision (policy, topic, tier, verification class, rule trace).</param>
/// <param name="Specialists">The specialists that answered, with the exact base and adapter CIDs they ran with.</param>
/// <param name="Verification">What the node's verification gate concluded.</param>
/// <param name="Ledger">The answer's ledger entry: the receipt that <see cref="FederationClient.VerifyReceiptAsync(Microsoft.Extensions.AI.ChatResponse, CancellationToken)"/> checks.</param>
/// <param name="Review">The human review of a T3 or escalated answer, when there was one.</param>
public sealed record FederationInfo(
    FederationRoute Route,
    IReadOnlyList<FederationSpecialist> Specialists,
    FederationVerification Verification,
    FederationLedgerRef? Ledger,
    FederationReview? Review)
{
    /// <summary>The key under which the client stores this object in <c>AdditionalProperties</c>.</summary>
    public const string PropertyName = "federation";

    /// <summary>Reads a <c>federation</c> object.</summary>
    /// <exception cref="FormatException">The element is not a federation object; the message says what is missing.</exception>
    public static FederationInfo FromJson(JsonElement federation)
    {
        if (federation.ValueKind != JsonValueKind.Object)
            throw new FormatException($"the 'federation' member must be an object; found {federation.ValueKind}.");
        try
        {
            return federation.Deserialize(FederationJsonContext.Default.FederationInfo)
                ?? throw new FormatException("the 'federation' member is null.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"the 'federation' object does not have the documented shape (docs/api.md): {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads the <c>federation</c> member of a whole response body (a <c>chat.completion</c>, a <c>text_completion</c>
    /// or the final stream chunk), e.g. the raw body an OpenAI SDK call returns.
    /// </summary>
    /// <exception cref="FormatException">The body is not JSON or has no <c>federation</c> object.</exception>
    public static FederationInfo FromResponseBody(string json)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new FormatException($"the response body is not JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(PropertyName, out var f))
                throw new FormatException("the response has no 'federation' member; is it a Federation node's answer?");
            return FromJson(f);
        }
    }
}

/// <summary>A routing decision (the same fields as <c>fed route -o json</c>).</summary>
public sealed record FederationRoute(
    string PolicyCid,
    string Model,
    string Topic,
    string Tier,
    string VerificationClass,
    double Score,
    FederationRunnerUp? RunnerUp,
    IReadOnlyList<string> Specialists,
    string Mode,
    string Reason,
    IReadOnlyList<FederationRouteMatch>? Trace)
{
    /// <summary>True when no rule matched and the policy's default topic was used.</summary>
    public bool FellBackToDefault { get; init; }

    /// <summary>Hash of the routed query text.</summary>
    public string? QueryHash { get; init; }

    /// <summary>True when the route came from the exploration budget rather than the champion.</summary>
    public bool Exploration { get; init; }
}

/// <summary>The second-best topic and its score.</summary>
public sealed record FederationRunnerUp(string Topic, double Score);

/// <summary>One rule match of the route trace: which rule matched which span of the query.</summary>
public sealed record FederationRouteMatch(string Topic, string Rule, string Kind, double Weight, int Start, int Length, string Text)
{
    /// <summary>The rule's pattern.</summary>
    public string? Pattern { get; init; }
}

/// <summary>A specialist that answered: its id and the exact base and adapter it ran with.</summary>
public sealed record FederationSpecialist(string Id, string BaseCid, string AdapterCid);

/// <summary>The node's verification of an answer.</summary>
/// <param name="Status"><c>passed</c>, <c>unchecked</c>, <c>failed</c>, <c>needs_review</c> or <c>rejected</c>.</param>
/// <param name="Class">The topic's verification class (A, B or C).</param>
/// <param name="Checks">What each objective checker concluded.</param>
/// <param name="MemoryProofs">Whether memory proofs were used (<c>not_used</c> until memory exists).</param>
/// <param name="Detail">The gate's reason in words.</param>
public sealed record FederationVerification(
    string Status, string Class, IReadOnlyList<FederationCheck> Checks, string? MemoryProofs, string? Detail)
{
    /// <summary>How much a class-C panel agreed, when a panel answered.</summary>
    public FederationPanel? Panel { get; init; }
}

/// <summary>One checker's outcome.</summary>
public sealed record FederationCheck(string Checker, string Outcome, string? Detail);

/// <summary>Agreement of a class-C panel (word-set Jaccard).</summary>
public sealed record FederationPanel(double MeanSimilarity, double Threshold, bool Agreed, IReadOnlyList<string> LargestAgreeingGroup);

/// <summary>Where the answer's entry sits in the node's ledger.</summary>
/// <param name="Index">The entry's 0-based index (also its Merkle leaf index).</param>
/// <param name="EntryId">The CID of the entry's signed envelope.</param>
/// <param name="ProofUrl">The node-relative URL of its inclusion proof.</param>
public sealed record FederationLedgerRef(long Index, string EntryId, string ProofUrl);

/// <summary>The human review of an answer.</summary>
public sealed record FederationReview(string Id, string Status, string? Reviewer);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FederationInfo))]
internal sealed partial class FederationJsonContext : JsonSerializerContext;
