using System.Text;
using System.Text.Json;
using Federation.Canaries.Spore;
using Federation.Node.Api;
using Federation.Registry.Json;
using Federation.Router;
using Federation.Specialists.Gguf;

namespace Federation.Bench.Fuzz;

/// <summary>
/// The five readers of untrusted bytes (issue 8) and the one typed error each may raise: the canonical JSON reader
/// (<see cref="JsonParseException"/>), the OpenAI request parsing (System.Text.Json with the node's context, then
/// <see cref="RequestValidator"/>: a <see cref="JsonException"/> that <see cref="ApiErrors.FromJson"/> maps to a 400, or
/// a 400 <see cref="ApiException"/>), the policy loader (<see cref="PolicyException"/>), the GGUF header reader
/// (<see cref="GgufFormatException"/>) and the Spore frame reader (<see cref="SporeFrameException"/>).
/// </summary>
public static class FuzzTargets
{
    private static readonly Lazy<IReadOnlyList<FuzzTarget>> Targets = new(() => [CanonicalJsonReader(), OpenAiRequest(), PolicyLoaderTarget(), GgufReader(), SporeFrameReader()]);

    /// <summary>Every target, in a fixed order.</summary>
    public static IReadOnlyList<FuzzTarget> All => Targets.Value;

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    private static readonly byte[][] JsonTokens =
        [.. new[] { "{", "}", "[", "]", "\"", ":", ",", "null", "true", "-0", "1e400", "-1E-400", "0.1", "123456789012345678901234567890",
            "\\u0000", "\\ud800", "\\udc00\\ud800", "\"\\u00e9\"", "NaN", "-Infinity", "\"a\":1", "\"\\\"\"", "\t", "\u00a0", "\ufeff" }.Select(U)];

    public static FuzzTarget CanonicalJsonReader() => new("canonical-json",
        [.. new[]
        {
            """{"a":1,"b":[true,false,null],"c":{"d":"caf\u00e9","e":-0.5e-3}}""",
            """[1,2.5,"x",{"k":[{}]},[],"\ud83d\ude00",12345678901234567890]""",
            "\"plain string\"", "0", "-12.0E+3", """{"z":1,"a":2,"a":3}""", "\uFEFF{\"bom\":true}",
        }.Select(U)],
        JsonTokens,
        input =>
        {
            var value = CanonicalJson.Parse(input);
            var canonical = CanonicalJson.Serialize(value);
            // property: canonical bytes are a fixed point of parse + serialize
            if (!canonical.AsSpan().SequenceEqual(CanonicalJson.Serialize(CanonicalJson.Parse(canonical))))
                throw new InvalidDataException("canonical JSON is not a fixed point of parse+serialize");
        },
        // non-finite numbers have no canonical form: Serialize refuses them with ArgumentException (documented)
        e => e is JsonParseException || (e is ArgumentException a && a.Message.Contains("finite", StringComparison.OrdinalIgnoreCase)));

    public static FuzzTarget OpenAiRequest() => new("openai-request",
        [.. new[]
        {
            """{"model":"federation","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":8,"temperature":0.5,"stop":["\n"],"stream":true,"stream_options":{"include_usage":true}}""",
            """{"model":"federation/code","prompt":["print 1"],"max_tokens":4,"seed":7,"top_p":0.9,"top_k":4,"n":1}""",
            """{"model":"federation","messages":[{"role":"user","content":"x"}],"federation":{"specialists":["a","b"],"required_provenance":{"lineages":["olmo"],"jurisdictions":["EU"]},"panel_size":2,"review":"async"}}""",
            """{"model":"federation","input":["a","b"],"encoding_format":"base64"}""",
            """{"model":"federation","messages":[{"role":"user","content":"x"}],"tools":[],"response_format":{"type":"text"},"logprobs":false}""",
        }.Select(U)],
        [.. JsonTokens, .. new[] { "\"messages\":", "\"role\":\"tool\"", "\"content\":", "\"max_tokens\":", "\"federation\":", "\"tools\":", "\"n\":2", "\"stop\":[]", "\"prompt\":[]" }.Select(U)],
        input =>
        {
            Parse(input, b => RequestValidator.Chat(JsonSerializer.Deserialize(b, NodeJsonContext.Default.ChatCompletionRequest)!, 4096));
            Parse(input, b => RequestValidator.Text(JsonSerializer.Deserialize(b, NodeJsonContext.Default.TextCompletionRequest)!, 4096));
            Parse(input, b => RequestValidator.Embeddings(JsonSerializer.Deserialize(b, NodeJsonContext.Default.EmbeddingsRequest)!));
            Parse(input, b => RequestValidator.Route(JsonSerializer.Deserialize(b, NodeJsonContext.Default.RouteRequest)!));
        },
        e => e is TypedRequestError);

