using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Node.Answering;
using Federation.Node.Api;
using Federation.Router;

namespace Federation.Node.Tests;

/// <summary>The node's typed JSON contract agrees with the shapes the router and the docs define.</summary>
[Collection("node")]
public sealed class ContractTests(NodeFixture node)
{
    [Theory]
    [InlineData("fix this python function bug")]
    [InlineData("what is our defense strategy for the joint venture")]
    [InlineData("is this contract clause legal under the lawsuit")]
    [InlineData("hello")]
    public void The_typed_route_record_serialises_exactly_as_fed_route_json(string query)
    {
        var d = RoutePlanner.Plan(query, node.Runtime.Policy, new RequestedRoute()).Decision!;
        var typed = JsonNode.Parse(JsonSerializer.Serialize(RouteInfo.From(d), NodeJsonContext.Default.RouteInfo));
        Assert.True(JsonNode.DeepEquals(RouteJson.Decision(d), typed), $"{RouteJson.Decision(d).ToJsonString()}\n!=\n{typed!.ToJsonString()}");
    }

    [Fact]
    public void Required_provenance_reads_as_lineages_and_jurisdictions()
    {
        var body = JsonSerializer.Deserialize(
            """{"model":"federation","messages":[{"role":"user","content":"hi"}],"federation":{"required_provenance":{"lineages":["olmo"],"jurisdictions":["EU","US"]},"panel_size":2}}""",
            NodeJsonContext.Default.ChatCompletionRequest)!;
        var route = RequestValidator.Chat(body, 1024).Route;
        Assert.Equal(["olmo"], route.RequiredProvenance!.Lineages!);
        Assert.Equal(["EU", "US"], route.RequiredProvenance.Jurisdictions!);
        Assert.Equal(2, route.PanelSize);
    }

    [Fact]
    public void A_reviewed_answer_record_carries_the_final_status_the_reviewer_and_no_answer_when_rejected()
    {
        var d = RoutePlanner.Plan("what is our defense strategy", node.Runtime.Policy, new RequestedRoute()).Decision!;
        var facts = new AnswerFacts("q", AnswerRecord.Sha256("draft"), RouteInfo.From(d), [],
            new VerificationInfo(VerificationStatus.NeedsReview, "B", [], VerificationInfo.MemoryNotUsed, "T3 answers need human approval", null),
            1, new LedgerUsage(3, 4), null, null);
        var rejected = AnswerRecord.Create(facts, VerificationStatus.Rejected, null, null, "alice");
        Assert.Null(rejected.AnswerSha256);
        Assert.Equal(VerificationStatus.Rejected, rejected.Verification.Status);
        Assert.EndsWith("rejected by alice", rejected.Verification.Detail, StringComparison.Ordinal);
        var payload = rejected.ToLedgerPayload();
        Assert.Equal("rejected", payload["verification"]["status"].AsString());
        Assert.Equal(Federation.Registry.Json.JsonKind.Null, payload["answer_sha256"].Kind);
        Assert.False(payload.AsObject().ContainsKey("answer"), "bodies only with --store-bodies");
        var approved = AnswerRecord.Create(facts, VerificationStatus.Passed, "edited", null, "alice");
        Assert.Equal(AnswerRecord.Sha256("edited"), approved.AnswerSha256);
        Assert.Equal("passed", approved.ToLedgerPayload()["verification"]["status"].AsString());
    }
}
