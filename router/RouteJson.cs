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
                ["segment"] = m.Segment,
                ["role"] = RouteQuery.RoleName(m.Role),
                ["start"] = m.Start,
                ["length"] = m.Length,
                ["text"] = m.Text,
                ["normalized"] = m.Normalized,
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

    private static readonly string[] FederationKeys = ["specialists", "required_provenance", "panel_size"];
    private static readonly string[] ProvenanceKeys = ["lineages", "jurisdictions"];

    /// <summary>
    /// Reads the request's <c>model</c> and optional <c>federation</c> object
    /// (<c>{"specialists":[..], "required_provenance":{"lineages":[..],"jurisdictions":[..]}, "panel_size":k}</c>) strictly:
    /// unknown keys and wrong types are a 400 <c>router.invalid_request</c> naming the field. Returns null on success.
    /// A missing model means <c>federation</c>.
    /// </summary>
    public static RouteRejection? TryReadRequest(string? model, JsonNode? federation, out RequestedRoute request)
    {
        request = new RequestedRoute(string.IsNullOrEmpty(model) ? RoutePlanner.AutoModel : model);
        if (federation is null) return null;
        if (federation is not JsonObject fo) return Bad("federation", "expected 'federation' to be an object");
        foreach (var (key, _) in fo)
            if (Array.IndexOf(FederationKeys, key) < 0)
                return Bad($"federation.{key}", $"unknown field 'federation.{key}'; expected one of: {string.Join(", ", FederationKeys)}");

        IReadOnlyList<string>? specialists = null;
        if (fo["specialists"] is { } sn && ReadStrings(sn, "federation.specialists", out specialists) is { } e1) return e1;

        ProvenanceRequirement? provenance = null;
        if (fo["required_provenance"] is { } pn)
        {
            if (pn is not JsonObject po) return Bad("federation.required_provenance", "expected 'federation.required_provenance' to be an object with 'lineages' and/or 'jurisdictions'");
            foreach (var (key, _) in po)
                if (Array.IndexOf(ProvenanceKeys, key) < 0)
                    return Bad($"federation.required_provenance.{key}", $"unknown field 'federation.required_provenance.{key}'; expected one of: {string.Join(", ", ProvenanceKeys)}");
            IReadOnlyList<string>? lineages = null, jurisdictions = null;
            if (po["lineages"] is { } ln && ReadStrings(ln, "federation.required_provenance.lineages", out lineages) is { } e2) return e2;
            if (po["jurisdictions"] is { } jn && ReadStrings(jn, "federation.required_provenance.jurisdictions", out jurisdictions) is { } e3) return e3;
            provenance = new ProvenanceRequirement(lineages, jurisdictions);
        }

        int? panelSize = null;
        if (fo["panel_size"] is { } ks)
        {
            if (ks is not JsonValue kv || !kv.TryGetValue<int>(out var k))
                return Bad("federation.panel_size", $"expected 'federation.panel_size' to be an integer, found {ks.ToJsonString()}");
            panelSize = k;
        }
        request = request with { Specialists = specialists, RequiredProvenance = provenance, PanelSize = panelSize };
        return null;

        static RouteRejection Bad(string param, string message) => new("router.invalid_request", message, 400, param);

        static RouteRejection? ReadStrings(JsonNode node, string param, out IReadOnlyList<string>? values)
        {
            values = null;
            if (node is not JsonArray arr) return Bad(param, $"expected '{param}' to be an array of strings, found {node.ToJsonString()}");
            var list = new List<string>(arr.Count);
            foreach (var item in arr)
            {
                if (item is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length == 0)
                    return Bad(param, $"expected '{param}' to hold non-empty strings, found {item?.ToJsonString() ?? "null"}");
                list.Add(s);
            }
            values = list;
            return null;
        }
    }
}
