using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Federation.Node.Tests;

/// <summary>
/// Issue 8 over real HTTP: the router classifies everything the model reads (every role, every text part, the prompt),
/// and a requester's model choice never lowers the content's tier.
/// </summary>
[Collection("node")]
public sealed class RoutingAllTextTests(NodeFixture node)
{
    // T3 (strategy) text, per policies/routing.yaml
    private const string T3Text = "what is our defense strategy for the joint venture";

    private static async Task<JsonElement> Error(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

    private Task<HttpResponseMessage> Chat(object[] messages, string model = "federation", bool stream = false) =>
        node.Http.PostAsJsonAsync("/v1/chat/completions", new { model, messages, max_tokens = 4, stream });

    [Fact]
    public async Task T3_text_in_a_system_message_goes_to_review_not_answered_as_t1()
    {
        using var resp = await Chat([new { role = "system", content = T3Text }, new { role = "user", content = "hello there" }]);
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        Assert.Equal("review.pending", (await Error(resp)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task T3_text_in_an_earlier_turn_or_a_later_text_part_goes_to_review()
    {
        using var earlier = await Chat([
            new { role = "user", content = T3Text },
            new { role = "assistant", content = "noted" },
            new { role = "user", content = "hello there" },
        ], stream: true);
        Assert.Equal(HttpStatusCode.Conflict, earlier.StatusCode);
        Assert.Equal("review.pending", (await Error(earlier)).GetProperty("code").GetString());

        using var parts = await Chat([
            new { role = "user", content = new object[] { new { type = "text", text = "hello there" }, new { type = "text", text = T3Text } } },
        ]);
        Assert.Equal(HttpStatusCode.Conflict, parts.StatusCode);
    }

    [Fact]
    public async Task The_route_endpoint_classifies_every_message()
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/federation/route", new
        {
            messages = new object[] { new { role = "system", content = T3Text }, new { role = "user", content = "hello there" } },
        });
        resp.EnsureSuccessStatusCode();
        var route = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("strategy", route.GetProperty("topic").GetString());
        Assert.Equal("T3", route.GetProperty("tier").GetString());
    }

    [Theory]
    [InlineData("chat", false)]
    [InlineData("chat", true)]
    [InlineData("completions", false)]
    [InlineData("completions", true)]
    public async Task Pinning_a_t1_topic_with_t3_text_is_refused_422(string endpoint, bool stream)
    {
        await node.SettledAsync();
        var before = node.Runtime.Ledger.Size;
        using var resp = endpoint == "chat"
            ? await Chat([new { role = "user", content = T3Text }], model: "federation/general", stream: stream)
            : await node.Http.PostAsJsonAsync("/v1/completions", new { model = "federation/general", prompt = T3Text, max_tokens = 4, stream });
        Assert.Equal((HttpStatusCode)422, resp.StatusCode);
        var e = await Error(resp);
        Assert.Equal("router.tier_downgrade_refused", e.GetProperty("code").GetString());
        Assert.Equal("model", e.GetProperty("param").GetString());
        Assert.Equal(before, node.Runtime.Ledger.Size);
    }

    [Fact]
    public async Task Text_over_the_limit_across_several_messages_is_400_query_too_long()
    {
        var half = new string('a', node.Runtime.Policy.MaxQueryChars / 2 + 1);
        using var resp = await Chat([new { role = "system", content = half }, new { role = "user", content = half }]);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        var e = await Error(resp);
        Assert.Equal("router.query_too_long", e.GetProperty("code").GetString());
        Assert.Equal("messages", e.GetProperty("param").GetString());
    }
}
