using System.Text.Json.Nodes;
using Federation.Node.Hosting;
using Federation.Node.Review;
using Federation.Registry.Merkle;
using Federation.Router;

namespace Federation.Node.Api;

/// <summary>The federation-specific API: route explanations, T3 review results, ledger proofs and tree heads.</summary>
public static class FederationEndpoints
{
    public static void MapFederation(this WebApplication app)
    {
        var g = app.MapGroup("/v1/federation");

        g.MapPost("/route", async (HttpContext ctx, FederationService fed) =>
        {
            var body = await OpenAiEndpoints.ReadJsonAsync(ctx);
            string query;
            if (body.ValueKind == System.Text.Json.JsonValueKind.Object && body.TryGetProperty("messages", out _))
                query = OpenAiRequestParser.ParseChat(body, int.MaxValue).RoutingText;
            else if (body.ValueKind == System.Text.Json.JsonValueKind.Object && body.TryGetProperty("query", out var q) && q.ValueKind == System.Text.Json.JsonValueKind.String)
                query = q.GetString()!;
            else
                throw ApiException.BadRequest("request.missing_field", "Send {\"query\": \"text\"} (optionally with \"model\"), or a chat request with 'messages'.", "query");
            var model = body.TryGetProperty("model", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString()! : RoutePlanner.AutoModel;
            var decision = fed.Route(query, model, null);
            return Results.Json(RouteJson.Decision(decision));
        }).WithName("ExplainRoute");

        g.MapGet("/reviews/{id}", (string id, ReviewQueue queue) =>
        {
            var item = queue.Get(id) ?? throw ApiException.NotFound("review.not_found", $"No review '{id}' on this node.", "id");
            var o = new JsonObject
            {
                ["id"] = item.Id,
                ["status"] = item.Status.ToString().ToLowerInvariant(),
                ["topic"] = item.Topic,
                ["created_at"] = item.CreatedAt.ToUnixTimeSeconds(),
                ["reviewer"] = item.Reviewer,
                ["comment"] = item.Comment,
                ["answer"] = item.Status == ReviewStatus.Approved && item.LedgerIndex is not null ? item.FinalAnswer : null,
                ["ledger_index"] = item.LedgerIndex,
                ["proof_url"] = item.LedgerIndex is { } i ? $"/v1/federation/ledger/{i}/proof" : null,
            };
            return Results.Json(o);
        }).WithName("GetReview");

        g.MapGet("/ledger/sth", (RuntimeHolder holder) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var sth = rt.Ledger.SignTreeHead();
            return Results.Content(sth.ToJson().ToJsonString(), "application/json");
        }).WithName("GetSignedTreeHead");

        g.MapGet("/ledger/{index:long}/proof", (long index, long? size, RuntimeHolder holder) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var treeSize = size ?? rt.Ledger.Size;
            if (index < 0 || index >= rt.Ledger.Size)
                throw ApiException.NotFound("ledger.index_out_of_range", $"Ledger index {index} does not exist; the ledger holds {rt.Ledger.Size} entries.", "index");
            if (treeSize <= index || treeSize > rt.Ledger.Size)
                throw ApiException.BadRequest("ledger.bad_tree_size", $"'size' must be in ({index}, {rt.Ledger.Size}]; found {treeSize}.", "size");
            var proof = rt.Ledger.Prove(index, treeSize);
            var json = MerkleProofJson.Inclusion(proof, rt.Ledger.LeafHash(index), rt.Ledger.Root(treeSize));
            var entry = rt.Ledger.GetEntry(index);
            json["entry"] = JsonNode.Parse(entry.Envelope.ToJson().ToString());
            return Results.Content(json.ToJsonString(), "application/json");
        }).WithName("GetInclusionProof");
    }
}
