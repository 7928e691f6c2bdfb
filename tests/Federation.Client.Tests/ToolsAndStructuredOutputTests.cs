using System.Text.Json;
using Federation.Specialists.Grammar;
using Microsoft.Extensions.AI;

namespace Federation.Client.Tests;

/// <summary>Federation.Client as an IChatClient with ChatOptions.Tools and ResponseFormat against a real node; receipts of tool calls.</summary>
[Collection("node")]
public sealed class ToolsAndStructuredOutputTests(NodeFixture node)
{
    private const string Weather = """{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}""";

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static AIFunctionDeclaration WeatherTool() => AIFunctionFactory.CreateDeclaration("get_weather", "Forecast for a city", J(Weather));

    [Fact]
    public async Task Response_format_json_schema_gives_valid_json_and_a_verified_receipt()
    {
        using var client = node.Client();
        var schema = J("""{"type":"object","properties":{"answer":{"type":"string","maxLength":20},"sure":{"type":"boolean"}},"required":["answer","sure"],"additionalProperties":false}""");
        var response = await client.GetResponseAsync("hello, explain recursion", new ChatOptions
        {
            MaxOutputTokens = 80, Temperature = 1f, Seed = 5, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "reply"),
        });
        Assert.Null(JsonSchemaValidator.ValidateText(response.Text, schema));
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Contains(response.GetFederation()!.Verification.Checks, c => c.Checker == "structured_output" && c.Outcome == "passed");
        Assert.True((await client.VerifyReceiptAsync(response)).IsValid);

        var obj = await client.GetResponseAsync("hello", new ChatOptions { MaxOutputTokens = 60, ResponseFormat = ChatResponseFormat.Json });
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(obj.Text).RootElement.ValueKind);
    }

    [Fact]
    public async Task A_required_tool_gives_a_function_call_whose_receipt_verifies_and_a_changed_argument_does_not()
    {
        using var client = node.Client();
        var response = await client.GetResponseAsync("hello, weather in Oslo?", new ChatOptions
        {
            MaxOutputTokens = 80, Temperature = 0, Tools = [WeatherTool()], ToolMode = ChatToolMode.RequireSpecific("get_weather"),
        });
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Null(JsonSchemaValidator.ValidateText((string)call.RawRepresentation!, J(Weather)));
        Assert.NotNull(call.Arguments);
        var receipt = await client.VerifyReceiptAsync(response);
        Assert.True(receipt.IsValid, receipt.ToString());

        // the receipt covers the arguments: a call whose arguments were changed is refused
        var forged = new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(call.CallId, call.Name) { RawRepresentation = """{"city":"Rome","days":1}""" }]))
        {
            AdditionalProperties = response.AdditionalProperties,
        };
        var bad = await client.VerifyReceiptAsync(forged);
        Assert.False(bad.IsValid);
        Assert.Equal(ReceiptFailure.AnswerHashMismatch, bad.Failure);
    }

    [Fact]
    public async Task A_streamed_tool_call_is_assembled_into_the_same_call_and_results_go_back_as_tool_messages()
    {
        using var client = node.Client();
        var options = new ChatOptions { MaxOutputTokens = 80, Temperature = 0, Tools = [WeatherTool()], ToolMode = ChatToolMode.RequireAny };
        var whole = await client.GetResponseAsync("hello", options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync("hello", options)) updates.Add(u);
        var streamed = updates.ToChatResponse();
        var a = Assert.Single(whole.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        var b = Assert.Single(streamed.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(a.Name, b.Name);
        Assert.Equal((string)a.RawRepresentation!, (string)b.RawRepresentation!);
        Assert.Equal(ChatFinishReason.ToolCalls, streamed.FinishReason);

        List<ChatMessage> conversation = [new(ChatRole.User, "hello"), .. whole.Messages, new(ChatRole.Tool, [new FunctionResultContent(a.CallId, "sunny, 21 C")])];
        var final = await client.GetResponseAsync(conversation, new ChatOptions { MaxOutputTokens = 8, Temperature = 0 });
        Assert.False(string.IsNullOrEmpty(final.Text));
        Assert.Empty(final.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.True((await client.VerifyReceiptAsync(final)).IsValid);
    }
}
