using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Node.Review;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Federation.Node.Api;

/// <summary>The federation-specific API: route explanations, T3 review results, ledger proofs and tree heads.</summary>
public static class FederationEndpoints
{
    public static RouteGroupBuilder MapFederation(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);

        g.MapPost("/route", (RouteRequest body, AnswerService answers, RuntimeHolder holder) =>
        {
            var (query, requested) = RequestValidator.Route(body);
            var rt = OpenAiEndpoints.Ready(holder);
            return TypedResults.Ok(RouteInfo.From(OpenAiEndpoints.Route(answers, rt, query, requested, body.Messages is null ? "query" : "messages")));
        }).WithName("ExplainRoute").Metric("federation.route").ProducesProblemLike(StatusCodes.Status422UnprocessableEntity);

        g.MapGet("/reviews/{id}", Ok<ReviewResponse> (string id, ReviewQueue queue, HttpContext ctx) =>
        {
            var item = queue.Get(id);
            // a client reads only the reviews of its own requests (answered as unknown, so ids of others are not confirmed); reviewers read all
            if (item is not null && !ctx.User.IsInRole("reviewer") && queue.RequesterOf(id) != ctx.User.Identity?.Name) item = null;
            if (item is null) throw ApiException.NotFound("review.not_found", $"No review '{id}' on this node that this API key asked for.", "id");
            return TypedResults.Ok(new ReviewResponse(
                item.Id, item.Status.ToString().ToLowerInvariant(), item.Topic, item.CreatedAt.ToUnixTimeSeconds(), item.Reviewer, item.Comment,
                item.Status == ReviewStatus.Approved && item.LedgerIndex is not null ? item.FinalAnswer : null,
                item.LedgerIndex, item.LedgerIndex is { } i ? $"/v1/federation/ledger/{i}/proof" : null, item.Member));
        }).WithName("GetReview").Metric("federation.reviews");

        g.MapGet("/ledger/sth", async Task<Ok<SignedTreeHeadResponse>> (RuntimeHolder holder, CancellationToken ct) =>
        {
            var sth = await OpenAiEndpoints.Ready(holder).TreeHeads.CurrentAsync(ct);
            return TypedResults.Ok(new SignedTreeHeadResponse(sth.TreeSize, Convert.ToHexStringLower(sth.Root), sth.TimestampMs,
                sth.Envelope.Signer.ToString(), sth.Envelope.Signature, sth.Envelope.Id.ToString()));
        }).WithName("GetSignedTreeHead").Metric("federation.ledger.sth");

        g.MapGet("/ledger/{index:long}/proof", Ok<InclusionProofResponse> (long index, long? size, RuntimeHolder holder) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var ledgerSize = rt.Ledger.Size;
            var treeSize = size ?? ledgerSize;
            if (index < 0 || index >= ledgerSize)
                throw ApiException.NotFound("ledger.index_out_of_range", $"Ledger index {index} does not exist; the ledger holds {ledgerSize} entries.", "index");
            if (treeSize <= index || treeSize > ledgerSize)
                throw ApiException.BadRequest("ledger.bad_tree_size", $"'size' must be in ({index}, {ledgerSize}]; found {treeSize}.", "size");
            var proof = rt.Ledger.Prove(index, treeSize);
            return TypedResults.Ok(new InclusionProofResponse(proof.LeafIndex, proof.TreeSize, Convert.ToHexStringLower(rt.Ledger.LeafHash(index)),
                Convert.ToHexStringLower(rt.Ledger.Root(treeSize)), proof.Path.Select(Convert.ToHexStringLower).ToList(),
                new CanonicalJsonValue(rt.Ledger.GetEntry(index).Envelope.ToJson())));
        }).WithName("GetInclusionProof").Metric("federation.ledger.proof");
        return g;
    }
}
