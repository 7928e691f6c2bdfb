using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Federation.Specialists.Grammar;

/// <summary>A JSON Schema keyword this node cannot enforce (or a schema that cannot be satisfied); <see cref="Path"/> names it.</summary>
public sealed class SchemaException(string path, string message) : Exception(message)
{
    /// <summary>Where the keyword is, e.g. <c>response_format.json_schema.schema.properties.age.pattern</c>.</summary>
    public string Path { get; } = path;
}

/// <summary>A GBNF grammar for llama.cpp's grammar sampler (root rule <c>root</c>) and the longest output it allows, in UTF-8 bytes.</summary>
public sealed record JsonGrammar(string Gbnf, int MaxBytes);

/// <summary>
/// Translates a JSON Schema (the subset below) into a GBNF grammar whose every complete string is compact JSON that
/// validates against the schema, and whose longest string fits a byte budget, so that generation always completes
/// within <c>max_tokens</c> whatever the model (a token is at least one byte; llama.cpp's grammar sampler rejects
/// empty pieces and allows end-of-generation only when the grammar is complete).
/// <para>
/// Supported: <c>type</c> (one or a list), <c>properties</c>, <c>required</c>, <c>additionalProperties</c> (extra
/// members are never generated, so any value is honoured), <c>enum</c>, <c>const</c>, <c>items</c>, <c>minItems</c>,
/// <c>maxItems</c>, <c>minLength</c>, <c>maxLength</c>, integer <c>minimum</c>/<c>maximum</c> (a range of at most
/// 256 values, or minimum 0 or 1 alone), number <c>minimum: 0</c>, <c>anyOf</c>, local <c>$ref</c> (<c>#/$defs/…</c>,
/// <c>#/definitions/…</c>, not recursive) and the annotations (title, description, default, examples, $comment…).
/// The other JSON Schema keywords (format, oneOf, allOf, not, multipleOf…) are refused with <see cref="SchemaException"/> naming the keyword; words that are no JSON Schema keyword are annotations and ignored.
/// </para>
/// <para>
/// Bounds (the documented rule): output is compact (no whitespace); string characters are printable ASCII or the
/// escapes <c>\"</c>, <c>\\</c>, <c>\n</c>; an unbounded string gets at most S characters, an unbounded array at most
/// A items, a number at most D integer digits (and up to 6 fraction digits), free-form values (<c>json_object</c>,
/// <c>{}</c>) nest at most N levels. (S, A, D, N) is the largest of a fixed descending list whose longest output fits
/// the budget; when even the smallest does not fit, <see cref="SchemaException"/> says how many bytes are needed.
/// </para>
/// </summary>
public static class JsonSchemaGrammar
{
    /// <summary>The descending bound configurations tried in order: (string chars, array items, integer digits, free nesting).</summary>
    private static readonly Bounds[] Ladder =
    [
        new(64, 8, 12, 2), new(32, 6, 9, 2), new(24, 5, 7, 2), new(16, 4, 6, 1), new(12, 3, 5, 1), new(8, 3, 4, 1),
        new(6, 2, 3, 1), new(4, 2, 2, 0), new(2, 1, 2, 0), new(1, 1, 1, 0), new(0, 0, 1, 0),
    ];

