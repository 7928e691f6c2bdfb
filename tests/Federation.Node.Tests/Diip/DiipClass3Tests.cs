using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Federation.Governance;
using Federation.Governance.Diip;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using RJson = Federation.Registry.Json;

namespace Federation.Node.Tests.Diip;

/// <summary>The node's clock as the tests move it (<see cref="NodeOptions.Clock"/>): soak, vote period, time-lock and veto window pass in an instant.</summary>
public sealed class SteppedClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    public long Ms => GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>
/// A node of its own with an injected clock, an operator key and a client key, and a reputation book in which three
/// nodes (two voters and the producer) have earned the same competence in topic <c>code</c> (audit records signed by
/// the node key, a trusted audit signer). The production DIIP policy (class 3: soak 180d, vote 14d, time-lock 14d,
/// veto window 14d, threshold 0.70, quorum 0.5, proposer ×0.5).
/// </summary>
public sealed class DiipClass3Fixture : IAsyncLifetime
{
    public string DataDir { get; } = NodeFixture.TempDir("fed-diip-class3");
    public SteppedClock Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string OperatorKey { get; private set; } = "";
    public string ClientKey { get; private set; } = "";
    public HttpClient Operator { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public NodeKey Authority { get; private set; } = null!;
    public NodeKey Producer { get; } = NodeKey.FromSeedHex(new string('1', 64));
    public NodeKey VoterA { get; } = NodeKey.FromSeedHex(new string('2', 64));
    public NodeKey VoterB { get; } = NodeKey.FromSeedHex(new string('3', 64));
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        var keys = new ApiKeyStore(Path.Combine(DataDir, "node.db"));
        OperatorKey = keys.Create("ops", "operator").Secret;
        ClientKey = keys.Create("someone").Secret;
        // the node key signs the audit records (its own key is a trusted audit signer) and the authority events
        Authority = new NodeKeyStore(DataDir).LoadOrCreate().Key;
        var book = new ReputationBook();
        var day = Clock.GetUtcNow().AddDays(-1).ToUnixTimeSeconds();
        foreach (var voter in new[] { Producer, VoterA, VoterB })
        {
            var items = new RJson.JsonArray(Enumerable.Range(0, 30).Select(i => (RJson.JsonValue)new RJson.JsonObject
            {
                ["status"] = "scored", ["class"] = "A", ["specialist"] = "code-deepseek", ["difficulty"] = 0.5, ["o"] = 1, ["time"] = day + i,
            }));
            var record = SignedEnvelope.Seal(ReputationBook.AuditRecordType,
                new RJson.JsonObject { ["topic"] = "code", ["target_node"] = voter.NodeId.ToString(), ["items"] = items }, Authority);
            Assert.True(ReputationBookLog.Append(DataDir, book, record).Added);
        }
        (App, BaseUrl) = await NodeFixture.StartAsync(new NodeOptions { DataDir = DataDir, Urls = "http://127.0.0.1:0", Clock = Clock });
        Assert.Equal(Authority.NodeId, Runtime.Key.NodeId);
        Operator = new HttpClient { BaseAddress = BaseUrl };
        Operator.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKey);
        Client = new HttpClient { BaseAddress = BaseUrl };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClientKey);
    }

    public async Task DisposeAsync()
    {
        Operator?.Dispose();
        Client?.Dispose();
        if (App is not null) await NodeFixture.StopAsync(App, DataDir);
        else NodeFixture.DeleteDir(DataDir);
    }
}

/// <summary>Runs alone, after the parallel collections: a second node with its own clock next to the live DIIP training runs.</summary>
[CollectionDefinition("diip-class3", DisableParallelization = true)]
public sealed class DiipClass3Collection;

