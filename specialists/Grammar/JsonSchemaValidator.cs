using System.Text.Json;

namespace Federation.Specialists.Grammar;

/// <summary>
/// Validates a JSON value against a schema of the subset <see cref="JsonSchemaGrammar"/> supports (type, properties,
/// required, additionalProperties, enum, const, items, minItems, maxItems, minLength, maxLength, minimum, maximum,
/// anyOf, local $ref). It is the gate's check of structured output before release, independent of the grammar that
/// produced it. Keywords outside the subset are ignored here (the translator refuses them before generation).
/// </summary>
public static class JsonSchemaValidator
{
    /// <summary>Null when <paramref name="value"/> is valid; otherwise where and why it is not.</summary>
    public static string? Validate(JsonElement value, JsonElement schema, JsonElement? root = null) => Check(value, schema, root ?? schema, "$", 0);

    /// <summary>Parses <paramref name="text"/> as one JSON value and validates it (null schema: any object).</summary>
    public static string? ValidateText(string text, JsonElement? schema)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return $"not valid JSON: {e.Message}";
        }
        using (doc)
        {
            if (schema is { } s) return Validate(doc.RootElement, s);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? null : $"$: expected a JSON object, found {doc.RootElement.ValueKind}";
        }
    }

    private static string? Check(JsonElement v, JsonElement s, JsonElement root, string at, int depth)
    {
        if (depth > 64) return $"{at}: schema nesting too deep";
        if (s.ValueKind == JsonValueKind.True) return null;
        if (s.ValueKind == JsonValueKind.False) return $"{at}: no value is allowed";
        if (s.ValueKind != JsonValueKind.Object) return $"{at}: the schema is not an object";
        if (s.TryGetProperty("$ref", out var r) && r.ValueKind == JsonValueKind.String)
        {
            var target = Resolve(root, r.GetString()!);
            if (target is null) return $"{at}: $ref {r.GetString()} does not resolve";
            if (Check(v, target.Value, root, at, depth + 1) is { } e) return e;
        }
        if (s.TryGetProperty("anyOf", out var any) && any.ValueKind == JsonValueKind.Array)
        {
            var errors = any.EnumerateArray().Select(x => Check(v, x, root, at, depth + 1)).ToList();
            if (errors.All(e => e is not null)) return $"{at}: matches no anyOf alternative ({errors[0]})";
        }
        if (s.TryGetProperty("const", out var c) && !JsonElement.DeepEquals(v, c)) return $"{at}: must equal {c.GetRawText()}";
        if (s.TryGetProperty("enum", out var en) && en.ValueKind == JsonValueKind.Array && !en.EnumerateArray().Any(x => JsonElement.DeepEquals(v, x)))
            return $"{at}: must be one of {en.GetRawText()}";
        if (s.TryGetProperty("type", out var t))
        {
            var types = t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(x => x.GetString()).ToList() : [t.GetString()];
            if (!types.Any(x => IsType(v, x))) return $"{at}: expected {string.Join(" or ", types)}, found {v.ValueKind.ToString().ToLowerInvariant()}";
        }
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
            {
                var n = v.GetString()!.EnumerateRunes().Count();
                if (Num(s, "minLength") is { } min && n < min) return $"{at}: shorter than minLength {min}";
                if (Num(s, "maxLength") is { } max && n > max) return $"{at}: longer than maxLength {max}";
                if (s.TryGetProperty("pattern", out var pat) && pat.ValueKind == JsonValueKind.String)
                {
                    try
                    {
                        if (!System.Text.RegularExpressions.Regex.IsMatch(v.GetString()!, pat.GetString()!, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)))
                            return $"{at}: does not match pattern {pat.GetString()}";
                    }
                    catch (Exception e) when (e is ArgumentException or System.Text.RegularExpressions.RegexMatchTimeoutException)
                    {
                        return $"{at}: pattern {pat.GetString()} cannot be evaluated ({e.Message})";
                    }
                }
                break;
            }
            case JsonValueKind.Number:
            {
                if (!v.TryGetDouble(out var d)) return $"{at}: the number {v.GetRawText()} is out of range";
                if (Num(s, "minimum") is { } min && d < min) return $"{at}: below minimum {min}";
                if (Num(s, "maximum") is { } max && d > max) return $"{at}: above maximum {max}";
                break;
            }
            case JsonValueKind.Array:
            {
                var n = v.GetArrayLength();
                if (Num(s, "minItems") is { } min && n < min) return $"{at}: fewer than minItems {min}";
                if (Num(s, "maxItems") is { } max && n > max) return $"{at}: more than maxItems {max}";
                if (s.TryGetProperty("items", out var items) && items.ValueKind is JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False)
                {
                    var i = 0;
                    foreach (var x in v.EnumerateArray())
                        if (Check(x, items, root, $"{at}[{i++}]", depth + 1) is { } e) return e;
                }
                break;
            }
            case JsonValueKind.Object:
            {
                var props = s.TryGetProperty("properties", out var ps) && ps.ValueKind == JsonValueKind.Object ? ps : (JsonElement?)null;
                if (s.TryGetProperty("required", out var req) && req.ValueKind == JsonValueKind.Array)
                    foreach (var name in req.EnumerateArray())
                        if (name.ValueKind == JsonValueKind.String && !v.TryGetProperty(name.GetString()!, out _)) return $"{at}: missing required property '{name.GetString()}'";
                s.TryGetProperty("additionalProperties", out var ap);
                foreach (var m in v.EnumerateObject())
                {
                    if (props is { } p && p.TryGetProperty(m.Name, out var ms))
                    {
                        if (Check(m.Value, ms, root, $"{at}.{m.Name}", depth + 1) is { } e) return e;
                    }
                    else if (ap.ValueKind == JsonValueKind.False) return $"{at}: property '{m.Name}' is not allowed (additionalProperties: false)";
                    else if (ap.ValueKind == JsonValueKind.Object && Check(m.Value, ap, root, $"{at}.{m.Name}", depth + 1) is { } e2) return e2;
                }
                break;
            }
        }
        return null;
    }

    private static bool IsType(JsonElement v, string? type) => type switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => v.ValueKind == JsonValueKind.Null,
        "number" => v.ValueKind == JsonValueKind.Number,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && Math.Floor(d) == d && !double.IsInfinity(d),
        _ => false,
    };

    private static double? Num(JsonElement s, string name) =>
        s.TryGetProperty(name, out var x) && x.ValueKind == JsonValueKind.Number && x.TryGetDouble(out var d) ? d : null;

    private static JsonElement? Resolve(JsonElement root, string reference)
    {
        foreach (var defs in new[] { "$defs", "definitions" })
        {
            var prefix = $"#/{defs}/";
            if (!reference.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var name = reference[prefix.Length..].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty(defs, out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty(name, out var target))
                return target;
        }
        return null;
    }
}
