using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federation.Registry.Merkle;

/// <summary>
/// The JSON shapes of roots and proofs (docs/ledger.md), shared by <c>fed merkle</c>, <c>fed ledger</c> and auditors.
/// Hashes are lowercase hex. Root: <c>{"tree_size","root"}</c>; inclusion:
/// <c>{"leaf_index","tree_size","leaf_hash","root","path":[hex…]}</c>; consistency: <c>{"size1","size2","root1","root2","path":[hex…]}</c>.
/// </summary>
public static class MerkleProofJson
{
    /// <summary>A parsed proof document: exactly one of <see cref="Inclusion"/> or <see cref="Consistency"/> is set.</summary>
    public sealed record Document(InclusionProof? Inclusion, byte[]? LeafHash, ConsistencyProof? Consistency, byte[]? Root1, byte[] Root);

    /// <summary><c>{"tree_size","root"}</c>.</summary>
    public static JsonObject Root(long treeSize, ReadOnlySpan<byte> root) =>
        new() { ["tree_size"] = treeSize, ["root"] = Convert.ToHexStringLower(root) };

    /// <summary><c>{"leaf_index","tree_size","leaf_hash","root","path"}</c>.</summary>
    public static JsonObject Inclusion(InclusionProof proof, ReadOnlySpan<byte> leafHash, ReadOnlySpan<byte> root) => new()
    {
        ["leaf_index"] = proof.LeafIndex,
        ["tree_size"] = proof.TreeSize,
        ["leaf_hash"] = Convert.ToHexStringLower(leafHash),
        ["root"] = Convert.ToHexStringLower(root),
        ["path"] = Hexes(proof.Path),
    };

    /// <summary><c>{"size1","size2","root1","root2","path"}</c>.</summary>
    public static JsonObject Consistency(ConsistencyProof proof, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2) => new()
    {
        ["size1"] = proof.Size1,
        ["size2"] = proof.Size2,
        ["root1"] = Convert.ToHexStringLower(root1),
        ["root2"] = Convert.ToHexStringLower(root2),
        ["path"] = Hexes(proof.Path),
    };

    private static JsonArray Hexes(IReadOnlyList<byte[]> path)
    {
        var a = new JsonArray();
        foreach (var h in path) a.Add(Convert.ToHexStringLower(h));
        return a;
    }

    /// <summary>Parses an inclusion or a consistency proof document (told apart by <c>leaf_index</c> / <c>size1</c>).</summary>
    /// <exception cref="FormatException">Not one of the two shapes; the message names the field that is wrong.</exception>
    public static Document Parse(string json)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (JsonException e) { throw new FormatException($"proof is not valid JSON: {e.Message}", e); }
        if (node is not JsonObject o)
            throw new FormatException("a proof must be a JSON object with either leaf_index (inclusion) or size1 (consistency).");
        if (o.ContainsKey("leaf_index"))
        {
            var proof = new InclusionProof(Long(o, "leaf_index"), Long(o, "tree_size"), Path(o));
            return new Document(proof, HexField(o, "leaf_hash"), null, null, HexField(o, "root"));
        }
        if (o.ContainsKey("size1"))
        {
            var proof = new ConsistencyProof(Long(o, "size1"), Long(o, "size2"), Path(o));
            return new Document(null, null, proof, HexField(o, "root1"), HexField(o, "root2"));
        }
        throw new FormatException("a proof must have either leaf_index (inclusion proof) or size1 (consistency proof); found neither.");
    }

    /// <summary>Verifies a parsed document with <see cref="MerkleVerifier"/>.</summary>
    public static MerkleCheck Verify(Document d) => d.Inclusion is not null
        ? MerkleVerifier.VerifyInclusion(d.LeafHash!, d.Inclusion, d.Root)
        : MerkleVerifier.VerifyConsistency(d.Consistency!, d.Root1!, d.Root);

    private static long Long(JsonObject o, string name)
    {
        try
        {
            return o[name] is JsonValue v && v.TryGetValue<long>(out var x) ? x
                : throw new FormatException($"field \"{name}\" must be an integer; found {o[name]?.ToJsonString() ?? "nothing"}.");
        }
        catch (InvalidOperationException)
        {
            throw new FormatException($"field \"{name}\" must be an integer; found {o[name]?.ToJsonString()}.");
        }
    }

    private static byte[] HexField(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? DecodeHex(s, name)
            : throw new FormatException($"field \"{name}\" must be a hex string; found {o[name]?.ToJsonString() ?? "nothing"}.");

    private static List<byte[]> Path(JsonObject o)
    {
        if (o["path"] is not JsonArray a) throw new FormatException("field \"path\" must be an array of hex strings.");
        var list = new List<byte[]>(a.Count);
        for (int i = 0; i < a.Count; i++)
            list.Add(a[i] is JsonValue v && v.TryGetValue<string>(out var s) ? DecodeHex(s, $"path[{i}]")
                : throw new FormatException($"path[{i}] must be a hex string."));
        return list;
    }

    private static byte[] DecodeHex(string s, string name)
    {
        try { return Convert.FromHexString(s); }
        catch (FormatException) { throw new FormatException($"field \"{name}\" is not hex: \"{s}\"."); }
    }
}
