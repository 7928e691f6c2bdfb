using Federation.Governance;
using Federation.Node.Answering;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Node.Verification;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Api;

/// <summary>
/// The challenge game and the slashing triggers over HTTP (docs/reputation.md): <c>POST /v1/federation/challenges</c>
/// <c>{"ledger_index", "query"?, "answer"?}</c> and <c>POST /v1/federation/reputation/{topic}/triggers</c>. Both need an
/// API key; every step is signed by this node and ledgered (<c>challenge.open</c>, <c>reputation.slash</c>,
/// <c>challenge.result</c>), and each slash also goes into the node's reputation book.
/// </summary>
public static class ChallengeEndpoints
{
    /// <summary>Ledger entry type of an opened challenge.</summary>
    public const string OpenType = "challenge.open";
    /// <summary>Ledger entry type of a challenge's result.</summary>
    public const string ResultType = "challenge.result";

    /// <summary>Maps both endpoints (called from <see cref="ReputationEndpoints.MapReputationEndpoints"/>).</summary>
    public static void MapChallengeEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/federation/challenges", async (HttpRequest request, RuntimeHolder holder, NodeOptions options, LiveReputation live) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var body = await ReadObjectAsync(request, "{\"ledger_index\": N, \"query\"?: TEXT, \"answer\"?: TEXT}");
            if (!body.TryGetValue("ledger_index", out var li) || li is not JsonInt lii)
                throw ApiException.BadRequest("challenge.bad_ledger_index", "'ledger_index' must be the integer index of the disputed answer's ledger entry.", "ledger_index");
            string? Opt(string k) => body.TryGetValue(k, out var v) ? v as JsonString is { } s ? s.Value
                : throw ApiException.BadRequest("challenge.bad_body", $"'{k}' must be a string.", k) : null;
            var query = Opt("query");
            var answer = Opt("answer");
            var size = rt.Ledger.Size;
            if (lii.Value < 0 || lii.Value >= size)
                throw ApiException.NotFound("ledger.index_out_of_range", $"Ledger index {lii.Value} does not exist; the ledger holds {size} entries.", "ledger_index");
            var index = (long)lii.Value;
            var entry = rt.Ledger.GetEntry(index).Envelope;
            if (entry.Type != AnswerRecord.EntryType || entry.Payload is not JsonObject ep)
                throw ApiException.BadRequest("challenge.not_an_answer", $"Ledger entry {index} is a '{entry.Type}' entry; only answers can be challenged.", "ledger_index");
            if (!entry.Verify().IsValid)
                throw new InvalidOperationException($"ledger entry {index} does not verify; the ledger is damaged");
            ChallengeVerdict verdict;
            SignedEnvelope? signedVerdict = null;
            var auditors = live.Auditors;
            if (body.TryGetValue("verdict", out var vv))
            {
                // a neutral auditor judged it (docs/reputation.md "Neutral auditor"): accept only a listed auditor's signature
                if (!SignedEnvelope.TryFromJson(vv, out signedVerdict, out var why))
                    throw ApiException.BadRequest("challenge.bad_verdict", $"'verdict' is not a signed envelope ({why}); send the auditor's answer's 'verdict' as it is.", "verdict");
                try { verdict = Auditing.NeutralAuditor.Accept(signedVerdict, rt.Key.Id, index, entry, auditors); }
                catch (Auditing.AuditorException e) { throw new ApiException(e.Status, e.Status == 403 ? "permission_error" : "invalid_request_error", e.Code, e.Message, e.Param); }
            }
            else if (auditors.Count > 0)
                throw ApiException.BadRequest("challenge.verdict_required",
                    $"This node's reputation policy names neutral auditors ({string.Join(", ", auditors)}): a challenge needs a verdict signed by one of them. Ask an auditor node (POST /v1/federation/judgements, or 'fed challenge open ENTRY --target URL --auditor URL') and send its 'verdict'.", "verdict");
            else
            {
                // no auditor listed (a single-node federation): the node re-judges the entry itself, reproducibly
                try
                {
                    try { verdict = ChallengeGame.Judge(ep, index, rt.Policy, query, answer); }
                    // nothing to re-check: replay the recorded request through the engine instead (greedy/seeded: bit for bit)
                    catch (ChallengeException e) when (e.Code == "challenge.not_checkable" && ep.ContainsKey("request"))
                    {
                        verdict = await ChallengeReplay.ReplayAsync(rt, ep, index, request.HttpContext.RequestAborted);
                    }
                }
                catch (ChallengeException e) { throw ApiException.BadRequest(e.Code, e.Message, e.Param); }
            }

