using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Tests.Ledger;

public sealed class SqliteLedgerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-ledger-").FullName;
    private readonly NodeKey _key = NodeKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private string DbPath => Path.Combine(_dir, "ledger.db");

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, true);
    }

    private static JsonObject Payload(int i) => new() { ["n"] = i, ["text"] = $"entry {i}" };

    private static void Sql(string db, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public async Task Appended_entries_are_read_back_and_their_proofs_verify()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        var receipts = new List<LedgerReceipt>();
        for (int i = 0; i < 37; i++) receipts.Add(await ledger.AppendAsync("test.entry", Payload(i)));
        Assert.Equal(Enumerable.Range(0, 37).Select(i => (long)i), receipts.Select(r => r.Index));
        Assert.Equal(37, ledger.Size);

        // The leaf data is the envelope's canonical bytes.
        var entry = ledger.GetEntry(5);
        Assert.Equal(entry.Envelope.ToCanonicalBytes(), entry.LeafData);
        Assert.Equal(MerkleHasher.HashLeaf(entry.LeafData), receipts[5].LeafHash);
        Assert.Equal(receipts[5].EntryId, entry.Envelope.Id);
        Assert.True(entry.Envelope.Verify().IsValid);
        Assert.Equal(_key.Id, entry.Envelope.Signer);

        var reference = new MerkleTree(new InMemoryMerkleNodeStore());
        for (int i = 0; i < 37; i++) reference.Append(ledger.GetEntry(i).LeafData);
        for (long n = 1; n <= 37; n++)
        {
            Assert.Equal(reference.Root(n), ledger.Root(n));
            for (long i = 0; i < n; i += 3)
                Assert.True(MerkleVerifier.VerifyInclusion(receipts[(int)i].LeafHash, ledger.Prove(i, n), ledger.Root(n)).IsValid);
            var c = ledger.Consistency(n / 2, n);
            Assert.True(MerkleVerifier.VerifyConsistency(c, ledger.Root(n / 2), ledger.Root(n)).IsValid);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Prove(37));
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Prove(0, 38));
    }

    [Fact]
    public async Task Concurrent_appends_share_transactions_and_get_distinct_contiguous_indexes()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        var tasks = Enumerable.Range(0, 2000).Select(i => ledger.AppendAsync("test.entry", Payload(i))).ToList();
        var batch = await ledger.AppendBatchAsync([.. Enumerable.Range(0, 500).Select(i => ("test.batch", (JsonValue)Payload(i)))]);
        var receipts = await Task.WhenAll(tasks);
        var all = receipts.Select(r => r.Index).Concat(batch.Select(r => r.Index)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (long)i), all);
        // A batch keeps its order.
        Assert.Equal(Enumerable.Range(0, 499).Select(i => batch[0].Index + i + 1), batch.Skip(1).Select(r => r.Index).Take(499));
        ledger.SignTreeHead();
        var v = ledger.VerifyAll();
        Assert.True(v.IsValid, string.Join("\n", v.Issues));
        Assert.Equal(2500, v.TreeSize);
    }

    [Fact]
    public async Task Reopened_ledger_keeps_its_root_and_continues_appending()
    {
        byte[] root;
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            for (int i = 0; i < 21; i++) await ledger.AppendAsync("t", Payload(i));
            root = ledger.Root();
        }
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            Assert.False(ledger.RepairedOnOpen);
            Assert.Equal(21, ledger.Size);
            Assert.Equal(root, ledger.Root());
            await ledger.AppendAsync("t", Payload(21));
            Assert.Equal(root, ledger.Root(21));
            Assert.True(MerkleVerifier.VerifyConsistency(ledger.Consistency(21, 22), root, ledger.Root()).IsValid);
            Assert.True(ledger.VerifyAll().IsValid);
        }
    }

    [Fact]
    public async Task Signed_tree_head_verifies_and_a_forged_or_foreign_one_is_reported()
    {
        await using (var ledger = SqliteLedger.Open(DbPath, _key, new LedgerOptions { TimeProvider = new FixedTime(1_700_000_000_000) }))
        {
            for (int i = 0; i < 10; i++) await ledger.AppendAsync("t", Payload(i));
            var sth = ledger.SignTreeHead();
            Assert.Equal(10, sth.TreeSize);
            Assert.Equal(1_700_000_000_000, sth.TimestampMs);
            Assert.Equal(ledger.Root(), sth.Root);
            Assert.True(sth.Verify(_key.Id).IsValid);
            var latest = ledger.LatestSth()!;
            Assert.Equal(sth.Envelope.Id, latest.Envelope.Id);
            Assert.True(ledger.VerifyAll().IsValid);

            using var other = NodeKey.FromSeed(new byte[32]);
            Assert.False(sth.Verify(other.Id).IsValid);
            var foreign = SignedTreeHead.Create(10, ledger.Root(), 1, other);
            Assert.True(foreign.Verify().IsValid);
            Assert.False(foreign.Verify(_key.Id).IsValid);
            // A head over a wrong root, properly signed, is still caught by the root check.
            var wrongRoot = SignedTreeHead.Create(10, ledger.Root(9), 2, _key);
            Sql(DbPath, $"INSERT INTO sths(tree_size, root, timestamp, envelope) VALUES (10, x'{Convert.ToHexStringLower(wrongRoot.Root)}', 2, x'{Convert.ToHexStringLower(wrongRoot.Envelope.ToCanonicalBytes())}')");
            var v = ledger.VerifyAll();
            Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.SthRootMismatch);
            Sql(DbPath, $"INSERT INTO sths(tree_size, root, timestamp, envelope) VALUES (10, x'00', 3, x'{Convert.ToHexStringLower(foreign.Envelope.ToCanonicalBytes())}')");
            v = ledger.VerifyAll();
            Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.SthSignatureInvalid);
            // A tampered signature on our own head.
            var sig = sth.Envelope.Signature;
            var forgedJson = System.Text.Encoding.UTF8.GetString(sth.Envelope.ToCanonicalBytes()).Replace(sig, (sig[0] == 'a' ? "b" : "a") + sig[1..], StringComparison.Ordinal);
            Sql(DbPath, $"INSERT INTO sths(tree_size, root, timestamp, envelope) VALUES (10, x'00', 4, x'{Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(forgedJson))}')");
            v = ledger.VerifyAll();
            Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.SthSignatureInvalid);
        }
    }

    [Fact]
    public async Task Tampered_entry_bytes_are_reported_with_their_index()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        for (int i = 0; i < 12; i++) await ledger.AppendAsync("t", Payload(i));
        Assert.True(ledger.VerifyAll().IsValid);
        // Change "entry 7" into "entry 8" inside entry 7's stored envelope.
        Sql(DbPath, "UPDATE entries SET envelope = CAST(replace(CAST(envelope AS TEXT), 'entry 7', 'entry 8') AS BLOB) WHERE idx = 7");
        var v = ledger.VerifyAll();
        Assert.False(v.IsValid);
        Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.LeafHashMismatch && i.Index == 7);
        Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.SignatureInvalid && i.Index == 7);
        Assert.Contains(v.Issues, i => i.Problem == LedgerProblem.RootMismatch);
        Assert.All(v.Issues, i => Assert.True(i.Index is null or 7));
    }

    [Fact]
    public async Task Entries_signed_by_another_key_are_reported()
    {
        using var other = NodeKey.FromSeed(new byte[32]);
        await using (var foreign = SqliteLedger.Open(DbPath, other))
            await foreign.AppendAsync("t", Payload(0));
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        await ledger.AppendAsync("t", Payload(1));
        var v = ledger.VerifyAll();
        Assert.Single(v.Issues);
        Assert.Equal(LedgerProblem.SignatureInvalid, v.Issues[0].Problem);
        Assert.Equal(0, v.Issues[0].Index);
    }

    [Fact]
    public async Task Missing_or_extra_merkle_nodes_are_rebuilt_from_the_entries_on_open()
    {
        byte[] root;
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            for (int i = 0; i < 45; i++) await ledger.AppendAsync("t", Payload(i));
            root = ledger.Root();
        }
        Sql(DbPath, "DELETE FROM merkle_nodes WHERE id % 3 = 0");
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            Assert.True(ledger.RepairedOnOpen);
            Assert.Equal(root, ledger.Root());
            Assert.True(ledger.VerifyAll().IsValid);
        }
        // Nodes left behind by entries that are gone (as after a restore) are dropped too.
        Sql(DbPath, $"INSERT INTO merkle_nodes(id, hash) VALUES (45, x'{new string('0', 64)}')");
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            Assert.True(ledger.RepairedOnOpen);
            await ledger.AppendAsync("t", Payload(45));
            Assert.True(ledger.VerifyAll().IsValid);
        }
    }

    [Fact]
    public async Task Rows_of_a_transaction_closed_without_commit_are_absent_on_reopen_and_the_log_verifies()
    {
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
            for (int i = 0; i < 9; i++) await ledger.AppendAsync("t", Payload(i));
        // Rows written in a transaction whose connection closes without COMMIT (SQLite rolls it back). Not a crash:
        // the real SIGKILL-mid-append test is Ledger_killed_mid_append_loses_nothing_acknowledged_and_verifies in
        // tests/Federation.Node.Tests/Cli/LedgerCommandsTests.cs, which kills a `fed ledger append` child process.
        using (var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString()))
        {
            c.Open();
            using var tx = c.BeginTransaction();
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO entries(idx, id, type, signer, signature, envelope, leaf_hash) VALUES (9, 'x', 't', 's', x'00', x'00', x'00'); INSERT INTO merkle_nodes(id, hash) VALUES (9, x'00')";
            cmd.ExecuteNonQuery();
        }
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            Assert.Equal(9, ledger.Size);
            Assert.False(ledger.RepairedOnOpen);
            Assert.True(ledger.VerifyAll().IsValid);
        }
    }

    [Fact]
    public async Task Read_only_ledger_refuses_to_append_with_a_clear_message()
    {
        await using (var w = SqliteLedger.Open(DbPath, _key)) await w.AppendAsync("t", Payload(0));
        await using var ledger = SqliteLedger.Open(DbPath, null);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.AppendAsync("t", Payload(1)));
        Assert.Contains("read-only", e.Message, StringComparison.Ordinal);
        Assert.True(ledger.VerifyAll(_key.Id).IsValid);
    }

    private sealed class FixedTime(long ms) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}