/// <summary>
/// Class-3 governance end to end through the node's HTTP surface (issue 12 "Done when"): real signed envelopes, the
/// node's own clock, the electorate from the node's reputation book; and the operator endpoints that drive the live
/// runner (401/403/404/409/422) with <c>fed diip rollback --target</c> reaching a running node.
/// </summary>
[Collection("diip-class3")]
public sealed class DiipClass3Tests(DiipClass3Fixture f) : IClassFixture<DiipClass3Fixture>
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    private const string Class3Gauntlet = """{"guardrails":[{"battery":"all_topics","b":4,"c":3,"n":400},{"battery":"safety","b":0,"c":0,"n":200}],"adversarial_failures":0,"reproduced":null,"provenance_complete":true,"independent_audits":1}""";

    private static RJson.JsonObject Data(string json) => (RJson.JsonObject)RJson.CanonicalJson.Parse(json);

    private SignedEnvelope Ev(string id, string kind, string data, NodeKey key) => DiipEvent.Create(id, kind, f.Clock.Ms, Data(data), key);

    private static async Task<JsonElement> Read(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>();

    /// <summary>POSTs a signed event and expects 200; returns the status.</summary>
    private async Task<JsonElement> PostEventAsync(string id, SignedEnvelope e)
    {
        using var r = await f.Client.PostAsync($"/v1/federation/diips/{id}/events", DiipHttpTests.Body(e.ToJson().ToString()));
        var body = await Read(r);
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{e.Payload}: {(int)r.StatusCode} {body}");
        return body;
    }

    private static async Task<JsonElement> ExpectErrorAsync(HttpResponseMessage r, HttpStatusCode status, string code)
    {
        var body = await Read(r);
        Assert.True(r.StatusCode == status, $"expected {(int)status} {code}, got {(int)r.StatusCode} {body}");
        var e = body.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        Assert.True(e.TryGetProperty("type", out _));
        return e;
    }

    /// <summary>A class-3 policy diff signed by the producer, drafted and submitted at the node's clock.</summary>
    private async Task<string> SubmitClass3Async(string change)
    {
        var p = new DiipProposal(DiipClass.Constitution, ["code"], DiipCandidateKind.PolicyDiff,
            $"--- policies/diip.yaml\n+++ policies/diip.yaml\n-  w_max: 0.15\n+  w_max: {change}\n", "", "", DiipHttpTests.Hex("cc"), 5000,
            "cap every voter lower so no coalition of two can pass a class-3 change").Sign(f.Producer);
        var id = p.Id.ToString();
        var draft = DiipEvent.CreateDraft(p, f.Clock.Ms, f.Producer);
        var submit = DiipEvent.Create(id, DiipEventKinds.Submit, f.Clock.Ms, new RJson.JsonObject(), f.Producer);
        using var r = await f.Client.PostAsync("/v1/federation/diips", DiipHttpTests.Body(DiipHttpTests.SubmitBody(draft, submit)));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        Assert.Equal("submitted", (await Read(r)).GetProperty("state").GetString());
        return id;
    }

    /// <summary>Gauntlet (authority-signed evidence with an independent audit) and the class's 180-day soak; ends in Vote.</summary>
    private async Task ToVoteAsync(string id)
    {
        await PostEventAsync(id, Ev(id, DiipEventKinds.GauntletStart, $$"""{"holdout_commitment":"{{DiipHttpTests.Hex("ab")}}","objective":false}""", f.Authority));
        Assert.Equal("shadow_soak", (await PostEventAsync(id, Ev(id, DiipEventKinds.GauntletResult, Class3Gauntlet, f.Authority))).GetProperty("state").GetString());
        // the soak is measured against the node's clock too: one day in, the soak report is refused
        f.Clock.Advance(Day);
        using (var early = await f.Client.PostAsync($"/v1/federation/diips/{id}/events", DiipHttpTests.Body(Ev(id, DiipEventKinds.SoakResult, """{"b":5,"c":0,"n":400}""", f.Authority).ToJson().ToString())))
            await ExpectErrorAsync(early, HttpStatusCode.Conflict, DiipErrors.SoakTooShort);
        f.Clock.Advance(180 * Day);
        Assert.Equal("vote", (await PostEventAsync(id, Ev(id, DiipEventKinds.SoakResult, """{"b":5,"c":0,"n":400}""", f.Authority))).GetProperty("state").GetString());
    }

    private Task<HttpResponseMessage> OperatorAsync(string id, string action, string? body = null) =>
        f.Operator.PostAsync($"/v1/federation/diips/{id}/{action}", body is null ? null : DiipHttpTests.Body(body));

    [Fact]
    public async Task A_class3_change_needs_a_quorum_vote_waits_out_its_time_lock_on_the_node_clock_and_credits_the_right_prediction()
    {
        var id = await SubmitClass3Async("0.10");
        // two auditors file signed predictions before the result
        using var right = NodeKey.FromSeedHex(new string('4', 64));
        using var wrong = NodeKey.FromSeedHex(new string('5', 64));
        await PostEventAsync(id, Ev(id, DiipEventKinds.Predict, """{"outcome":"adopt"}""", right));
        await PostEventAsync(id, Ev(id, DiipEventKinds.Predict, """{"outcome":"reject"}""", wrong));

        // the live gauntlet runs adapter candidates only: a policy diff is refused with the reason, nothing recorded
        using (var g = await OperatorAsync(id, "gauntlet"))
            Assert.Contains("policy_diff", (await ExpectErrorAsync(g, HttpStatusCode.UnprocessableEntity, DiipErrors.ProposalInvalid)).GetProperty("message").GetString(), StringComparison.Ordinal);
        await ToVoteAsync(id);

        // no quorum yet (no tally, no time-lock): activation is refused with the fold's reason
        using (var a = await OperatorAsync(id, "activate"))
        {
            var e = await ExpectErrorAsync(a, HttpStatusCode.Conflict, DiipErrors.InvalidTransition);
            Assert.Contains("state Vote", e.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains("TimeLock", e.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        foreach (var voter in new[] { f.VoterA, f.VoterB, f.Producer })
            await PostEventAsync(id, Ev(id, DiipEventKinds.Vote, """{"approve":true}""", voter));
        using (var c = await OperatorAsync(id, "vote/close"))
            await ExpectErrorAsync(c, HttpStatusCode.Conflict, DiipErrors.VoteStillOpen);
        f.Clock.Advance(14 * Day);

        // the node closes the vote with the electorate from its reputation book: competence without stake, clipped,
        // the proposer's weight halved and disclosed
        JsonElement closed;
        using (var c = await OperatorAsync(id, "vote/close"))
        {
            closed = await Read(c);
            Assert.True(c.StatusCode == HttpStatusCode.OK, closed.ToString());
        }
        Assert.Equal("time_lock", closed.GetProperty("state").GetString());
        var tally = closed.GetProperty("tally");
        Assert.True(tally.GetProperty("passed").GetBoolean());
        Assert.Equal(0.5, tally.GetProperty("proposer_factor").GetDouble());
        var voters = tally.GetProperty("voters").EnumerateArray().ToDictionary(v => v.GetProperty("node").GetString()!);
        Assert.Equal(3, voters.Count);
        var a1 = voters[f.VoterA.NodeId.ToString()];
        var p1 = voters[f.Producer.NodeId.ToString()];
        Assert.True(a1.GetProperty("competence").GetDouble() > 0);
        Assert.Equal(a1.GetProperty("competence").GetDouble(), p1.GetProperty("competence").GetDouble());   // same evidence, same competence
        Assert.True(p1.GetProperty("proposer").GetBoolean());
        Assert.False(a1.GetProperty("proposer").GetBoolean());
        Assert.Equal(a1.GetProperty("weight").GetDouble() * 0.5, p1.GetProperty("weight").GetDouble(), 12);
        Assert.Equal(1.0 / 3, a1.GetProperty("weight").GetDouble(), 12);   // three equal voters: the clip is max(w_max, 1/3)
        // stake plays no part: the competence is R = Ĉ·N^γ·S of the book's evidence with the stake factor 1
        var expected = ExpectedCompetence(f.VoterA.NodeId.ToString());
        Assert.Equal(expected, a1.GetProperty("competence").GetDouble(), 9);
        // the prediction filed before the result is credited; the wrong one is not
        var credited = closed.GetProperty("credited").EnumerateArray().Select(x => x.GetString()!).ToArray();
        Assert.Equal(new[] { right.NodeId.ToString() }, credited);

        // during the time-lock: refused with the time it ends, at the node's clock
        f.Clock.Advance(13 * Day);
        using (var a = await OperatorAsync(id, "activate"))
            Assert.Contains("time-lock", (await ExpectErrorAsync(a, HttpStatusCode.Conflict, DiipErrors.TimeLockActive)).GetProperty("message").GetString(), StringComparison.Ordinal);
        // an event signed with a time past the lock but ahead of the node's clock cannot jump it
        var forged = DiipEvent.Create(id, DiipEventKinds.Activate, f.Clock.GetUtcNow().AddDays(2).ToUnixTimeMilliseconds(),
            Data("""{"incumbent":"(current policy)","baseline_pass_rate":0}"""), f.Authority);
        using (var fr = await f.Client.PostAsync($"/v1/federation/diips/{id}/events", DiipHttpTests.Body(forged.ToJson().ToString())))
            Assert.Contains("after this node's clock", (await ExpectErrorAsync(fr, HttpStatusCode.UnprocessableEntity, DiipErrors.EventInvalid)).GetProperty("message").GetString(), StringComparison.Ordinal);

        f.Clock.Advance(Day + TimeSpan.FromSeconds(1));
        using (var a = await OperatorAsync(id, "activate"))
        {
            var s = await Read(a);
            Assert.True(a.StatusCode == HttpStatusCode.OK, s.ToString());
            Assert.Equal("active", s.GetProperty("state").GetString());
            Assert.Equal(f.Clock.Ms, s.GetProperty("activated_at").GetInt64());
            Assert.Equal(f.Authority.NodeId.ToString(), s.GetProperty("history").EnumerateArray().Last().GetProperty("signer").GetString());
        }

        // the page shows the tally with the disclosed proposer, the time-lock's end and the credited predictor
        var html = await f.Client.GetStringAsync("/explorer/diips");
        Assert.Contains("class=\"time-lock-end\"", html, StringComparison.Ordinal);
        Assert.Contains("(proposer, weight ×0.5)", html, StringComparison.Ordinal);
        Assert.Contains(right.NodeId.ToString()[..16], html, StringComparison.Ordinal);
    }

    private double ExpectedCompetence(string node)
    {
        var live = f.App.Services.GetRequiredService<Federation.Node.Answering.LiveReputation>();
        var knobs = live.Knobs("code");
        var audits = live.Book.Evidence("code").Where(e => e.Target.StartsWith(node + "/", StringComparison.Ordinal)).Select(e => e.Audit).ToArray();
        var (n, c) = ReputationMath.Evidence(audits, live.Tau, knobs.Math.HalfLife);
        return ReputationMath.Raw(ReputationMath.Shrunk(n, c, knobs.Math.Kappa, knobs.Math.C0), n, knobs.Math.Gamma, 1.0, 1.0);
    }

    [Fact]
    public async Task A_veto_inside_the_window_stops_a_class3_change_and_a_vote_without_quorum_rejects_one()
    {
        var vetoed = await SubmitClass3Async("0.12");
        await ToVoteAsync(vetoed);
        foreach (var voter in new[] { f.VoterA, f.VoterB })
            await PostEventAsync(vetoed, Ev(vetoed, DiipEventKinds.Vote, """{"approve":true}""", voter));
        f.Clock.Advance(14 * Day);
        using (var c = await OperatorAsync(vetoed, "vote/close"))
            Assert.Equal("time_lock", (await Read(c)).GetProperty("state").GetString());
        f.Clock.Advance(3 * Day);   // inside the 14-day veto window
        var s = await PostEventAsync(vetoed, Ev(vetoed, DiipEventKinds.Veto, """{"reason":"the diff also loosens slashing; split it"}""", f.Authority));
        Assert.Equal("rejected", s.GetProperty("state").GetString());
        Assert.Contains("vetoed: the diff also loosens slashing", s.GetProperty("exit_reason").GetString(), StringComparison.Ordinal);
        f.Clock.Advance(12 * Day);  // past the time-lock: still never activates
        using (var a = await OperatorAsync(vetoed, "activate"))
            Assert.Contains("state Rejected", (await ExpectErrorAsync(a, HttpStatusCode.Conflict, DiipErrors.InvalidTransition)).GetProperty("message").GetString(), StringComparison.Ordinal);
        var after = await f.Client.GetFromJsonAsync<JsonElement>($"/v1/federation/diips/{vetoed}");
        Assert.Equal(JsonValueKind.Null, after.GetProperty("activated_at").ValueKind);
        Assert.DoesNotContain(after.GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() == "activate");

        // one ballot of three equal voters: turnout 0.4 of the weight < quorum 0.5, rejected with the reason
        var thin = await SubmitClass3Async("0.11");
        await ToVoteAsync(thin);
        await PostEventAsync(thin, Ev(thin, DiipEventKinds.Vote, """{"approve":true}""", f.VoterA));
        f.Clock.Advance(14 * Day);
        using (var c = await OperatorAsync(thin, "vote/close"))
        {
            var st = await Read(c);
            Assert.Equal("rejected", st.GetProperty("state").GetString());
            Assert.Contains("quorum not met", st.GetProperty("exit_reason").GetString(), StringComparison.Ordinal);
            Assert.False(st.GetProperty("tally").GetProperty("quorum_met").GetBoolean());
        }

        // the page in chromium: the vetoed proposal's lifecycle exit, the voters with the proposer's disclosed weight,
        // the time-lock's end and the veto window's close
        using var pw = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await PageTestSupport.LaunchAsync(pw);
        var page = await browser.NewPageAsync();
        await PageTestSupport.SignInToExplorerAsync(page, f.BaseUrl, f.ClientKey, "/explorer/diips");
        var box = page.Locator($"section[data-diip-id='{vetoed}']");
        await box.WaitForAsync();
        Assert.Equal("rejected", await box.GetAttributeAsync("data-state"));
        Assert.Equal("rejected", await box.Locator(".lifecycle li.exit").InnerTextAsync());
        Assert.Contains("time_lock", await box.Locator(".lifecycle li.passed").AllInnerTextsAsync());
        Assert.Equal(3, await box.Locator("table.voters tbody tr").CountAsync());
        Assert.Contains("proposer, weight ×0.5", await box.Locator("table.voters tr.proposer").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("vetoed", await box.Locator(".time-lock .veto").InnerTextAsync(), StringComparison.Ordinal);
        var lockedAt = after.GetProperty("history").EnumerateArray().First(h => h.GetProperty("to").GetString() == "time_lock").GetProperty("at").GetInt64();
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(lockedAt).AddDays(14).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            await box.Locator(".time-lock-end").GetAttributeAsync("datetime"));
        Assert.Contains("quorum not met", await page.Locator($"section[data-diip-id='{thin}'] .exit-reason").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operator_endpoints_need_an_operator_key_refuse_wrong_states_and_fed_diip_rollback_reaches_the_running_node()
    {
        var candidate = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var p = new DiipProposal(DiipClass.TopicAdapter, ["code"], DiipCandidateKind.Adapter, candidate, DiipHttpTests.Hex("bb"),
            "base=tiny data=sha256:ab cfg=r8", DiipHttpTests.Hex("cc"), 100, "trained longer").Sign(f.Producer);
        var id = p.Id.ToString();
        using (var r = await f.Client.PostAsync("/v1/federation/diips", DiipHttpTests.Body(DiipHttpTests.SubmitBody(
                   DiipEvent.CreateDraft(p, f.Clock.Ms, f.Producer), DiipEvent.Create(id, DiipEventKinds.Submit, f.Clock.Ms, new RJson.JsonObject(), f.Producer)))))
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var log = Path.Combine(f.DataDir, "diip", "events.jsonl");
        var lines = File.ReadAllLines(log).Length;

        // 401 without a key, 403 with a client key, 404 for an unknown id
        using (var anon = new HttpClient { BaseAddress = f.BaseUrl })
        using (var r = await anon.PostAsync($"/v1/federation/diips/{id}/activate", null))
            await ExpectErrorAsync(r, HttpStatusCode.Unauthorized, "invalid_api_key");
        foreach (var action in new[] { "gauntlet", "soak/close", "activate", "monitor", "rollback", "vote/close" })
            using (var r = await f.Client.PostAsync($"/v1/federation/diips/{id}/{action}", null))
                await ExpectErrorAsync(r, HttpStatusCode.Forbidden, "permission_denied");
        using (var r = await OperatorAsync(DiipHttpTests.Hex("ee"), "activate"))
            await ExpectErrorAsync(r, HttpStatusCode.NotFound, DiipErrors.UnknownProposal);

        // wrong states: the fold's reason, before any measurement
        using (var r = await OperatorAsync(id, "rollback", """{"reason":"too early"}"""))
            Assert.Contains("Active, PostMonitoring", (await ExpectErrorAsync(r, HttpStatusCode.Conflict, DiipErrors.InvalidTransition)).GetProperty("message").GetString(), StringComparison.Ordinal);
        using (var r = await OperatorAsync(id, "soak/close"))
            await ExpectErrorAsync(r, HttpStatusCode.Conflict, DiipErrors.InvalidTransition);
        using (var r = await OperatorAsync(id, "monitor"))
            await ExpectErrorAsync(r, HttpStatusCode.Conflict, DiipErrors.InvalidTransition);
        // the gauntlet may start, but the candidate's weights were never uploaded: refused, nothing recorded
        using (var r = await OperatorAsync(id, "gauntlet"))
            Assert.Contains(candidate, (await ExpectErrorAsync(r, HttpStatusCode.UnprocessableEntity, DiipErrors.ProvenanceIncomplete)).GetProperty("message").GetString(), StringComparison.Ordinal);
        using (var r = await OperatorAsync(id, "rollback", """{"reason":5}"""))
            await ExpectErrorAsync(r, HttpStatusCode.BadRequest, "request.invalid_value");
        Assert.Equal(lines, File.ReadAllLines(log).Length);

        // walk it to Active with authority-signed events; the node serves the candidate as the code champion
        await PostEventAsync(id, Ev(id, DiipEventKinds.GauntletStart, $$"""{"holdout_commitment":"{{DiipHttpTests.Hex("ab")}}","objective":true}""", f.Authority));
        await PostEventAsync(id, Ev(id, DiipEventKinds.GauntletResult, DiipHttpTests.GauntletPass, f.Authority));
        f.Clock.Advance(15 * Day);
        Assert.Equal("auto_adopt", (await PostEventAsync(id, Ev(id, DiipEventKinds.SoakResult, """{"b":5,"c":0,"n":400}""", f.Authority))).GetProperty("state").GetString());
        using (var r = await OperatorAsync(id, "activate"))   // allowed now, but there are no weights to serve
            await ExpectErrorAsync(r, HttpStatusCode.UnprocessableEntity, DiipErrors.ProvenanceIncomplete);
        Assert.Equal("active", (await PostEventAsync(id, Ev(id, DiipEventKinds.Activate, $$"""{"incumbent":"{{DiipHttpTests.Hex("bb")}}","baseline_pass_rate":0.9}""", f.Authority))).GetProperty("state").GetString());
        var specialist = f.Runtime.Policy.TopicsById["code"].Champion;
        f.Runtime.DiipLive.Champions.Activate(new Federation.Node.Diip.ServedChampion("code", specialist, "diip-" + id[..16], candidate, id));

        // the CLI reaches the node: a client key is refused (403), the operator's key rolls it back
        var url = f.BaseUrl.ToString();
        var denied = await Task.Run(() => CliRunner.Fed("diip", "rollback", id[..16], "--target", url, "--api-key", f.ClientKey));
        Assert.Equal(1, denied.Code);
        Assert.Contains("403", denied.Err, StringComparison.Ordinal);
        Assert.NotNull(f.Runtime.DiipLive.Champions.For(specialist));
        var done = await Task.Run(() => CliRunner.Fed("diip", "rollback", id[..16], "--target", url, "--api-key", f.OperatorKey, "--reason", "operator saw the live pass rate drop"));
        Assert.True(done.Code == 0, done.Err);
        Assert.Contains("state rolled_back", done.Out, StringComparison.Ordinal);
        Assert.Null(f.Runtime.DiipLive.Champions.For(specialist));   // the warm incumbent serves again
        var st = await f.Client.GetFromJsonAsync<JsonElement>($"/v1/federation/diips/{id}");
        Assert.Equal("rolled_back", st.GetProperty("state").GetString());
        Assert.Contains("operator saw the live pass rate drop", st.GetProperty("exit_reason").GetString(), StringComparison.Ordinal);
        var last = st.GetProperty("history").EnumerateArray().Last();
        Assert.Equal("rollback", last.GetProperty("kind").GetString());
        Assert.Equal(f.Authority.NodeId.ToString(), last.GetProperty("signer").GetString());   // signed by the node key
        Assert.Equal(f.Clock.Ms, last.GetProperty("at").GetInt64());                        // at the node's clock

        // again: 409 with the fold's reason, through the CLI's one line
        var again = await Task.Run(() => CliRunner.Fed("diip", "rollback", id, "--target", url, "--api-key", f.OperatorKey));
        Assert.Equal(1, again.Code);
        Assert.Contains(DiipErrors.InvalidTransition, again.Err, StringComparison.Ordinal);
    }
}
