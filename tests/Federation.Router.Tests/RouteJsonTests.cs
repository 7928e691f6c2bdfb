using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

public class RouteJsonTests
{
    [Fact]
    public void Decision_json_carries_policy_cid_trace_and_enum_names()
    {
        var p = Parse(Small);
        var d = RoutePlanner.Plan("python stack trace", p, new RequestedRoute()).Decision!;
        var json = RouteJson.Decision(d);
        Assert.Equal(p.Cid, (string?)json["policy_cid"]);
        Assert.Equal("code", (string?)json["topic"]);
        Assert.Equal("T1", (string?)json["tier"]);
        Assert.Equal("A", (string?)json["verification_class"]);
        Assert.Equal("champion", (string?)json["mode"]);
        Assert.Equal(5.0, (double?)json["score"]);
        var trace = json["trace"]!.AsArray();
        Assert.Equal(2, trace.Count);
        Assert.Equal("phrase", (string?)trace[1]!["kind"]);
        Assert.Equal("stack trace", (string?)trace[1]!["text"]);
    }

    [Fact]
    public void Rejection_json_has_the_openai_error_shape()
    {
        var r = RoutePlanner.Plan("x", Parse(Small), new RequestedRoute("gpt-4")).Rejection!;
        var json = RouteJson.Rejection(r);
        Assert.Equal("router.unknown_model", (string?)json["error"]!["code"]);
        Assert.Equal("model", (string?)json["error"]!["param"]);
        Assert.Equal("not_found_error", (string?)json["error"]!["type"]);
        Assert.False(string.IsNullOrEmpty((string?)json["error"]!["message"]));
    }

    [Theory]
    [InlineData(@"\d+\s*[A-Z]", 7)]
    [InlineData("Main", 0)]
    public void Regex_with_upper_case_literals_is_rejected_with_the_offset(string pattern, int offset)
    {
        Assert.Equal(offset, PolicyLoader.FirstUpperCaseLiteral(pattern));
        var errors = Errors(Mutate(Small, @"regex: '[a-z]+\(\)'", $"regex: '{pattern}'"));
        Assert.Contains(errors, e => e.Message.Contains($"at offset {offset}; write it in lower case", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(@"\D\W\S\B\p{Lu}\P{Ll}")]
    [InlineData(@"(?<Name>x)\k<Name>")]
    [InlineData(@"(?<=a)b(?<!c)")]
    public void Upper_case_in_escapes_and_group_names_is_allowed(string pattern) =>
        Assert.Null(PolicyLoader.FirstUpperCaseLiteral(pattern));
}

public class RouteJsonRequestTests
{
    [Fact]
    public void Federation_object_is_read_into_a_requested_route()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse("""{"specialists":["a","b"],"required_provenance":{"lineages":["olmo"],"jurisdictions":["EU","US"]},"panel_size":2}""");
        Assert.Null(RouteJson.TryReadRequest("federation/legal", node, out var req));
        Assert.Equal("federation/legal", req.Model);
        Assert.Equal(["a", "b"], req.Specialists!);
        Assert.Equal(["olmo"], req.RequiredProvenance!.Lineages!);
        Assert.Equal(["EU", "US"], req.RequiredProvenance.Jurisdictions!);
        Assert.Equal(2, req.PanelSize);
    }

    [Fact]
    public void Missing_model_and_object_mean_auto_route()
    {
        Assert.Null(RouteJson.TryReadRequest(null, null, out var req));
        Assert.Equal(new RequestedRoute(), req);
    }

    [Theory]
    [InlineData("""{"panel":3}""", "federation.panel")]
    [InlineData("""{"panel_size":"3"}""", "federation.panel_size")]
    [InlineData("""{"specialists":"a"}""", "federation.specialists")]
    [InlineData("""{"specialists":[1]}""", "federation.specialists")]
    [InlineData("""{"required_provenance":{"country":["EU"]}}""", "federation.required_provenance.country")]
    [InlineData("""[1]""", "federation")]
    public void Bad_federation_objects_are_400_naming_the_field(string json, string param)
    {
        var r = RouteJson.TryReadRequest("federation", System.Text.Json.Nodes.JsonNode.Parse(json), out _);
        Assert.NotNull(r);
        Assert.Equal(400, r.HttpStatus);
        Assert.Equal("router.invalid_request", r.Code);
        Assert.Equal(param, r.Param);
    }
}
