using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary>
/// Plane H in the host, over real HTTP on its own node (so retrieved memory never reaches the shared fixture's
/// prompts): RAG into the live path with offline-verifiable proofs in the answer and its ledger entry, the client's
/// <c>federation.memory</c> switch, and per-user namespace isolation on <c>/v1/memory/*</c>.
/// </summary>
public sealed class MemoryHttpTests : IAsyncLifetime
{
    private const string Fact = "The zebra migration crosses the Mara river every August.";
    private const string Question = "tell me about the zebra migration across the mara river";

    private readonly string _dir = NodeFixture.TempDir("fed-node-memory");
    private WebApplication _app = null!;
    private HttpClient _ann = null!, _ben = null!, _anonymous = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var keys = new ApiKeyStore(Path.Combine(_dir, "node.db"));
        var ann = keys.Create("ann").Secret;
        var ben = keys.Create("ben").Secret;
        Uri url;
        (_app, url) = await NodeFixture.StartAsync(new NodeOptions { DataDir = _dir, Urls = "http://127.0.0.1:0", ReviewWait = TimeSpan.FromSeconds(1) });
        HttpClient Client(string? key)
        {
            var c = new HttpClient { BaseAddress = url };
            if (key is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return c;
        }
        (_ann, _ben, _anonymous) = (Client(ann), Client(ben), Client(null));
    }

    public async Task DisposeAsync()
    {
        _ann.Dispose();
        _ben.Dispose();
        _anonymous.Dispose();
        await NodeFixture.StopAsync(_app, _dir);
    }

    private NodeRuntime Runtime => _app.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    private async Task<string> PutPublicAsync(string content)
    {
        // public is written by the operator (policies/memory.yaml: public.writers is empty), with a contributor's own key
        using var author = NodeKey.Generate();
        var f = SignedFragment.Seal(new Fragment(MemoryNamespace.Public, content, [], author.Id, 1_700_000_000_000), author);
        var receipt = (await Runtime.Memory.PutAsync(MemoryPrincipal.Operator, [f.Envelope]))[0];
        return receipt.Cid.ToString();
    }

    private static async Task<JsonElement> ChatAsync(HttpClient http, object? federation, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var resp = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "federation",
            messages = new[] { new { role = "user", content = Question } },
            max_tokens = 4,
            federation,
        });
        var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == resp.StatusCode, $"{(int)resp.StatusCode}: {body}");
        return body;
    }

    [Fact]
    public async Task A_public_fragment_is_retrieved_into_the_prompt_and_ledgered_with_a_proof_that_verifies_offline()
    {
        var cid = await PutPublicAsync(Fact);

        var with = await ChatAsync(_ann, null);
        var fed = with.GetProperty("federation");
        var memory = fed.GetProperty("memory");
        Assert.Contains(cid, memory.GetProperty("fragments").EnumerateArray().Select(f => f.GetProperty("fragment_cid").GetString()));
        Assert.Equal("verified", fed.GetProperty("verification").GetProperty("memory_proofs").GetString());

        // The ledger entry records the same memory: root, fragment CIDs and proofs; each proof verifies with the node as signer.
        var entry = Runtime.Ledger.GetEntry(fed.GetProperty("ledger").GetProperty("index").GetInt64()).Envelope.Payload;
        Assert.Equal(memory.GetProperty("global_root").GetString(), entry["memory_root"].AsString());
        Assert.Equal(cid, entry["memory"]["fragments"][0]["fragment_cid"].AsString());
        var proof = entry["memory"]["proofs"][0];
        var check = new MemoryProofVerifier(Runtime.Key.Id).Verify(System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(proof)));
        Assert.True(check.IsValid, check.ToString());
        Assert.Equal(cid, check.FragmentCid?.ToString());

        // The root statement behind the proofs was appended to the ledger when it was signed.
        var types = Enumerable.Range(0, (int)Runtime.Ledger.Size).Select(i => Runtime.Ledger.GetEntry(i).Envelope.Type).ToList();
        Assert.Contains(NodeRuntime.MemoryRootEntryType, types);

        // federation.memory: false retrieves nothing: no record, and the prompt is shorter by the memory block.
        var without = await ChatAsync(_ann, new { memory = false });
        var fed2 = without.GetProperty("federation");
        Assert.False(fed2.TryGetProperty("memory", out _));
        Assert.Equal("not_used", fed2.GetProperty("verification").GetProperty("memory_proofs").GetString());
        var entry2 = Runtime.Ledger.GetEntry(fed2.GetProperty("ledger").GetProperty("index").GetInt64()).Envelope.Payload;
        Assert.Equal(JsonKind.Null, entry2["memory_root"].Kind);
        Assert.True(with.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > without.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task A_user_cannot_read_search_prove_or_write_another_users_namespace_over_http()
    {
        using var put = await _ann.PostAsJsonAsync("/v1/memory/fragments", new { @namespace = "user:ann", content = "ann's private note about the zebra migration" });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var cid = (await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("fragment_cid").GetString()!;

        // ann reads her own
        using (var own = await _ann.GetAsync($"/v1/memory/search?q=zebra&namespace=user:ann"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            var hits = (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hits");
            Assert.Contains(cid, hits.EnumerateArray().Select(h => h.GetProperty("fragment_cid").GetString()));
        }

        async Task Refused(HttpResponseMessage r)
        {
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            var e = (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("memory.policy_refused", e.GetProperty("code").GetString());
            Assert.Equal("user.private", e.GetProperty("param").GetString());
        }
        using (var r = await _ben.GetAsync($"/v1/memory/search?q=zebra&namespace=user:ann")) await Refused(r);
        using (var r = await _ben.GetAsync($"/v1/memory/fragments/{cid}")) await Refused(r);
        using (var r = await _ben.GetAsync($"/v1/memory/fragments/{cid}/proof")) await Refused(r);
        using (var r = await _ben.PostAsJsonAsync("/v1/memory/fragments", new { @namespace = "user:ann", content = "ben writes here" })) await Refused(r);

        // nor through RAG: naming ann's namespace is refused, and ben's defaults never include it
        var refused = await ChatAsync(_ben, new { memory = new[] { "user:ann" } }, HttpStatusCode.Forbidden);
        Assert.Equal("user.private", refused.GetProperty("error").GetProperty("param").GetString());
        var benAnswer = (await ChatAsync(_ben, null)).GetProperty("federation");
        if (benAnswer.TryGetProperty("memory", out var m))
            Assert.DoesNotContain(cid, m.GetProperty("fragments").EnumerateArray().Select(f => f.GetProperty("fragment_cid").GetString()));
        // ann's own answer may use it
        var annAnswer = (await ChatAsync(_ann, new { memory = new[] { "user:ann" } })).GetProperty("federation");
        Assert.Contains(cid, annAnswer.GetProperty("memory").GetProperty("fragments").EnumerateArray().Select(f => f.GetProperty("fragment_cid").GetString()));

        // and without a key the memory API answers 401 before any route
        using var anon = await _anonymous.GetAsync("/v1/memory/search?q=zebra");
        Assert.Equal(HttpStatusCode.Unauthorized, anon.StatusCode);
    }
}
