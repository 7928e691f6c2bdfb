using System.Text.Json.Nodes;

namespace Federation.Router;

/// <summary>
/// The JSON shapes of routing results, shared by <c>fed route --output json</c> and the HTTP API so they cannot drift:
/// a decision object (snake_case keys, enums as their names) and an OpenAI-style error object for rejections.
/// </summary>
public static class RouteJson
{
    /// <summary>The decision as a JSON object.</summary>
    public static JsonObject Decision(RouteDecision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var trace = new JsonArray();
        foreach (var m in d.Trace)
        {
            trace.Add(new JsonObject
            {
                ["topic"] = m.Topic,
                ["rule"] = m.RuleId,
                ["kind"] = m.Kind.ToString().ToLowerInvariant(),
                ["pattern"] = m.Pattern,
                ["weight"] = m.Weight,
                ["start"] = m.Start,
                ["length"] = m.Length,
                ["text"] = m.Text,
            });
        }
        var specialists = new JsonArray();
        foreach (var s in d.Specialists) specialists.Add(s);
        return new JsonObject
        {
            ["policy_cid"] = d.PolicyCid,
            ["model"] = d.Model,
            ["topic"] = d.Topic,
            ["tier"] = d.Tier.ToString(),
            ["verification_class"] = d.Class.ToString(),
            ["score"] = d.Score,
            ["runner_up"] = d.RunnerUp is null ? null : new JsonObject { ["topic"] = d.RunnerUp.Topic, ["score"] = d.RunnerUp.Score },
            ["fell_back_to_default"] = d.FellBackToDefault,
            ["query_hash"] = d.QueryHash,
            ["specialists"] = specialists,
            ["mode"] = d.Mode.ToString().ToLowerInvariant(),
            ["exploration"] = d.Exploration,
            ["reason"] = d.Reason,
            ["trace"] = trace,
        };
    }

    /// <summary>The rejection as an OpenAI-style error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static JsonObject Rejection(RouteRejection r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = r.Message,
                ["type"] = r.HttpStatus == 404 ? "not_found_error" : "invalid_request_error",
                ["param"] = r.Param,
                ["code"] = r.Code,
            },
        };
    }
}
