using System.Diagnostics.CodeAnalysis;
using Federation.Registry.Json;

namespace Federation.Canaries.Checkers;

/// <summary>
/// A documented subset of JSON Schema for class-A canaries: <c>type</c> (a name or an array of names among object, array,
/// string, number, integer, boolean, null), <c>properties</c>, <c>required</c>, <c>enum</c>, <c>items</c> (one schema for
/// every element), <c>additionalProperties</c> (boolean or schema). <c>title</c>, <c>description</c> and <c>$schema</c>
/// are accepted and ignored; any other keyword is refused when the canary is created, so a checker never silently
/// ignores a constraint its author meant. <c>integer</c> accepts JSON integers and floats with no fractional part.
/// </summary>
public static class JsonSchemaSubset
{
    private static readonly HashSet<string> TypeNames = ["object", "array", "string", "number", "integer", "boolean", "null"];

    /// <summary>Checks that <paramref name="schema"/> uses only the supported keywords, recursively.</summary>
    public static bool TryValidateSchema(JsonValue schema, string path, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (schema is JsonBool) return true;
        if (schema is not JsonObject o)
        {
            error = $"schema at {path} must be an object or a boolean.";
            return false;
        }
        foreach (var (k, v) in o)
        {
            switch (k)
            {
                case "title" or "description" or "$schema":
                    break;
                case "type":
                    var names = v is JsonArray a ? a.ToList() : [v];
                    if (names.Count == 0 || names.Any(n => n is not JsonString s || !TypeNames.Contains(s.Value)))
                    {
                        error = $"schema at {path}: \"type\" must be one of {string.Join(", ", TypeNames)} or an array of them.";
                        return false;
                    }
                    break;
                case "properties":
                    if (v is not JsonObject props)
                    {
                        error = $"schema at {path}: \"properties\" must be an object of schemas.";
                        return false;
                    }
                    foreach (var (pk, pv) in props)
                        if (!TryValidateSchema(pv, $"{path}/properties/{pk}", out error)) return false;
                    break;
                case "required":
                    if (v is not JsonArray req || req.Any(r => r is not JsonString))
                    {
                        error = $"schema at {path}: \"required\" must be an array of strings.";
                        return false;
                    }
                    break;
                case "enum":
                    if (v is not JsonArray { Count: > 0 })
                    {
                        error = $"schema at {path}: \"enum\" must be a non-empty array.";
                        return false;
                    }
                    break;
                case "items" or "additionalProperties":
                    if (!TryValidateSchema(v, $"{path}/{k}", out error)) return false;
                    break;
                default:
                    error = $"schema at {path}: keyword \"{k}\" is not in the supported subset (type, properties, required, enum, items, additionalProperties; title/description/$schema ignored).";
                    return false;
            }
        }
        return true;
    }

    /// <summary>Validates <paramref name="instance"/>; on failure <paramref name="error"/> gives the JSON pointer and the rule broken.</summary>
    public static bool Validate(JsonValue schema, JsonValue instance, [NotNullWhen(false)] out string? error) => Validate(schema, instance, "", out error);

    private static bool Validate(JsonValue schema, JsonValue instance, string path, [NotNullWhen(false)] out string? error)
    {
        error = null;
        var at = path.Length == 0 ? "/" : path;
        if (schema is JsonBool b)
        {
            if (!b.Value) error = $"{at}: no value is allowed here";
            return b.Value;
        }
        var o = (JsonObject)schema;
        if (o.TryGetValue("type", out var t))
        {
            var names = t is JsonArray a ? a.Select(x => x.AsString()).ToList() : [t.AsString()];
            if (!names.Any(n => HasType(instance, n)))
            {
                error = $"{at}: expected {string.Join(" or ", names)}, found {KindName(instance)}";
                return false;
            }
        }
        if (o.TryGetValue("enum", out var en) && !en.AsArray().Any(e => NumericEquals(e, instance)))
        {
            error = $"{at}: {instance} is not one of {en}";
            return false;
        }
        if (instance is JsonObject io)
        {
            if (o.TryGetValue("required", out var req))
                foreach (var r in req.AsArray())
                    if (!io.ContainsKey(r.AsString()))
                    {
                        error = $"{at}: missing required property \"{r.AsString()}\"";
                        return false;
                    }
            var props = o.TryGetValue("properties", out var pv) ? (JsonObject)pv : null;
            o.TryGetValue("additionalProperties", out var additional);
            foreach (var (k, v) in io)
            {
                if (props is not null && props.TryGetValue(k, out var ps))
                {
                    if (!Validate(ps, v, $"{path}/{k}", out error)) return false;
                }
                else if (additional is not null && !Validate(additional, v, $"{path}/{k}", out error))
                {
                    if (additional is JsonBool) error = $"{path}/{k}: additional property \"{k}\" is not allowed";
                    return false;
                }
            }
        }
        if (instance is JsonArray ia && o.TryGetValue("items", out var items))
        {
            for (var i = 0; i < ia.Count; i++)
                if (!Validate(items, ia[i], $"{path}/{i}", out error)) return false;
        }
        return true;
    }

    private static bool HasType(JsonValue v, string name) => name switch
    {
        "object" => v is JsonObject,
        "array" => v is JsonArray,
        "string" => v is JsonString,
        "number" => v is JsonInt or JsonFloat,
        "integer" => v is JsonInt || (v is JsonFloat f && double.IsFinite(f.Value) && Math.Floor(f.Value) == f.Value),
        "boolean" => v is JsonBool,
        "null" => v is JsonNull,
        _ => false,
    };

    private static string KindName(JsonValue v) => v switch
    {
        JsonObject => "object",
        JsonArray => "array",
        JsonString => "string",
        JsonInt => "integer",
        JsonFloat => "number",
        JsonBool => "boolean",
        _ => "null",
    };

    /// <summary>JSON equality where 1 and 1.0 are equal (JSON Schema compares numbers by value).</summary>
    internal static bool NumericEquals(JsonValue a, JsonValue b)
    {
        if (Canary.TryNumber(a, out var x) && Canary.TryNumber(b, out var y)) return x == y;
        if (a is JsonArray aa && b is JsonArray ba)
            return aa.Count == ba.Count && aa.Zip(ba).All(p => NumericEquals(p.First, p.Second));
        if (a is JsonObject ao && b is JsonObject bo)
            return ao.Count == bo.Count && ao.All(kv => bo.TryGetValue(kv.Key, out var bv) && NumericEquals(kv.Value, bv));
        return a.Equals(b);
    }
}
