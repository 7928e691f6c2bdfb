using Federation.Canaries.Spore;
using Federation.Node.Api;
using Federation.Node.Auth;
using Federation.Registry.Json;

namespace Federation.Node.Spore;

/// <summary>
/// <c>POST /v1/federation/spore/{propose,verify,respond,resolve,reputation}</c> (docs/spore.md): the node's side of the
/// Spore loop, for <c>fed spore propose|verify|respond|resolve</c>. Any API key (they change what the node publishes,
/// like <c>/v1/federation/outcomes</c>); 503 <c>spore.not_running</c> when the node runs no Spore peer.
/// </summary>
public static class SporeEndpoints
{
    /// <summary>Maps the endpoints (one line in the host: <c>app.MapSporeEndpoints();</c>).</summary>
    public static RouteGroupBuilder MapSporeEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation/spore").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);

        g.MapPost("/propose", (HttpContext ctx, CancellationToken _) => Run(ctx, async (svc, body) =>
        {
            var task = Str(body, "task", required: true)!;
            var result = await svc.ProposeAsync(task, Str(body, "topic"), Str(body, "answer", allowEmpty: true), ctx.RequestAborted);
            return result.ToJson();
        })).WithName("SporePropose");

        g.MapPost("/verify", (HttpContext ctx, CancellationToken _) => Run(ctx, async (svc, body) =>
            Event(await svc.VerifyAsync(Str(body, "experiment_id", required: true)!, ctx.RequestAborted), "no event: the record is a crash record, or it is outside tolerance and no independent node of its class exists to answer a challenge")))
            .WithName("SporeVerify");

        g.MapPost("/respond", (HttpContext ctx, CancellationToken _) => Run(ctx, async (svc, body) =>
            Event(await svc.RespondAsync(Str(body, "challenge_id", required: true)!, ctx.RequestAborted), "no response: this node is the challenger or the publisher, of another GPU class, or lacks the artifact")))
            .WithName("SporeRespond");

        g.MapPost("/resolve", (HttpContext ctx, CancellationToken _) => Run(ctx, async (svc, body) =>
            Event(await svc.ResolveAsync(Str(body, "experiment_id", required: true)!, ctx.RequestAborted), "no dispute: no challenge response is held yet")))
            .WithName("SporeResolve");

        g.MapPost("/reputation", (HttpContext ctx, CancellationToken _) => Run(ctx, async (svc, _) =>
        {
            var r = await svc.SyncReputationAsync(ctx.RequestAborted);
            return new JsonObject { ["evidence"] = r.Evidence, ["slashes"] = r.Slashes, ["added"] = r.Added, ["added_ids"] = new JsonArray(r.AddedIds.Select(x => (JsonValue)x)) };
        })).WithName("SporeReputationSync");
        return g;
    }

    private static JsonObject Event(ControlEvent? e, string none) => e is null
        ? new JsonObject { ["event"] = (JsonValue)(string?)null, ["type"] = (JsonValue)(string?)null, ["detail"] = none }
        : new JsonObject { ["event"] = e.Json, ["type"] = e.Type, ["id"] = e.Id, ["detail"] = e.Type };

    private static async Task<IResult> Run(HttpContext ctx, Func<SporeProposalService, JsonObject, Task<JsonObject>> f)
    {
        var svc = ctx.RequestServices.GetService<SporeProposalService>()
            ?? throw new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", "spore.not_running",
                "This node runs no Spore peer; start it with 'fed serve --spore-listen 127.0.0.1:7470'.");
        string text;
        using (var reader = new StreamReader(ctx.Request.Body)) text = await reader.ReadToEndAsync(ctx.RequestAborted);
        JsonObject body;
        try
        {
            body = (text.Length == 0 ? new JsonObject() : CanonicalJson.Parse(text) as JsonObject)
                ?? throw ApiException.BadRequest("spore.bad_body", "The body must be a JSON object.");
        }
        catch (JsonParseException e)
        {
            throw ApiException.BadRequest("spore.bad_body", $"The body is not JSON ({e.Message}); send a JSON object.");
        }
        try
        {
            var result = await f(svc, body);
            return Results.Text(System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(result)), "application/json");
        }
        catch (SporeServiceException e)
        {
            throw new ApiException(e.Status, e.Status >= 500 ? "server_error" : "invalid_request_error", e.Code, e.Message, e.Param);
        }
    }

    private static string? Str(JsonObject body, string key, bool required = false, bool allowEmpty = false)
    {
        if (!body.TryGetValue(key, out var v) || v is JsonNull)
            return required ? throw ApiException.BadRequest("spore.missing_field", $"'{key}' is required.", key) : null;
        if (v is not JsonString s || (!allowEmpty && s.Value.Length == 0))
            throw ApiException.BadRequest("spore.bad_field", $"'{key}' must be a non-empty string.", key);
        return s.Value;
    }
}
