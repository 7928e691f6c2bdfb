using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed adapter consent|consolidate|personal</c>: per-user adapters on a running node, as the API key's user (issue 9;
/// docs/api.md "Personal adapters"). They call the node's HTTP API because the running node holds the ledger the
/// consents and bindings go into.
/// </summary>
internal static class PersonalCommands
{
    /// <summary>Adds the personal-adapter verbs to the <c>adapter</c> noun.</summary>
    public static Command WithPersonal(Command adapter)
    {
        adapter.Subcommands.Add(Consent());
        adapter.Subcommands.Add(Consolidate());
        adapter.Subcommands.Add(List());
        return adapter;
    }

    private static Option<string> Url() => new("--url") { Description = "The node.", DefaultValueFactory = _ => Hosting.NodeOptions.DefaultUrl };
    private static Option<string?> ApiKey() => new("--api-key") { Description = "Your API key (default: $FEDERATION_API_KEY); its name is the user." };

    private static Command Consent()
    {
        var url = Url();
        var key = ApiKey();
        var topic = new Option<string>("--topic") { Description = "The policy topic of the dialogue.", Required = true };
        var question = new Option<string>("--question") { Description = "What you asked.", Required = true };
        var answer = new Option<string>("--answer") { Description = "The answer you want your adapter to learn.", Required = true };
        var cmd = new Command("consent", "Consent that one of your dialogues may train your personal adapter (ledgered).") { url, key, topic, question, answer };
        cmd.SetAction(async (p, ct) => await CallAsync(p, p.GetValue(url)!, p.GetValue(key), HttpMethod.Post, "/v1/federation/consents",
            JsonSerializer.Serialize(new Dictionary<string, string> { ["topic"] = p.GetValue(topic)!, ["question"] = p.GetValue(question)!, ["answer"] = p.GetValue(answer)! }), ct));
        return cmd;
    }

    private static Command Consolidate()
    {
        var url = Url();
        var key = ApiKey();
        var topic = new Option<string>("--topic") { Description = "The topic your adapter is trained for: it stacks on that topic's champion, for your requests on that topic only.", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 8 };
        var rank = new Option<int>("--rank") { Description = "LoRA rank.", DefaultValueFactory = _ => 8 };
        var cmd = new Command("consolidate", "Train your personal adapter from your consented dialogues of a topic, gate it and bind it to you.") { url, key, topic, epochs, rank };
        cmd.SetAction(async (p, ct) => await CallAsync(p, p.GetValue(url)!, p.GetValue(key), HttpMethod.Post, "/v1/federation/personal-adapters",
            JsonSerializer.Serialize(new Dictionary<string, object> { ["topic"] = p.GetValue(topic)!, ["epochs"] = p.GetValue(epochs), ["rank"] = p.GetValue(rank) }), ct));
        return cmd;
    }

    private static Command List()
    {
        var url = Url();
        var key = ApiKey();
        var cmd = new Command("personal", "List your personal adapters bound on the node.") { url, key };
        cmd.SetAction(async (p, ct) => await CallAsync(p, p.GetValue(url)!, p.GetValue(key), HttpMethod.Get, "/v1/federation/personal-adapters", null, ct));
        return cmd;
    }

    /// <summary>Sends the request and prints the JSON answer; an error answer is one <c>fed:</c> line with the node's message.</summary>
    private static async Task<int> CallAsync(ParseResult p, string url, string? apiKey, HttpMethod method, string path, string? body, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri))
            throw new CliException($"--url '{url}' is not an absolute URL such as {Hosting.NodeOptions.DefaultUrl}.", ExitCodes.Usage);
        var key = apiKey ?? Environment.GetEnvironmentVariable("FEDERATION_API_KEY")
            ?? throw new CliException("personal adapters belong to the user of an API key: pass --api-key KEY or set FEDERATION_API_KEY (fed keys create --name USER).", ExitCodes.Usage);
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8, "application/json");
        HttpResponseMessage resp;
        try { resp = await http.SendAsync(req, ct); }
        catch (HttpRequestException e) { throw new CliException($"could not reach {url}: {e.Message}; is 'fed serve' running there?"); }
        using (resp)
        {
            var text = await resp.Content.ReadAsStringAsync(ct);
            if (!resp.IsSuccessStatusCode)
            {
                string message;
                try { message = JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("message").GetString() ?? text; }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { message = text; }
                throw new CliException($"{(int)resp.StatusCode}: {message}");
            }
            CliCommon.WriteLine(p, text);
            return ExitCodes.Ok;
        }
    }
}
