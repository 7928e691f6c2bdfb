using System.Collections.Concurrent;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Memory;

/// <summary>
/// The memory inclusion proof (issue 10, "Proof format"), exactly:
/// <c>{"fragment","fragment_cid","namespace","leaf_index","tree_size","path","namespace_root","global_leaf_index",
/// "global_size","global_path","global_root","statement"}</c>, plus <c>"erased": true</c> (and <c>"fragment": null</c>)
/// for a fragment whose content was erased. docs/formats.md §"Memory proofs" specifies every step.
/// </summary>
public static class MemoryProof
{
    /// <summary>The members every proof has, in the order the issue lists them.</summary>
    public static readonly IReadOnlyList<string> Members =
    [
        "fragment", "fragment_cid", "namespace", "leaf_index", "tree_size", "path", "namespace_root",
        "global_leaf_index", "global_size", "global_path", "global_root", "statement",
    ];

    /// <summary>Assembles a proof document.</summary>
    public static JsonObject Build(SignedEnvelope? fragment, Cid cid, string ns, InclusionProof nsProof, byte[] nsRoot,
        InclusionProof globalProof, byte[] globalRoot, SignedEnvelope statement)
    {
        var o = new JsonObject
        {
            ["fragment"] = fragment is null ? JsonValue.Null : fragment.ToJson(),
            ["fragment_cid"] = cid.ToString(),
            ["namespace"] = ns,
            ["leaf_index"] = nsProof.LeafIndex,
            ["tree_size"] = nsProof.TreeSize,
            ["path"] = Hexes(nsProof.Path),
            ["namespace_root"] = Convert.ToHexStringLower(nsRoot),
            ["global_leaf_index"] = globalProof.LeafIndex,
            ["global_size"] = globalProof.TreeSize,
            ["global_path"] = Hexes(globalProof.Path),
            ["global_root"] = Convert.ToHexStringLower(globalRoot),
            ["statement"] = statement.ToJson(),
        };
        if (fragment is null) o["erased"] = true;
        return o;
    }

    private static JsonArray Hexes(IReadOnlyList<byte[]> path)
    {
        var a = new JsonArray();
        foreach (var h in path) a.Add(Convert.ToHexStringLower(h));
        return a;
    }
}

/// <summary>Why a memory proof does not hold (docs/formats.md lists the step that yields each).</summary>
public enum MemoryProofFailure
{
    /// <summary>The proof holds.</summary>
    None,
    /// <summary>Not a proof document: a member is missing, unexpected, of the wrong kind or badly encoded.</summary>
    Malformed,
    /// <summary>The fragment envelope's type is not a memory fragment, or its payload is not a fragment.</summary>
    FragmentMalformed,
    /// <summary>SHA-256 of the fragment's canonical bytes is not <c>fragment_cid</c> (content changed).</summary>
    FragmentCidMismatch,
    /// <summary>The fragment's namespace is not the proof's <c>namespace</c>.</summary>
    NamespaceMismatch,
    /// <summary>The fragment's author is not the envelope's signer.</summary>
    AuthorMismatch,
    /// <summary>The fragment envelope's id is not the CID of its signed bytes.</summary>
    EnvelopeIdMismatch,
    /// <summary>The contributor's Ed25519 signature does not verify.</summary>
    ContributorSignatureInvalid,
    /// <summary>The namespace inclusion path does not lead from the fragment's leaf to <c>namespace_root</c>.</summary>
    NamespacePathInvalid,
    /// <summary>The global path does not lead from the namespace's global leaf to <c>global_root</c>.</summary>
    GlobalPathInvalid,
    /// <summary>The statement is not a <c>memory.root</c> envelope of the documented shape.</summary>
    StatementMalformed,
    /// <summary>The statement states another global root or another number of namespaces than the proof.</summary>
    StatementMismatch,
    /// <summary>The statement's id or Ed25519 signature does not verify.</summary>
    StatementSignatureInvalid,
    /// <summary>The statement verifies but was signed by another key than the one the verifier expects.</summary>
    StatementSignerUnexpected,
}

/// <summary>The typed outcome of <see cref="MemoryProofVerifier.Verify(JsonValue)"/>.</summary>
public sealed record MemoryProofCheck(MemoryProofFailure Failure, string Message)
{
    /// <summary>True when every step held.</summary>
    public bool IsValid => Failure == MemoryProofFailure.None;

