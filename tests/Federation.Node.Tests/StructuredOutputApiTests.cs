using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Federation.Specialists.Grammar;
using OpenAI.Chat;

namespace Federation.Node.Tests;

/// <summary>
/// Structured output, tool calling and log probabilities on a real node (tiny random models): through the OpenAI .NET
/// SDK and raw HTTP. Whatever the random specialist writes, the answer is valid against what was asked.
/// </summary>
[Collection("node")]
public sealed class StructuredOutputApiTests(NodeFixture node)
{
    private const string Model = "federation/general";

    private const string Person = """
        {"type":"object","additionalProperties":false,"required":["name","age","tags"],
         "properties":{"name":{"type":"string","minLength":1,"maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150},
                       "tags":{"type":"array","items":{"type":"string","enum":["x","y","z"]},"maxItems":3},"nick":{"type":["string","null"]}}}
        """;

    private const string Shapes = """
        {"type":"object","required":["shape"],"additionalProperties":false,
         "properties":{"shape":{"anyOf":[{"$ref":"#/$defs/circle"},{"$ref":"#/definitions/box"}]},"note":{"type":"string"}},
         "$defs":{"circle":{"type":"object","required":["kind","r"],"properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}}}},
         "definitions":{"box":{"type":"object","required":["kind","w"],"properties":{"kind":{"const":"box"},"w":{"type":"integer","minimum":1}}}}}
        """;

    private const string List = """{"type":"array","minItems":1,"maxItems":4,"items":{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"null"}},"required":["ok"]}}""";

