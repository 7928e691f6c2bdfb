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
