using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Registry.Ledger;

/// <summary>What <see cref="SqliteLedger.AppendAsync"/> returns once the entry's transaction has committed (it is durable).</summary>
/// <param name="Index">The entry's 0-based position, which is also its Merkle leaf index.</param>
/// <param name="LeafHash">SHA-256(0x00 ‖ canonical envelope bytes).</param>
/// <param name="EntryId">The envelope id: CID of its signed bytes.</param>
public sealed record LedgerReceipt(long Index, byte[] LeafHash, Cid EntryId);

/// <summary>A stored ledger entry: the signed envelope, its canonical bytes (the Merkle leaf data) and leaf hash.</summary>
public sealed record LedgerEntry(long Index, SignedEnvelope Envelope, byte[] LeafData, byte[] LeafHash);

/// <summary>
/// A signed tree head: the ledger's size and root at a time, signed by the node key. It is stored and transported as a
/// <see cref="SignedEnvelope"/> of type <see cref="EnvelopeType"/> whose payload is
/// <c>{"root": hex, "timestamp": ms since the Unix epoch, "tree_size": n}</c>.
/// </summary>
public sealed record SignedTreeHead(long TreeSize, byte[] Root, long TimestampMs, SignedEnvelope Envelope)
{
    /// <summary>The envelope type of signed tree heads.</summary>
    public const string EnvelopeType = "ledger.sth";

    /// <summary>The node that signed this tree head.</summary>
    public NodeId Signer => Envelope.Signer;

    /// <summary>Builds and signs a tree head.</summary>
    public static SignedTreeHead Create(long treeSize, byte[] root, long timestampMs, NodeKey key)
    {
        var payload = new JsonObject
        {
            ["tree_size"] = treeSize,
            ["root"] = Convert.ToHexStringLower(root),
            ["timestamp"] = timestampMs,
        };
        return new SignedTreeHead(treeSize, root, timestampMs, SignedEnvelope.Seal(EnvelopeType, payload, key));
    }

    /// <summary>Reads a tree head from its envelope (shape only; call <see cref="Verify"/>).</summary>
    /// <exception cref="FormatException">Not an STH envelope; the message says which member is wrong.</exception>
    public static SignedTreeHead FromEnvelope(SignedEnvelope envelope)
    {
        if (envelope.Type != EnvelopeType)
            throw new FormatException($"expected an envelope of type \"{EnvelopeType}\", found \"{envelope.Type}\".");
        if (envelope.Payload is not JsonObject o
            || !o.TryGetValue("tree_size", out var size) || size is not JsonInt sizeInt
            || !o.TryGetValue("root", out var root) || root is not JsonString rootStr
            || !o.TryGetValue("timestamp", out var ts) || ts is not JsonInt tsInt)
            throw new FormatException("an STH payload must be {\"root\": hex, \"timestamp\": integer, \"tree_size\": integer}.");
        byte[] rootBytes;
        try { rootBytes = Convert.FromHexString(rootStr.Value); }
        catch (FormatException) { throw new FormatException($"STH root \"{rootStr.Value}\" is not hex."); }
        return new SignedTreeHead((long)sizeInt.Value, rootBytes, (long)tsInt.Value, envelope);
    }

    /// <summary>Checks the envelope's id and signature, and optionally that <paramref name="expectedSigner"/> signed it.</summary>
    public EnvelopeCheck Verify(NodeId? expectedSigner = null)
    {
        var check = Envelope.Verify();
        if (check.IsValid && expectedSigner is { } want && want != Envelope.Signer)
            return new EnvelopeCheck(EnvelopeFailure.SignatureInvalid, $"tree head is signed by {Envelope.Signer}, expected the node key {want}.", check.Signature);
        return check;
    }

    /// <summary>The STH as JSON: <c>{"tree_size","root","timestamp","signer","signature","id"}</c>.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["tree_size"] = TreeSize,
        ["root"] = Convert.ToHexStringLower(Root),
        ["timestamp"] = TimestampMs,
        ["signer"] = Envelope.Signer.ToString(),
        ["signature"] = Envelope.Signature,
        ["id"] = Envelope.Id.ToString(),
    };
}

/// <summary>Tuning of a <see cref="Ledger"/>.</summary>
public sealed class LedgerOptions
{
    /// <summary>Most entries committed in one transaction by the group-commit writer (default 4096).</summary>
    public int MaxBatch { get; set; } = 4096;

    /// <summary>The clock for tree-head timestamps (default: system).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>SQLite <c>synchronous</c> level; FULL (default) makes every acknowledged commit durable across power loss.</summary>
    public string Synchronous { get; set; } = "FULL";
}

/// <summary>Why <see cref="SqliteLedger.VerifyAll"/> failed, one item per problem found.</summary>
public enum LedgerProblem
{
    /// <summary>An entry's envelope signature or id does not verify.</summary>
    SignatureInvalid,
    /// <summary>An entry's stored bytes are not a well-formed canonical envelope, or its columns disagree with it.</summary>
    EntryMalformed,
    /// <summary>A stored leaf hash differs from the hash of the stored envelope bytes.</summary>
    LeafHashMismatch,
    /// <summary>The stored Merkle nodes give a different root than the entries.</summary>
    RootMismatch,
    /// <summary>The latest STH signature does not verify or was made by another key.</summary>
    SthSignatureInvalid,
    /// <summary>The latest STH root is not the root of the entries at its size, or its size exceeds the log.</summary>
    SthRootMismatch,
    /// <summary>Entry indexes are not contiguous from 0.</summary>
    IndexGap,
}

/// <summary>One problem found by <see cref="SqliteLedger.VerifyAll"/>.</summary>
public sealed record LedgerIssue(LedgerProblem Problem, long? Index, string Message);

/// <summary>The result of <see cref="SqliteLedger.VerifyAll"/>: valid when <see cref="Issues"/> is empty.</summary>
public sealed record LedgerVerification(long TreeSize, byte[] Root, SignedTreeHead? LatestSth, IReadOnlyList<LedgerIssue> Issues)
{
    /// <summary>True when every entry, leaf, the root and the latest STH checked out.</summary>
    public bool IsValid => Issues.Count == 0;
}
