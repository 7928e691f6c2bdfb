using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Catalog;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Node.Api;

/// <summary><c>GET /v1/federation/catalog</c>: the verified base and adapter records in this node's ledger (issue 9).</summary>
public static class CatalogEndpoints
{
    public static IEndpointRouteBuilder MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/federation/catalog", (RuntimeHolder holder) =>
            Results.Text(CanonicalJson.SerializeToString(CatalogJson.List(OpenAiEndpoints.Ready(holder).Ledger)), "application/json"))
            .RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation").WithName("GetCatalog");
        return app;
    }
}

/// <summary>The catalog's JSON shape, shared by the endpoint and <c>fed catalog</c> (docs/formats.md §Catalog records).</summary>
public static class CatalogJson
{
    /// <summary><c>{"object":"list","data":[record…],"errors":[…]}</c>, in ledger order.</summary>
    public static JsonObject List(SqliteLedger ledger)
    {
        var errors = new List<string>();
        var entries = CatalogIndex.Read(ledger, errors);
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(entries.Select(e => (JsonValue)Entry(e))),
            ["errors"] = new JsonArray(errors.Select(x => (JsonValue)x)),
        };
    }

    /// <summary>One record: the signed payload's fields plus <c>ledger_index</c>, <c>id</c> (envelope CID) and <c>signer</c>.</summary>
    public static JsonObject Entry(CatalogEntry e)
    {
        var o = new JsonObject();
        foreach (var (k, v) in e.Record.ToPayload()) o[k] = v;
        o["ledger_index"] = e.LedgerIndex;
        o["id"] = e.Envelope.Id.ToString();
        o["signer"] = e.Envelope.Signer.ToString();
        return o;
    }
}
