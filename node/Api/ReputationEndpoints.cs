using System.Globalization;
using Federation.Governance;
using Federation.Node.Auth;
using Federation.Node.Cli;
using Federation.Node.Hosting;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Api;

/// <summary>
/// <c>GET /v1/federation/reputation/{topic}[?at=TIME]</c>: the topic's §9.9 table from this node's reputation book
/// (<c>&lt;data-dir&gt;/reputation/records.jsonl</c>, filled by <c>fed reputation ingest</c>), the same JSON as
/// <c>fed reputation show --output json</c>. Read-only; any API key (client or reviewer). And
/// <c>POST /v1/federation/outcomes</c> <c>{"ledger_index","verdict":"refuted"|"confirmed"}</c>: reality feedback on a
/// released answer, signed by this node as a <c>reputation.outcome</c> record into its book.
/// </summary>
public static class ReputationEndpoints
{
    /// <summary>Maps the reputation read endpoint (one line in the host: <c>app.MapReputationEndpoints();</c>).</summary>
    public static RouteGroupBuilder MapReputationEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation/reputation").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound);

        g.MapGet("/{topic}", (string topic, string? at, NodeOptions options, Answering.LiveReputation live) =>
        {
            double tau;
            if (at is null) tau = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 / ReputationBook.SecondsPerDay;
            else if (double.TryParse(at, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && double.IsFinite(secs)) tau = secs / ReputationBook.SecondsPerDay;
            else throw ApiException.BadRequest("reputation.bad_time", $"'at' must be unix seconds (e.g. 1796184357); found '{at}'.", "at");

            ReputationBook book;
            try { book = ReputationBookLog.Load(options.DataDir, live.TrustedAuditSigner()); }
            catch (ReputationRecordException e) { throw new InvalidOperationException("the reputation book is damaged: " + e.Message, e); }
            if (!book.Topics.Contains(topic))
                throw ApiException.NotFound("reputation.unknown_topic",
                    $"No reputation records for topic '{topic}' on this node; an operator adds them with 'fed reputation ingest FILE…'.", "topic");
            TopicReputationKnobs knobs;
            // the knobs the live path uses: reputation.yaml next to the node's --policy, else found like 'fed reputation show'
            try { knobs = live.Knobs(topic); }
            catch (ReputationPolicyException e) { throw new InvalidOperationException("the reputation policy is invalid: " + e.Message, e); }
            try
            {
                return Results.Text(book.TableJson(topic, tau, knobs), "application/json");
            }
            catch (ReputationInputException e)
            {
                throw ApiException.BadRequest("reputation.not_computable", $"The table of '{topic}' cannot be computed: {e.Message}.", "topic");
            }
        }).WithName("GetReputation").Metric("federation.reputation");

        // Reality feedback (§10.4). The body is read as canonical JSON rather than bound, to keep this file independent
        // of the node's source-generated JSON context.
        app.MapPost("/v1/federation/outcomes", async (HttpRequest request, RuntimeHolder holder, NodeOptions options) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            string text;
            using (var reader = new StreamReader(request.Body)) text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
            JsonObject body;
            try { body = CanonicalJson.Parse(text) as JsonObject ?? throw ApiException.BadRequest("outcome.bad_body", "The body must be a JSON object {\"ledger_index\", \"verdict\"}.", null); }
            catch (JsonParseException e) { throw ApiException.BadRequest("outcome.bad_body", $"The body is not JSON ({e.Message}); send {{\"ledger_index\": N, \"verdict\": \"refuted\"|\"confirmed\"}}.", null); }
            if (!body.TryGetValue("ledger_index", out var li) || li is not JsonInt lii)
                throw ApiException.BadRequest("outcome.bad_ledger_index", "'ledger_index' must be the integer index of the released answer's ledger entry.", "ledger_index");
            if (!body.TryGetValue("verdict", out var vv) || vv is not JsonString { Value: "refuted" or "confirmed" } verdict)
                throw ApiException.BadRequest("outcome.bad_verdict", "'verdict' must be \"refuted\" or \"confirmed\".", "verdict");
            var size = rt.Ledger.Size;
            if (lii.Value < 0 || lii.Value >= size)
                throw ApiException.NotFound("ledger.index_out_of_range", $"Ledger index {lii.Value} does not exist; the ledger holds {size} entries.", "ledger_index");
            var index = (long)lii.Value;
            var entry = rt.Ledger.GetEntry(index).Envelope;
            if (entry.Type != "answer" || entry.Payload is not JsonObject ep
                || !ep.TryGetValue("specialists", out var sv) || sv is not JsonArray sa
                || !ep.TryGetValue("route", out var rv) || rv is not JsonObject ro || !ro.TryGetValue("topic", out var tv) || tv is not JsonString topic)
                throw ApiException.BadRequest("outcome.not_an_answer", $"Ledger entry {index} is a '{entry.Type}' entry, not an answer with its route and specialists.", "ledger_index");
            var specialists = sa.OfType<JsonObject>().Select(o => o.TryGetValue("id", out var id) && id is JsonString s ? s.Value : null).OfType<string>().ToArray();
            if (specialists.Length == 0)
                throw ApiException.BadRequest("outcome.no_specialist", $"Ledger entry {index} names no specialist to credit or penalise.", "ledger_index");
            // Optional "expected" (the correct answer, refutations only): the case becomes a candidate canary (§10.4).
            var candidate = verdict.Value == "refuted" && body.TryGetValue("expected", out var exv)
                ? await RealityCanary.FromOutcomeAsync(body, exv, ep, entry.Id.ToString(), index, topic.Value, options.DataDir, request.HttpContext.RequestAborted)
                : null;
            if (verdict.Value == "confirmed" && body.ContainsKey("expected"))
                throw ApiException.BadRequest("outcome.bad_expected", "'expected' (the correct answer) goes with a \"refuted\" verdict only.", "expected");
            var reporter = request.HttpContext.User.FindFirst(NodeAuth.KeyIdClaim)?.Value ?? "unknown";
            var record = SignedEnvelope.Seal(ReputationBook.OutcomeType, new JsonObject
            {
                ["v"] = 1,
                ["topic"] = topic.Value,
                ["node"] = rt.Key.Id.ToString(),
                ["specialists"] = new JsonArray(specialists.Select(x => (JsonValue)x)),
                ["ledger_index"] = index,
                ["ledger_entry"] = entry.Id.ToString(),
                ["verdict"] = verdict.Value,
                ["time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["reporter"] = reporter,
            }, rt.Key);
            ReputationBook book;
            try { book = ReputationBookLog.Load(options.DataDir); }
            catch (ReputationRecordException e) { throw new InvalidOperationException("the reputation book is damaged: " + e.Message, e); }
            var result = ReputationBookLog.Append(options.DataDir, book, record);
            var response = new JsonObject
            {
                ["id"] = result.Id,
                ["verdict"] = verdict.Value,
                ["topic"] = topic.Value,
                ["ledger_index"] = index,
                ["specialists"] = new JsonArray(specialists.Select(x => (JsonValue)x)),
                ["evidence"] = result.Evidence,
                ["record"] = record.ToJson(),
            };
            if (candidate is not null) response["candidate_canary"] = candidate;
            return Results.Text(System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(response)), "application/json");
        }).RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation").WithName("ReportOutcome").Metric("federation.outcomes")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
        app.MapChallengeEndpoints();
        return g;
    }
}
