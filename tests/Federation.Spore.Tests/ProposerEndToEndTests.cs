using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Federation.Canaries.Spore;
using Federation.Governance;
using Federation.Node.Hosting;
using Federation.Node.Spore;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Federation.Spore.Tests;

/// <summary>
/// Issue 13, "Done when": two of our nodes (real node hosts: Kestrel, engine, ledger, Spore peer on loopback TCP) and a
/// third Spore peer that lies. Node 1's specialist is asked through the answer path; node 1 publishes; node 2 syncs and
/// verifies by re-running; the false claim is challenged, node 1 answers, node 2's dispute rejects it; the federation
/// reputation (GET /v1/federation/reputation/{topic}) moves: evidence for node 1, a slash for the liar.
/// </summary>
public sealed class ProposerEndToEndTests
{
    private const string Topic = "spore-rosenbrock-10d";

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<WebApplication> StartNode(string dir, int sporePort, bool autoVerify, params string[] sporePeers)
    {
        var app = NodeHost.Build(new NodeOptions
        {
            DataDir = dir, Urls = "http://127.0.0.1:0",
            SporeListen = new IPEndPoint(IPAddress.Loopback, sporePort), SporePeers = sporePeers, SporeAutoVerify = autoVerify,
        }, logging => logging.AddFilter(_ => false));
        await app.StartAsync();
        var holder = app.Services.GetRequiredService<RuntimeHolder>();
        await holder.Started.WaitAsync(TimeSpan.FromMinutes(2));
        if (holder.Runtime is null) throw new InvalidOperationException("node did not start: " + holder.StartError);
        return app;
    }

    private static SporeNode Peer(WebApplication app) => app.Services.GetRequiredService<Federation.Node.Cli.SporeHostedService>().Node!;

