using System.Text;
using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Registry;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.Memory.Http;

/// <summary>
/// The memory API (issue 10, Surfaces), self-contained: the host registers a <see cref="MemoryService"/> singleton and
/// calls <see cref="MapMemoryEndpoints"/> with a function that maps a request to its <see cref="MemoryPrincipal"/>
/// (authenticated API-key user → <c>MemoryPrincipal.User(keyName)</c>; no key → <c>Anonymous</c>). Every answer is
/// canonical JSON; errors are <c>{"error":{"message","type","param","code"}}</c>, a policy refusal is 403 with the rule
/// in <c>param</c>.
/// </summary>
public static class MemoryEndpoints
{
    /// <summary>Maps <c>/v1/memory/*</c>. Returns the route group so the host can add its auth filters.</summary>
    public static RouteGroupBuilder MapMemoryEndpoints(this IEndpointRouteBuilder app, Func<HttpContext, MemoryPrincipal> principalOf)
    {
        ArgumentNullException.ThrowIfNull(principalOf);
        var g = app.MapGroup("/v1/memory");

        g.MapPost("/fragments", async (HttpContext http, CancellationToken ct) => await Guard(async () =>
        {
            var svc = Service(http);
            var who = principalOf(http);
            var body = await ReadJsonAsync(http, ct);
            if (body is not JsonObject o) return Error(400, "expected a JSON object: a signed fragment envelope, {\"fragments\": [envelopes…]}, or {\"namespace\", \"content\", \"metadata\"?} for a custodial write.", "invalid_request_error", "memory.invalid_request");
            if (o.ContainsKey("signature"))
            {
                var env = SignedEnvelope.FromJson(o);
                return Json(201, Receipt((await svc.PutAsync(who, [env], ct))[0]));
            }
            if (o.TryGetValue("fragments", out var list))
            {
                if (list is not JsonArray a) return Error(400, "\"fragments\" must be an array of signed fragment envelopes.", "invalid_request_error", "memory.invalid_request", "fragments");
                var envs = a.Select(SignedEnvelope.FromJson).ToList();
                var receipts = await svc.PutAsync(who, envs, ct);
                return Json(201, new JsonObject { ["receipts"] = new JsonArray(receipts.Select(r => (JsonValue)Receipt(r))) });
            }
            if (o.TryGetValue("namespace", out var nsv) && nsv is JsonString ns && o.TryGetValue("content", out var cv) && cv is JsonString content)
            {
                var meta = o.TryGetValue("metadata", out var m) ? m as JsonObject : [];
                if (meta is null) return Error(400, "\"metadata\" must be a JSON object.", "invalid_request_error", "memory.invalid_request", "metadata");
                var r = await svc.PutCustodialAsync(who, MemoryNamespace.Parse(ns.Value), content.Value, meta, ct);
                return Json(201, Receipt(r));
            }
            return Error(400, "expected a signed fragment envelope, {\"fragments\": […]}, or {\"namespace\", \"content\"} for a custodial write.", "invalid_request_error", "memory.invalid_request");
        }));

        g.MapGet("/search", async (HttpContext http, CancellationToken ct) => await Guard(async () =>
        {
            var q = http.Request.Query["q"].ToString();
            if (string.IsNullOrWhiteSpace(q)) return Error(400, "give the query as ?q=…", "invalid_request_error", "memory.invalid_request", "q");
            int k = 10;
            if (http.Request.Query.TryGetValue("k", out var kv) && (!int.TryParse(kv.ToString(), out k) || k < 1 || k > 100))
                return Error(400, $"k must be an integer from 1 to 100; got '{kv}'.", "invalid_request_error", "memory.invalid_request", "k");
            var nss = http.Request.Query["namespace"].SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            var svc = Service(http);
            var hits = await svc.SearchAsync(principalOf(http), q, nss, k, ct);
            return Json(200, new JsonObject
            {
                ["query"] = q,
                ["global_root"] = Convert.ToHexStringLower(svc.Store.GlobalTree().Root),
                ["hits"] = new JsonArray(hits.Select(h => (JsonValue)h.ToJson())),
            });
        }));

        g.MapGet("/roots", (HttpContext http, CancellationToken ct) => Guard(() =>
        {
            var svc = Service(http);
            var who = principalOf(http);
            var st = svc.Store.CurrentStatement();
            var o = st.ToJson();
            // Only the heads the caller may read: a user's namespace name is not everyone's business.
            o["heads"] = new JsonArray(svc.Store.Heads()
                .Where(h => svc.Policy.CheckRead(who, MemoryNamespace.Parse(h.Namespace)) is null)
                .Select(h => (JsonValue)new JsonObject { ["namespace"] = h.Namespace, ["root"] = Convert.ToHexStringLower(h.Root), ["size"] = h.Size }));
            return Task.FromResult(Json(200, o));
        }));

        g.MapGet("/fragments/{cid}", (HttpContext http, string cid) => Guard(() =>
        {
            var c = Cid.Parse(cid);
            var f = Service(http).Get(principalOf(http), c);
            return Task.FromResult(f is null ? NotFound(c) : Json(200, f.ToJson()));
        }));

        g.MapGet("/fragments/{cid}/proof", (HttpContext http, string cid) => Guard(() =>
            Task.FromResult(Json(200, Service(http).Prove(principalOf(http), Cid.Parse(cid))))));

        g.MapDelete("/fragments/{cid}", async (HttpContext http, string cid, CancellationToken ct) => await Guard(async () =>
        {
            var c = Cid.Parse(cid);
            SignedEnvelope? tombstone = null;
            if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
                tombstone = SignedEnvelope.FromJson(await ReadJsonAsync(http, ct));
            var r = await Service(http).DeleteAsync(principalOf(http), c, tombstone, null, ct);
            return Json(200, Receipt(r));
        }));

        g.MapPost("/fragments/{cid}/erase", (HttpContext http, string cid) => Guard(() =>
        {
            var c = Cid.Parse(cid);
            bool erased = Service(http).Erase(principalOf(http), c);
            return Task.FromResult(Json(200, new JsonObject { ["fragment_cid"] = c.ToString(), ["erased"] = true, ["already_erased"] = !erased }));
        }));
        return g;
    }