    /// <summary>The proof holds for a fragment whose content was erased (no contributor signature to check).</summary>
    public bool Erased { get; init; }

    /// <summary>The proven fragment's CID (when the document got that far).</summary>
    public Cid? FragmentCid { get; init; }

    /// <summary>The namespace (when the document got that far).</summary>
    public string? Namespace { get; init; }

    /// <summary>The contributor (null for an erased fragment).</summary>
    public NodeId? Author { get; init; }

    /// <summary>Who signed the root statement.</summary>
    public NodeId? StatementSigner { get; init; }

    /// <summary>The stable snake_case name of <see cref="Failure"/> (the reason printed by <c>fed memory verify</c>).</summary>
    public string Reason => ReasonOf(Failure);

    /// <summary>snake_case of a failure: <c>fragment_cid_mismatch</c>, …; <c>ok</c> for none.</summary>
    public static string ReasonOf(MemoryProofFailure f) => f switch
    {
        MemoryProofFailure.None => "ok",
        _ => string.Concat(f.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())),
    };

    /// <inheritdoc/>
    public override string ToString() => IsValid ? Message : $"{Reason}: {Message}";
}

/// <summary>
/// Verifies memory proofs offline: no database, no model (issue 10). Pure apart from an optional memo of statement
/// signatures already verified (many proofs in one answer share one statement, so it is checked once).
/// </summary>
public sealed class MemoryProofVerifier
{
    private readonly NodeId? _expectedSigner;
    // Statements whose id and signature verified, by id. A later statement is taken as verified only when its type,
    // signer, signature and payload are equal (JSON values, compared member by member) to the cached one: equal values
    // have equal canonical bytes, so this is "the same signed bytes" without serializing and hashing them again.
    private readonly ConcurrentDictionary<string, VerifiedStatement>? _verifiedStatements;

    /// <summary>A statement whose id and signature verified: its JSON as it came, the envelope and the statement.</summary>
    private sealed record VerifiedStatement(JsonObject Json, SignedEnvelope Envelope, MemoryRootStatement Statement);
    private const int MaxMemoizedStatements = 4096;
    private static readonly System.Collections.Frozen.FrozenSet<string> AllowedMembers =
        System.Collections.Frozen.FrozenSet.ToFrozenSet(MemoryProof.Members.Append("erased"), StringComparer.Ordinal);

    /// <summary>A verifier; with <paramref name="expectedSigner"/> the statement must be signed by that node;
    /// with <paramref name="memoizeStatements"/> a statement (id and signature) verified once is not verified again:
    /// a later statement with the same id counts as verified only when its type, signer, signature and payload equal
    /// the verified one's (so its canonical signed bytes are the same bytes); up to 4,096 statements are remembered.</summary>
    public MemoryProofVerifier(NodeId? expectedSigner = null, bool memoizeStatements = false)
    {
        _expectedSigner = expectedSigner;
        if (memoizeStatements) _verifiedStatements = new();
    }

    /// <summary>Parses proof text and verifies it; bad JSON is <see cref="MemoryProofFailure.Malformed"/>.</summary>
    public MemoryProofCheck Verify(string proofJson)
    {
        JsonValue doc;
        try { doc = CanonicalJson.Parse(proofJson); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            return Fail(MemoryProofFailure.Malformed, $"the proof is not JSON: {e.Message}");
        }
        return Verify(doc);
    }