    private const string Weather = """{"type":"object","properties":{"city":{"type":"string","maxLength":16},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}""";

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(object body)
    {
        using var resp = await node.Http.PostAsJsonAsync("/v1/chat/completions", body);
        var text = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static object Format(string schema) => new { type = "json_schema", json_schema = new { name = "out", schema = J(schema), strict = true } };

    [Theory]
    [InlineData(Person, 0.0, 60)]
    [InlineData(Person, 1.2, 200)]
    [InlineData(Shapes, 0.0, 80)]
    [InlineData(Shapes, 1.2, 80)]
    [InlineData(List, 0.0, 100)]
    [InlineData(List, 1.2, 30)]
    public async Task Json_schema_answers_validate_whatever_the_model_and_the_gate_records_the_check(string schema, double temperature, int maxTokens)
    {
        var (status, body) = await PostAsync(new
        {
            model = Model, messages = new[] { new { role = "user", content = "hello, describe someone" } },
            max_tokens = maxTokens, temperature, seed = 11, response_format = Format(schema),
        });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var choice = body.GetProperty("choices")[0];
        var content = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.Null(JsonSchemaValidator.ValidateText(content, J(schema)));
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() < maxTokens);
        var check = body.GetProperty("federation").GetProperty("verification").GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("checker").GetString() == "structured_output");
        Assert.Equal("passed", check.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task The_sdk_gets_json_objects_and_schema_answers()
    {
        var chat = node.OpenAi().GetChatClient(Model);
        ChatCompletion obj = await chat.CompleteChatAsync([new UserChatMessage("hello")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 80, Temperature = 1f, ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(),
        });
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(obj.Content[0].Text).RootElement.ValueKind);

        ChatCompletion typed = await chat.CompleteChatAsync([new UserChatMessage("hello")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 120, ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(Person), jsonSchemaIsStrict: true),
        });
        Assert.Null(JsonSchemaValidator.ValidateText(typed.Content[0].Text, J(Person)));
        Assert.Equal(ChatFinishReason.Stop, typed.FinishReason);
    }

    private static ChatCompletionOptions ToolOptions(ChatToolChoice? choice) => new()
    {
        MaxOutputTokenCount = 100,
        Temperature = 1f,
        Tools =
        {
            ChatTool.CreateFunctionTool("get_weather", "Weather in a city", BinaryData.FromString(Weather)),
            ChatTool.CreateFunctionTool("get_time", "The current time"),
        },
        ToolChoice = choice,
    };

    [Fact]
    public async Task Tool_choice_required_and_named_give_a_valid_call_of_a_declared_function()
    {
        var chat = node.OpenAi().GetChatClient(Model);
        for (var seed = 1; seed <= 3; seed++)
        {
            var options = ToolOptions(ChatToolChoice.CreateRequiredChoice());
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK
            options.Seed = seed;
#pragma warning restore OPENAI001
            ChatCompletion c = await chat.CompleteChatAsync([new UserChatMessage("hello, weather in Paris?")], options);
            Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
            var call = Assert.Single(c.ToolCalls);
            Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
            Assert.Contains(call.FunctionName, new[] { "get_weather", "get_time" });
            var args = JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement;
            Assert.Null(call.FunctionName == "get_weather" ? JsonSchemaValidator.Validate(args, J(Weather)) : (args.EnumerateObject().Any() ? "has arguments" : null));
        }

        ChatCompletion named = await chat.CompleteChatAsync([new UserChatMessage("hello")], ToolOptions(ChatToolChoice.CreateFunctionChoice("get_weather")));
        Assert.Equal("get_weather", Assert.Single(named.ToolCalls).FunctionName);
        Assert.Null(JsonSchemaValidator.Validate(JsonDocument.Parse(named.ToolCalls[0].FunctionArguments.ToString()).RootElement, J(Weather)));
    }

    [Fact]
    public async Task Tool_choice_none_answers_text_and_auto_answers_text_or_a_valid_call()
    {
        var chat = node.OpenAi().GetChatClient(Model);
        ChatCompletion none = await chat.CompleteChatAsync([new UserChatMessage("hello")], ToolOptions(ChatToolChoice.CreateNoneChoice()));
        Assert.Empty(none.ToolCalls);
        Assert.NotEqual(ChatFinishReason.ToolCalls, none.FinishReason);

        for (var seed = 1; seed <= 4; seed++)
        {
            var (status, body) = await PostAsync(new
            {
                model = Model, messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 60, temperature = 1.5, seed,
                tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = J(Weather) } } }, tool_choice = "auto",
            });
            Assert.True(status == HttpStatusCode.OK, body.ToString());
            var choice = body.GetProperty("choices")[0];
            var message = choice.GetProperty("message");
            if (choice.GetProperty("finish_reason").GetString() == "tool_calls")
            {
                Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
                var call = message.GetProperty("tool_calls")[0];
                Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
                Assert.Null(JsonSchemaValidator.ValidateText(call.GetProperty("function").GetProperty("arguments").GetString()!, J(Weather)));
            }
            else
            {
                Assert.False(message.TryGetProperty("tool_calls", out _));
                Assert.False(message.GetProperty("content").GetString()!.StartsWith('{'));
            }
        }
    }

    [Fact]
    public async Task A_streamed_tool_call_comes_as_openai_streams_it_and_equals_the_whole_answer()
    {
        var chat = node.OpenAi().GetChatClient(Model);
        var options = ToolOptions(ChatToolChoice.CreateFunctionChoice("get_weather"));
        options.Temperature = 0;
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("hello")], options);
        string? id = null, name = null;
        var args = new StringBuilder();
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var u in chat.CompleteChatStreamingAsync([new UserChatMessage("hello")], options))
        {
            foreach (var t in u.ToolCallUpdates)
            {
                Assert.Equal(0, t.Index);
                id ??= t.ToolCallId;
                name ??= t.FunctionName;
                args.Append(t.FunctionArgumentsUpdate?.ToString());
                updates++;
            }
            finish ??= u.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("get_weather", name);
        Assert.Equal(whole.ToolCalls[0].FunctionArguments.ToString(), args.ToString());
        Assert.StartsWith("call_", id, StringComparison.Ordinal);
        Assert.True(updates >= 2, "name first, then argument fragments");

        // the raw chunks: first delta has index, id, type, function.name and empty arguments; the rest only fragments
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = Model, messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 100, stream = true,
                tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = J(Weather) } } },
                tool_choice = new { type = "function", function = new { name = "get_weather" } },
            }),
        };
        using var resp = await node.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        var lines = (await resp.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[6..]).RootElement).ToList();
        var first = lines[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        var tc = first.GetProperty("tool_calls")[0];
        Assert.Equal(0, tc.GetProperty("index").GetInt32());
        Assert.StartsWith("call_", tc.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("function", tc.GetProperty("type").GetString());
        Assert.Equal("get_weather", tc.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", tc.GetProperty("function").GetProperty("arguments").GetString());
        var second = lines[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.False(second.TryGetProperty("id", out _));
        Assert.False(second.GetProperty("function").TryGetProperty("name", out _));
        Assert.Equal("tool_calls", lines[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_conversation_with_tool_calls_and_results_is_answered_and_tool_results_are_routed()
    {
        var messages = new object[]
        {
            new { role = "user", content = "hello, what is the weather?" },
            new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_weather", arguments = """{"city":"Paris","unit":"c"}""" } } } },
            new { role = "tool", tool_call_id = "call_1", content = "python compiler bug in the stack trace" },
        };
        var (status, body) = await PostAsync(new { model = Model, messages, max_tokens = 8 });
        Assert.True(status == HttpStatusCode.OK, body.ToString());

        using var route = await node.Http.PostAsJsonAsync("/v1/federation/route", new { messages });
        var decision = await route.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(route.IsSuccessStatusCode, decision.ToString());
        Assert.Equal("code", decision.GetProperty("topic").GetString());
        Assert.Contains(decision.GetProperty("trace").EnumerateArray(), m => m.GetProperty("role").GetString() == "tool");

        var (bad, error) = await PostAsync(new
        {
            model = Model, max_tokens = 4,
            messages = new object[] { new { role = "user", content = "hi" }, new { role = "tool", tool_call_id = "call_9", content = "x" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("messages[1].tool_call_id", error.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"string","pattern":"^(?!a)b$"}}}}}}""",
        "request.unsupported_parameter", "response_format.json_schema.schema.properties.a.pattern")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"oneOf":[{"type":"string"}]}}}}""",
        "request.unsupported_parameter", "response_format.json_schema.schema.oneOf")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"d":{"type":"string","format":"date"}}}}}]}""",
        "request.unsupported_parameter", "tools[0].function.parameters.properties.d.format")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","required":["a"],"properties":{"a":{"type":"string","minLength":40}}}}},"max_tokens":20}""",
        "request.invalid_value", "max_tokens")]
    [InlineData("""{"response_format":{"type":"json_object"},"stop":["}"]}""", "request.unsupported_parameter", "stop")]
    [InlineData("""{"response_format":{"type":"xml"}}""", "request.invalid_value", "response_format.type")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}""", "request.missing_field", "response_format.json_schema.schema")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "request.invalid_value", "tool_choice.function.name")]
    [InlineData("""{"tools":[{"type":"retrieval"}]}""", "request.invalid_value", "tools[0].type")]
    [InlineData("""{"tool_choice":"required"}""", "request.invalid_value", "tool_choice")]
    [InlineData("""{"logprobs":true,"top_logprobs":21}""", "request.invalid_value", "top_logprobs")]
    [InlineData("""{"top_logprobs":2}""", "request.invalid_value", "top_logprobs")]
    [InlineData("""{"n":2}""", "request.unsupported_parameter", "n")]
    public async Task Unsupported_keywords_and_bad_shapes_are_400_naming_the_parameter(string extra, string code, string param)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(extra)!;
        body.TryAdd("model", J("\"federation\""));
        body.TryAdd("max_tokens", J("64"));
        body["messages"] = J("""[{"role":"user","content":"hello"}]""");
        var (status, json) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Logprobs_come_in_the_openai_shape_one_per_token()
    {
        var (status, body) = await PostAsync(new
        {
            model = Model, messages = new[] { new { role = "user", content = "hello" } }, max_tokens = 6, logprobs = true, top_logprobs = 3,
        });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var content = body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content");
        Assert.Equal(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), content.GetArrayLength());
        foreach (var t in content.EnumerateArray())
        {
            Assert.True(t.GetProperty("logprob").GetDouble() <= 0);
            Assert.Equal(JsonValueKind.String, t.GetProperty("token").ValueKind);
            Assert.True(t.GetProperty("bytes").GetArrayLength() >= 1);
            var top = t.GetProperty("top_logprobs");
            Assert.Equal(3, top.GetArrayLength());
            Assert.True(top[0].GetProperty("logprob").GetDouble() >= top[2].GetProperty("logprob").GetDouble());
        }

        var chat = node.OpenAi().GetChatClient(Model);
        ChatCompletion c = await chat.CompleteChatAsync([new UserChatMessage("hello")], new ChatCompletionOptions
        {
            MaxOutputTokenCount = 4, IncludeLogProbabilities = true, TopLogProbabilityCount = 2,
        });
        Assert.Equal(c.Usage.OutputTokenCount, c.ContentTokenLogProbabilities.Count);
        Assert.All(c.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));
    }
}
