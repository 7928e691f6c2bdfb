using Federation.Governance;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Tests;

/// <summary>§9.5 slashing triggers over real signed records (Ed25519, verified by the book on ingest).</summary>
public sealed class SlashingTriggerTests
{
    private const long T0 = 1_790_000_000;
    private static readonly TopicReputationKnobs Knobs = ReputationSimulation.DefaultKnobs;

    /// <summary>A signed audit record: <paramref name="answers"/>[k] is (canary handle, answer label, o) for specialist <paramref name="specialist"/>.</summary>
    private static SignedEnvelope Audit(NodeKey auditor, string node, string specialist, long time, params (string Handle, string Answer, double O)[] answers)
    {
        var items = new JsonArray();
        foreach (var (h, a, o) in answers)
            items.Add(new JsonObject
            {
                ["handle"] = h, ["class"] = "A", ["difficulty"] = 1.0, ["specialist"] = specialist,
                ["specialists"] = new JsonArray((JsonValue)specialist), ["o"] = o, ["status"] = "scored", ["detail"] = "",
                ["answer_sha256"] = a, ["time"] = time,
            });
        return SignedEnvelope.Seal(ReputationBook.AuditRecordType, new JsonObject
        {
            ["v"] = 1, ["target"] = "http://node", ["target_node"] = node, ["topic"] = "math", ["items"] = items,
            ["started"] = time, ["finished"] = time,
        }, auditor);
    }

    private static double Day(long t) => t / ReputationBook.SecondsPerDay;

    [Fact]
    public void Failing_class_A_beyond_the_threshold_is_slashed_once_per_new_evidence()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        var fail = Audit(auditor, "n1", "bad", T0, [.. Enumerable.Range(0, 8).Select(i => ($"c{i}", $"x{i}", 0.0))]);
        var pass = Audit(auditor, "n1", "good", T0, [.. Enumerable.Range(0, 8).Select(i => ($"c{i}", $"y{i}", 1.0))]);
        book.Ingest(fail);
        book.Ingest(pass);
        var tau = Day(T0 + 3600);

        var proposals = SlashingTriggers.FailingCanaries(book, "math", tau, Knobs);
        var p = Assert.Single(proposals);
        Assert.Equal(("n1", "bad"), (p.Node, p.Specialist));
        Assert.StartsWith(SlashingTriggers.FailingClassA, p.Reason);
        Assert.Equal([fail.Id.ToString()], p.Evidence);

        var before = book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == "n1/bad").R;
        var slash = p.Seal(auditor);
        Assert.True(slash.Verify().IsValid);
        Assert.True(book.Ingest(slash).Added);
        var after = book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == "n1/bad").R;
        Assert.Equal(before * Knobs.SlashFactor, after, 9);
        Assert.Empty(SlashingTriggers.FailingCanaries(book, "math", tau, Knobs)); // same evidence: no second slash

        book.Ingest(Audit(auditor, "n1", "bad", T0 + 7200, ("c9", "x9", 0)));
        Assert.Single(SlashingTriggers.FailingCanaries(book, "math", Day(T0 + 9000), Knobs)); // new failures: fires again
    }

    [Fact]
    public void Too_little_evidence_or_a_pass_rate_above_the_threshold_is_not_slashed()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        book.Ingest(Audit(auditor, "n1", "new", T0, ("c1", "a", 0), ("c2", "b", 0))); // N = 2 < slash_min_mass 5
        book.Ingest(Audit(auditor, "n1", "ok", T0, [.. Enumerable.Range(0, 10).Select(i => ($"c{i}", $"z{i}", i < 6 ? 1.0 : 0.0))])); // C = 0.6
        Assert.Empty(SlashingTriggers.FailingCanaries(book, "math", Day(T0 + 60), Knobs));
    }

    [Fact]
    public void A_group_that_agrees_among_itself_but_fails_class_A_is_slashed_for_collusion()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        // Cartel: the same answer to each of 30 canaries (different answers across canaries), failing them all.
        var c1 = Audit(auditor, "n1", "cartel-1", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"same{i}", 0.0))]);
        var c2 = Audit(auditor, "n2", "cartel-2", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"same{i}", 0.0))]);
        // A lazy but independent node: fails as often, answers its own way.
        var lazy = Audit(auditor, "n3", "lazy", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"own{i}", 0.0))]);
        // Honest: agrees with nobody's wrong answers, passes.
        var honest = Audit(auditor, "n4", "honest", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"right{i}", 1.0))]);
        foreach (var r in new[] { c1, c2, lazy, honest }) book.Ingest(r);
        var tau = Day(T0 + 60);

        var proposals = SlashingTriggers.Collusions(book, "math", tau, Knobs);
        Assert.Equal(["n1/cartel-1", "n2/cartel-2"], proposals.Select(p => p.Node + "/" + p.Specialist).Order(StringComparer.Ordinal));
        Assert.All(proposals, p => Assert.StartsWith(SlashingTriggers.Collusion, p.Reason));
        Assert.Contains("n2/cartel-2", proposals.Single(p => p.Specialist == "cartel-1").Reason);
        Assert.Equal(new[] { c1.Id.ToString(), c2.Id.ToString() }.Order(StringComparer.Ordinal), proposals[0].Evidence);

        foreach (var p in proposals) book.Ingest(p.Seal(auditor));
        Assert.Empty(SlashingTriggers.Collusions(book, "math", tau, Knobs));
        var table = book.Table("math", tau, Knobs);
        Assert.True(table.Nodes.Single(n => n.Name == "n1/cartel-1").R < 0.11 * table.Nodes.Single(n => n.Name == "n3/lazy").R);
    }

    [Fact]
    public void Agreeing_while_passing_class_A_is_not_collusion()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        book.Ingest(Audit(auditor, "n1", "a", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"right{i}", 1.0))]));
        book.Ingest(Audit(auditor, "n2", "b", T0, [.. Enumerable.Range(0, 30).Select(i => ($"c{i}", $"right{i}", 1.0))]));
        Assert.Empty(SlashingTriggers.Collusions(book, "math", Day(T0 + 60), Knobs));
    }

    [Fact]
    public void Challenge_and_drift_events_need_evidence_and_the_book_takes_them()
    {
        Assert.Throws<ArgumentException>(() => SlashingTriggers.Challenge("math", "n1", "s", T0, "replay differs", []));
        Assert.Throws<ArgumentException>(() => SlashingTriggers.DriftFlagged("math", "n1", "s", T0, "win rate fell", [""]));
        using var key = NodeKey.Generate();
        var book = new ReputationBook();
        var drift = SlashingTriggers.DriftFlagged("math", "n1", "s", T0, "post-activation win rate 0.31 < guard 0.45", ["diip.monitor:42"]).Seal(key);
        var r = book.Ingest(drift);
        Assert.True(r.Added);
        var s = Assert.Single(book.Slashes("math"));
        Assert.StartsWith("drift: ", s.Reason);
        Assert.Equal("n1/s", s.Target);

        // A topic with slashing events but no evidence has a table (every weight 0), not an error.
        var table = book.Table("math", Day(T0 + 10), Knobs);
        Assert.Null(table.Theta);
        var row = Assert.Single(table.Nodes);
        Assert.Equal((0.0, 0.0), (row.R, row.Weight));
        Assert.Contains("\"n1/s\":{\"N\":0", book.TableJson("math", Day(T0 + 10), Knobs));
    }
}
