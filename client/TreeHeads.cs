using System.Collections.Concurrent;
using System.Text.Json;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Client;

/// <summary>
/// A signed tree head as the node sends it (<c>GET /v1/federation/ledger/sth</c>, docs/ledger.md):
/// <c>{"tree_size","root","timestamp","signer","signature","id"}</c>. Untrusted until <see cref="Verify"/> passes.
/// </summary>
/// <param name="TreeSize">Number of ledger entries the head covers.</param>
/// <param name="Root">RFC 9162 Merkle root of those entries, lowercase hex.</param>
/// <param name="Timestamp">When the node signed it, milliseconds since the Unix epoch.</param>
/// <param name="Signer">The node id (Ed25519 public key, hex) that signed it.</param>
/// <param name="Signature">Ed25519 signature over the canonical <c>ledger.sth</c> envelope, hex.</param>
/// <param name="Id">CID of the signed envelope bytes.</param>
public sealed record TreeHead(long TreeSize, string Root, long Timestamp, string Signer, string Signature, string Id)
{
    /// <summary>Reads the node's JSON shape.</summary>
    /// <exception cref="FormatException">A member is missing or of the wrong kind.</exception>
    public static TreeHead FromJson(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new FormatException($"a signed tree head must be a JSON object; found {e.ValueKind}.");
        return new TreeHead(Long(e, "tree_size"), Str(e, "root"), Long(e, "timestamp"), Str(e, "signer"), Str(e, "signature"), Str(e, "id"));
    }

    /// <summary>Parses the node's JSON text.</summary>
    public static TreeHead Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return FromJson(doc.RootElement);
    }

    /// <summary>The root as 32 bytes.</summary>
    public byte[] RootBytes() => Convert.FromHexString(Root);

    /// <summary>
    /// Rebuilds the <c>ledger.sth</c> envelope with the registry's code and checks its id and Ed25519 signature, and
    /// that <paramref name="expectedSigner"/> signed it. Returns null when it verifies, else the reason.
    /// </summary>
    public string? Verify(NodeId expectedSigner)
    {
        if (!NodeId.TryParse(Signer, out var signer, out var error))
            return $"tree head signer is not a node id: {error}";
        if (signer != expectedSigner)
            return $"tree head is signed by {Signer}, but the trusted node key is {expectedSigner}.";
        if (!Cid.TryParse(Id, out var id, out error))
            return $"tree head id is not a CID: {error}";
        byte[] sig;
        try { sig = Convert.FromHexString(Signature); }
        catch (FormatException) { return "tree head signature is not hex."; }
        if (sig.Length != NodeKey.SignatureLength)
            return $"tree head signature must be {NodeKey.SignatureLength} bytes; found {sig.Length}.";
        var payload = new JsonObject { ["tree_size"] = TreeSize, ["root"] = Root, ["timestamp"] = Timestamp };
        var env = SignedEnvelope.FromParts(SignedTreeHead.EnvelopeType, payload, signer, sig, id);
        SignedTreeHead sth;
        try { sth = SignedTreeHead.FromEnvelope(env); }
        catch (FormatException e) { return "tree head is malformed: " + e.Message; }
        if (sth.Root.Length != 32)
            return $"tree head root must be 32 bytes; found {sth.Root.Length}.";
        var check = sth.Verify(expectedSigner);
        return check.IsValid ? null : "tree head does not verify: " + check;
    }

    private static long Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) ? x
            : throw new FormatException($"signed tree head member '{name}' must be an integer.");

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new FormatException($"signed tree head member '{name}' must be a string.");
}

/// <summary>
/// Remembers the newest verified tree head per node, so that every later head is checked to extend it (a node that
/// rewrites its history is caught). Implement it over durable storage to keep that memory across runs.
/// </summary>
public interface ITreeHeadStore
{
    /// <summary>The newest verified head of <paramref name="nodeId"/>, or null when none was seen.</summary>
    TreeHead? Get(string nodeId);

    /// <summary>Records <paramref name="head"/> as the newest verified head of <paramref name="nodeId"/>.</summary>
    void Set(string nodeId, TreeHead head);
}

/// <summary>An <see cref="ITreeHeadStore"/> in memory (for the lifetime of the client). Thread-safe.</summary>
public sealed class InMemoryTreeHeadStore : ITreeHeadStore
{
    private readonly ConcurrentDictionary<string, TreeHead> _heads = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public TreeHead? Get(string nodeId) => _heads.TryGetValue(nodeId, out var h) ? h : null;

    /// <inheritdoc/>
    public void Set(string nodeId, TreeHead head) =>
        // keep the larger head when two verifications race: heads only grow
        _heads.AddOrUpdate(nodeId, head, (_, old) => old.TreeSize > head.TreeSize ? old : head);
}
