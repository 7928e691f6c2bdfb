using System.Text.Json;
using Federation.Memory;
using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Json;
using Federation.Specialists.Production.Personalization;
using Federation.Specialists.Training;

namespace Federation.Node.Api;

/// <summary>
/// Per-user adapters over HTTP (issue 9, seed §Personalization; docs/api.md "Personal adapters"). Every call acts for the
/// caller's own user (the API key's name) and needs an API key: the keyless loopback caller has no user.
/// <list type="bullet">
/// <item><c>POST /v1/federation/consents</c> <c>{"topic","question","answer"}</c>: the caller consents that this dialogue
/// may train their adapter; stored, and the consent ledgered (<c>consent.consolidation</c>).</item>
/// <item><c>POST /v1/federation/personal-adapters</c> <c>{"topic", "epochs"?, "learning_rate"?, "rank"?}</c>: consolidation;
/// the adapter is bound to the caller for that topic only (<c>topics</c>). 409 <c>consent.missing</c> when no consented
/// dialogue of that topic exists; 400 <c>personal.panel_topic</c> for a class-C (panel) topic; 422 <c>personal.refused</c>
/// with the gate's numbers when the acceptance gate refuses it (nothing is bound).</item>
/// <item><c>GET /v1/federation/personal-adapters</c>: the caller's bindings, each with the topics it applies to.</item>
/// </list>
/// </summary>
public static class PersonalEndpoints
{
    public static IEndpointRouteBuilder MapPersonalEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation");
        g.MapPost("/consents", ConsentAsync).WithName("RecordConsent");
        g.MapPost("/personal-adapters", ConsolidateAsync).WithName("ConsolidatePersonalAdapter");
        g.MapGet("/personal-adapters", (HttpContext ctx, RuntimeHolder holder) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var user = RequireUser(ctx);
            return Results.Text(CanonicalJson.SerializeToString(new JsonObject
            {
                ["object"] = "list", ["user"] = user, ["data"] = new JsonArray(PersonalAdapters.BindingsOf(rt.Ledger, user).Select(o => (JsonValue)o)),
            }), "application/json");
        }).WithName("ListPersonalAdapters");
        return app;
    }

    /// <summary>The caller's user: the API key's name; null for the keyless loopback caller or a name that is not a user id.</summary>
    public static string? UserOf(HttpContext ctx)
    {
        var name = ctx.User.FindFirst(System.Security.Claims.ClaimTypes.Name)?.Value;
        return name is null || name == NodeAuth.AnonymousLoopback || !MemoryNamespace.ValidId(name) ? null : name;
    }

    private static string RequireUser(HttpContext ctx) => UserOf(ctx)
        ?? throw new ApiException(401, "invalid_request_error", "personal.no_user",
            "Personal adapters belong to a user, and this request has none: send an API key (fed keys create --name USER); the key's name is the user.");

    private static async Task<IResult> ConsentAsync(HttpContext ctx, RuntimeHolder holder)
    {
        var rt = OpenAiEndpoints.Ready(holder);
        var user = RequireUser(ctx);
        var body = await ReadObjectAsync(ctx);
        string Field(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s
            : throw ApiException.BadRequest("invalid_value", $"'{name}' must be a non-empty string: the consent names one dialogue as {{\"topic\", \"question\", \"answer\"}}.", name);
        var topic = Field("topic");
        if (rt.Policy.Topics.All(t => t.Id != topic))
            throw ApiException.BadRequest("personal.unknown_topic", $"topic '{topic}' is not in the routing policy ({string.Join(", ", rt.Policy.Topics.Select(t => t.Id))}).", "topic");
        var (cid, index) = await rt.Personal.RecordConsentAsync(rt.Ledger, new Dialogue(user, topic, Field("question"), Field("answer")), ctx.RequestAborted);
        return Results.Text(CanonicalJson.SerializeToString(new JsonObject
        {
            ["object"] = "consent", ["user"] = user, ["topic"] = topic, ["dialogue"] = cid, ["scope"] = "consolidation", ["ledger_index"] = index,
        }), "application/json");
    }

    private static async Task<IResult> ConsolidateAsync(HttpContext ctx, RuntimeHolder holder)
    {
        var rt = OpenAiEndpoints.Ready(holder);
        var user = RequireUser(ctx);
        var body = await ReadObjectAsync(ctx);
        if (!body.TryGetProperty("topic", out var tv) || tv.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(tv.GetString()))
            throw ApiException.BadRequest("invalid_value", "'topic' must name the policy topic whose specialist the personal adapter stacks on.", "topic");
        int Int(string name, int def, int min, int max)
        {
            if (!body.TryGetProperty(name, out var v)) return def;
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) && i >= min && i <= max ? i
                : throw ApiException.BadRequest("invalid_value", $"'{name}' must be an integer in {min}..{max}.", name);
        }
        var lr = 0.005f;
        if (body.TryGetProperty("learning_rate", out var lv))
            lr = lv.ValueKind == JsonValueKind.Number && lv.TryGetSingle(out var f) && f > 0 && f <= 1 ? f
                : throw ApiException.BadRequest("invalid_value", "'learning_rate' must be a number in (0, 1].", "learning_rate");
        var options = new TrainingOptions { Epochs = Int("epochs", 8, 1, 64), LearningRate = lr, Patience = 0, ValidationSplit = 0.2, Seed = 0, Threads = 1 };
        try
        {
            var r = await rt.Personal.ConsolidateAsync(rt, user, tv.GetString()!, options, Int("rank", 8, 1, 64), ctx.RequestAborted);
            if (!r.Admitted)
            {
                var reasons = r.Acceptance["reasons"].AsArray().Select(x => x.AsString()).ToList();
                // a regression on the topic's held-out set is the adapter teaching what the topic's checker rejects: more training makes it worse
                var hint = reasons.Any(x => x.Contains(" drops from ", StringComparison.Ordinal))
                    ? "it would make the topic's own specialist worse on its held-out questions; consent only to dialogues whose answers are right for the topic"
                    : "consent to more dialogues or train longer ('epochs')";
                throw new ApiException(422, "invalid_request_error", "personal.refused",
                    $"the acceptance gate refused the personal adapter {r.AdapterCid}: {string.Join("; ", reasons)}. It is not bound; {hint}.");
            }
            return Results.Text(CanonicalJson.SerializeToString(new JsonObject
            {
                ["object"] = "personal_adapter", ["user"] = r.User, ["topic"] = r.Topic, ["topics"] = new JsonArray(r.Topics.Select(t => (JsonValue)t)), ["base_cid"] = r.BaseCid, ["adapter_cid"] = r.AdapterCid,
                ["examples"] = r.Examples, ["excluded"] = r.Excluded, ["admitted"] = r.Admitted, ["bound"] = r.Bound,
                ["acceptance"] = r.Acceptance, ["ledger_index"] = r.LedgerIndex is { } i ? (JsonValue)i : (JsonValue)(string?)null,
            }), "application/json");
        }
        catch (PersonalAdapterException e)
        {
            throw new ApiException(e.Status, "invalid_request_error", e.Code, e.Message, "topic");
        }
    }

    private static async Task<JsonElement> ReadObjectAsync(HttpContext ctx)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone()
                : throw ApiException.BadRequest("invalid_json", "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("invalid_json", $"The request body is not valid JSON: {e.Message}");
        }
    }
}
