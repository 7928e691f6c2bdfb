using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>The JSON type a schema field must have.</summary>
public enum FieldKind
{
    /// <summary>A string.</summary>
    String,
    /// <summary>A string or null.</summary>
    NullableString,
    /// <summary>An integer token that fits in 64 bits (a bool is refused, though Python would take it).</summary>
    Int,
    /// <summary>A float token (an integer token is refused: it would hash differently, notes §2).</summary>
    Float,
    /// <summary>true/false.</summary>
    Bool,
    /// <summary>An array of strings.</summary>
    StringList,
    /// <summary>A JSON object.</summary>
    Object,
}

/// <summary>One field of a closed schema: its name, type, and default (null = required).</summary>
public sealed record FieldSpec(string Name, FieldKind Kind, Func<JsonValue>? Default = null);

/// <summary>
/// A closed schema, as a Python dataclass built with <c>cls(**payload)</c>: unknown and missing keys are refused; keys with
/// a default may be omitted. Types are checked too (the reference does not; notes §3.1) and reported separately so the
/// caller can keep the connection open for them.
/// </summary>
public sealed class SporeSchema(string what, params FieldSpec[] fields)
{
    /// <summary>The fields in declaration order (the reference's key order for tasks, events, profiles).</summary>
    public IReadOnlyList<FieldSpec> Fields { get; } = fields;

    /// <summary>What this schema describes, for messages.</summary>
    public string What { get; } = what;

    /// <summary>
    /// Checks <paramref name="value"/> and returns a new object with every field (defaults filled in) in
    /// <paramref name="sorted"/> key order or declaration order; throws <see cref="SporeFormatException"/> otherwise.
    /// </summary>
    public JsonObject Normalize(JsonValue value, bool sorted, bool schemaErrorsClose = true)
    {
        if (value is not JsonObject o)
            throw Fail(SporeReason.NotObject, $"a {What} must be a JSON object, found a {value.Kind.ToString().ToLowerInvariant()}", true);
        foreach (var k in o.Keys)
            if (!Fields.Any(f => f.Name == k))
                throw Fail(SporeReason.UnknownKey, $"{What} has the unknown key \"{k}\"; the schema is closed (allowed: {string.Join(", ", Fields.Select(f => f.Name))})", schemaErrorsClose);
        var result = new JsonObject();
        var order = sorted ? Fields.OrderBy(f => f.Name, StringComparer.Ordinal) : Fields.AsEnumerable();
        foreach (var f in order)
        {
            if (!o.TryGetValue(f.Name, out var v))
            {
                if (f.Default is null)
                    throw Fail(SporeReason.MissingKey, $"{What} lacks the required key \"{f.Name}\"", schemaErrorsClose);
                v = f.Default();
            }
            if (!Matches(f.Kind, v))
                throw Fail(SporeReason.WrongType, $"{What} key \"{f.Name}\" must be {Describe(f.Kind)}, found {Describe(v)}", false);
            result[f.Name] = v;
        }
        return result;
    }

    private static SporeFormatException Fail(SporeReason r, string m, bool closes) => new(new SporeRejection(r, m, closes));

    internal static bool Matches(FieldKind k, JsonValue v) => k switch
    {
        FieldKind.String => v is JsonString,
        FieldKind.NullableString => v is JsonString or JsonNull,
        FieldKind.Int => v is JsonInt i && i.FitsInt64,
        FieldKind.Float => v is JsonFloat,
        FieldKind.Bool => v is JsonBool,
        FieldKind.StringList => v is JsonArray a && a.All(x => x is JsonString),
        FieldKind.Object => v is JsonObject,
        _ => false,
    };

    internal static string Describe(FieldKind k) => k switch
    {
        FieldKind.String => "a string",
        FieldKind.NullableString => "a string or null",
        FieldKind.Int => "an integer (no '.', no exponent; 64-bit)",
        FieldKind.Float => "a float token such as 1.0 (an integer token hashes differently)",
        FieldKind.Bool => "true or false",
        FieldKind.StringList => "an array of strings",
        FieldKind.Object => "a JSON object",
        _ => k.ToString(),
    };

    internal static string Describe(JsonValue v) => v switch
    {
        JsonString s => $"the string \"{(s.Value.Length > 40 ? s.Value[..40] + "…" : s.Value)}\"",
        JsonInt i => i.FitsInt64 ? $"the integer {i.Value}" : "an integer beyond 64 bits",
        JsonFloat f => $"the float {CanonicalJson.FormatFloat(f.Value)}",
        _ => $"a {v.Kind.ToString().ToLowerInvariant()}",
    };
}
