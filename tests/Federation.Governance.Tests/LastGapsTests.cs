using Federation.Governance;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Tests;

/// <summary>Issue 11's last gaps over real signed records: the Goodhart trigger, bounty credits, trusted audit signers.</summary>
public sealed class LastGapsTests
{
    private const long T0 = 1_790_000_000;
    private static readonly TopicReputationKnobs Knobs = ReputationSimulation.DefaultKnobs;

    /// <summary>A signed audit record of class-A items (visibility, o) for <c>node/specialist</c> in topic math.</summary>
    private static SignedEnvelope Audit(NodeKey auditor, string node, string specialist, long time, params (string? Visibility, double O)[] items)
    {
        var arr = new JsonArray();
        var k = 0;
        foreach (var (v, o) in items)
        {
            var item = new JsonObject
            {
                ["handle"] = $"h{k++}", ["class"] = "A", ["difficulty"] = 1.0, ["specialist"] = specialist,
                ["specialists"] = new JsonArray((JsonValue)specialist), ["o"] = o, ["status"] = "scored", ["detail"] = "",
                ["answer_sha256"] = $"a{k}", ["time"] = time,
            };
            if (v is not null) item["visibility"] = v;
            arr.Add(item);
        }
        return SignedEnvelope.Seal(ReputationBook.AuditRecordType, new JsonObject
        {
            ["v"] = 1, ["target"] = "http://node", ["target_node"] = node, ["topic"] = "math", ["items"] = arr,
            ["started"] = time, ["finished"] = time,
        }, auditor);
    }

    private static (string?, double)[] Checks(string visibility, int n, int passes) =>
        [.. Enumerable.Range(0, n).Select(i => ((string?)visibility, i < passes ? 1.0 : 0.0))];

    private static double Day(long t) => t / ReputationBook.SecondsPerDay;

    [Fact]
    public void Goodhart_gap_becomes_a_signed_slash_that_lowers_reputation_once_per_evidence()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        // 19/20 public vs 10/20 secret (C = 0.725, above the failing-class-A threshold): only the Goodhart detector fires.
        var rec = Audit(auditor, "n1", "gamer", T0, [.. Checks("public", 20, 19), .. Checks("secret", 20, 10)]);
        var honest = Audit(auditor, "n1", "honest", T0, [.. Checks("public", 20, 18), .. Checks("secret", 20, 17)]);
        book.Ingest(rec);
        book.Ingest(honest);
        var tau = Day(T0 + 3600);
        Assert.Empty(SlashingTriggers.FailingCanaries(book, "math", tau, Knobs));

        var p = Assert.Single(SlashingTriggers.GoodhartGaps(book, "math", tau));
        Assert.Equal(("n1", "gamer"), (p.Node, p.Specialist));
        Assert.StartsWith(SlashingTriggers.Goodhart + ": overfit: public pass rate 0.95 vs secret 0.5 (gap 0.45", p.Reason);
        Assert.Equal([rec.Id.ToString()], p.Evidence);
        Assert.Equal(p.Reason, Assert.Single(SlashingTriggers.Sweep(book, tau, _ => Knobs)).Reason); // the scheduled sweep runs it too