    /// <summary>Runs every step of docs/formats.md §"Memory proofs" in order and reports the first that fails.</summary>
    public MemoryProofCheck Verify(JsonValue proof)
    {
        // 1. Shape.
        if (proof is not JsonObject o) return Fail(MemoryProofFailure.Malformed, "a memory proof must be a JSON object.");
        foreach (var k in o.Keys)
            if (!AllowedMembers.Contains(k))
                return Fail(MemoryProofFailure.Malformed, $"unexpected member \"{k}\" in a memory proof.");
        foreach (var k in MemoryProof.Members)
            if (!o.ContainsKey(k)) return Fail(MemoryProofFailure.Malformed, $"the proof is missing \"{k}\".");
        if (!Str(o, "fragment_cid", out var cidHex) || !Cid.TryParse(cidHex, out var cid, out var cidErr))
            return Fail(MemoryProofFailure.Malformed, "\"fragment_cid\" must be 64 lowercase hex characters.");
        _ = cidErr;
        if (!Str(o, "namespace", out var ns) || !MemoryNamespace.TryParse(ns, out _, out var nsErr))
            return Fail(MemoryProofFailure.Malformed, "\"namespace\" must be a namespace name (user:<id>, topic:<id> or public).");
        _ = nsErr;
        if (!Long(o, "leaf_index", out var leafIndex) || !Long(o, "tree_size", out var treeSize)
            || !Long(o, "global_leaf_index", out var gIndex) || !Long(o, "global_size", out var gSize))
            return Fail(MemoryProofFailure.Malformed, "\"leaf_index\", \"tree_size\", \"global_leaf_index\" and \"global_size\" must be integers.");
        if (!Hash(o, "namespace_root", out var nsRoot) || !Hash(o, "global_root", out var gRoot))
            return Fail(MemoryProofFailure.Malformed, "\"namespace_root\" and \"global_root\" must be 64 lowercase hex characters.");
        if (!Path(o, "path", out var path) || !Path(o, "global_path", out var gPath))
            return Fail(MemoryProofFailure.Malformed, "\"path\" and \"global_path\" must be arrays of 64-character lowercase hex hashes.");
        bool erased = o.TryGetValue("erased", out var er) && er is JsonBool { Value: true };
        if (o.ContainsKey("erased") && !erased)
            return Fail(MemoryProofFailure.Malformed, "\"erased\" may only appear as true.");
        var fragJson = o["fragment"];
        if (erased != fragJson is JsonNull)
            return Fail(MemoryProofFailure.Malformed, "\"fragment\" is null exactly when \"erased\" is true.");
        // A statement equal, member by member, to one verified before is that statement (equal JSON values have equal
        // canonical bytes): its shape, id and signature need no second look.
        VerifiedStatement? known = null;
        if (_verifiedStatements is not null && o["statement"] is JsonObject sj && sj.TryGetValue("id", out var sid) && sid is JsonString sids
            && _verifiedStatements.TryGetValue(sids.Value, out var seen) && seen.Json.Equals(sj))
            known = seen;
        SignedEnvelope? stmtEnv = known?.Envelope;
        if (stmtEnv is null && !TryEnvelope(o["statement"], out stmtEnv, out var stmtErr))
            return Fail(MemoryProofFailure.StatementMalformed, "\"statement\": " + stmtErr, cid, ns);

        // 2-4. The fragment: CID from canonical bytes, namespace, contributor signature.
        NodeId? author = null;
        if (!erased)
        {
            if (!TryEnvelope(fragJson, out var env, out var envErr))
                return Fail(MemoryProofFailure.Malformed, "\"fragment\": " + envErr, cid, ns);
            if (env.Type is not (SignedFragment.OwnType or SignedFragment.CustodialType))
                return Fail(MemoryProofFailure.FragmentMalformed, $"fragment envelope type \"{env.Type}\" is not \"{SignedFragment.OwnType}\" or \"{SignedFragment.CustodialType}\".", cid, ns);
            if (!Fragment.TryFromJson(env.Payload, out var frag, out var fErr))
                return Fail(MemoryProofFailure.FragmentMalformed, fErr, cid, ns);
            // One serialization serves both hashes: the signing bytes {"payload":P,"signer":S,"type":T} hold the
            // payload's canonical bytes P verbatim (keys sorted), so they are P with a fixed prefix and suffix, and the
            // CID is SHA-256 of P (the type is one of the two fragment types, checked above, so it needs no escaping).
            var signing = FragmentSigningBytes(env, out var payloadLength);
            var actual = Cid.Of(signing.AsSpan(PayloadPrefix.Length, payloadLength));
            if (actual != cid)
                return Fail(MemoryProofFailure.FragmentCidMismatch, $"SHA-256 of the fragment's canonical bytes is {actual}, not fragment_cid {cid}: the fragment was altered.", cid, ns);
            if (frag.Namespace.Name != ns)
                return Fail(MemoryProofFailure.NamespaceMismatch, $"the fragment says namespace \"{frag.Namespace.Name}\" but the proof is for \"{ns}\".", cid, ns);
            if (frag.Author != env.Signer)
                return Fail(MemoryProofFailure.AuthorMismatch, $"fragment author {frag.Author} is not the envelope signer {env.Signer}.", cid, ns);
            var envId = Cid.Of(signing);
            if (envId != env.Id)
                return Fail(MemoryProofFailure.EnvelopeIdMismatch, $"id {env.Id} does not match the content, whose CID is {envId}; the envelope was altered", cid, ns);
            var sig = Ed25519Verifier.Verify(env.Signer, signing, env.SignatureBytes.Span);
            if (!sig.IsValid)
                return Fail(MemoryProofFailure.ContributorSignatureInvalid, $"signature by {env.Signer} does not verify: {sig.Message}", cid, ns);
            author = frag.Author;
        }

        // 5. Namespace log: leaf data = the 32 raw CID bytes.
        var leafHash = MerkleHasher.HashLeaf(cid.ToArray());
        var nsCheck = MerkleVerifier.VerifyInclusion(leafIndex, treeSize, leafHash, path, nsRoot);
        if (!nsCheck.IsValid)
            return Fail(MemoryProofFailure.NamespacePathInvalid, $"namespace inclusion of leaf {leafIndex} in {treeSize} does not hold: {nsCheck}", cid, ns);

        // 6. Global tree: leaf data = canonical {"namespace","root","size"}.
        var gLeaf = MerkleHasher.HashLeaf(NamespaceHead.GlobalLeafData(ns, nsRoot, treeSize));
        var gCheck = MerkleVerifier.VerifyInclusion(gIndex, gSize, gLeaf, gPath, gRoot);
        if (!gCheck.IsValid)
            return Fail(MemoryProofFailure.GlobalPathInvalid, $"global inclusion of namespace leaf {gIndex} in {gSize} does not hold: {gCheck}", cid, ns);

        // 7. Statement: shape, same root and size, signature, signer.
        MemoryRootStatement? stmt = known?.Statement;
        if (stmt is null && !MemoryRootStatement.TryFromEnvelope(stmtEnv, out stmt, out var sErr))
            return Fail(MemoryProofFailure.StatementMalformed, sErr, cid, ns);
        if (!stmt.GlobalRoot.AsSpan().SequenceEqual(gRoot) || stmt.Namespaces != gSize)
            return Fail(MemoryProofFailure.StatementMismatch,
                $"the statement commits to global root {Convert.ToHexStringLower(stmt.GlobalRoot)} over {stmt.Namespaces} namespaces, the proof to {Convert.ToHexStringLower(gRoot)} over {gSize}.", cid, ns);
        if (known is null && !StatementVerifies((JsonObject)o["statement"], stmtEnv, stmt, out var why))
            return Fail(MemoryProofFailure.StatementSignatureInvalid, why, cid, ns);
        if (_expectedSigner is { } want && want != stmtEnv.Signer)
            return Fail(MemoryProofFailure.StatementSignerUnexpected, $"the statement is signed by {stmtEnv.Signer}; expected {want}.", cid, ns);

        return new MemoryProofCheck(MemoryProofFailure.None,
            erased ? "holds: the fragment's leaf is committed, its content was erased" : "holds: fragment, contributor signature, namespace and global inclusion, signed statement")
        {
            Erased = erased, FragmentCid = cid, Namespace = ns, Author = author, StatementSigner = stmtEnv.Signer,
        };
    }

