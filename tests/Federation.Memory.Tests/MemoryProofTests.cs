using Federation.Memory.Policy;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Memory.Tests;

public sealed class MemoryProofTests : IDisposable
{
    private readonly TempStore _t = new();

    public void Dispose() => _t.Dispose();

    private async Task<(Cid Cid, string Proof)> ProvenFragment()
    {
        var frags = new List<SignedFragment>();
        for (int i = 0; i < 7; i++) frags.Add(Keys.Fragment(Keys.Node, "topic:code.python", $"python fact number {i}"));
        frags.Add(Keys.Fragment(Keys.Node, "public", "the sky is blue"));
        frags.Add(Keys.Fragment(Keys.Node, "topic:history", "rome was not built in a day"));
        await _t.Store.AppendAsync(frags);
        var cid = frags[4].Cid;
        return (cid, CanonicalJson.SerializeToString(_t.Store.Prove(cid)));
    }

    private static MemoryProofCheck Verify(string proof, NodeId? signer = null) => new MemoryProofVerifier(signer).Verify(proof);

    private static string Mutate(string proof, Action<JsonObject> change)
    {
        var o = (JsonObject)CanonicalJson.Parse(proof);
        change(o);
        return CanonicalJson.SerializeToString(o);
    }

    [Fact]
    public async Task A_proof_from_the_store_verifies_offline_with_every_member_the_issue_lists()
    {
        var (cid, proof) = await ProvenFragment();
        var o = (JsonObject)CanonicalJson.Parse(proof);
        Assert.Equal(MemoryProof.Members.OrderBy(k => k, StringComparer.Ordinal), o.Keys.OrderBy(k => k, StringComparer.Ordinal));
        var check = Verify(proof, Keys.Node.NodeId);
        Assert.True(check.IsValid, check.ToString());
        Assert.Equal(cid, check.FragmentCid);
        Assert.Equal("topic:code.python", check.Namespace);
        Assert.Equal(4, o["leaf_index"].AsInt64());
        Assert.Equal(7, o["tree_size"].AsInt64());
        Assert.Equal(3, o["global_size"].AsInt64());
        Assert.Equal(Keys.Node.NodeId, check.Author);
    }

    [Fact]
    public async Task A_changed_byte_of_content_is_rejected_as_a_cid_mismatch()
    {
        var (_, proof) = await ProvenFragment();
        var bad = proof.Replace("python fact number 4", "python fact number 5", StringComparison.Ordinal);
        var check = Verify(bad);
        Assert.Equal(MemoryProofFailure.FragmentCidMismatch, check.Failure);
        Assert.Equal("fragment_cid_mismatch", check.Reason);
    }