    private static MemoryService Service(HttpContext http) => http.RequestServices.GetRequiredService<MemoryService>();

    private static JsonObject Receipt(AppendReceipt r) => new()
    {
        ["fragment_cid"] = r.Cid.ToString(), ["namespace"] = r.Namespace, ["leaf_index"] = r.LeafIndex, ["duplicate"] = r.Duplicate,
    };

    private static async Task<JsonValue> ReadJsonAsync(HttpContext http, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        await http.Request.Body.CopyToAsync(ms, ct);
        return CanonicalJson.Parse(ms.ToArray());
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> body)
    {
        try { return await body(); }
        catch (MemoryPolicyRefusedException e) { return Error(403, e.Refusal.Message, "permission_error", "memory.policy_refused", e.Refusal.Rule); }
        catch (MemoryWriteInvalidException e) { return Error(400, e.Message, "invalid_request_error", "memory.invalid_fragment", e.Failure.ToString()); }
        catch (MemoryStoreException e) when (e.Code == "memory.not_found") { return Error(404, e.Message, "invalid_request_error", e.Code); }
        catch (MemoryStoreException e) when (e.Code == "memory.read_only") { return Error(503, e.Message, "server_error", e.Code); }
        catch (MemoryStoreException e) { return Error(409, e.Message, "invalid_request_error", e.Code); }
        catch (FormatException e) { return Error(400, e.Message, "invalid_request_error", "memory.invalid_request"); }
        catch (ArgumentOutOfRangeException e) { return Error(400, e.Message.Split(" (Parameter", 2)[0], "invalid_request_error", "memory.invalid_request"); }
    }

    private static IResult NotFound(Cid c) => Error(404, $"no fragment {c} in this node's memory.", "invalid_request_error", "memory.not_found");

    private static IResult Json(int status, JsonValue body) =>
        Results.Text(CanonicalJson.SerializeToString(body), "application/json", Encoding.UTF8, status);

    private static IResult Error(int status, string message, string type, string code, string? param = null) =>
        Json(status, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
        });
}