            var challenger = request.HttpContext.User.FindFirst(NodeAuth.KeyIdClaim)?.Value ?? "unknown";
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var ct = request.HttpContext.RequestAborted;
            var open = await rt.Ledger.AppendAsync(OpenType, new JsonObject
            {
                ["v"] = 1, ["ledger_index"] = index, ["ledger_entry"] = entry.Id.ToString(), ["challenger"] = challenger, ["time"] = now,
                ["judge"] = signedVerdict is null ? "node" : signedVerdict.Signer.ToString(),
            }, ct);
            var evidence = new List<string> { $"ledger:{index}:{entry.Id}", $"ledger:{open.Index}:{open.EntryId}" };
            if (signedVerdict is not null)
            {
                var ledgered = await rt.Ledger.AppendAsync(Auditing.NeutralAuditor.VerdictType, signedVerdict.ToJson(), ct);
                evidence.Add($"ledger:{ledgered.Index}:{ledgered.EntryId}");
                evidence.Add($"verdict:{signedVerdict.Id}");
            }
            var proposal = verdict.Outcome == ChallengeOutcome.ChallengerWon
                ? SlashingTriggers.Challenge(verdict.Topic, rt.Key.Id.ToString(), verdict.Specialist, now, verdict.Detail, evidence)
                // the challenger has no node key: its row is "apikey:<id>/challenger", so a losing challenger is slashed too
                : SlashingTriggers.Challenge(verdict.Topic, "apikey:" + challenger, "challenger", now, verdict.Detail, evidence);
            var (slash, slashIndex) = await SlashAsync(rt, options, live, proposal, ct);
            var result = await rt.Ledger.AppendAsync(ResultType, new JsonObject
            {
                ["v"] = 1, ["challenge"] = open.EntryId.ToString(), ["ledger_index"] = index,
                ["outcome"] = Name(verdict.Outcome), ["detail"] = verdict.Detail,
                ["checks"] = new JsonArray(verdict.Checks.Select(c => (JsonValue)new JsonObject { ["checker"] = c.Checker, ["outcome"] = c.Outcome.ToString().ToLowerInvariant(), ["detail"] = c.Detail })),
                ["slash"] = slash.Id.ToString(),
                ["judge"] = signedVerdict is null ? "node" : signedVerdict.Signer.ToString(),
                ["verdict"] = signedVerdict is null ? JsonValue.Null : signedVerdict.Id.ToString(),
            }, ct);
            return Json(new JsonObject
            {
                ["outcome"] = Name(verdict.Outcome),
                ["detail"] = verdict.Detail,
                ["topic"] = verdict.Topic,
                ["specialist"] = verdict.Specialist,
                ["judge"] = signedVerdict is null ? "node" : signedVerdict.Signer.ToString(),
                ["challenge"] = new JsonObject { ["index"] = open.Index, ["id"] = open.EntryId.ToString() },
                ["slash"] = new JsonObject { ["index"] = slashIndex, ["record"] = slash.ToJson() },
                ["result"] = new JsonObject { ["index"] = result.Index, ["id"] = result.EntryId.ToString() },
            });
        }).RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation").WithName("OpenChallenge").Metric("federation.challenges")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);

        // The auditor's side: this node judges another node's ledger entry and signs the verdict (it stores nothing).
        app.MapPost("/v1/federation/judgements", async (HttpRequest request, RuntimeHolder holder, TimeProvider time) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            var shape = "{\"node\": URL, \"ledger_index\": N, \"query\"?: TEXT, \"answer\"?: TEXT, \"node_api_key\"?: KEY}";
            var body = await ReadObjectAsync(request, shape);
            if (!body.TryGetValue("node", out var nv) || nv is not JsonString ns || !Uri.TryCreate(ns.Value, UriKind.Absolute, out var node) || (node.Scheme != "http" && node.Scheme != "https"))
                throw ApiException.BadRequest("judgement.bad_node", $"'node' must be the http(s) base URL of the node holding the disputed entry; send {shape}.", "node");
            if (!body.TryGetValue("ledger_index", out var li) || li is not JsonInt lii)
                throw ApiException.BadRequest("challenge.bad_ledger_index", "'ledger_index' must be the integer index of the disputed answer's ledger entry.", "ledger_index");
            string? Opt(string k) => body.TryGetValue(k, out var v) ? v as JsonString is { } s ? s.Value
                : throw ApiException.BadRequest("challenge.bad_body", $"'{k}' must be a string.", k) : null;
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
            SignedEnvelope verdict;
            try
            {
                verdict = await Auditing.NeutralAuditor.JudgeAsync(rt, http, node, Opt("node_api_key"), (long)lii.Value, Opt("query"), Opt("answer"), time, request.HttpContext.RequestAborted);
            }
            catch (Auditing.AuditorException e)
            {
                throw new ApiException(e.Status, e.Status >= 500 ? "upstream_error" : "invalid_request_error", e.Code, e.Message, e.Param);
            }
            var p = (JsonObject)verdict.Payload;
            return Json(new JsonObject { ["outcome"] = p["outcome"], ["detail"] = p["detail"], ["auditor"] = rt.Key.Id.ToString(), ["verdict"] = verdict.ToJson() });
        }).RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation").WithName("JudgeChallenge").Metric("federation.judgements")
            .ProducesProblemLike(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status502BadGateway, StatusCodes.Status503ServiceUnavailable);

        app.MapPost("/v1/federation/reputation/{topic}/triggers", async (string topic, HttpRequest request, RuntimeHolder holder, LiveReputation live, Auditing.SlashingSweep sweep) =>
        {
            var rt = OpenAiEndpoints.Ready(holder);
            if (!live.Book.Topics.Contains(topic))
                throw ApiException.NotFound("reputation.unknown_topic", $"No reputation records for topic '{topic}' on this node.", "topic");
            var slashes = new JsonArray();
            foreach (var s in await sweep.RunAsync(rt, topic, request.HttpContext.RequestAborted))
                slashes.Add(new JsonObject { ["index"] = s.LedgerIndex, ["reason"] = s.Proposal.Reason, ["node"] = s.Proposal.Node, ["specialist"] = s.Proposal.Specialist, ["record"] = s.Envelope.ToJson() });
            return Json(new JsonObject { ["topic"] = topic, ["slashes"] = slashes });
        }).RequireAuthorization(NodeAuth.ClientPolicy).WithTags("Federation").WithName("RunSlashingTriggers").Metric("federation.reputation.triggers")
            .ProducesProblemLike(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Signs a slashing event with the node key, adds it to the book and ledgers it; returns the envelope and its ledger index.</summary>
    public static async Task<(SignedEnvelope Envelope, long Index)> SlashAsync(NodeRuntime rt, NodeOptions options, LiveReputation live, SlashProposal proposal, CancellationToken ct)
    {
        var env = proposal.Seal(rt.Key);
        ReputationBookLog.Append(options.DataDir, live.Book, env);
        var receipt = await rt.Ledger.AppendAsync(ReputationBook.SlashType, env.ToJson(), ct);
        return (env, receipt.Index);
    }

    private static string Name(ChallengeOutcome o) => o == ChallengeOutcome.ChallengerWon ? "challenger_won" : "specialist_won";

    private static IResult Json(JsonObject o) => Results.Text(System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(o)), "application/json");

    private static async Task<JsonObject> ReadObjectAsync(HttpRequest request, string shape)
    {
        string text;
        using (var reader = new StreamReader(request.Body)) text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        try { return CanonicalJson.Parse(text) as JsonObject ?? throw ApiException.BadRequest("challenge.bad_body", $"The body must be a JSON object {shape}.", null); }
        catch (JsonParseException e) { throw ApiException.BadRequest("challenge.bad_body", $"The body is not JSON ({e.Message}); send {shape}.", null); }
    }
}