        var before = book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == "n1/gamer").R;
        Assert.True(book.Ingest(p.Seal(auditor)).Added);
        Assert.Equal(before * Knobs.SlashFactor, book.Table("math", tau, Knobs).Nodes.Single(n => n.Name == "n1/gamer").R, 9);
        Assert.Empty(SlashingTriggers.GoodhartGaps(book, "math", tau)); // same evidence: idempotent
        Assert.Empty(SlashingTriggers.Sweep(book, Day(T0 + 7200), _ => Knobs));
    }

    [Fact]
    public void Items_without_visibility_or_too_few_checks_are_not_judged_by_the_goodhart_detector()
    {
        using var auditor = NodeKey.Generate();
        var book = new ReputationBook();
        book.Ingest(Audit(auditor, "n1", "old", T0, [.. Enumerable.Range(0, 40).Select(i => ((string?)null, i < 20 ? 1.0 : 0.6))]));
        book.Ingest(Audit(auditor, "n1", "few", T0, [.. Checks("public", 9, 9), .. Checks("secret", 9, 0)]));
        Assert.DoesNotContain(book.CanaryChecks("math"), c => c.Target == "n1/old");
        Assert.Empty(SlashingTriggers.GoodhartGaps(book, "math", Day(T0 + 60)));
    }

    private static SignedEnvelope Credit(NodeKey judge, string submitter, double difficulty, long time) =>
        SignedEnvelope.Seal(ReputationBook.BountyCreditType, new JsonObject
        {
            ["canary"] = new string('c', 64), ["topic"] = "math", ["submitter"] = submitter,
            ["incumbents"] = new JsonArray((JsonValue)new JsonObject { ["specialist"] = "s", ["o"] = 0.0 }),
            ["difficulty"] = difficulty, ["time"] = time,
        }, judge);

    [Fact]
    public void An_accepted_bounty_credits_the_submitter_one_class_A_pass_of_the_canarys_difficulty()
    {
        using var judge = NodeKey.Generate();
        using var submitter = NodeKey.Generate();
        var book = new ReputationBook();
        var sid = submitter.NodeId.ToString();
        var r = book.Ingest(Credit(judge, sid, 0.8, T0));
        Assert.Equal((true, 1), (r.Added, r.Evidence));
        var e = Assert.Single(book.Evidence("math"));
        Assert.Equal((sid + "/" + ReputationBook.BountyRow, new Audit(Day(T0), 0.8, 1)), (e.Target, e.Audit));
        var row = book.Table("math", Day(T0 + 60), Knobs).Nodes.Single();
        Assert.True(row.C > 0.999 && row.N > 0.79, $"C {row.C} N {row.N}");

        var self = Assert.Throws<ReputationRecordException>(() => book.Ingest(Credit(submitter, sid, 0.8, T0 + 1)));
        Assert.Contains("not by the submitter itself", self.Message);
        var bad = Assert.Throws<ReputationRecordException>(() => book.Ingest(Credit(judge, sid, 0, T0 + 2)));
        Assert.Contains("difficulty", bad.Message);
    }

    [Fact]
    public void A_bounty_accepted_by_the_lifecycle_and_signed_by_the_judge_reaches_the_submitters_row()
    {
        using var judge = NodeKey.Generate();
        using var submitter = NodeKey.Generate();
        var canary = Federation.Canaries.Canary.Create("math", Federation.Canaries.CanaryClass.A, "2+2?",
            (JsonObject)CanonicalJson.Parse("""{"kind":"exact","expected":"4"}"""), 0.7, 5);
        var decision = Federation.Canaries.Lifecycle.CanaryLifecycle.EvaluateBounty(canary, submitter.NodeId,
            new Federation.Canaries.Checkers.CheckOutcome(1, "ref"), [("s1", new Federation.Canaries.Checkers.CheckOutcome(0, "wrong"))],
            DateTimeOffset.FromUnixTimeSeconds(T0));
        Assert.True(decision.Accepted, decision.Reason);
        var book = new ReputationBook();
        book.Ingest(SignedEnvelope.Seal(Federation.Canaries.Lifecycle.CanaryLifecycle.BountyCreditType, decision.Credit!, judge));
        var e = Assert.Single(book.Evidence("math"));
        Assert.Equal((ReputationBook.Target(submitter.NodeId.ToString(), ReputationBook.BountyRow), 0.7, 1.0), (e.Target, e.Audit.Difficulty, e.Audit.Outcome));
    }

    [Fact]
    public void Only_trusted_signers_audit_records_count_and_the_log_keeps_the_others()
    {
        using var own = NodeKey.Generate();
        using var listed = NodeKey.Generate();
        using var stranger = NodeKey.Generate();
        var policy = ReputationPolicyLoader.Parse(
            File.ReadAllText(FindPolicy()).Replace("audit_signers: []", $"audit_signers: [{listed.NodeId}]", StringComparison.Ordinal), "r.yaml");
        Assert.Equal([listed.NodeId.ToString()], policy.AuditSigners);
        var trust = ReputationPolicy.AuditSignerTrust(policy, own.NodeId.ToString());
        var book = new ReputationBook { TrustedAuditSigner = trust };
        Assert.True(book.Ingest(Audit(own, "n1", "s", T0, (null, 1))).Added);
        Assert.True(book.Ingest(Audit(listed, "n1", "s", T0, (null, 0))).Added);
        var refused = Audit(stranger, "n1", "s", T0, (null, 1));
        var e = Assert.Throws<UntrustedSignerException>(() => book.Ingest(refused));
        Assert.Contains($"signer {stranger.NodeId} is not a trusted audit signer", e.Message);
        Assert.Contains("audit_signers", e.Message);
        Assert.Throws<UntrustedSignerException>(() => book.Ingest(Credit(stranger, own.NodeId.ToString(), 1, T0)));
        Assert.Equal(2, book.Evidence("math").Count);
        // A slash from any verifying key is still taken (its trust is the challenge game's); untrusted records never reach the table.

        var dir = Directory.CreateTempSubdirectory("fed-trust-").FullName;
        try
        {
            ReputationBookLog.Append(dir, new ReputationBook(), refused); // logged before the policy narrowed
            var loaded = ReputationBookLog.Load(dir, trust);
            Assert.Empty(loaded.Records);                                // skipped, not counted
            Assert.Single(ReputationBookLog.Load(dir).Records);          // and still in the log
        }
        finally { Directory.Delete(dir, true); }

        var bad = Assert.Throws<ReputationPolicyException>(() => ReputationPolicyLoader.Parse(File.ReadAllText(FindPolicy()).Replace("audit_signers: []", "audit_signers: [nope]", StringComparison.Ordinal), "r.yaml"));
        Assert.Contains("audit_signers to list node ids", bad.Errors[0].Message);
    }

    private static string FindPolicy()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "policies", "reputation.yaml");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("policies/reputation.yaml not found above the test directory");
    }
}
