using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Federation.Router;

namespace Federation.Node.Cli;

/// <summary><c>fed route "text"</c>: shows the routing decision for a query and why (topic, tier, class, score, rule trace, specialists).</summary>
internal static class RouteCommands
{
    public static Command Create()
    {
        var text = new Argument<string>("text") { Description = "The query to route (use quotes)." };
        var policy = PolicyOption();
        var model = new Option<string>("--model", "-m")
        {
            Description = "'federation' (auto-route), 'federation/<topic>', or a specialist id.",
            DefaultValueFactory = _ => RoutePlanner.AutoModel,
        };
        var specialists = new Option<string[]>("--specialist") { Description = "Ask exactly these specialists (repeatable).", AllowMultipleArgumentsPerToken = true };
        var panelSize = new Option<int?>("--panel-size") { Description = "Number of specialists to ask (overrides the class default)." };
        var lineages = new Option<string[]>("--lineage") { Description = "Required base lineage (repeatable).", AllowMultipleArgumentsPerToken = true };
        var jurisdictions = new Option<string[]>("--jurisdiction") { Description = "Required jurisdiction (repeatable).", AllowMultipleArgumentsPerToken = true };

        var cmd = new Command("route", "Classify a query under the routing policy and show the decision and the rules that explain it.");
        cmd.Arguments.Add(text);
        cmd.Options.Add(policy);
        cmd.Options.Add(model);
        cmd.Options.Add(specialists);
        cmd.Options.Add(panelSize);
        cmd.Options.Add(lineages);
        cmd.Options.Add(jurisdictions);
        cmd.SetAction(p =>
        {
            var routing = LoadPolicy(p, p.GetValue(policy));
            var lin = p.GetValue(lineages);
            var jur = p.GetValue(jurisdictions);
            var spec = p.GetValue(specialists);
            var request = new RequestedRoute(
                p.GetValue(model) ?? RoutePlanner.AutoModel,
                spec is { Length: > 0 } ? spec : null,
                lin is { Length: > 0 } || jur is { Length: > 0 }
                    ? new ProvenanceRequirement(lin is { Length: > 0 } ? lin : null, jur is { Length: > 0 } ? jur : null)
                    : null,
                p.GetValue(panelSize));
            var plan = RoutePlanner.Plan(p.GetValue(text) ?? "", routing, request);
            if (plan.Rejection is { } r)
            {
                if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, RouteJson.Rejection(r).ToJsonString(Json));
                CliCommon.WriteError(p, $"fed: {r.Code} (HTTP {r.HttpStatus}): {r.Message}");
                return ExitCodes.Failure;
            }
            var d = plan.Decision!;
            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteLine(p, RouteJson.Decision(d).ToJsonString(Json));
                return ExitCodes.Ok;
            }
            CliCommon.WriteLine(p, $"topic:       {d.Topic}{(d.FellBackToDefault ? " (default: no topic scored above its min_score)" : "")}");
            CliCommon.WriteLine(p, $"tier:        {d.Tier}");
            CliCommon.WriteLine(p, $"class:       {d.Class}");
            CliCommon.WriteLine(p, $"score:       {F(d.Score)}");
            CliCommon.WriteLine(p, $"runner-up:   {(d.RunnerUp is null ? "none" : $"{d.RunnerUp.Topic} ({F(d.RunnerUp.Score)})")}");
            CliCommon.WriteLine(p, $"specialists: {string.Join(", ", d.Specialists)} [{d.Mode.ToString().ToLowerInvariant()}{(d.Exploration ? ", exploration" : "")}]");
            CliCommon.WriteLine(p, $"reason:      {d.Reason}");
            CliCommon.WriteLine(p, $"policy:      {d.PolicyCid} ({routing.Source})");
            CliCommon.WriteLine(p, d.Trace.Count == 0 ? "trace:       (no rule matched)" : "trace:");
            foreach (var m in d.Trace)
                CliCommon.WriteLine(p, $"  {(m.Topic == d.Topic ? "*" : " ")} {m.Topic}.{m.RuleId,-22} {m.Kind.ToString().ToLowerInvariant(),-7} +{F(m.Weight),-6} \"{m.Text}\" @{m.Start}  ({m.Pattern})");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The shared <c>--policy FILE</c> option.</summary>
    public static Option<FileInfo?> PolicyOption() => new("--policy")
    {
        Description = $"Routing policy file (default: {Hosting.PolicyLocator.DefaultRelativePath}, searched upward from the current and the program's directory).",
    };

    /// <summary>Loads the policy from <paramref name="file"/> or the default location; policy errors become a failure listing every error.</summary>
    public static RoutingPolicy LoadPolicy(ParseResult p, FileInfo? file)
    {
        string path;
        try
        {
            path = Hosting.PolicyLocator.Resolve(file?.FullName);
        }
        catch (FileNotFoundException e)
        {
            throw new CliException(e.Message, ExitCodes.Usage);
        }
        if (!File.Exists(path))
            throw new CliException($"policy file '{path}' does not exist; pass --policy with a readable file.", ExitCodes.Usage);
        try
        {
            return PolicyLoader.Load(path);
        }
        catch (PolicyException e)
        {
            foreach (var err in e.Errors) CliCommon.WriteError(p, err.ToString());
            throw new CliException($"policy '{path}' is invalid ({e.Errors.Count} error(s) above); fix them and retry.");
        }
    }

    // Relaxed escaping: the output is for terminals and pipes, not for embedding in HTML.
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string F(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