    /// <summary>Runs one request reader; its JSON errors must map to a 400 and its validation errors must be 400s.</summary>
    private static void Parse(byte[] input, Func<byte[], object> read)
    {
        try
        {
            // a JSON null body never reaches the validator: the host answers 400 for a missing body first
            if (JsonSerializer.Deserialize(input, NodeJsonContext.Default.JsonElement).ValueKind == JsonValueKind.Null) return;
            read(input);
        }
        catch (JsonException j)
        {
            var mapped = ApiErrors.FromJson(j);
            if (mapped.Status != 400) throw new InvalidOperationException($"a JSON error became HTTP {mapped.Status}: {j.Message}", j);
            throw new TypedRequestError();
        }
        catch (ApiException a) when (a.Status == 400)
        {
            throw new TypedRequestError();
        }
    }

    /// <summary>The request target's typed outcome: a 400 in the OpenAI shape.</summary>
    private sealed class TypedRequestError : Exception;

    public static FuzzTarget PolicyLoaderTarget()
    {
        var seeds = new List<byte[]>
        {
            U("""
              version: 1
              default_topic: general
              tiers:
                T1: {lineages: any}
                T3: {lineages: [olmo], jurisdictions: [EU]}
              specialists:
                - {id: g, adapter: g1, base_lineage: olmo, jurisdiction: EU, topics: [general]}
              topics:
                general: {tier: T1, class: B, champion: g, description: "d", keywords: [hello, "wor ld"]}
              """),
        };
        if (FindUp("policies/routing.yaml") is { } path) seeds.Add(File.ReadAllBytes(path));
        return new FuzzTarget("policy-loader", seeds,
            [.. new[] { ":", "- ", "\n  ", "[", "]", "{", "}", "'", "\"", "&a", "*a", "!!binary", "~", "null", "T3", "tier:", "keywords:", "regex:", "(a+)+$", "\t", "#", "|\n", ">-\n", "1e9", "-1" }.Select(U)],
            input => PolicyLoader.Parse(input, "fuzz.yaml"),
            e => e is PolicyException);
    }

    public static FuzzTarget GgufReader()
    {
        static byte[] File(Action<GgufWriter> build)
        {
            var w = new GgufWriter();
            build(w);
            using var ms = new MemoryStream();
            w.WriteTo(ms);
            return ms.ToArray();
        }
        var seeds = new[]
        {
            File(w => w.Set("general.architecture", "llama").Set("llama.block_count", 2u).Set("general.alignment", 32u).Set("x.f", 0.5f).Set("x.b", true)
                .Set("tokenizer.ggml.tokens", GgufValue.Array(["a", "b", "<s>"])).Set("x.u64", GgufValue.UInt64(ulong.MaxValue))
                .AddF32("w", [2, 2], [1, 2, 3, 4]).AddF16("h", [4], [0.5f, 1, 2, 4])),
            File(w => w.Set("general.type", "adapter").AddF32("lora_a", [3], [1, 2, 3])),
        };
        return new FuzzTarget("gguf", seeds,
            [.. new[] { new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }, [0, 0, 0, 0], [9, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0], U("GGUF"), [0x20, 0, 0, 0] }],
            input =>
            {
                var f = GgufFile.Read(new MemoryStream(input, writable: false), "fuzz.gguf");
                _ = f.Metadata.Count + f.Tensors.Count;
            },
            e => e is GgufFormatException);
    }

    public static FuzzTarget SporeFrameReader()
    {
        var seeds = new[]
        {
            Messages.Ping().ToFrame(),
            Messages.Marker(MessageTypes.All[0], 3, 4).ToFrame(),
            Messages.PexResponse(["127.0.0.1:7000", "[::1]:7001"]).ToFrame(),
            Messages.CodeRequest("sha256:" + new string('a', 64)).ToFrame(),
            [.. Messages.Ping().ToFrame(), .. Messages.Pong().ToFrame()],
        };
        return new FuzzTarget("spore-frame", seeds,
            [.. JsonTokens, [0, 0, 0, 0], [0, 0, 0x10, 0], [0xFF, 0xFF, 0xFF, 0xFF], U("\"type\":"), U("\"payload\":")],
            input =>
            {
                ReadOnlySpan<byte> rest = input;
                while (SporeFrame.TryDecode(rest, out _, out var consumed, maxBodyBytes: 1 << 16))
                {
                    if (consumed <= 0 || consumed > rest.Length) throw new InvalidOperationException($"TryDecode consumed {consumed} of {rest.Length} bytes");
                    rest = rest[consumed..];
                }
            },
            e => e is SporeFrameException);
    }

    private static string? FindUp(string relative)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (System.IO.File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        return null;
    }
}
