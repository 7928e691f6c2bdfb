using System.Text;
using System.Text.Json;
using Federation.Specialists.Grammar;

namespace Federation.Node.Api;

/// <summary>A function the client declared in <c>tools</c>.</summary>
public sealed record ToolFunction(string Name, string? Description, JsonElement? Parameters);

/// <summary><c>tool_choice</c>: none, auto, required, or one named function.</summary>
public enum ToolMode
{
    None,
    Auto,
    Required,
    Named,
}

/// <summary>A tool call the model made: <c>{"name":…,"arguments":{…}}</c> in its text; <paramref name="Arguments"/> is the compact JSON of the arguments.</summary>
public sealed record ToolCallOut(string Id, string Name, string Arguments);

/// <summary>
/// What the client asked the answer's shape to be (<c>response_format</c>, <c>tools</c>/<c>tool_choice</c>), the
/// grammar that enforces it during sampling, and the check the gate applies before release. The rules (docs/api.md):
/// json_schema and json_object answers are the JSON value itself; a tool call is the model's text
/// <c>{"name":"f","arguments":{…}}</c> (what the ledger's answer hash covers), sent to the client as
/// <c>message.tool_calls</c>; with <c>tool_choice: auto</c> an answer whose first character is <c>{</c> is a call,
/// anything else is text.
/// </summary>
public sealed class StructuredOutput
{
    private StructuredOutput(string kind, JsonElement? schema, IReadOnlyList<ToolFunction> tools, ToolMode mode, string? named)
    {
        Kind = kind;
        Schema = schema;
        Tools = tools;
        Mode = mode;
        Named = named;
    }

    /// <summary><c>json_object</c>, <c>json_schema</c> or <c>tools</c>.</summary>
    public string Kind { get; }
    public JsonElement? Schema { get; }
    public IReadOnlyList<ToolFunction> Tools { get; }
    public ToolMode Mode { get; }
    public string? Named { get; }

    /// <summary>True when the answer may be text or a call (tool_choice auto).</summary>
    public bool TextAllowed => Kind == "tools" && Mode == ToolMode.Auto;

    public static StructuredOutput JsonObject() => new("json_object", null, [], ToolMode.None, null);
    public static StructuredOutput JsonSchema(JsonElement schema) => new("json_schema", schema, [], ToolMode.None, null);
    public static StructuredOutput ForTools(IReadOnlyList<ToolFunction> tools, ToolMode mode, string? named) => new("tools", null, tools, mode, named);

