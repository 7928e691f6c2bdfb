using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using Federation.Registry.Merkle;

namespace Federation.Registry.Tests.Ledger;

/// <summary>
/// Issue 15: proofs served from SQLite (upper levels in memory, low nodes hashed from one leaf range) equal the in-memory
/// tree's for every index and size, also after the ledger grew past what was preloaded; and concurrent appends share
/// commits while each completes only once durable.
/// </summary>
public sealed class LedgerProofsAndGroupCommitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-ledger-proofs-").FullName;
    private readonly NodeKey _key = NodeKey.FromSeed(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
    private string DbPath => Path.Combine(_dir, "ledger.db");

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, true);
    }

    private static JsonObject Payload(int i) => new() { ["n"] = i };

    [Fact]
    public async Task Sqlite_proofs_equal_the_in_memory_trees_before_and_after_the_ledger_grows()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        var reference = new MerkleTree(new InMemoryMerkleNodeStore());
        async Task Grow(int from, int count)
        {
            var receipts = await ledger.AppendBatchAsync([.. Enumerable.Range(from, count).Select(i => ("t", (JsonValue)Payload(i)))]);
            foreach (var r in receipts) reference.AppendLeafHash(r.LeafHash);
        }
        void CheckAll(long upTo, int step)
        {
            for (long n = 1; n <= upTo; n += step)
            {
                Assert.Equal(reference.Root(n), ledger.Root(n));
                for (long i = 0; i < n; i += Math.Max(1, step / 2))
                {
                    long q = ledger.Proofs.NodeQueries;
                    var p = ledger.Prove(i, n);
                    Assert.InRange(ledger.Proofs.NodeQueries - q, 0, 1);
                    Assert.Equal(reference.ProveInclusion(i, n).Path, p.Path);
                    Assert.True(MerkleVerifier.VerifyInclusion(ledger.LeafHash(i), p, reference.Root(n)).IsValid);
                    var c = ledger.Consistency(i, n);
                    Assert.Equal(reference.ProveConsistency(i, n).Path, c.Path);
                }
            }
        }
        await Grow(0, 333);
        CheckAll(333, 7);
        long preloads = ledger.Proofs.PreloadQueries;
        Assert.InRange(preloads, 1, 10);        // once per cached level, on the first proof
        await Grow(333, 300);                   // new upper nodes arrive with the proofs that need them
        CheckAll(633, 13);
        Assert.Equal(preloads, ledger.Proofs.PreloadQueries);
        Assert.Equal(reference.Root(), ledger.Root());
    }

    [Fact]
    public async Task Concurrent_appends_share_commits_land_in_order_and_verify()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        const int N = 400;
        // each append completes with a receipt only after its transaction committed: its entry is readable then
        var tasks = Enumerable.Range(0, N).Select(i => Task.Run(async () =>
        {
            var r = await ledger.AppendAsync("t", Payload(i));
            Assert.True(ledger.Size > r.Index);
            Assert.Equal(r.LeafHash, ledger.GetEntry(r.Index).LeafHash);
            return (i, r);
        })).ToList();
        var receipts = await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(0, N).Select(i => (long)i), receipts.Select(x => x.r.Index).Order());
        // entry k holds the payload of the append that got index k (order of the log = order of the receipts)
        foreach (var (i, r) in receipts)
            Assert.Equal(i, ledger.GetEntry(r.Index).Envelope.Payload["n"].AsInt64());
        Assert.True(ledger.Writer.Commits < N, $"{ledger.Writer.Commits} commits for {N} concurrent appends: group commit did not group");
        Assert.True(ledger.VerifyAll(_key.Id).IsValid);
    }
}
