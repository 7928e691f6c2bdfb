using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Federation.Memory.Http;
using Federation.Memory.Policy;
using Federation.Memory.Rag;
using Federation.Registry.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federation.Memory.Tests;

/// <summary>
/// The memory API on a real Kestrel server (127.0.0.1, port 0) with a real HttpClient. The principal resolver stands in
/// for the node's API-key authentication (a bearer token names the user; "op" is the operator), which the host wires.
/// </summary>
public sealed class MemoryHttpTests : IAsyncLifetime, IDisposable
{
    public void Dispose()
    {
        _http.Dispose();
        _t.Dispose();
    }

    private readonly TempStore _t = new(new Testing.TestBagOfWordsEmbedder());
    private WebApplication? _app;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_t.Service);
        _app = builder.Build();
        _app.MapMemoryEndpoints(http =>
        {
            var auth = http.Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal)) return MemoryPrincipal.Anonymous;
            var who = auth[7..];
            return who == "op" ? MemoryPrincipal.Operator : MemoryPrincipal.User(who);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> Send(HttpMethod method, string url, string? user, JsonValue? body = null)
    {
        using var req = new HttpRequestMessage(method, url);
        if (user is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user);
        if (body is not null) req.Content = new StringContent(CanonicalJson.SerializeToString(body), Encoding.UTF8, "application/json");
        using var res = await _http.SendAsync(req);
        var text = await res.Content.ReadAsStringAsync();
        return (res.StatusCode, (JsonObject)CanonicalJson.Parse(text));
    }

    private static string Str(JsonObject o, string k) => ((JsonString)o[k]).Value;

    [Fact]
    public async Task A_user_cannot_read_search_or_write_another_users_namespace_over_http()
    {
        var (s, put) = await Send(HttpMethod.Post, "/v1/memory/fragments", "alice", new JsonObject { ["namespace"] = "user:alice", ["content"] = "alice keeps her diary in the blue drawer" });
        Assert.Equal(HttpStatusCode.Created, s);
        var cid = Str(put, "fragment_cid");

        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, $"/v1/memory/fragments/{cid}", "alice")).Status);
        foreach (var (method, url, body) in new (HttpMethod, string, JsonValue?)[]
        {
            (HttpMethod.Get, $"/v1/memory/fragments/{cid}", null),
            (HttpMethod.Get, $"/v1/memory/fragments/{cid}/proof", null),
            (HttpMethod.Get, "/v1/memory/search?q=diary&namespace=user:alice", null),
            (HttpMethod.Post, "/v1/memory/fragments", new JsonObject { ["namespace"] = "user:alice", ["content"] = "bob was here" }),
            (HttpMethod.Delete, $"/v1/memory/fragments/{cid}", null),
            (HttpMethod.Post, $"/v1/memory/fragments/{cid}/erase", null),
        })
        {
            var (status, err) = await Send(method, url, "bob", body);
            Assert.True(status == HttpStatusCode.Forbidden, $"{method} {url}: {status}");
            var e = (JsonObject)err["error"];
            Assert.Equal("memory.policy_refused", Str(e, "code"));
            Assert.Equal("user.private", Str(e, "param"));
        }
        // Bob's default search sees nothing of alice's; alice's finds it.
        var (_, bobSearch) = await Send(HttpMethod.Get, "/v1/memory/search?q=diary", "bob");
        Assert.Empty((JsonArray)bobSearch["hits"]);
        var (_, aliceSearch) = await Send(HttpMethod.Get, "/v1/memory/search?q=diary", "alice");
        Assert.Equal(cid, Str((JsonObject)((JsonArray)aliceSearch["hits"])[0], "fragment_cid"));
        // Roots list only the heads the caller may read.
        var (_, roots) = await Send(HttpMethod.Get, "/v1/memory/roots", "bob");
        Assert.Empty((JsonArray)roots["heads"]);
        Assert.Equal(1, roots["namespaces"].AsInt64());
    }

    [Fact]
    public async Task A_signed_fragment_posted_over_http_proves_offline_and_can_be_deleted_and_erased()
    {
        var f = Keys.Fragment(Keys.Alice, "public", "the library opens at nine");
        var (s, put) = await Send(HttpMethod.Post, "/v1/memory/fragments", "op", f.Envelope.ToJson());
        Assert.Equal(HttpStatusCode.Created, s);
        Assert.Equal(f.Cid.ToString(), Str(put, "fragment_cid"));

        var (ps, proof) = await Send(HttpMethod.Get, $"/v1/memory/fragments/{f.Cid}/proof", "carol");
        Assert.Equal(HttpStatusCode.OK, ps);
        Assert.True(new MemoryProofVerifier(Keys.Node.NodeId).Verify(proof).IsValid);

        // A tampered envelope is refused with the reason.
        var bad = f.Envelope.ToJson();
        ((JsonObject)bad["payload"])["content"] = "the library opens at ten";
        var (bs, berr) = await Send(HttpMethod.Post, "/v1/memory/fragments", "op", bad);
        Assert.Equal(HttpStatusCode.BadRequest, bs);
        Assert.Equal("memory.invalid_fragment", Str((JsonObject)berr["error"], "code"));

        // Operator deletes with a signed tombstone it sends; search no longer finds it.
        var tomb = Keys.Fragment(Keys.Alice, "public", "", meta: new JsonObject { ["tombstone"] = f.Cid.ToString() });
        var (ds, _) = await Send(HttpMethod.Delete, $"/v1/memory/fragments/{f.Cid}", "op", tomb.Envelope.ToJson());
        Assert.Equal(HttpStatusCode.OK, ds);
        var (_, search) = await Send(HttpMethod.Get, "/v1/memory/search?q=library", "carol");
        Assert.Empty((JsonArray)search["hits"]);
        var (_, got) = await Send(HttpMethod.Get, $"/v1/memory/fragments/{f.Cid}", "carol");
        Assert.Equal("deleted", Str(got, "status"));

        var (es, _) = await Send(HttpMethod.Post, $"/v1/memory/fragments/{f.Cid}/erase", "op");
        Assert.Equal(HttpStatusCode.OK, es);
        var (_, erased) = await Send(HttpMethod.Get, $"/v1/memory/fragments/{f.Cid}/proof", "carol");
        var check = new MemoryProofVerifier(Keys.Node.NodeId).Verify(erased);
        Assert.True(check.IsValid && check.Erased, check.ToString());
        var (ns, nf) = await Send(HttpMethod.Get, $"/v1/memory/fragments/{new string('0', 64)}", "carol");
        Assert.Equal(HttpStatusCode.NotFound, ns);
        Assert.Equal("memory.not_found", Str((JsonObject)nf["error"], "code"));
    }

    [Fact]
    public async Task Retrieval_puts_the_fragment_in_the_prompt_and_its_cid_and_proof_in_the_record()
    {
        var alice = MemoryPrincipal.User("alice");
        await _t.Service.PutCustodialAsync(alice, MemoryNamespace.User("alice"), "Alice's cat is called Miso.", null);
        var pub = Keys.Fragment(Keys.Node, "public", "Cats sleep about fifteen hours a day.");
        await _t.Store.AppendAsync([pub, Keys.Fragment(Keys.Node, "topic:pets", "Dogs need walks.")]);

        var rag = await MemoryRag.RetrieveAsync(_t.Service, alice, "what is my cat called", topic: "pets", k: 2);
        var prompt = rag.PromptBlock();
        Assert.Contains("Alice's cat is called Miso.", prompt, StringComparison.Ordinal);
        Assert.StartsWith("[memory global_root=" + rag.GlobalRoot + "]\n[1] user:alice ", prompt, StringComparison.Ordinal);
        var record = rag.ToFederationJson();
        var proofs = (JsonArray)record["proofs"];
        Assert.Equal(((JsonArray)record["fragments"]).Count, proofs.Count);
        Assert.All(proofs, p => Assert.True(new MemoryProofVerifier(Keys.Node.NodeId).Verify(p).IsValid));
        Assert.Equal(rag.Hits[0].Cid.ToString(), Str((JsonObject)((JsonArray)record["fragments"])[0], "fragment_cid"));
        // Bob retrieving the same question never sees alice's fragment.
        var bobs = await MemoryRag.RetrieveAsync(_t.Service, MemoryPrincipal.User("bob"), "what is my cat called", topic: "pets", k: 5);
        Assert.DoesNotContain(bobs.Hits, h => h.Namespace == "user:alice");
        Assert.Contains(bobs.Hits, h => h.Cid == pub.Cid);
    }
}