    private static async Task<JsonElement> Reputation(WebApplication app)
    {
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) }; // keyless node: loopback callers are let in
        var r = await http.GetAsync($"/v1/federation/reputation/{Topic}");
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("nodes");
    }

    [Fact]
    public async Task A_specialist_proposes_a_second_node_verifies_a_false_claim_is_slashed_and_reputation_moves()
    {
        var dir1 = Path.Combine(Path.GetTempPath(), "spore-e2e-1-" + Guid.NewGuid().ToString("N")[..8]);
        var dir2 = Path.Combine(Path.GetTempPath(), "spore-e2e-2-" + Guid.NewGuid().ToString("N")[..8]);
        var p1 = FreePort();
        // Node 1 runs the auto-verifier (fed serve --spore-auto-verify): it answers node 2's challenge on its own.
        var app1 = await StartNode(dir1, p1, autoVerify: true);
        var app2 = await StartNode(dir2, FreePort(), autoVerify: false, $"127.0.0.1:{p1}");
        await using var liarNode = new SporeNode(NodeTests.Loopback($"127.0.0.1:{p1}"));
        try
        {
            var svc1 = app1.Services.GetRequiredService<SporeProposalService>();
            var svc2 = app2.Services.GetRequiredService<SporeProposalService>();
            var id1 = app1.Services.GetRequiredService<RuntimeHolder>().Runtime!.Key.NodeId.ToString();
            var ledger2 = app2.Services.GetRequiredService<RuntimeHolder>().Runtime!.Ledger;

            // 1. Node 1 asks its routed specialist (code-qwen, champion of the Spore topic) through the answer path. The
            //    node's default base is a tiny random model: its answer is not a proposal, which must end as an honest,
            //    published crash record (not an exception). The task and a baseline root are published first.
            var asked = await svc1.ProposeAsync(SporeProposalService.ShippedName);
            Assert.Equal(("code-qwen", Topic), (asked.Specialist, asked.Topic));
            Assert.NotNull(asked.AnswerLedgerIndex);
            Assert.Equal(RecordStatus.Keep, asked.Baseline!.Status);
            Assert.False(asked.Edit.Ok);
            Assert.Equal(RecordStatus.Crash, asked.Outcome);
            Assert.StartsWith("unusable proposal (code-qwen via federation/spore-rosenbrock-10d, answer ledger #", asked.Record.Description, StringComparison.Ordinal);
            Assert.Equal(("code-qwen", asked.Baseline.Id), (asked.Record.AgentModel, asked.Record.Parent));

            // 2. A parseable proposal (the same parse → run → keep/discard → sign → gossip path; the answer text is given,
            //    as `fed spore propose --answer` does): more momentum is kept, below the baseline.
            var honest = await svc1.ProposeAsync(asked.TaskId, answer: "MOMENTUM = 0.9");
            Assert.Equal(RecordStatus.Keep, honest.Outcome);
            Assert.True(honest.Run!.Metric < asked.Baseline.ValBpb);
            Assert.Equal(id1, honest.Record.NodeId);

            // 3. A third peer publishes a deliberately false claim on the same task.
            await liarNode.StartAsync();
            await NodeTests.Eventually(() => liarNode.Read(g => g.GetRecord(asked.Baseline.Id) is not null && g.Tasks.ContainsKey(asked.TaskId)), "liar syncs the task");
            var task = liarNode.Read(g => g.Tasks[asked.TaskId].Manifest!);
            using var liarKey = TestKeys.Seeded(77);
            var liarWorker = new SporeWorker(liarNode, liarKey, new TaskRunner());
            var variant = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ShippedTasks.RosenbrockArtifact()).Replace("LR = 0.0005", "LR = 0.0008", StringComparison.Ordinal));
            var (liar, liarRun) = await liarWorker.ProposeAsync(task, asked.Baseline, variant, "bigger step", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), claimOverride: 1e-9);

            // 4. Node 2 has synced everything by gossip and verifies node 1's keep by re-running it (artifact by code_request).
            var peer2 = Peer(app2);
            await NodeTests.Eventually(() => peer2.Read(g => g.GetRecord(honest.Record.Id) is not null && g.GetRecord(liar.Id) is not null), "records reach node 2");
            var verification = await svc2.VerifyAsync(honest.Record.Id);
            Assert.Equal(ControlTypes.Verification, verification!.Type);
            // ... and challenges the false claim; node 1 (an independent CPU node) answers; node 2's dispute rejects it.
            var challenge = await svc2.VerifyAsync(liar.Id);
            Assert.Equal(ControlTypes.Challenge, challenge!.Type);
            await NodeTests.Eventually(() => peer2.Read(g => g.ControlEvents.Values.Any(e => e.Type == ControlTypes.ChallengeResponse
                && e.NodeId == id1 && e.ExperimentId == liar.Id)), "node 1's auto-verifier answers the challenge (poll 5 s)", 30000);
            // An explicit call now returns the same response (idempotent), it does not publish a second one.
            var response = await svc1.RespondAsync(challenge.Id);
            Assert.True(peer2.Read(g => g.ControlEvents.ContainsKey(response!.Id)));
            var ledgerBefore = ledger2.Size;
            var dispute = await svc2.ResolveAsync(liar.Id);
            Assert.Equal("rejected", dispute!.Payload["outcome"].AsString());
            Assert.Equal(liarRun.Metric!.Value, dispute.Payload["ground_truth_bpb"].AsDouble());

            // 5. Federation reputation on node 2 (the HTTP endpoint over its book): node 1's operator row has one class-A
            //    audit with o = 1; the liar's row is slashed (S = 0.1); the slash is also in node 2's ledger.
            var nodes = await Reputation(app2);
            var good = nodes.GetProperty(ReputationBook.Target(id1, "operator"));
            Assert.Equal((1, 1.0, 1.0), (good.GetProperty("audits").GetInt32(), good.GetProperty("C").GetDouble(), good.GetProperty("S").GetDouble()));
            Assert.True(good.GetProperty("R").GetDouble() > 0);
            var bad = nodes.GetProperty(ReputationBook.Target(liarWorker.NodeId, "federation"));
            Assert.InRange(bad.GetProperty("S").GetDouble(), 0.0999, 0.1001);
            Assert.Equal(ledgerBefore + 1, ledger2.Size);
            Assert.Equal(ReputationBook.SlashType, ledger2.GetEntry(ledgerBefore).Envelope.Type);
            // A replay derives the same signed records: nothing new.
            Assert.Equal(0, (await svc2.SyncReputationAsync()).Added);

            // 6. Node 1 learns the dispute by gossip and its own book (signed with its own key) says the same.
            await NodeTests.Eventually(() => Peer(app1).Read(g => g.ControlEvents.ContainsKey(dispute.Id)), "dispute reaches node 1");
            var fed1 = await svc1.SyncReputationAsync();
            Assert.Equal((1, 1), (fed1.Evidence, fed1.Slashes)); // (the audit may already be in: the auto-verifier's step feeds the book too)
            Assert.Equal(0, (await svc1.SyncReputationAsync()).Added);
            var nodes1 = await Reputation(app1);
            Assert.Equal(1, nodes1.GetProperty(ReputationBook.Target(id1, "operator")).GetProperty("audits").GetInt32());
            Assert.InRange(nodes1.GetProperty(ReputationBook.Target(liarWorker.NodeId, "federation")).GetProperty("S").GetDouble(), 0.0999, 0.1001);
            // Spore's own table is separate and unchanged by the feed: the liar lost 5 points there.
            Assert.Equal(-5.0, peer2.Read(g => g.Reputation[liarWorker.NodeId].Score));
        }
        finally
        {
            foreach (var app in new[] { app2, app1 })
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
            foreach (var d in new[] { dir1, dir2 })
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                if (Directory.Exists(d)) Directory.Delete(d, true);
            }
        }
    }
}
