using System.Globalization;
using Federation.Governance;
using Federation.Node.Auth;
using Federation.Node.Cli;
using Federation.Node.Hosting;

namespace Federation.Node.Api;

/// <summary>
/// <c>GET /v1/federation/reputation/{topic}[?at=TIME]</c>: the topic's §9.9 table from this node's reputation book
/// (<c>&lt;data-dir&gt;/reputation/records.jsonl</c>, filled by <c>fed reputation ingest</c>), the same JSON as
/// <c>fed reputation show --output json</c>. Read-only; any API key (client or reviewer).
/// </summary>
public static class ReputationEndpoints
{
    /// <summary>Maps the reputation read endpoint (one line in the host: <c>app.MapReputationEndpoints();</c>).</summary>
    public static RouteGroupBuilder MapReputationEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/federation/reputation").RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound);

        g.MapGet("/{topic}", (string topic, string? at, NodeOptions options) =>
        {
            double tau;
            if (at is null) tau = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 / ReputationBook.SecondsPerDay;
            else if (double.TryParse(at, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && double.IsFinite(secs)) tau = secs / ReputationBook.SecondsPerDay;
            else throw ApiException.BadRequest("reputation.bad_time", $"'at' must be unix seconds (e.g. 1796184357); found '{at}'.", "at");

            ReputationBook book;
            try { book = ReputationBookLog.Load(options.DataDir); }
            catch (ReputationRecordException e) { throw new InvalidOperationException("the reputation book is damaged: " + e.Message, e); }
            if (!book.Topics.Contains(topic))
                throw ApiException.NotFound("reputation.unknown_topic",
                    $"No reputation records for topic '{topic}' on this node; an operator adds them with 'fed reputation ingest FILE…'.", "topic");
            TopicReputationKnobs knobs;
            try { knobs = ReputationShowCommands.Knobs(null, topic); }
            catch (CliException e) { throw new InvalidOperationException(e.Message, e); }
            try
            {
                return Results.Text(book.TableJson(topic, tau, knobs), "application/json");
            }
            catch (ReputationInputException e)
            {
                throw ApiException.BadRequest("reputation.not_computable", $"The table of '{topic}' cannot be computed: {e.Message}.", "topic");
            }
        }).WithName("GetReputation").Metric("federation.reputation");
        return g;
    }
}