public sealed class LedgerFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-ledger-format-").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, true);
    }

    /// <summary>
    /// Frozen format: the leaf bytes of a ledger entry and an STH's signed payload must never change silently.
    /// Independent source: tests/vectors/ledger/frozen.json, written by generate.py next to it (Python json + hashlib,
    /// Ed25519 from the cryptography package / OpenSSL).
    /// </summary>
    [Fact]
    public async Task Entry_leaf_bytes_and_sth_payload_are_frozen()
    {
        using var key = NodeKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        await using var ledger = SqliteLedger.Open(Path.Combine(_dir, "ledger.db"), key);
        var r = await ledger.AppendAsync("test.entry", new JsonObject { ["n"] = 1 });
        var leaf = System.Text.Encoding.UTF8.GetString(ledger.GetEntry(0).LeafData);
        Assert.StartsWith("{\"id\":\"", leaf, StringComparison.Ordinal);
        Assert.Contains(",\"payload\":{\"n\":1},\"signature\":\"", leaf, StringComparison.Ordinal);
        Assert.EndsWith($"\"signer\":\"{key.Id}\",\"type\":\"test.entry\"}}", leaf, StringComparison.Ordinal);
        var frozen = JsonVectorFiles.Document("ledger", "frozen.json");
        Assert.Equal(frozen.GetProperty("ledger_entry").GetProperty("envelope").GetString(), leaf);
        Assert.Equal(frozen.GetProperty("ledger_entry").GetProperty("leaf_hash").GetString(), Convert.ToHexStringLower(r.LeafHash));
        var sth = SignedTreeHead.Create(1, r.LeafHash, 1_700_000_000_000, key);
        Assert.Equal(frozen.GetProperty("sth_payload").GetString(), CanonicalJson.SerializeToString(sth.Envelope.Payload));
        Assert.Equal("ledger.sth", sth.Envelope.Type);
    }
}

