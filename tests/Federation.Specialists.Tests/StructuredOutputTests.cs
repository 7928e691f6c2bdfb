using System.Text.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Grammar;

namespace Federation.Specialists.Tests;

/// <summary>JSON Schema → GBNF (pure) and the validator: what is accepted, what is refused and why, the length bound.</summary>
public class JsonSchemaGrammarTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","pattern":"^(?=x)x$"}}}""", "s.properties.a.pattern")]
    [InlineData("""{"type":"string","pattern":"\\bword"}""", "s.pattern")]
    [InlineData("""{"type":"string","pattern":"a^b"}""", "s.pattern")]
    [InlineData("""{"type":"string","pattern":"(a)\\1"}""", "s.pattern")]
    [InlineData("""{"type":"string","pattern":"^x+$","maxLength":3}""", "s.pattern")]
    [InlineData("""{"type":"string","format":"email"}""", "s.format")]
    [InlineData("""{"oneOf":[{"type":"string"}]}""", "s.oneOf")]
    [InlineData("""{"allOf":[{"type":"string"}]}""", "s.allOf")]
    [InlineData("""{"type":"array","items":{"type":"integer"},"uniqueItems":true}""", "s.uniqueItems")]
    [InlineData("""{"type":"number","multipleOf":2}""", "s.multipleOf")]
    [InlineData("""{"type":"integer","minimum":5}""", "s.minimum")]
    [InlineData("""{"type":"integer","minimum":0,"maximum":100000}""", "s.minimum")]
    [InlineData("""{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}}}""", "s.$ref.properties.next.$ref")]
    [InlineData("""{"$ref":"http://example.com/s.json"}""", "s.$ref")]
    [InlineData("""{"type":"object","required":["x"],"properties":{}}""", "s.required")]
    [InlineData("""{"type":"strng"}""", "s.type")]
    [InlineData("""{"type":"string","enum":[1,2]}""", "s.enum")]
    public void Unsupported_or_unsatisfiable_keywords_are_refused_with_their_path(string schema, string path)
    {
        var e = Assert.Throws<SchemaException>(() => JsonSchemaGrammar.FromSchema(J(schema), 400, "s"));
        Assert.Equal(path, e.Path);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public void Words_that_are_no_json_schema_keyword_are_annotations_and_ignored()
    {
        var g = JsonSchemaGrammar.FromSchema(J("""{"type":"object","condition":"from Semantic Kernel","x-extra":1,"properties":{}}"""), 50, "s");
        Assert.Contains("\"{}\"", g.Gbnf);
        Assert.Equal(2, g.MaxBytes);
        Assert.Equal(JsonSchemaGrammar.FromSchema(J("{}"), 50, "s"), JsonSchemaGrammar.FromSchema(J("""{"note":"any value"}"""), 50, "s"));
    }

    [Theory]
    [InlineData("""{"type":"array","minItems":100000,"items":{"type":"array","minItems":100000,"items":{"type":"array","minItems":100000,"items":{"type":"string","minLength":100000}}}}""", "s")]
    [InlineData("""{"type":"integer","minimum":-9223372036854775808,"maximum":0}""", "s.minimum")]
    [InlineData("""{"type":"number","minimum":1e999}""", "s.minimum")]
    public void Hostile_schemas_are_refused_not_overflowed(string schema, string path)
    {
        var e = Assert.Throws<SchemaException>(() => JsonSchemaGrammar.FromSchema(J(schema), 4000, "s"));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void An_out_of_range_enum_number_is_validated_without_throwing()
    {
        var g = JsonSchemaGrammar.FromSchema(J("""{"enum":[1e999, 2],"type":"integer","minimum":0,"maximum":5}"""), 50, "s");
        Assert.Contains("\"2\"", g.Gbnf);
        Assert.DoesNotContain("1e999", g.Gbnf);
    }

    [Fact]
    public void A_budget_too_small_for_any_value_is_refused_saying_how_much_is_needed()
    {
        var schema = J("""{"type":"object","properties":{"a_rather_long_property_name":{"type":"string","minLength":20}},"required":["a_rather_long_property_name"]}""");
        var e = Assert.Throws<SchemaException>(() => JsonSchemaGrammar.FromSchema(schema, 30, "response_format"));
        Assert.Equal("response_format", e.Path);
        Assert.Contains("needs", e.Message);
        Assert.Contains("max_tokens", e.Message);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(150)]
    [InlineData(300)]
    public void The_longest_output_fits_the_budget_and_bounds_shrink_with_it(int budget)
    {
        var schema = J(Schemas.Person);
        var g = JsonSchemaGrammar.FromSchema(schema, budget, "s");
        Assert.InRange(g.MaxBytes, 1, budget);
        Assert.Contains("root ::= ", g.Gbnf);
        var bigger = JsonSchemaGrammar.FromSchema(schema, budget * 4, "s");
        Assert.True(bigger.MaxBytes >= g.MaxBytes);
    }

    [Fact]
    public void Literals_escape_quotes_backslashes_and_non_ascii()
    {
        Assert.Equal("\"a\\\"b\\\\c\\u00E9\\U0001F600\"", JsonSchemaGrammar.Literal("a\"b\\cé😀"));
    }

    [Theory]
    [InlineData("""{"name":"ann","age":3,"tags":["x"]}""", null)]
    [InlineData("""{"name":"ann","age":300,"tags":[]}""", "$.age: above maximum 150")]
    [InlineData("""{"name":"ann","tags":[]}""", "$: missing required property 'age'")]
    [InlineData("""{"name":"ann","age":3,"tags":[],"x":1}""", "$: property 'x' is not allowed (additionalProperties: false)")]
    [InlineData("""{"name":"","age":3,"tags":[]}""", "$.name: shorter than minLength 1")]
    [InlineData("""{"name":"ann","age":3.5,"tags":[]}""", "$.age: expected integer, found number")]
    [InlineData("""[1]""", "$: expected object, found array")]
    public void The_validator_names_the_first_violation(string value, string? expected)
    {
        Assert.Equal(expected, JsonSchemaValidator.Validate(J(value), J(Schemas.Person)));
    }

    [Fact]
    public void The_validator_follows_refs_and_anyOf()
    {
        var s = J(Schemas.Shapes);
        Assert.Null(JsonSchemaValidator.Validate(J("""{"shape":{"kind":"circle","r":2},"label":null}"""), s));
        Assert.NotNull(JsonSchemaValidator.Validate(J("""{"shape":{"kind":"square","r":2},"label":null}"""), s));
        Assert.NotNull(JsonSchemaValidator.ValidateText("{\"shape\":", s));
        Assert.Null(JsonSchemaValidator.ValidateText("{}", null));
        Assert.NotNull(JsonSchemaValidator.ValidateText("[]", null));
    }
}

/// <summary>Schemas used by the grammar and engine tests.</summary>
public static class Schemas
{
    public const string Person = """
        {"type":"object","additionalProperties":false,"required":["name","age","tags"],
         "properties":{"name":{"type":"string","minLength":1,"maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150},
                       "tags":{"type":"array","items":{"type":"string","enum":["x","y","z"]},"maxItems":3},
                       "nick":{"type":["string","null"]}}}
        """;

    public const string Shapes = """
        {"type":"object","required":["shape","label"],"additionalProperties":false,
         "properties":{"shape":{"anyOf":[{"$ref":"#/$defs/circle"},{"$ref":"#/definitions/box"}]},"label":{"type":["string","null"],"maxLength":5},
                       "note":{"type":"string"}},
         "$defs":{"circle":{"type":"object","required":["kind","r"],"properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}}}},
         "definitions":{"box":{"type":"object","required":["kind","w","h"],"properties":{"kind":{"const":"box"},"w":{"type":"integer","minimum":1},"h":{"type":"integer","minimum":1}}}}}
        """;

    public const string Optional = """
        {"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"integer"},"c":{"type":"array","minItems":2,"items":{"type":"number"}}}}
        """;

    public const string Free = """{"type":"object","properties":{"any":{},"list":{"type":"array"}},"required":["any","list"]}""";

    public const string Patterns = """
        {"type":"object","required":["id","word","q","free"],
         "properties":{"id":{"type":"string","pattern":"^[A-Z]{2}-\\d{3,5}$"},"word":{"pattern":"(yes|no)+"},
                       "q":{"type":"string","pattern":"^a\"b\\\\c.?[^a-z]*$"},"free":{"type":"string","pattern":"^(?:\\w+\\s)*\\w{2}$"}}}
        """;

    public static readonly string[] All = [Person, Shapes, Optional, Free, Patterns];
}

/// <summary>Grammar-constrained generation on the real engine: whatever the adapter, the text is complete, valid JSON.</summary>
[Collection("engine")]
public class StructuredGenerationTests(EngineFixture fx)
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public static TheoryData<int, string, float> Cases()
    {
        var data = new TheoryData<int, string, float>();
        for (var s = 0; s < Schemas.All.Length; s++)
            foreach (var adapter in new[] { "", "a", "b", "c" })
                foreach (var t in new[] { 0f, 1.5f })
                    data.Add(s, adapter, t);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Every_schema_gives_valid_json_on_every_random_adapter(int schemaIndex, string adapter, float temperature)
    {
        var schema = J(Schemas.All[schemaIndex]);
        const int maxTokens = 120;
        var g = JsonSchemaGrammar.FromSchema(schema, maxTokens - 1, "s");
        var r = await fx.Engine.GenerateAsync(new GenerationRequest
        {
            Prompt = "Answer in JSON: ",
            MaxTokens = maxTokens,
            Grammar = g.Gbnf,
            Temperature = temperature,
            Seed = 7,
            Adapters = adapter.Length == 0 ? [] : [new AdapterSelection(adapter)],
        });
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Null(JsonSchemaValidator.ValidateText(r.Text, schema));
        Assert.True(r.CompletionTokens <= g.MaxBytes, $"{r.CompletionTokens} tokens > bound {g.MaxBytes}: {r.Text}");
    }

    [Fact]
    public async Task Json_object_mode_gives_an_object_and_tool_calls_name_a_declared_function()
    {
        var obj = JsonSchemaGrammar.AnyObject(99, "response_format");
        var r = await fx.Engine.GenerateAsync(new GenerationRequest { Prompt = "{", MaxTokens = 100, Grammar = obj.Gbnf, Temperature = 1f, Seed = 3, Adapters = [new("d")] });
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Null(JsonSchemaValidator.ValidateText(r.Text, null));

        var weather = J("""{"type":"object","properties":{"city":{"type":"string","maxLength":10}},"required":["city"],"additionalProperties":false}""");
        var call = JsonSchemaGrammar.ToolCall([("get_weather", weather, "tools[0]"), ("now", null, "tools[1]")], 79, allowText: false, "tools");
        for (uint seed = 1; seed <= 4; seed++)
        {
            var c = await fx.Engine.GenerateAsync(new GenerationRequest { Prompt = "call", MaxTokens = 80, Grammar = call.Gbnf, Temperature = 1f, Seed = seed, Adapters = [new("a")] });
            Assert.Equal(FinishReason.Stop, c.FinishReason);
            using var doc = JsonDocument.Parse(c.Text);
            var name = doc.RootElement.GetProperty("name").GetString();
            Assert.Contains(name, new[] { "get_weather", "now" });
            var args = doc.RootElement.GetProperty("arguments");
            Assert.Null(name == "get_weather" ? JsonSchemaValidator.Validate(args, weather) : JsonSchemaValidator.Validate(args, J("""{"type":"object","additionalProperties":false}""")));
        }
    }

    [Fact]
    public async Task Grammar_output_is_deterministic_and_logprobs_come_from_the_logits()
    {
        var g = JsonSchemaGrammar.FromSchema(J(Schemas.Person), 99, "s");
        var req = new GenerationRequest { Prompt = "p", MaxTokens = 100, Grammar = g.Gbnf, TopLogprobs = 3, Adapters = [new("b")] };
        var r1 = await fx.Engine.GenerateAsync(req);
        var r2 = await fx.Engine.GenerateAsync(req);
        Assert.Equal(r1.Text, r2.Text);
        Assert.NotNull(r1.Logprobs);
        Assert.Equal(r1.CompletionTokens, r1.Logprobs!.Count);
        foreach (var lp in r1.Logprobs)
        {
            Assert.Equal(3, lp.Top.Count);
            Assert.True(lp.Chosen.Logprob <= 0);
            Assert.True(lp.Top[0].Logprob >= lp.Top[1].Logprob && lp.Top[1].Logprob >= lp.Top[2].Logprob);
            Assert.True(lp.Top[0].Logprob >= lp.Chosen.Logprob); // the grammar may force a less likely token, never a likelier one than the top
        }
        Assert.Equal(r1.TokenIds, r1.Logprobs.Select(l => l.Chosen.Token));
        var plain = await fx.Engine.GenerateAsync(req with { Grammar = null, TopLogprobs = null });
        Assert.Null(plain.Logprobs);
    }
}
