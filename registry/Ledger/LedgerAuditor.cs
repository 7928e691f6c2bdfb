using System.Numerics;
using System.Text;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// Checks the ledger end to end (<see cref="VerifyAll"/>) and, when it is opened, makes the stored Merkle nodes agree
/// with the committed entries (<see cref="RepairedOnOpen"/>).
/// </summary>
/// <remarks>A full check scans the entries on a connection of its own, so proofs keep being served meanwhile.</remarks>
public sealed class LedgerAuditor
{
    private readonly LedgerOptions _options;
    private readonly LedgerHead _head;
    private readonly LedgerProofReader _reader;
    private readonly NodeId? _nodeKey;

    internal LedgerAuditor(string path, LedgerOptions options, LedgerHead head, LedgerProofReader reader, NodeId? nodeKey, bool repairedOnOpen)
    {
        Path = path;
        _options = options;
        _head = head;
        _reader = reader;
        _nodeKey = nodeKey;
        RepairedOnOpen = repairedOnOpen;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>True when opening found Merkle nodes inconsistent with the entries and rebuilt them.</summary>
    public bool RepairedOnOpen { get; }

    /// <summary>
    /// Re-checks the whole log: every entry's envelope (id and Ed25519 signature, and that it was made by the node key
    /// when one is given or the ledger has one), that its stored bytes are canonical and its columns agree, every leaf
    /// hash, the root from the stored Merkle nodes against a root recomputed from the entries, and the latest STH
    /// (signature, signer, and root at its size). Reports every problem, not only the first.
    /// </summary>
    public LedgerVerification VerifyAll(NodeId? expectedSigner = null, IProgress<long>? progress = null)
    {
        expectedSigner ??= _nodeKey;
        long n = _head.Size;
        var issues = new List<LedgerIssue>();
        var fresh = new MerkleTree(new InMemoryMerkleNodeStore());
        const int Chunk = 2048;
        var rows = new List<EntryRow>(Chunk);
        void Flush()
        {
            var found = new LedgerIssue?[rows.Count * 3];
            Parallel.For(0, rows.Count, i => CheckEntry(rows[i], expectedSigner, found, i * 3));
            foreach (var f in found) if (f is not null) issues.Add(f);
            foreach (var row in rows) fresh.Append(row.Env);
            progress?.Report(fresh.Size);
            rows.Clear();
        }
        using (var connection = LedgerDatabase.Open(Path, _options))
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT idx, id, type, signer, signature, envelope, leaf_hash FROM entries WHERE idx < $n ORDER BY idx";
            cmd.Parameters.AddWithValue("$n", n);
            using var r = cmd.ExecuteReader();
            long expect = 0;
            while (r.Read())
            {
                long idx = r.GetInt64(0);
                if (idx != expect)
                {
                    issues.Add(new LedgerIssue(LedgerProblem.IndexGap, expect, $"entry {expect} is missing: the next stored index is {idx}."));
                    return new LedgerVerification(n, [], null, issues);
                }
                expect++;
                rows.Add(new EntryRow(idx, r.GetString(1), r.GetString(2), r.GetString(3), (byte[])r[4], (byte[])r[5], (byte[])r[6]));
                if (rows.Count == Chunk) Flush();
            }
            if (rows.Count > 0) Flush();
        }
        var root = fresh.Root();
        var stored = _reader.Root(n);
        if (!stored.AsSpan().SequenceEqual(root))
            issues.Add(new LedgerIssue(LedgerProblem.RootMismatch, null, $"the stored Merkle nodes give root {Convert.ToHexStringLower(stored)} for {n} entries, the entries give {Convert.ToHexStringLower(root)}; reopen to rebuild the nodes."));
        SignedTreeHead? sth = null;
        try { sth = _reader.LatestSth(); }
        catch (FormatException e) { issues.Add(new LedgerIssue(LedgerProblem.SthSignatureInvalid, null, $"the latest STH is malformed: {e.Message}")); }
        if (sth is not null)
        {
            var check = sth.Verify(expectedSigner);
            if (!check.IsValid)
                issues.Add(new LedgerIssue(LedgerProblem.SthSignatureInvalid, null, $"the latest STH (size {sth.TreeSize}) does not verify: {check.Message}"));
            if (sth.TreeSize > n)
                issues.Add(new LedgerIssue(LedgerProblem.SthRootMismatch, null, $"the latest STH claims {sth.TreeSize} entries but the log holds {n}: entries were lost."));
            else if (!fresh.Root(sth.TreeSize).AsSpan().SequenceEqual(sth.Root))
                issues.Add(new LedgerIssue(LedgerProblem.SthRootMismatch, null, $"the latest STH root {Convert.ToHexStringLower(sth.Root)} at size {sth.TreeSize} differs from the entries' root {Convert.ToHexStringLower(fresh.Root(sth.TreeSize))}."));
        }
        return new LedgerVerification(n, root, sth, issues);
    }