    /// <summary>The keywords enforced.</summary>
    private static readonly HashSet<string> Constraints = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "minItems", "maxItems",
        "minLength", "maxLength", "minimum", "maximum", "anyOf", "$ref", "pattern",
    };


    /// <summary>
    /// JSON Schema keywords (2020-12 and draft-07) that constrain values but are not enforced here: each is refused.
    /// Keywords that are no JSON Schema keyword at all are annotations by the specification and ignored (Semantic
    /// Kernel, for one, writes a function's description under "condition").
    /// </summary>
    private static readonly HashSet<string> Unenforced = new(StringComparer.Ordinal)
    {
        "format", "oneOf", "allOf", "not", "if", "then", "else", "multipleOf", "exclusiveMinimum", "exclusiveMaximum",
        "uniqueItems", "contains", "minContains", "maxContains", "prefixItems", "additionalItems", "patternProperties", "propertyNames",
        "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedItems",
        "unevaluatedProperties", "contentEncoding", "contentMediaType", "contentSchema", "$dynamicRef", "$recursiveRef", "$anchor",
        "$dynamicAnchor", "$recursiveAnchor",
    };

    /// <summary>The grammar of a schema (<paramref name="path"/> prefixes keyword paths in errors).</summary>
    public static JsonGrammar FromSchema(JsonElement schema, int maxBytes, string path) => Build(Parse(schema, path), maxBytes, path);

    /// <summary>The grammar of any JSON object (<c>response_format: {"type":"json_object"}</c>).</summary>
    public static JsonGrammar AnyObject(int maxBytes, string path) => Build(new SFreeObject(), maxBytes, path);

    /// <summary>
    /// A function call <c>{"name":"f","arguments":{…}}</c> of one of <paramref name="functions"/> (name, parameters
    /// schema or null for "no parameters"), and optionally (<paramref name="allowText"/>) plain text instead: any text
    /// whose first character is not <c>{</c> (tool_choice auto).
    /// </summary>
    public static JsonGrammar ToolCall(IReadOnlyList<(string Name, JsonElement? Parameters, string Path)> functions, int maxBytes, bool allowText, string path)
    {
        var calls = functions.Select(f => (SNode)new SSeq(
            [new SLiterals([$"{{\"name\":{JsonSerializer.Serialize(f.Name)},\"arguments\":"]),
             f.Parameters is { } p ? Parse(p, f.Path) : new SObject([]),
             new SLiterals(["}"])])).ToList();
        var node = calls.Count == 1 ? calls[0] : new SAnyOf(calls);
        var g = Build(node, maxBytes, path);
        if (!allowText) return g;
        // text that cannot be mistaken for a call: its first character is not '{'; unbounded (it may end by length)
        return g with { Gbnf = g.Gbnf.Replace("root ::= ", "call ::= ", StringComparison.Ordinal) + "root ::= call | [^{] [^\\x00]*\n" };
    }

    private static JsonGrammar Build(SNode node, int maxBytes, string path)
    {
        var smallest = MaxLen(node, Ladder[^1]);
        if (smallest >= Cap) throw new SchemaException(path, "the schema's shortest value is longer than any answer can be (minItems/minLength too large)");
        foreach (var b in Ladder)
        {
            var len = MaxLen(node, b);
            if (len > maxBytes) continue;
            var w = new Writer(b);
            var root = w.Emit(node);
            var sb = new StringBuilder();
            sb.Append("root ::= ").Append(root).Append('\n');
            foreach (var (name, body) in w.Rules) sb.Append(name).Append(" ::= ").Append(body).Append('\n');
            return new JsonGrammar(sb.ToString(), (int)len);
        }
        throw new SchemaException(path,
            $"the shortest bounded value of this schema needs {smallest} tokens but the answer may have at most {maxBytes} (max_tokens minus one, and what the context leaves); raise max_tokens or simplify the schema");
    }

    // ---------- schema → tree ----------

    internal abstract record SNode;
    internal sealed record SObject(IReadOnlyList<(string Name, SNode Schema, bool Required)> Props) : SNode;
    internal sealed record SArray(SNode Items, int Min, int? Max) : SNode;
    internal sealed record SString(int Min, int? Max) : SNode;
    internal sealed record SPattern(PatternGrammar.RNode Regex) : SNode;
    internal sealed record SInteger(long? Min, long? Max) : SNode;
    internal sealed record SNumber(bool NonNegative) : SNode;
    internal sealed record SLiterals(IReadOnlyList<string> Json) : SNode;
    internal sealed record SAnyOf(IReadOnlyList<SNode> Options) : SNode;
    internal sealed record SSeq(IReadOnlyList<SNode> Parts) : SNode;
    internal sealed record SFree : SNode;
    internal sealed record SFreeObject : SNode;

    private sealed class ParseState(JsonElement root)
    {
        public JsonElement Root { get; } = root;
        public List<string> RefStack { get; } = [];
    }

    internal static SNode Parse(JsonElement schema, string path) => Parse(schema, path, new ParseState(schema));

    private static SNode Parse(JsonElement s, string path, ParseState st)
    {
        if (s.ValueKind == JsonValueKind.True) return new SFree();
        if (s.ValueKind == JsonValueKind.False) throw new SchemaException(path, "the schema 'false' allows no value");
        if (s.ValueKind != JsonValueKind.Object) throw new SchemaException(path, "a schema must be an object (or true)");
        foreach (var p in s.EnumerateObject())
            if (Unenforced.Contains(p.Name))
                throw new SchemaException($"{path}.{p.Name}", $"the JSON Schema keyword '{p.Name}' is not supported for structured output; "
                    + "supported: type, properties, required, additionalProperties, enum, const, items, minItems, maxItems, minLength, maxLength, minimum, maximum, anyOf, $ref (docs/api.md)");

        if (s.TryGetProperty("$ref", out var r))
        {
            if (s.EnumerateObject().Any(p => p.Name != "$ref" && Constraints.Contains(p.Name)))
                throw new SchemaException($"{path}.$ref", "'$ref' with sibling constraint keywords is not supported; move them into the referenced schema");
            var target = r.ValueKind == JsonValueKind.String ? r.GetString()! : throw new SchemaException($"{path}.$ref", "'$ref' must be a string");
            if (st.RefStack.Contains(target)) throw new SchemaException($"{path}.$ref", $"recursive '$ref' ({target}) is not supported: its values have no length bound");
            var resolved = Resolve(st.Root, target) ?? throw new SchemaException($"{path}.$ref",
                $"'$ref' '{target}' does not resolve; only local references of the form #/$defs/Name or #/definitions/Name are supported");
            st.RefStack.Add(target);
            try { return Parse(resolved, path + ".$ref", st); }
            finally { st.RefStack.RemoveAt(st.RefStack.Count - 1); }
        }
        if (s.TryGetProperty("anyOf", out var any))
        {
            if (any.ValueKind != JsonValueKind.Array || any.GetArrayLength() == 0)
                throw new SchemaException($"{path}.anyOf", "'anyOf' must be a non-empty array of schemas");
            if (s.EnumerateObject().Any(p => p.Name != "anyOf" && Constraints.Contains(p.Name)))
                throw new SchemaException($"{path}.anyOf", "'anyOf' with sibling constraint keywords is not supported; put them in each alternative");
            return new SAnyOf(any.EnumerateArray().Select((x, i) => Parse(x, $"{path}.anyOf[{i}]", st)).ToList());
        }
        if (s.TryGetProperty("const", out var c))
        {
            var lit = Compact(c);
            if (JsonSchemaValidator.Validate(c, Without(s, "const"), st.Root) is { } why)
                throw new SchemaException($"{path}.const", $"'const' does not satisfy the rest of its schema: {why}");
            return new SLiterals([lit]);
        }
        if (s.TryGetProperty("enum", out var e))
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0)
                throw new SchemaException($"{path}.enum", "'enum' must be a non-empty array");
            var rest = Without(s, "enum");
            var values = e.EnumerateArray().Where(v => JsonSchemaValidator.Validate(v, rest, st.Root) is null).Select(Compact).Distinct(StringComparer.Ordinal).ToList();
            if (values.Count == 0) throw new SchemaException($"{path}.enum", "no 'enum' value satisfies the rest of its schema");
            return new SLiterals(values);
        }

        List<string> types;
        if (s.TryGetProperty("type", out var t))
        {
            types = t.ValueKind switch
            {
                JsonValueKind.String => [t.GetString()!],
                JsonValueKind.Array when t.GetArrayLength() > 0 && t.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) =>
                    t.EnumerateArray().Select(x => x.GetString()!).Distinct().ToList(),
                _ => throw new SchemaException($"{path}.type", "'type' must be a type name or a non-empty array of them"),
            };
        }
        else if (s.TryGetProperty("properties", out _) || s.TryGetProperty("required", out _)) types = ["object"];
        else if (s.TryGetProperty("items", out _)) types = ["array"];
        else if (s.TryGetProperty("minLength", out _) || s.TryGetProperty("maxLength", out _) || s.TryGetProperty("pattern", out _)) types = ["string"];
        else if (s.TryGetProperty("minItems", out _) || s.TryGetProperty("maxItems", out _)) types = ["array"];
        else if (s.TryGetProperty("minimum", out _) || s.TryGetProperty("maximum", out _)) types = ["integer"];
        else return new SFree(); // no constraint: any value

        var nodes = types.Select(type => ParseTyped(type, s, path, st)).ToList();
        return nodes.Count == 1 ? nodes[0] : new SAnyOf(nodes);
    }

    private static SNode ParseTyped(string type, JsonElement s, string path, ParseState st)
    {
        switch (type)
        {
            case "null": return new SLiterals(["null"]);
            case "boolean": return new SLiterals(["true", "false"]);
            case "string" when s.TryGetProperty("pattern", out var pattern):
            {
                if (pattern.ValueKind != JsonValueKind.String) throw new SchemaException($"{path}.pattern", "'pattern' must be a string");
                if (s.TryGetProperty("minLength", out _) || s.TryGetProperty("maxLength", out _))
                    throw new SchemaException($"{path}.pattern", "'pattern' together with minLength/maxLength is not supported; express the length in the pattern ({n,m})");
                return new SPattern(PatternGrammar.Parse(pattern.GetString()!, $"{path}.pattern"));
            }
            case "string":
            {
                var min = Count(s, "minLength", path) ?? 0;
                var max = Count(s, "maxLength", path);
                if (max < min) throw new SchemaException($"{path}.maxLength", $"'maxLength' ({max}) is below 'minLength' ({min})");
                return new SString(min, max);
            }
            case "integer":
            {
                var min = Int(s, "minimum", path);
                var max = Int(s, "maximum", path);
                if (min is { } a && max is { } b)
                {
                    if (b < a) throw new SchemaException($"{path}.maximum", $"'maximum' ({b}) is below 'minimum' ({a})");
                    if (b - a > 255) throw new SchemaException($"{path}.minimum", "integer ranges of more than 256 values are not supported; narrow minimum/maximum or drop them");
                }
                else if (max is not null) throw new SchemaException($"{path}.maximum", "'maximum' alone is not supported for integers; give 'minimum' too (a range of at most 256 values)");
                else if (min is not null and not (0 or 1)) throw new SchemaException($"{path}.minimum", "'minimum' alone is supported for integers only as 0 or 1; add 'maximum' (a range of at most 256 values)");
                return new SInteger(min, max);
            }
            case "number":
            {
                if (s.TryGetProperty("maximum", out _)) throw new SchemaException($"{path}.maximum", "'maximum' is not supported for numbers; use an integer range or drop it");
                if (s.TryGetProperty("minimum", out var m) && !(m.ValueKind == JsonValueKind.Number && m.TryGetDouble(out var md) && md == 0))
                    throw new SchemaException($"{path}.minimum", "'minimum' is supported for numbers only as 0");
                return new SNumber(s.TryGetProperty("minimum", out _));
            }
            case "array":
            {
                var min = Count(s, "minItems", path) ?? 0;
                var max = Count(s, "maxItems", path);
                if (max < min) throw new SchemaException($"{path}.maxItems", $"'maxItems' ({max}) is below 'minItems' ({min})");
                SNode items = new SFree();
                if (s.TryGetProperty("items", out var it))
                {
                    if (it.ValueKind == JsonValueKind.Array) throw new SchemaException($"{path}.items", "tuple 'items' (an array of schemas) is not supported; give one schema");
                    items = Parse(it, $"{path}.items", st);
                }
                return new SArray(items, min, max);
            }
            case "object":
            {
                var props = new List<(string, SNode, bool)>();
                var required = new HashSet<string>(StringComparer.Ordinal);
                if (s.TryGetProperty("required", out var req))
                {
                    if (req.ValueKind != JsonValueKind.Array || req.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                        throw new SchemaException($"{path}.required", "'required' must be an array of property names");
                    foreach (var x in req.EnumerateArray()) required.Add(x.GetString()!);
                }
                if (s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Object))
                    throw new SchemaException($"{path}.additionalProperties", "'additionalProperties' must be a boolean or a schema");
                var declared = new HashSet<string>(StringComparer.Ordinal);
                if (s.TryGetProperty("properties", out var ps))
                {
                    if (ps.ValueKind != JsonValueKind.Object) throw new SchemaException($"{path}.properties", "'properties' must be an object of schemas");
                    foreach (var p in ps.EnumerateObject())
                    {
                        if (!declared.Add(p.Name)) continue;
                        props.Add((p.Name, Parse(p.Value, $"{path}.properties.{p.Name}", st), required.Contains(p.Name)));
                    }
                }
                foreach (var name in required)
                    if (!declared.Contains(name))
                        throw new SchemaException($"{path}.required", $"required property '{name}' is not declared in 'properties'; declare its schema");
                return new SObject(props);
            }
            default:
                throw new SchemaException($"{path}.type", $"unknown type '{type}'; use object, array, string, integer, number, boolean or null");
        }
    }

    private static JsonElement? Resolve(JsonElement root, string reference)
    {
        foreach (var prefix in new[] { "#/$defs/", "#/definitions/" })
        {
            if (!reference.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var name = reference[prefix.Length..].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            var defs = prefix[2..^1];
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(defs, out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty(name, out var target))
                return target;
        }
        return null;
    }

    private static JsonElement Without(JsonElement s, string keyword)
    {
        var o = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in s.EnumerateObject()) if (p.Name != keyword) o[p.Name] = p.Value;
        return JsonSerializer.SerializeToElement(o);
    }

    private static int? Count(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < 0 || n > 100_000)
            throw new SchemaException($"{path}.{name}", $"'{name}' must be a non-negative integer");
        return n;
    }

    private static long? Int(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new SchemaException($"{path}.{name}", $"'{name}' must be a number");
        if (v.TryGetInt64(out var n) && n is > -1_000_000_000_000 and < 1_000_000_000_000) return n;
        throw new SchemaException($"{path}.{name}", $"'{name}' must be an integer below 10^12 in magnitude for integers");
    }

    internal static string Compact(JsonElement e) => JsonSerializer.Serialize(e, CompactOptions);

    private static readonly JsonSerializerOptions CompactOptions = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // ---------- lengths ----------

    private sealed record Bounds(int StringChars, int ArrayItems, int Digits, int FreeDepth);

    private const int FractionDigits = 6;

    private static int StrMax(SString s, Bounds b) => Math.Min(s.Max ?? int.MaxValue, Math.Max(s.Min, b.StringChars));
    private static int ArrMax(SArray a, Bounds b) => Math.Min(a.Max ?? int.MaxValue, Math.Max(a.Min, b.ArrayItems));
    private static int Utf8(string s) => Encoding.UTF8.GetByteCount(s);

    /// <summary>Lengths saturate here, so huge counts (minItems 100000 nested 60 deep) cannot overflow into a "fitting" value.</summary>
    private const long Cap = 1L << 30;

    private static long MaxLen(SNode n, Bounds b) => Math.Min(Cap, MaxLenOf(n, b));

    private static long MaxLenOf(SNode n, Bounds b) => n switch
    {
        SLiterals l => l.Json.Max(Utf8),
        SString s => 2 + 2L * StrMax(s, b),
        SPattern p => 2 + PatternGrammar.MaxBytes(p.Regex, b.StringChars),
        SInteger { Min: { } lo, Max: { } hi } => Math.Max(lo.ToString(CultureInfo.InvariantCulture).Length, hi.ToString(CultureInfo.InvariantCulture).Length),
        SInteger i => (i.Min is null ? 1 : 0) + b.Digits,
        SNumber num => (num.NonNegative ? 0 : 1) + b.Digits + 1 + FractionDigits,
        SArray a => ArrMax(a, b) is var k and > 0 ? 2 + k * MaxLen(a.Items, b) + (k - 1) : 2,
        SObject o => 2 + o.Props.Sum(p => Utf8(JsonSerializer.Serialize(p.Name)) + 1 + MaxLen(p.Schema, b)) + Math.Max(0, o.Props.Count - 1),
        SAnyOf a => a.Options.Max(x => MaxLen(x, b)),
        SSeq q => q.Parts.Sum(x => MaxLen(x, b)),
        SFree => FreeLen(b, b.FreeDepth),
        SFreeObject => FreeObjectLen(b, b.FreeDepth),
        _ => throw new InvalidOperationException(n.GetType().Name),
    };

    private static long ScalarLen(Bounds b) => Math.Max(2 + 2L * b.StringChars, Math.Max(5, 1 + b.Digits + 1 + FractionDigits));
    private static long FreeLen(Bounds b, int depth) => depth <= 0 ? ScalarLen(b) : Math.Max(ScalarLen(b), Math.Max(FreeObjectLen(b, depth), FreeArrayLen(b, depth)));
    private static long FreeObjectLen(Bounds b, int depth)
    {
        var k = b.ArrayItems;
        return k == 0 ? 2 : 2 + k * (2 + 2L * b.StringChars + 1 + FreeLen(b, depth - 1)) + (k - 1);
    }
    private static long FreeArrayLen(Bounds b, int depth)
    {
        var k = b.ArrayItems;
        return k == 0 ? 2 : 2 + k * FreeLen(b, depth - 1) + (k - 1);
    }

    // ---------- tree → GBNF ----------

    private sealed class Writer(Bounds b)
    {
        private readonly Dictionary<string, string> _byBody = new(StringComparer.Ordinal);
        public List<(string Name, string Body)> Rules { get; } = [];

        private string Rule(string body)
        {
            if (_byBody.TryGetValue(body, out var name)) return name;
            name = "r" + Rules.Count.ToString(CultureInfo.InvariantCulture);
            _byBody[body] = name;
            Rules.Add((name, body));
            return name;
        }

        private string Char => Rule("[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E] | \"\\\\\" [\\x22\\x5C\\x6E]");

        private string Str(int min, int max) => max == 0
            ? Rule("\"\\\"\\\"\"")
            : Rule($"\"\\\"\" {(min == max ? $"{Char}{{{min}}}" : $"{Char}{{{min},{max}}}")} \"\\\"\"");

        /// <summary>An integer of at most <c>b.Digits</c> digits without leading zeros (optionally signed, optionally 0).</summary>
        private string Int(bool negative, bool allowZero)
        {
            var positive = b.Digits <= 1 ? "[1-9]" : $"[1-9] [0-9]{{0,{b.Digits - 1}}}";
            var body = allowZero ? $"(\"0\" | {positive})" : positive;
            return Rule(negative ? $"\"-\"? {body}" : body);
        }

        public string Emit(SNode n)
        {
            switch (n)
            {
                case SLiterals l:
                    return Rule(string.Join(" | ", l.Json.Select(Literal)));
                case SString s:
                    return Str(s.Min, StrMax(s, b));
                case SPattern p:
                    return Rule($"\"\\\"\" {PatternGrammar.Gbnf(p.Regex, b.StringChars)} \"\\\"\"");
                case SInteger { Min: { } lo, Max: { } hi }:
                {
                    var values = new List<string>();
                    for (var v = lo; v <= hi; v++) values.Add(Literal(v.ToString(CultureInfo.InvariantCulture)));
                    return Rule(string.Join(" | ", values));
                }
                case SInteger i:
                    return Int(i.Min is null, i.Min is null or 0);
                case SNumber num:
                    return Rule($"{Int(!num.NonNegative, true)} (\".\" [0-9]{{1,{FractionDigits}}})?");
                case SArray a:
                {
                    var max = ArrMax(a, b);
                    if (max == 0) return Rule("\"[]\"");
                    var item = Emit(a.Items);
                    var more = max - 1 == 0 ? "" : a.Min <= 1 ? $" (\",\" {item}){{0,{max - 1}}}" : $" (\",\" {item}){{{a.Min - 1},{max - 1}}}";
                    return Rule(a.Min == 0 ? $"\"[\" ({item}{more})? \"]\"" : $"\"[\" {item}{more} \"]\"");
                }
                case SObject o:
                {
                    if (o.Props.Count == 0) return Rule("\"{}\"");
                    var members = o.Props.Select(p => $"{Literal(JsonSerializer.Serialize(p.Name, CompactOptions) + ":")} {Emit(p.Schema)}").ToList();
                    // tail[i]: members i.. after something was written (each prefixed by a comma); head[i]: the first written member is i or later
                    var tail = new string[o.Props.Count + 1];
                    tail[o.Props.Count] = "";
                    for (var i = o.Props.Count - 1; i >= 0; i--)
                    {
                        var m = $"\",\" {members[i]}";
                        var body = (o.Props[i].Required ? m : $"({m})?") + (tail[i + 1].Length > 0 ? " " + tail[i + 1] : "");
                        tail[i] = Rule(body);
                    }
                    string? head = null;
                    for (var i = o.Props.Count - 1; i >= 0; i--)
                    {
                        var first = members[i] + (tail[i + 1].Length > 0 ? " " + tail[i + 1] : "");
                        head = o.Props[i].Required ? Rule(first) : Rule(head is null ? $"({first})?" : $"{first} | {head}");
                    }
                    return Rule($"\"{{\" {head} \"}}\"");
                }
                case SAnyOf a:
                    return Rule(string.Join(" | ", a.Options.Select(Emit).Distinct()));
                case SSeq q:
                    return Rule(string.Join(" ", q.Parts.Select(Emit)));
                case SFree:
                    return Free(b.FreeDepth);
                case SFreeObject:
                    return FreeObject(b.FreeDepth);
                default:
                    throw new InvalidOperationException(n.GetType().Name);
            }
        }

        private string Scalar() => Rule($"{Str(0, b.StringChars)} | {Int(true, true)} (\".\" [0-9]{{1,{FractionDigits}}})? | \"true\" | \"false\" | \"null\"");

        private string Free(int depth) => depth <= 0 ? Scalar() : Rule($"{Scalar()} | {FreeObject(depth)} | {FreeArray(depth)}");

        private string FreeObject(int depth)
        {
            var k = b.ArrayItems;
            if (k == 0) return Rule("\"{}\"");
            var kv = Rule($"{Str(0, b.StringChars)} \":\" {Free(depth - 1)}");
            return Rule(k == 1 ? $"\"{{\" {kv}? \"}}\"" : $"\"{{\" ({kv} (\",\" {kv}){{0,{k - 1}}})? \"}}\"");
        }

        private string FreeArray(int depth)
        {
            var k = b.ArrayItems;
            if (k == 0) return Rule("\"[]\"");
            var v = Free(depth - 1);
            return Rule(k == 1 ? $"\"[\" {v}? \"]\"" : $"\"[\" ({v} (\",\" {v}){{0,{k - 1}}})? \"]\"");
        }
    }

    /// <summary>A GBNF string literal for <paramref name="text"/> (non-ASCII and control characters as \u/\U escapes).</summary>
    internal static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in text.EnumerateRunes())
        {
            if (r.Value == '"') sb.Append("\\\"");
            else if (r.Value == '\\') sb.Append("\\\\");
            else if (r.Value is >= 0x20 and < 0x7F) sb.Append((char)r.Value);
            else if (r.Value <= 0xFFFF) sb.Append("\\u").Append(r.Value.ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(r.Value.ToString("X8", CultureInfo.InvariantCulture));
        }
        return sb.Append('"').ToString();
    }
}