    private static ReadOnlySpan<byte> PayloadPrefix => "{\"payload\":"u8;

    /// <summary>
    /// <see cref="SignedEnvelope.SigningBytes"/> of a fragment envelope, built around one serialization of the payload:
    /// <c>{"payload":</c> P <c>,"signer":"</c> hex <c>","type":"</c> T <c>"}</c> (the canonical member order). T must be
    /// a fragment type (ASCII letters and dots: written as itself). <paramref name="payloadLength"/> is P's length.
    /// </summary>
    internal static byte[] FragmentSigningBytes(SignedEnvelope env, out int payloadLength)
    {
        var payload = CanonicalJson.Serialize(env.Payload);
        var type = env.Type;
        int len = PayloadPrefix.Length + payload.Length + ",\"signer\":\""u8.Length + 2 * NodeId.ByteLength + "\",\"type\":\""u8.Length + type.Length + 2;
        var b = new byte[len];
        var span = b.AsSpan();
        PayloadPrefix.CopyTo(span);
        int o = PayloadPrefix.Length;
        payload.CopyTo(span[o..]); o += payload.Length;
        ",\"signer\":\""u8.CopyTo(span[o..]); o += 11;
        Span<byte> pk = stackalloc byte[NodeId.ByteLength];
        env.Signer.WriteTo(pk);
        for (int i = 0; i < pk.Length; i++) { span[o++] = HexDigits[pk[i] >> 4]; span[o++] = HexDigits[pk[i] & 15]; }
        "\",\"type\":\""u8.CopyTo(span[o..]); o += 10;
        foreach (var ch in type) span[o++] = (byte)ch;
        span[o++] = (byte)'"';
        span[o++] = (byte)'}';
        payloadLength = payload.Length;
        return b;
    }

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    private bool StatementVerifies(JsonObject json, SignedEnvelope env, MemoryRootStatement statement, out string why)
    {
        why = "";
        var c = env.Verify();
        if (!c.IsValid)
        {
            why = c.Message;
            return false;
        }
        if (_verifiedStatements is not null)
        {
            if (_verifiedStatements.Count >= MaxMemoizedStatements) _verifiedStatements.Clear();
            // a deep copy: the caller's document may be changed after this call, the memo must not change with it
            _verifiedStatements[env.Id.ToString()] = new VerifiedStatement((JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(json)), env, statement);
        }
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>Whether <paramref name="s"/> is exactly <paramref name="bytes"/> bytes as lowercase hex; then decoded into <paramref name="into"/>.</summary>
    private static bool LowerHexBytes(string s, int bytes, Span<byte> into) =>
        s.Length == 2 * bytes && !s.AsSpan().ContainsAnyExcept(LowerHex) && Convert.FromHexString(s, into, out _, out _) == System.Buffers.OperationStatus.Done;

    /// <summary>
    /// <see cref="SignedEnvelope.TryFromJson"/> with the hex members checked by vectorised search: a well-formed
    /// envelope is read here; anything else goes to <see cref="SignedEnvelope.TryFromJson"/>, whose message names the fault.
    /// </summary>
    private static bool TryEnvelope(JsonValue json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SignedEnvelope? env, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        if (json is JsonObject o && o.Count == 5
            && o.TryGetValue("type", out var t) && t is JsonString type
            && o.TryGetValue("payload", out var payload)
            && o.TryGetValue("signer", out var sg) && sg is JsonString signer
            && o.TryGetValue("signature", out var si) && si is JsonString signature
            && o.TryGetValue("id", out var i) && i is JsonString id)
        {
            Span<byte> pk = stackalloc byte[NodeId.ByteLength];
            Span<byte> sig = stackalloc byte[NodeKey.SignatureLength];
            Span<byte> cid = stackalloc byte[32];
            if (LowerHexBytes(signer.Value, NodeId.ByteLength, pk) && LowerHexBytes(signature.Value, NodeKey.SignatureLength, sig)
                && LowerHexBytes(id.Value, 32, cid))
            {
                env = SignedEnvelope.FromParts(type.Value, payload, new NodeId(pk), sig, new Cid(cid));
                error = null;
                return true;
            }
        }
        return SignedEnvelope.TryFromJson(json, out env, out error);
    }

    private static MemoryProofCheck Fail(MemoryProofFailure f, string message, Cid? cid = null, string? ns = null) =>
        new(f, message) { FragmentCid = cid, Namespace = ns };

    private static bool Str(JsonObject o, string k, out string value)
    {
        value = o.TryGetValue(k, out var v) && v is JsonString s ? s.Value : "";
        return v is JsonString;
    }

    private static bool Long(JsonObject o, string k, out long value)
    {
        value = 0;
        return o.TryGetValue(k, out var v) && v is JsonInt i && i.TryGetInt64(out value);
    }

    private static bool Hash(JsonObject o, string k, out byte[] hash)
    {
        hash = new byte[32];
        return Str(o, k, out var s) && LowerHexBytes(s, 32, hash);
    }

    private static bool Path(JsonObject o, string k, out List<byte[]> path)
    {
        path = [];
        if (!o.TryGetValue(k, out var v) || v is not JsonArray a) return false;
        path = new List<byte[]>(a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            var h = new byte[32];
            if (a[i] is not JsonString s || !LowerHexBytes(s.Value, 32, h)) return false;
            path.Add(h);
        }
        return true;
    }
}
