using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed challenge open ENTRY --target URL [--auditor URL] [--query TEXT] [--answer TEXT]</c>: dispute a ledgered answer
/// (§9.3). With <c>--auditor</c> a neutral auditor node judges it first (<c>POST /v1/federation/judgements</c>) and its
/// signed verdict goes with the challenge; without, the node re-checks it from the ledger entry itself
/// (<c>POST /v1/federation/challenges</c>),
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
        var auditor = new Option<string?>("--auditor") { Description = "Base URL of a neutral auditor node the target's policy lists: it judges the entry and signs the verdict." };
        var auditorKey = new Option<string?>("--auditor-api-key") { Description = "Bearer key for the auditor (default: the --api-key)." };
        var cmd = new Command("open", "Have a ledgered answer re-checked (by a neutral auditor with --auditor); the loser is slashed and the exchange ledgered.")
        {
            entry, target, apiKey, query, answer, auditor, auditorKey,
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
            if (p.GetValue(auditor) is { } auditorText)
            {
                // the auditor fetches the entry and its proof from the target itself, re-judges it and signs the verdict
                if (!Uri.TryCreate(auditorText, UriKind.Absolute, out var au) || (au.Scheme != "http" && au.Scheme != "https"))
                    throw new CliException($"--auditor '{auditorText}' is not an http(s) URL; give the auditor node's base URL.", ExitCodes.Usage);
                var ask = new JsonObject { ["node"] = url.ToString(), ["ledger_index"] = p.GetValue(entry) };
                if (key is not null) ask["node_api_key"] = key; // the auditor reads the target's ledger with the challenger's key
                if (p.GetValue(query) is { } aq) ask["query"] = aq;
                if (p.GetValue(answer) is { } aa) ask["answer"] = aa;
                using var ah = new HttpClient { BaseAddress = au, Timeout = TimeSpan.FromMinutes(2) };
                if ((p.GetValue(auditorKey) ?? key) is { } ak) ah.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ak);
                HttpResponseMessage judged;
                try
                {
                    judged = await ah.PostAsync("/v1/federation/judgements",
                        new StringContent(Encoding.UTF8.GetString(CanonicalJson.Serialize(ask)), Encoding.UTF8, "application/json"), ct);
                }
                catch (HttpRequestException e) { throw new CliException($"cannot reach the auditor at {au}: {e.Message}; is it running?"); }
                var judgedText = await judged.Content.ReadAsStringAsync(ct);
                if (!judged.IsSuccessStatusCode)
                    throw new CliException($"the auditor refused to judge ({(int)judged.StatusCode}): {judgedText}", (int)judged.StatusCode is 400 or 404 ? ExitCodes.Usage : ExitCodes.Failure);
                body["verdict"] = ((JsonObject)CanonicalJson.Parse(judgedText))["verdict"];
            }
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