    private sealed record EntryRow(long Idx, string Id, string Type, string Signer, byte[] Sig, byte[] Env, byte[] Leaf);

    private static void CheckEntry(EntryRow row, NodeId? expectedSigner, LedgerIssue?[] found, int slot)
    {
        if (!MerkleHasher.HashLeaf(row.Env).AsSpan().SequenceEqual(row.Leaf))
            found[slot] = new LedgerIssue(LedgerProblem.LeafHashMismatch, row.Idx, $"entry {row.Idx}: stored leaf hash {Convert.ToHexStringLower(row.Leaf)} is not SHA-256(0x00 ‖ envelope) = {Convert.ToHexStringLower(MerkleHasher.HashLeaf(row.Env))}.");
        SignedEnvelope env;
        try { env = SignedEnvelope.Parse(Encoding.UTF8.GetString(row.Env)); }
        catch (FormatException e)
        {
            found[slot + 1] = new LedgerIssue(LedgerProblem.EntryMalformed, row.Idx, $"entry {row.Idx}: stored envelope is not a signed envelope: {e.Message}");
            return;
        }
        if (!env.ToCanonicalBytes().AsSpan().SequenceEqual(row.Env) || env.Id.ToString() != row.Id || env.Type != row.Type
            || env.Signer.ToString() != row.Signer || !env.SignatureBytes.Span.SequenceEqual(row.Sig))
            found[slot + 1] = new LedgerIssue(LedgerProblem.EntryMalformed, row.Idx, $"entry {row.Idx}: the stored envelope is not canonical or its id/type/signer/signature columns disagree with it.");
        var check = env.Verify();
        if (!check.IsValid)
            found[slot + 2] = new LedgerIssue(LedgerProblem.SignatureInvalid, row.Idx, $"entry {row.Idx}: {check.Message}");
        else if (expectedSigner is { } want && env.Signer != want)
            found[slot + 2] = new LedgerIssue(LedgerProblem.SignatureInvalid, row.Idx, $"entry {row.Idx}: signed by {env.Signer}, expected the node key {want}.");
    }

    /// <summary>
    /// Run once at open, before the writer starts: SQLite has already dropped any transaction a crash cut short; this
    /// makes sure the Merkle nodes describe exactly the committed entries, rebuilding them from the entries' leaf
    /// hashes when they do not. Returns the entry count.
    /// </summary>
    internal static long RecoverOnOpen(SqliteConnection connection, string path, out bool repaired)
    {
        using var store = new SqliteMerkleNodeStore(connection);
        long n;
        bool ok;
        // One read snapshot, so a writer in another process committing meanwhile cannot make the counts disagree.
        using (var snapshot = connection.BeginTransaction(deferred: true))
        {
            n = LedgerDatabase.Long(LedgerDatabase.Scalar(connection, "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries", snapshot));
            long count = LedgerDatabase.Long(LedgerDatabase.Scalar(connection, "SELECT COUNT(*) FROM entries", snapshot));
            if (count != n)
                throw new InvalidDataException($"{path}: the ledger holds {count} entries but its highest index is {n - 1}; entries are missing, so the log cannot be trusted. Restore it from a backup or a peer.");
            long nodes = LedgerDatabase.Long(LedgerDatabase.Scalar(connection, "SELECT COUNT(*) FROM merkle_nodes", snapshot));
            ok = nodes == 2 * n - BitOperations.PopCount((ulong)n);
            if (ok)
            {
                store.Transaction = snapshot;
                try { _ = new MerkleTree(store, n); }
                catch (InvalidDataException) { ok = false; }
                finally { store.Transaction = null; }
            }
            snapshot.Commit();
        }
        repaired = !ok;
        return ok ? n : RebuildNodes(connection, store);
    }

    // Recomputes every Merkle node from the entries' leaf hashes in one write transaction; returns the entry count.
    private static long RebuildNodes(SqliteConnection connection, SqliteMerkleNodeStore store)
    {
        using var tx = connection.BeginTransaction(deferred: false);
        LedgerDatabase.Exec(connection, "DELETE FROM merkle_nodes", tx);
        store.Transaction = tx;
        var tree = new MerkleTree(store);
        using (var cmd = connection.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT leaf_hash FROM entries ORDER BY idx";
            using var r = cmd.ExecuteReader();
            while (r.Read()) tree.AppendLeafHash((byte[])r[0]);
        }
        tx.Commit();
        store.Transaction = null;
        return tree.Size;
    }
}