    [Fact]
    public async Task A_wrong_namespace_root_is_rejected_by_the_namespace_path()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o => o["namespace_root"] = new string('0', 64));
        Assert.Equal(MemoryProofFailure.NamespacePathInvalid, Verify(bad).Failure);
    }

    [Fact]
    public async Task A_wrong_global_root_is_rejected_by_the_global_path()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o => o["global_root"] = new string('a', 64));
        Assert.Equal(MemoryProofFailure.GlobalPathInvalid, Verify(bad).Failure);
    }

    [Fact]
    public async Task A_tampered_namespace_path_is_rejected()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o =>
        {
            var path = (JsonArray)o["path"];
            var h = ((JsonString)path[0]).Value;
            path[0] = (h[0] == '0' ? "1" : "0") + h[1..];
        });
        Assert.Equal(MemoryProofFailure.NamespacePathInvalid, Verify(bad).Failure);
        var shorter = Mutate(proof, o => ((JsonArray)o["path"]).RemoveAt(0));
        Assert.Equal(MemoryProofFailure.NamespacePathInvalid, Verify(shorter).Failure);
    }

    [Fact]
    public async Task A_tampered_global_path_or_index_is_rejected()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o => o["global_leaf_index"] = (o["global_leaf_index"].AsInt64() + 1) % 3);
        Assert.Equal(MemoryProofFailure.GlobalPathInvalid, Verify(bad).Failure);
    }

    [Fact]
    public async Task A_bad_contributor_signature_is_rejected()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o =>
        {
            var env = (JsonObject)o["fragment"];
            var sig = ((JsonString)env["signature"]).Value;
            env["signature"] = (sig[0] == 'a' ? "b" : "a") + sig[1..];
        });
        Assert.Equal(MemoryProofFailure.ContributorSignatureInvalid, Verify(bad).Failure);
    }

    [Fact]
    public async Task A_fragment_signed_by_someone_other_than_its_author_is_rejected()
    {
        var (_, proof) = await ProvenFragment();
        // Re-sign the same payload (same CID) with another key: the envelope is valid but the author did not sign it.
        var bad = Mutate(proof, o =>
        {
            var env = SignedEnvelope.FromJson(o["fragment"]);
            o["fragment"] = SignedEnvelope.Seal(env.Type, env.Payload, Keys.Bob).ToJson();
        });
        Assert.Equal(MemoryProofFailure.AuthorMismatch, Verify(bad).Failure);
    }

    [Fact]
    public async Task A_bad_statement_signature_is_rejected_and_a_foreign_signer_is_named()
    {
        var (_, proof) = await ProvenFragment();
        var bad = Mutate(proof, o =>
        {
            var env = (JsonObject)o["statement"];
            var sig = ((JsonString)env["signature"]).Value;
            env["signature"] = (sig[0] == 'a' ? "b" : "a") + sig[1..];
        });
        Assert.Equal(MemoryProofFailure.StatementSignatureInvalid, Verify(bad).Failure);

        var forged = Mutate(proof, o =>
        {
            var env = SignedEnvelope.FromJson(o["statement"]);
            o["statement"] = SignedEnvelope.Seal(env.Type, env.Payload, Keys.Bob).ToJson();
        });
        Assert.True(Verify(forged).IsValid);
        Assert.Equal(MemoryProofFailure.StatementSignerUnexpected, Verify(forged, Keys.Node.NodeId).Failure);
    }

    [Fact]
    public async Task A_statement_for_another_root_is_rejected()
    {
        var (_, proof) = await ProvenFragment();
        var other = MemoryRootStatement.Create(new byte[32], 3, 1, Keys.Node);
        var bad = Mutate(proof, o => o["statement"] = other.Envelope.ToJson());
        Assert.Equal(MemoryProofFailure.StatementMismatch, Verify(bad).Failure);
    }

    [Theory]
    [InlineData("fragment_cid")]
    [InlineData("statement")]
    [InlineData("global_path")]
    public async Task A_proof_missing_a_member_is_malformed(string member)
    {
        var (_, proof) = await ProvenFragment();
        var check = Verify(Mutate(proof, o => o.Remove(member)));
        Assert.Equal(MemoryProofFailure.Malformed, check.Failure);
        Assert.Contains(member, check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_is_not_json_is_malformed()
    {
        Assert.Equal(MemoryProofFailure.Malformed, Verify("{not json").Failure);
        Assert.Equal(MemoryProofFailure.Malformed, Verify("[]").Failure);
    }

    [Fact]
    public async Task The_memoizing_verifier_gives_the_same_answers()
    {
        var (_, proof) = await ProvenFragment();
        var v = new MemoryProofVerifier(Keys.Node.NodeId, memoizeStatements: true);
        Assert.True(v.Verify(proof).IsValid);
        Assert.True(v.Verify(proof).IsValid);
        var bad = Mutate(proof, o =>
        {
            var env = (JsonObject)o["statement"];
            var sig = ((JsonString)env["signature"]).Value;
            env["signature"] = (sig[0] == 'a' ? "b" : "a") + sig[1..];
        });
        Assert.Equal(MemoryProofFailure.StatementSignatureInvalid, v.Verify(bad).Failure);
    }

    [Fact]
    public async Task The_memoizing_verifier_does_not_accept_a_statement_whose_payload_changed_under_the_same_id_and_signature()
    {
        // The memo keys on the statement id; a later statement with that id but another payload (same signature and
        // signer) must be checked in full and refused, or a forged root would ride on an earlier verification.
        var (_, proof) = await ProvenFragment();
        var v = new MemoryProofVerifier(Keys.Node.NodeId, memoizeStatements: true);
        Assert.True(v.Verify(proof).IsValid);
        var forged = Mutate(proof, o =>
        {
            var payload = (JsonObject)((JsonObject)o["statement"])["payload"];
            payload["time"] = ((JsonInt)payload["time"]).AsInt64() + 1;
        });
        var check = v.Verify(forged);
        Assert.Equal(MemoryProofFailure.StatementSignatureInvalid, check.Failure);
        Assert.Contains("does not match the content", check.Message);
        // the type and the signature are part of the comparison too
        var otherSig = Mutate(proof, o =>
        {
            var env = (JsonObject)o["statement"];
            var sig = ((JsonString)env["signature"]).Value;
            env["signature"] = sig[..^1] + (sig[^1] == '0' ? "1" : "0");
        });
        Assert.Equal(MemoryProofFailure.StatementSignatureInvalid, v.Verify(otherSig).Failure);
        Assert.True(v.Verify(proof).IsValid);
    }

    [Theory]
    [InlineData(false, "plain ascii text")]
    [InlineData(true, "h\u00e9llo \"quoted\" \\ tab\t line\n emoji \ud83d\ude00")]
    public void The_verifier_builds_exactly_the_envelope_signing_bytes_around_one_payload_serialization(bool custodial, string content)
    {
        var f = new Fragment(MemoryNamespace.Public, System.Text.RegularExpressions.Regex.Unescape(content), new JsonObject { ["source"] = "x", ["n"] = 3 }, Keys.Alice.NodeId, 42);
        var env = SignedFragment.Seal(f, Keys.Alice, custodial).Envelope;
        var built = MemoryProofVerifier.FragmentSigningBytes(env, out int payloadLength);
        Assert.Equal(SignedEnvelope.SigningBytes(env.Type, env.Payload, env.Signer), built);
        Assert.Equal(f.CanonicalBytes(), built.AsSpan(11, payloadLength).ToArray());
    }

    [Theory]
    [InlineData("public", 1L)]
    [InlineData("user:a@b.c-d_E9", 0L)]
    [InlineData("topic:physics", long.MaxValue)]
    [InlineData("topic:odd\"name\u00e9", 12L)] // not a valid name, but the bytes must still be canonical JSON
    public void The_global_leaf_bytes_are_the_canonical_json_of_the_head(string ns, long size)
    {
        var root = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ns));
        var want = CanonicalJson.Serialize(new JsonObject { ["namespace"] = ns, ["root"] = Convert.ToHexStringLower(root), ["size"] = size });
        Assert.Equal(want, NamespaceHead.GlobalLeafData(ns, root, size));
    }

    [Fact]
    public async Task The_global_leaf_is_the_canonical_namespace_head_and_leaves_are_raw_cid_bytes()
    {
        var (cid, proof) = await ProvenFragment();
        var o = (JsonObject)CanonicalJson.Parse(proof);
        // Recompute the namespace root from the stored leaves: leaf data = the 32 raw CID bytes.
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        foreach (var f in _t.Store.Export("topic:code.python")) tree.Append(f.Cid.ToArray());
        Assert.Equal(((JsonString)o["namespace_root"]).Value, Convert.ToHexStringLower(tree.Root()));
        var leaf = NamespaceHead.GlobalLeafData("topic:code.python", tree.Root(), 7);
        Assert.Equal($"{{\"namespace\":\"topic:code.python\",\"root\":\"{Convert.ToHexStringLower(tree.Root())}\",\"size\":7}}", System.Text.Encoding.ASCII.GetString(leaf));
        // Namespaces sorted by code point: public < topic:code.python < topic:history.
        Assert.Equal(["public", "topic:code.python", "topic:history"], _t.Store.Heads().Select(h => h.Namespace));
        Assert.Equal(1, o["global_leaf_index"].AsInt64());
        _ = cid;
    }

    [Fact]
    public void A_fragment_cid_is_sha256_of_its_canonical_bytes()
    {
        var f = new Fragment(MemoryNamespace.Public, "héllo", new JsonObject { ["source"] = "x" }, Keys.Alice.NodeId, 42);
        var text = System.Text.Encoding.ASCII.GetString(f.CanonicalBytes());
        Assert.Equal($"{{\"author\":\"{Keys.Alice.NodeId}\",\"content\":\"h\\u00e9llo\",\"created_at_ms\":42,\"metadata\":{{\"source\":\"x\"}},\"namespace\":\"public\"}}", text);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(f.CanonicalBytes())), f.Cid.ToString());
    }

    [Fact]
    public void A_signed_fragment_must_be_signed_by_its_author()
    {
        var f = new Fragment(MemoryNamespace.Public, "x", [], Keys.Alice.NodeId, 1);
        Assert.Throws<ArgumentException>(() => SignedFragment.Seal(f, Keys.Bob));
        var env = SignedEnvelope.Seal(SignedFragment.OwnType, f.ToJson(), Keys.Bob);
        Assert.Equal(FragmentFailure.AuthorMismatch, SignedFragment.Check(env).Failure);
        var custodial = SignedFragment.Seal(f, Keys.Alice, custodial: true);
        Assert.True(custodial.Custodial);
        Assert.Equal("memory.fragment.custodial", custodial.Envelope.Type);
        Assert.Equal(FragmentFailure.WrongType, SignedFragment.Check(SignedEnvelope.Seal("ledger.entry", f.ToJson(), Keys.Alice)).Failure);
    }

    [Fact]
    public void Policy_refusals_name_their_rule()
    {
        var p = MemoryPolicy.Default;
        Assert.Equal("user.private", p.CheckWrite(MemoryPrincipal.User("bob"), MemoryNamespace.User("alice"), false)?.Rule);
        Assert.Null(p.CheckWrite(MemoryPrincipal.User("alice"), MemoryNamespace.User("alice"), true));
        Assert.Equal("topic.curators", p.CheckWrite(MemoryPrincipal.User("alice"), MemoryNamespace.Topic("x"), false)?.Rule);
        Assert.Equal("topic.custodial", p.CheckWrite(MemoryPrincipal.Operator, MemoryNamespace.Topic("x"), true)?.Rule);
    }
}
