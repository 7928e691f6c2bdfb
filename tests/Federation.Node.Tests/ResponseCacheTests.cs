using System.Net.Http.Json;
using System.Text.Json;
using Federation.Node.Answering;
using Federation.Node.Hosting;
using Federation.Specialists.Engine;

namespace Federation.Node.Tests;

/// <summary>The signed response cache (issue 15): keys, bounds, and on a real node a hit equals a miss and is ledgered.</summary>
public sealed class ResponseCacheTests
{
    private const string Base = "bafkbase", AdapterA = "bafkadaptera", AdapterB = "bafkadapterb", Policy = "bafkpolicy";

    private static GenerationRequest Greedy(string text = "hello") => new()
    {
        Messages = [new ChatMessage("user", text)],
        Adapters = [new AdapterSelection("general-qwen")],
        MaxTokens = 8,
    };

    private static CachedAnswer Answer(long index) => new(
        new GenerationResult { Text = "t" + index, TokenIds = [1], PromptTokens = 3, CompletionTokens = 1, FinishReason = FinishReason.Stop },
        TimeSpan.FromMilliseconds(10), new CacheHitInfo(index, "entry" + index));

    [Fact]
    public void The_key_covers_every_field_of_the_generation_request()
    {
        // a field added to GenerationRequest that the key does not cover would let two different requests share an answer
        var fields = typeof(GenerationRequest).GetProperties().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(fields, ResponseCache.KeyedRequestFields.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void Every_input_that_changes_the_output_changes_the_key_and_sampling_is_never_keyed()
    {
        var g = Greedy();
        var key = ResponseCache.KeyFor(Base, AdapterA, Policy, g)!;
        Assert.Equal(key, ResponseCache.KeyFor(Base, AdapterA, Policy, Greedy()));
        var variants = new[]
        {
            ResponseCache.KeyFor("bafkother", AdapterA, Policy, g),
            ResponseCache.KeyFor(Base, AdapterB, Policy, g),
            ResponseCache.KeyFor(Base, AdapterA, "bafkpolicy2", g),
            ResponseCache.KeyFor(Base, AdapterA, Policy, Greedy("hello!")),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Messages = [new ChatMessage("system", "hello")] }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Messages = null, Prompt = "hello" }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Adapters = [new AdapterSelection("general-qwen", 0.5f)] }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { MaxTokens = 9 }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Stop = ["."] }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { TopP = 0.5f }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { TopK = 4 }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Seed = 1 }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Grammar = "root ::= \"a\"" }),
            ResponseCache.KeyFor(Base, AdapterA, Policy, g with { TopLogprobs = 0 }),
        };
        Assert.All(variants, v => Assert.NotNull(v));
        Assert.Equal(variants.Length + 1, variants.Append(key).Distinct().Count());
        // length-prefixed: moving text between two fields cannot give the same key
        Assert.NotEqual(ResponseCache.KeyFor("ab", "c", Policy, g), ResponseCache.KeyFor("a", "bc", Policy, g));
        Assert.Null(ResponseCache.KeyFor(Base, AdapterA, Policy, g with { Temperature = 0.7f, Seed = 3 }));
    }

    [Fact]
    public void A_changed_adapter_cid_misses_and_the_cache_is_bounded_least_recently_used_first()
    {
        var cache = new ResponseCache(2);
        var a = ResponseCache.KeyFor(Base, AdapterA, Policy, Greedy())!;
        cache.Add(a, Answer(1));
        Assert.Null(cache.TryGet(ResponseCache.KeyFor(Base, AdapterB, Policy, Greedy())!));
        Assert.Equal(1, cache.TryGet(a)!.Original.Index);
        Assert.Equal((1L, 1L), (cache.Hits, cache.Misses));
        Assert.Equal(TimeSpan.FromMilliseconds(10), cache.Saved);

        var b = ResponseCache.KeyFor(Base, AdapterA, Policy, Greedy("b"))!;
        var c = ResponseCache.KeyFor(Base, AdapterA, Policy, Greedy("c"))!;
        cache.Add(b, Answer(2));
        Assert.NotNull(cache.TryGet(a));   // a is now the most recently used
        cache.Add(c, Answer(3));            // evicts b
        Assert.Equal(2, cache.Count);
        Assert.Null(cache.TryGet(b));
        Assert.NotNull(cache.TryGet(a));
        cache.Add(a, Answer(9));            // the original stays
        Assert.Equal(1, cache.TryGet(a)!.Original.Index);

        var off = new ResponseCache(0);
        off.Add(a, Answer(1));
        Assert.Equal(0, off.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResponseCache(-1));
    }

    /// <summary>
    /// The answer's verification without <c>reputation.audit_sampled</c>: the self-audit draw hashes the query with the
    /// clock (LiveReputation.ReviseAsync), so two generations of the same answer may differ there and nowhere else.
    /// </summary>
    private static string Verification(JsonElement response)
    {
        var v = System.Text.Json.Nodes.JsonNode.Parse(response.GetProperty("federation").GetProperty("verification").GetRawText())!.AsObject();
        if (v["reputation"] is System.Text.Json.Nodes.JsonObject rep) rep.Remove("audit_sampled");
        return v.ToJsonString();
    }

    [Fact]
    public async Task A_hit_returns_what_a_miss_returns_and_its_ledger_entry_verifies_and_names_the_original()
    {
        var dir = NodeFixture.TempDir("fed-node-cache");
        var (app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = dir, Urls = "http://127.0.0.1:0", ResponseCacheEntries = 8 });
        try
        {
            var rt = app.Services.GetRequiredService<RuntimeHolder>().Runtime!;
            var answers = app.Services.GetRequiredService<AnswerService>();
            using var http = new HttpClient { BaseAddress = url };
            object Body(bool? cache = null, double temperature = 0) => new
            {
                model = "federation",
                messages = new[] { new { role = "user", content = "hello, explain how tides work" } },
                max_tokens = 8,
                temperature,
                seed = 5,
                federation = cache is null ? null : new { cache },
            };
            async Task<JsonElement> Post(object body)
            {
                using var r = await http.PostAsJsonAsync("/v1/chat/completions", body, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
                var text = await r.Content.ReadAsStringAsync();
                Assert.True(r.IsSuccessStatusCode, text);
                return JsonDocument.Parse(text).RootElement.Clone();
            }

            var first = await Post(Body());            // miss: generated, kept
            var hit = await Post(Body());              // hit: the engine is skipped
            var miss = await Post(Body(cache: false)); // generated again, neither read from nor kept in the cache
            Assert.Equal((1L, 1L), (answers.Cache.Hits, answers.Cache.Misses));

            foreach (var r in new[] { hit, miss })
            {
                Assert.Equal(first.GetProperty("choices").GetRawText(), r.GetProperty("choices").GetRawText());
                Assert.Equal(first.GetProperty("usage").GetRawText(), r.GetProperty("usage").GetRawText());
                Assert.Equal(Verification(first), Verification(r));
                Assert.Equal(first.GetProperty("federation").GetProperty("route").GetRawText(), r.GetProperty("federation").GetProperty("route").GetRawText());
            }
            var original = first.GetProperty("federation").GetProperty("ledger");
            Assert.False(first.GetProperty("federation").TryGetProperty("cache_hit_of", out _));
            Assert.False(miss.GetProperty("federation").TryGetProperty("cache_hit_of", out _));
            var named = hit.GetProperty("federation").GetProperty("cache_hit_of");
            Assert.Equal(original.GetProperty("index").GetInt64(), named.GetProperty("index").GetInt64());
            Assert.Equal(original.GetProperty("entry_id").GetString(), named.GetProperty("entry_id").GetString());

            // the hit has its own, fresh, signed entry that names the original and vouches for the same answer
            var hitIndex = hit.GetProperty("federation").GetProperty("ledger").GetProperty("index").GetInt64();
            Assert.NotEqual(original.GetProperty("index").GetInt64(), hitIndex);
            var hitEntry = rt.Ledger.GetEntry(hitIndex);
            var originalEntry = rt.Ledger.GetEntry(original.GetProperty("index").GetInt64());
            Assert.Equal(original.GetProperty("entry_id").GetString(), originalEntry.Envelope.Id.ToString());
            Assert.Equal("answer", hitEntry.Envelope.Type);
            Assert.Equal(original.GetProperty("index").GetInt64(), hitEntry.Envelope.Payload["cache_hit_of"]["index"].AsInt64());
            Assert.Equal(originalEntry.Envelope.Id.ToString(), hitEntry.Envelope.Payload["cache_hit_of"]["entry_id"].AsString());
            Assert.Equal(originalEntry.Envelope.Payload["answer_sha256"].AsString(), hitEntry.Envelope.Payload["answer_sha256"].AsString());
            Assert.False(originalEntry.Envelope.Payload.AsObject().ContainsKey("cache_hit_of"));
            Assert.True(rt.Ledger.VerifyAll(rt.Key.Id).IsValid);
            Assert.True(Federation.Registry.Merkle.MerkleVerifier.VerifyInclusion(hitEntry.LeafHash, rt.Ledger.Prove(hitIndex), rt.Ledger.Root()).IsValid);

            // sampling is never cached: the same sampled request twice generates twice
            await Post(Body(temperature: 0.8));
            var sampled = await Post(Body(temperature: 0.8));
            Assert.False(sampled.GetProperty("federation").TryGetProperty("cache_hit_of", out _));
            Assert.Equal((1L, 1L), (answers.Cache.Hits, answers.Cache.Misses));

            var metrics = await http.GetStringAsync("/metrics");
            Assert.Matches(@"federation_response_cache_hits_total(\{[^}]*\})? [1-9]", metrics);
            Assert.Matches(@"federation_response_cache_saved_seconds_total(\{[^}]*\})? [0-9.eE+-]*[1-9]", metrics);
            Assert.Contains("federation_response_cache_hit_ratio", metrics, StringComparison.Ordinal);
        }
        finally
        {
            await NodeFixture.StopAsync(app, dir);
        }
    }
}