    /// <summary>The grammar for an answer of at most <paramref name="maxBytes"/> bytes (a token is at least one byte).</summary>
    /// <exception cref="ApiException">400: a keyword cannot be enforced, or no value fits the budget.</exception>
    public string Grammar(int maxBytes)
    {
        try
        {
            return Kind switch
            {
                "json_object" => JsonSchemaGrammar.AnyObject(maxBytes, "response_format").Gbnf,
                "json_schema" => JsonSchemaGrammar.FromSchema(Schema!.Value, maxBytes, "response_format.json_schema.schema").Gbnf,
                _ => JsonSchemaGrammar.ToolCall(Callable().Select(t => (t.Function.Name, t.Function.Parameters, $"tools[{t.Index}].function.parameters")).ToList(),
                    maxBytes, TextAllowed, "tools").Gbnf,
            };
        }
        catch (SchemaException e)
        {
            throw Refusal(e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            var param = Kind == "tools" ? "tools" : "response_format";
            throw ApiException.BadRequest("request.invalid_encoding", $"'{param}' must be valid text: strings must be UTF-8 without lone surrogates ({e.Message}).", param);
        }
    }

    private static ApiException Refusal(SchemaException e) => e.Message.Contains("needs", StringComparison.Ordinal) && e.Message.Contains("max_tokens", StringComparison.Ordinal)
        ? ApiException.BadRequest("request.invalid_value", $"'max_tokens' is too small for this structured output: {e.Message} ({e.Path}).", "max_tokens")
        : ApiException.BadRequest(e.Message.StartsWith("the JSON Schema keyword", StringComparison.Ordinal) ? "request.unsupported_parameter" : "request.invalid_value",
            $"'{e.Path}': {e.Message}.", e.Path);

    private IEnumerable<(ToolFunction Function, int Index)> Callable() =>
        Tools.Select((t, i) => (t, i)).Where(x => Mode != ToolMode.Named || x.t.Name == Named);

    /// <summary>The instruction put before the conversation so a trained model knows what to write (the grammar enforces it either way).</summary>
    public string Instruction()
    {
        if (Kind == "json_object") return "Answer with a single JSON object and nothing else.";
        if (Kind == "json_schema")
            return "Answer with a single JSON value that matches this JSON Schema, and nothing else." + Shown(" Schema: ", Schema!.Value);
        var sb = new StringBuilder(Mode == ToolMode.Auto
            ? "You may call one of these functions. To call one, answer with only {\"name\": <function name>, \"arguments\": <JSON object>}; otherwise answer in text.\n"
            : "Call one of these functions: answer with only {\"name\": <function name>, \"arguments\": <JSON object>}.\n");
        foreach (var (f, _) in Callable())
        {
            sb.Append("- ").Append(f.Name);
            if (!string.IsNullOrEmpty(f.Description)) sb.Append(": ").Append(f.Description);
            if (f.Parameters is { } p) sb.Append(Shown(" parameters: ", p));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Most characters of a schema the instruction repeats: the node's context is small, and the grammar enforces the schema anyway.</summary>
    public const int ShownSchemaChars = 160;

    private static string Shown(string label, JsonElement schema) => JsonSerializer.Serialize(schema) is { Length: <= ShownSchemaChars } json ? label + json : "";

    /// <summary>Null when <paramref name="text"/> is what was asked for; otherwise why not (the gate withholds it).</summary>
    public string? Violation(string text)
    {
        switch (Kind)
        {
            case "json_object": return JsonSchemaValidator.ValidateText(text, null);
            case "json_schema": return JsonSchemaValidator.ValidateText(text, Schema);
        }
        if (TextAllowed && !text.StartsWith('{')) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("arguments", out var args) || args.ValueKind != JsonValueKind.Object || root.EnumerateObject().Count() != 2)
                return "a tool call must be {\"name\":…,\"arguments\":{…}}";
            var f = Callable().Select(x => x.Function).FirstOrDefault(x => x.Name == n.GetString());
            if (f is null) return $"the call names '{n.GetString()}', which is not a callable declared function";
            if (f.Parameters is { } p) return JsonSchemaValidator.Validate(args, p) is { } why ? $"arguments of {f.Name}: {why}" : null;
            return args.EnumerateObject().Any() ? $"{f.Name} takes no parameters" : null;
        }
        catch (JsonException e)
        {
            return $"the tool call is not valid JSON: {e.Message}";
        }
    }

    /// <summary>The tool call in a (validated) answer, or null when the answer is text.</summary>
    public ToolCallOut? Call(string text, string id)
    {
        if (Kind != "tools" || !text.StartsWith('{') || Violation(text) is not null) return null; // a reviewer's edit that is no call stays text
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        // the exact text the model wrote (compact already): {"name":…,"arguments":<this>} is what answer_sha256 covers
        return new ToolCallOut(id, root.GetProperty("name").GetString()!, root.GetProperty("arguments").GetRawText());
    }

    // ---------- request reading ----------

    /// <summary>Reads <c>response_format</c>, <c>tools</c> and <c>tool_choice</c>; null when the answer is plain text.</summary>
    public static StructuredOutput? Read(JsonElement? responseFormat, JsonElement? tools, JsonElement? toolChoice)
    {
        var format = Guarded(() => ReadFormat(responseFormat), "response_format");
        var (functions, mode, named) = Guarded(() => ReadTools(tools, toolChoice), "tools");
        if (format is not null && mode != ToolMode.None)
            throw ApiException.BadRequest("request.unsupported_parameter",
                "'response_format' together with callable 'tools' is not supported: send tool_choice \"none\" or drop response_format.", "response_format");
        if (format is not null) return format;
        return mode == ToolMode.None ? null : ForTools(functions, mode, named);
    }

    /// <summary>JsonElement throws InvalidOperationException for invalid UTF-8 or a lone surrogate in a name or string: a 400, not a 500.</summary>
    private static T Guarded<T>(Func<T> read, string param)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException e)
        {
            throw ApiException.BadRequest("request.invalid_encoding", $"'{param}' must be valid text: strings must be UTF-8 without lone surrogates ({e.Message}).", param);
        }
    }

    private static StructuredOutput? ReadFormat(JsonElement? value)
    {
        const string p = "response_format";
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            throw ApiException.BadRequest("request.invalid_value", "'response_format' must be {\"type\":\"text\"}, {\"type\":\"json_object\"} or {\"type\":\"json_schema\",\"json_schema\":{\"name\",\"schema\"}}.", p);
        switch (t.GetString())
        {
            case "text": return null;
            case "json_object": return JsonObject();
            case "json_schema":
                if (!v.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("request.missing_field", "'response_format.json_schema' is required: {\"name\", \"schema\", \"strict\"}.", "response_format.json_schema");
                if (!js.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length is 0 or > 64)
                    throw ApiException.BadRequest("request.invalid_value", "'response_format.json_schema.name' must be a string of 1 to 64 characters.", "response_format.json_schema.name");
                foreach (var prop in js.EnumerateObject())
                    if (prop.Name is not ("name" or "schema" or "strict" or "description"))
                        throw ApiException.BadRequest("request.unsupported_parameter", $"'response_format.json_schema.{prop.Name}' is not supported; use name, description, schema, strict.", $"response_format.json_schema.{prop.Name}");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("request.missing_field", "'response_format.json_schema.schema' is required: a JSON Schema object.", "response_format.json_schema.schema");
                return JsonSchema(schema.Clone());
            default:
                throw ApiException.BadRequest("request.invalid_value", $"'response_format.type' must be text, json_object or json_schema; found '{t.GetString()}'.", "response_format.type");
        }
    }

    private static (List<ToolFunction> Functions, ToolMode Mode, string? Named) ReadTools(JsonElement? tools, JsonElement? choice)
    {
        var functions = new List<ToolFunction>();
        if (tools is { ValueKind: not JsonValueKind.Null } ts)
        {
            if (ts.ValueKind != JsonValueKind.Array)
                throw ApiException.BadRequest("request.invalid_value", "'tools' must be an array of {\"type\":\"function\",\"function\":{\"name\",\"description\",\"parameters\"}}.", "tools");
            if (ts.GetArrayLength() > 64) throw ApiException.BadRequest("request.invalid_value", "'tools' may declare at most 64 functions.", "tools");
            var i = 0;
            foreach (var t in ts.EnumerateArray())
            {
                var p = $"tools[{i++}]";
                if (t.ValueKind != JsonValueKind.Object || !t.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.type' must be \"function\" (the only tool type this node runs).", $"{p}.type");
                if (!t.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("request.missing_field", $"'{p}.function' is required: {{\"name\",\"description\",\"parameters\"}}.", $"{p}.function");
                if (!f.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String || !ValidName(n.GetString()!))
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.function.name' must be 1 to 64 letters, digits, '_' or '-'.", $"{p}.function.name");
                if (functions.Any(x => x.Name == n.GetString()))
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.function.name' repeats '{n.GetString()}'; function names must be unique.", $"{p}.function.name");
                foreach (var prop in f.EnumerateObject())
                    if (prop.Name is not ("name" or "description" or "parameters" or "strict"))
                        throw ApiException.BadRequest("request.unsupported_parameter", $"'{p}.function.{prop.Name}' is not supported; use name, description, parameters, strict.", $"{p}.function.{prop.Name}");
                string? description = f.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                JsonElement? parameters = f.TryGetProperty("parameters", out var ps) && ps.ValueKind != JsonValueKind.Null ? ps.Clone() : null;
                if (parameters is { ValueKind: not JsonValueKind.Object })
                    throw ApiException.BadRequest("request.invalid_value", $"'{p}.function.parameters' must be a JSON Schema object.", $"{p}.function.parameters");
                functions.Add(new ToolFunction(n.GetString()!, description, parameters));
            }
        }
        ToolMode mode;
        string? named = null;
        if (choice is not { ValueKind: not JsonValueKind.Null } c) mode = functions.Count > 0 ? ToolMode.Auto : ToolMode.None;
        else if (c.ValueKind == JsonValueKind.String)
        {
            mode = c.GetString() switch
            {
                "none" => ToolMode.None,
                "auto" => ToolMode.Auto,
                "required" => ToolMode.Required,
                var other => throw ApiException.BadRequest("request.invalid_value", $"'tool_choice' must be none, auto, required or {{\"type\":\"function\",\"function\":{{\"name\"}}}}; found '{other}'.", "tool_choice"),
            };
        }
        else if (c.ValueKind == JsonValueKind.Object && c.TryGetProperty("type", out var ct) && ct.ValueKind == JsonValueKind.String && ct.GetString() == "function"
                 && c.TryGetProperty("function", out var cf) && cf.ValueKind == JsonValueKind.Object && cf.TryGetProperty("name", out var cn) && cn.ValueKind == JsonValueKind.String)
        {
            mode = ToolMode.Named;
            named = cn.GetString();
            if (!functions.Any(f => f.Name == named))
                throw ApiException.BadRequest("request.invalid_value", $"'tool_choice.function.name' names '{named}', which is not declared in 'tools'.", "tool_choice.function.name");
        }
        else throw ApiException.BadRequest("request.invalid_value", "'tool_choice' must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\"}}.", "tool_choice");
        if (mode is ToolMode.Required or ToolMode.Auto && functions.Count == 0)
        {
            if (mode == ToolMode.Required)
                throw ApiException.BadRequest("request.invalid_value", "'tool_choice' \"required\" needs at least one function in 'tools'.", "tool_choice");
            mode = ToolMode.None;
        }
        return (functions, mode, named);
    }

    private static bool ValidName(string s) => s.Length is > 0 and <= 64 && s.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-');
}
