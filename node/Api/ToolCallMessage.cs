using System.Text.Json;

namespace Federation.Node.Api;

/// <summary>
/// Assistant <c>tool_calls</c> and <c>tool</c> results in the conversation, as the model and the router read them: a
/// call is written as the model writes one (<c>{"name":…,"arguments":…}</c>), a result as its text; both are text
/// parts the router classifies (roles assistant and tool).
/// </summary>
public static class ToolCallMessage
{
    public static ChatMessageIn Assistant(MessageContent? content, IReadOnlyList<ToolCallRequest?> calls, string p)
    {
        var parts = new List<string>(content?.TextParts ?? []);
        var ids = new List<string>();
        for (var j = 0; j < calls.Count; j++)
        {
            var q = $"{p}.tool_calls[{j}]";
            var c = calls[j] ?? throw ApiException.BadRequest("request.invalid_value", $"'{q}' must be {{\"id\",\"type\":\"function\",\"function\":{{\"name\",\"arguments\"}}}}.", q);
            if (string.IsNullOrEmpty(c.Id)) throw ApiException.BadRequest("request.missing_field", $"'{q}.id' is required.", $"{q}.id");
            if (c.Type is not (null or "function")) throw ApiException.BadRequest("request.invalid_value", $"'{q}.type' must be \"function\".", $"{q}.type");
            if (c.Function is not { Name: { Length: > 0 } name } f) throw ApiException.BadRequest("request.missing_field", $"'{q}.function.name' is required.", $"{q}.function.name");
            var args = f.Arguments ?? "{}";
            string argsJson;
            try
            {
                using var doc = JsonDocument.Parse(args);
                argsJson = JsonSerializer.Serialize(doc.RootElement);
            }
            catch (JsonException)
            {
                throw ApiException.BadRequest("request.invalid_value", $"'{q}.function.arguments' must be a string holding JSON (as the model returned it).", $"{q}.function.arguments");
            }
            parts.Add($"{{\"name\":{JsonSerializer.Serialize(name)},\"arguments\":{argsJson}}}");
            ids.Add(c.Id);
        }
        return new ChatMessageIn("assistant", string.Join("\n", parts), parts) { CallIds = ids };
    }

    public static ChatMessageIn Result(MessageContent content, string? toolCallId, IReadOnlyList<ChatMessageIn> before, string p)
    {
        if (string.IsNullOrEmpty(toolCallId))
            throw ApiException.BadRequest("request.missing_field", $"'{p}.tool_call_id' is required on a tool message: the id of the call it answers.", $"{p}.tool_call_id");
        if (!before.Any(m => m.CallIds?.Contains(toolCallId) == true))
            throw ApiException.BadRequest("request.invalid_value", $"'{p}.tool_call_id' '{toolCallId}' answers no tool call of an earlier assistant message.", $"{p}.tool_call_id");
        return new ChatMessageIn("tool", content.Text, content.TextParts);
    }
}