public sealed class LedgerPartsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-ledger-parts-").FullName;
    private readonly NodeKey _key = NodeKey.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private string DbPath => Path.Combine(_dir, "ledger.db");

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, true);
    }

    private static JsonObject Payload(int i) => new() { ["n"] = i };

    [Fact]
    public async Task Every_root_and_proof_costs_at_most_one_node_query()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        await ledger.AppendBatchAsync([.. Enumerable.Range(0, 300).Select(i => ("t", (JsonValue)Payload(i)))]);
        var reader = ledger.Proofs;
        long Queries(Action a)
        {
            long before = reader.NodeQueries;
            a();
            return reader.NodeQueries - before;
        }
        // Level-0 siblings are never cached, so these need SQLite: exactly one query each.
        Assert.Equal(1, Queries(() => ledger.Prove(0, 300)));
        Assert.Equal(1, Queries(() => ledger.Prove(299, 300)));
        Assert.Equal(1, Queries(() => ledger.Consistency(3, 300)));
        Assert.Equal(1, Queries(() => ledger.LeafHash(17)));
        for (long n = 1; n <= 300; n += 7)
            for (long i = 0; i < n; i += 5)
            {
                Assert.InRange(Queries(() => ledger.Prove(i, n)), 0, 1);
                Assert.InRange(Queries(() => ledger.Consistency(i, n)), 0, 1);
            }
        Assert.Equal(0, Queries(() => ledger.Consistency(300, 300)));
    }

    [Fact]
    public async Task Latest_signed_tree_head_is_served_without_signing_and_survives_reopen()
    {
        await using (var ledger = SqliteLedger.Open(DbPath, _key))
        {
            Assert.Null(ledger.LatestSignedTreeHead);
            for (int i = 0; i < 5; i++) await ledger.AppendAsync("t", Payload(i));
            var sth = await ledger.SignTreeHeadAsync();
            Assert.Same(sth, ledger.LatestSignedTreeHead);
            await ledger.AppendAsync("t", Payload(5));
            // Reading it again signs nothing new: the same head, still at size 5.
            Assert.Same(sth, ledger.LatestSignedTreeHead);
            Assert.Equal(5, ledger.LatestSignedTreeHead!.TreeSize);
            Assert.Equal(ledger.Root(5), ledger.LatestSignedTreeHead.Root);
        }
        await using (var reopened = SqliteLedger.Open(DbPath, null))
        {
            var latest = reopened.LatestSignedTreeHead;
            Assert.NotNull(latest);
            Assert.Equal(5, latest.TreeSize);
            Assert.True(latest.Verify(_key.Id).IsValid);
            Assert.Equal(reopened.LatestSth()!.Envelope.Id, latest.Envelope.Id);
            Assert.Throws<InvalidOperationException>(() => reopened.SignTreeHead());
        }
    }

    [Fact]
    public async Task A_tree_head_asked_for_after_appends_covers_them()
    {
        await using var ledger = SqliteLedger.Open(DbPath, _key);
        var appends = Enumerable.Range(0, 200).Select(i => ledger.AppendAsync("t", Payload(i))).ToList();
        var sth = await ledger.SignTreeHeadAsync();
        await Task.WhenAll(appends);
        Assert.Equal(200, sth.TreeSize);
        Assert.Equal(ledger.Root(200), sth.Root);
        Assert.True(sth.Verify(_key.Id).IsValid);
        Assert.True(ledger.VerifyAll().IsValid);
    }
}
