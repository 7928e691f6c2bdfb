using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed challenge open ENTRY --target URL [--query TEXT] [--answer TEXT]</c>: dispute a ledgered answer (§9.3). The
/// node re-checks it from the ledger entry with the topic's class-A checkers (<c>POST /v1/federation/challenges</c>),
/// slashes the loser with a signed <c>reputation.slash</c> and ledgers the whole exchange. Prints the endpoint's JSON
/// with <c>-o json</c>; exit 0 when the challenger won, 1 when the specialist won, 2 for a challenge that cannot be judged.
/// </summary>
internal static class ChallengeCommands
{
    public static Command Create()
    {
        var challenge = new Command("challenge", "Dispute a ledgered answer (challenge game, docs/reputation.md).");
        challenge.Subcommands.Add(Open());
        return challenge;
    }

    private static Command Open()
    {
        var entry = new Argument<long>("entry") { Description = "Ledger index of the disputed answer entry." };
        var target = new Option<string>("--target") { Description = "Base URL of the node holding the ledger (e.g. http://127.0.0.1:8740).", Required = true };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key for the node (default: $FEDERATION_API_KEY)." };
        var query = new Option<string?>("--query") { Description = "The question, when the entry does not store bodies (must hash to its query_sha256)." };
        var answer = new Option<string?>("--answer") { Description = "The answer, when the entry does not store bodies (must hash to its answer_sha256)." };
        var cmd = new Command("open", "Re-check a ledgered answer with the topic's class-A checkers; the loser is slashed and the exchange ledgered.")
        {
            entry, target, apiKey, query, answer,
        };
        cmd.SetAction(async (p, ct) =>
        {
            if (!Uri.TryCreate(p.GetValue(target), UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
                throw new CliException($"--target '{p.GetValue(target)}' is not an http(s) URL; give the node's base URL, e.g. http://127.0.0.1:8740.", ExitCodes.Usage);
            var body = new JsonObject { ["ledger_index"] = p.GetValue(entry) };
            if (p.GetValue(query) is { } q) body["query"] = q;
            if (p.GetValue(answer) is { } a) body["answer"] = a;
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
            var key = p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("FEDERATION_API_KEY");
            if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            HttpResponseMessage response;
            try
            {
                response = await http.PostAsync("/v1/federation/challenges",
                    new StringContent(Encoding.UTF8.GetString(CanonicalJson.Serialize(body)), Encoding.UTF8, "application/json"), ct);
            }
            catch (HttpRequestException e) { throw new CliException($"cannot reach {url}: {e.Message}; is the node running?"); }
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
                throw new CliException($"the node refused the challenge ({(int)response.StatusCode}): {text}", (int)response.StatusCode is 400 or 404 ? ExitCodes.Usage : ExitCodes.Failure);
            var result = (JsonObject)CanonicalJson.Parse(text);
            var outcome = ((JsonString)result["outcome"]).Value;
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, text);
            else CliCommon.WriteLine(p, $"challenge of ledger entry {p.GetValue(entry)}: {outcome} — {((JsonString)result["detail"]).Value}; slash ledgered at {((JsonObject)result["slash"])["index"]}");
            return outcome == "challenger_won" ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return cmd;
    }
}
