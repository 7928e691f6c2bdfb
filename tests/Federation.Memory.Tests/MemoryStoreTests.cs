using System.Text;
using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Memory.Testing;
using Federation.Registry;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Memory.Tests;

public sealed class MemoryStoreTests
{
    private static readonly string[] All = ["public", "topic:a", "topic:b", "user:alice", "user:bob"];

    [Fact]
    public async Task Search_never_returns_a_deleted_fragment_and_the_tombstone_is_appended_to_the_log()
    {
        using var t = new TempStore();
        var keep = Keys.Fragment(Keys.Node, "public", "apples are red fruit");
        var gone = Keys.Fragment(Keys.Node, "public", "apples are green fruit");
        await t.Store.AppendAsync([keep, gone]);
        Assert.Equal(2, (await t.Store.SearchAsync("apples fruit", ["public"], 10)).Count);

        var receipt = await t.Service.DeleteAsync(MemoryPrincipal.Operator, gone.Cid, key: Keys.Node);
        Assert.Equal(2, receipt.LeafIndex);
        var hits = await t.Store.SearchAsync("apples fruit", ["public"], 10);
        Assert.Equal([keep.Cid], hits.Select(h => h.Cid));
        Assert.Equal(FragmentStatus.Deleted, t.Store.Get(gone.Cid)!.Status);
        Assert.Equal(FragmentStatus.Tombstone, t.Store.Get(receipt.Cid)!.Status);
        Assert.Equal(3, t.Store.Heads().Single().Size);
        // The deleted fragment and its tombstone both still prove.
        Assert.True(new MemoryProofVerifier().Verify(t.Store.Prove(gone.Cid)).IsValid);
        Assert.True(new MemoryProofVerifier().Verify(t.Store.Prove(receipt.Cid)).IsValid);
        // Deleting twice is refused with the reason.
        var e = await Assert.ThrowsAsync<MemoryStoreException>(() => t.Service.DeleteAsync(MemoryPrincipal.Operator, gone.Cid, key: Keys.Node));
        Assert.Equal("memory.bad_tombstone", e.Code);
    }

    [Fact]
    public async Task Erasure_removes_the_content_bytes_but_the_proof_still_holds_and_says_erased()
    {
        using var t = new TempStore();
        const string Secret = "my-password-is-zebra-quantum-42";
        var f = Keys.Fragment(Keys.Node, "public", "note " + Secret);
        var other = Keys.Fragment(Keys.Node, "public", "note about nothing");
        await t.Store.AppendAsync([f, other]);
        var before = t.Store.GlobalTree().Root;

        Assert.True(t.Service.Erase(MemoryPrincipal.Operator, f.Cid));
        Assert.False(t.Store.Erase(f.Cid));
        Assert.Equal(before, t.Store.GlobalTree().Root); // erasure does not touch the logs
        var stored = t.Store.Get(f.Cid)!;
        Assert.Equal(FragmentStatus.Erased, stored.Status);
        Assert.Null(stored.Envelope);
        Assert.Empty(await t.Store.SearchAsync("zebra quantum note", ["public"], 10) is var h ? h.Where(x => x.Cid == f.Cid) : []);

        var proof = t.Store.Prove(f.Cid);
        Assert.IsType<JsonNull>(proof["fragment"]);
        Assert.True(proof["erased"].AsBool());
        var check = new MemoryProofVerifier(Keys.Node.NodeId).Verify(proof);
        Assert.True(check.IsValid, check.ToString());
        Assert.True(check.Erased);

        // The bytes left the database files (secure_delete + WAL checkpoint).
        t.Store.Dispose();
        foreach (var file in Directory.GetFiles(t.Dir))
            Assert.DoesNotContain(Secret, Encoding.Latin1.GetString(File.ReadAllBytes(file)), StringComparison.Ordinal);
        t.Reopen();
    }

    [Fact]
    public async Task Reopening_the_store_keeps_logs_roots_statements_search_and_proofs()
    {
        using var t = new TempStore(new TestBagOfWordsEmbedder());
        var frags = Enumerable.Range(0, 20).Select(i => Keys.Fragment(Keys.Node, All[i % 3], $"fact {i} about topic {i % 4} and words")).ToList();
        await t.Store.AppendAsync(frags);
        var st = t.Store.CurrentStatement();
        var search = await t.Store.SearchAsync("topic 2 words", All, 5);
        var proof = CanonicalJson.SerializeToString(t.Store.Prove(frags[7].Cid));

        t.Reopen();
        Assert.Equal(st.Envelope.Id, t.Store.CurrentStatement().Envelope.Id);
        Assert.Equal(search.Select(h => (h.Cid, h.Score)), (await t.Store.SearchAsync("topic 2 words", All, 5)).Select(h => (h.Cid, h.Score)));
        Assert.Equal(proof, CanonicalJson.SerializeToString(t.Store.Prove(frags[7].Cid)));
        // Appending after reopen continues each log where it stopped.
        var more = Keys.Fragment(Keys.Node, "public", "one more");
        var r = (await t.Store.AppendAsync([more]))[0];
        Assert.Equal(7, r.LeafIndex);
        Assert.True(new MemoryProofVerifier().Verify(t.Store.Prove(more.Cid)).IsValid);
        Assert.True(new MemoryProofVerifier().Verify(t.Store.Prove(frags[0].Cid)).IsValid);
    }

    [Fact]
    public async Task Two_writers_on_one_file_keep_every_namespace_log_consistent()
    {
        using var t = new TempStore();
        using var second = t.OpenStore();
        const int PerWriter = 120;
        async Task Write(Storage.SqliteMemoryStore s, string who)
        {
            for (int i = 0; i < PerWriter; i += 6)
            {
                var batch = Enumerable.Range(i, 6).Select(j => Keys.Fragment(Keys.Node, j % 2 == 0 ? "topic:a" : "topic:b", $"{who} {j}")).ToList();
                await Task.Run(() => s.AppendAsync(batch));
            }
        }
        await Task.WhenAll(Write(t.Store, "one"), Write(second, "two"), Write(t.Store, "three"));

        var heads = t.Store.Heads();
        Assert.Equal(3 * PerWriter, heads.Sum(h => h.Size));
        foreach (var head in heads)
        {
            var leaves = t.Store.Export(head.Namespace).ToList();
            Assert.Equal(Enumerable.Range(0, (int)head.Size).Select(i => (long)i), leaves.Select(l => l.LeafIndex));
            var tree = new MerkleTree(new InMemoryMerkleNodeStore());
            foreach (var l in leaves) tree.Append(l.Cid.ToArray());
            Assert.Equal(Convert.ToHexStringLower(tree.Root()), Convert.ToHexStringLower(head.Root));
        }
        Assert.Equal(t.Store.GlobalTree().Root, second.GlobalTree().Root);
        var any = t.Store.Export("topic:b").Last();
        Assert.True(new MemoryProofVerifier().Verify(second.Prove(any.Cid)).IsValid);
    }

    [Fact]
    public async Task The_same_query_on_the_same_state_gives_the_same_list_with_ties_broken_by_cid()
    {
        using var t = new TempStore(new TestBagOfWordsEmbedder());
        // Identical texts in different namespaces tie exactly on both BM25 and similarity.
        var frags = All.Select(ns => Keys.Fragment(Keys.Node, ns == "user:alice" || ns == "user:bob" ? "public" : ns, "identical text about tides", t: ns.Length)).ToList();
        frags.Add(Keys.Fragment(Keys.Node, "public", "tides and moons and tides"));
        frags.Add(Keys.Fragment(Keys.Node, "public", "nothing related"));
        await t.Store.AppendAsync(frags);
        var a = await t.Store.SearchAsync("tides", All, 10);
        var b = await t.Store.SearchAsync("tides", All, 10);
        Assert.Equal(a.Select(h => (h.Cid, h.Score)), b.Select(h => (h.Cid, h.Score)));
        var tied = a.Where(h => h.Content == "identical text about tides").ToList();
        Assert.Equal(tied.Select(h => h.Cid).Order(), tied.Select(h => h.Cid));
        Assert.All(a, h => Assert.NotNull(h.VectorRank));
        // A fragment that only the vector list finds still appears, ranked after those both lists find.
        Assert.Contains(a, h => h.LexicalRank is null);
        Assert.True(a[0].LexicalRank is not null);
    }

    [Fact]
    public async Task Reciprocal_rank_fusion_adds_the_two_lists_scores()
    {
        using var t = new TempStore(new TestBagOfWordsEmbedder());
        await t.Store.AppendAsync([Keys.Fragment(Keys.Node, "public", "solar wind"), Keys.Fragment(Keys.Node, "public", "lunar tide")]);
        var hits = await t.Store.SearchAsync("solar wind", ["public"], 2);
        Assert.Equal("solar wind", hits[0].Content);
        Assert.Equal(1, hits[0].LexicalRank);
        Assert.Equal(1, hits[0].VectorRank);
        Assert.Equal(2.0 / 61, hits[0].Score, 15);
    }

    [Fact]
    public async Task A_user_cannot_read_search_or_write_another_users_namespace()
    {
        using var t = new TempStore();
        var alice = MemoryPrincipal.User("alice");
        var bob = MemoryPrincipal.User("bob");
        var r = await t.Service.PutCustodialAsync(alice, MemoryNamespace.User("alice"), "alice's private diary entry", null);
        Assert.True(t.Store.Get(r.Cid)!.Envelope!.Type == SignedFragment.CustodialType);

        Assert.Equal("user.private", Assert.Throws<MemoryPolicyRefusedException>(() => t.Service.Get(bob, r.Cid)).Refusal.Rule);
        Assert.Equal("user.private", Assert.Throws<MemoryPolicyRefusedException>(() => t.Service.Prove(bob, r.Cid)).Refusal.Rule);
        Assert.Equal("user.private", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.SearchAsync(bob, "diary", ["user:alice"], 5))).Refusal.Rule);
        Assert.Empty(await t.Service.SearchAsync(bob, "diary", null, 5)); // default namespaces: only what bob may read
        Assert.Single(await t.Service.SearchAsync(alice, "diary", null, 5));
        var w = await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutCustodialAsync(bob, MemoryNamespace.User("alice"), "graffiti", null));
        Assert.Equal("user.private", w.Refusal.Rule);
        // Bob's own-key fragment addressed to alice's namespace is refused too.
        var forged = Keys.Fragment(Keys.Bob, "user:alice", "forged");
        Assert.Equal("user.private", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutAsync(bob, [forged.Envelope]))).Refusal.Rule);
        // A custodial envelope signed by another user's node-kept key is refused.
        using var aliceKey = new CustodialKeyring(t.NodeKey).KeyFor("alice");
        var stolen = SignedFragment.Seal(new Fragment(MemoryNamespace.User("bob"), "x", [], aliceKey.NodeId, 1), aliceKey, custodial: true);
        Assert.Equal("custodial.signer", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutAsync(bob, [stolen.Envelope]))).Refusal.Rule);
        Assert.Equal("user.private", Assert.Throws<MemoryPolicyRefusedException>(() => t.Service.Erase(bob, r.Cid)).Refusal.Rule);
    }

    [Fact]
    public async Task Topic_writes_need_a_curator_and_limits_are_enforced()
    {
        var policy = MemoryPolicyLoader.Parse(Encoding.UTF8.GetBytes("""
            version: 1
            limits: {max_content_bytes: 10, max_metadata_bytes: 100, max_batch: 2}
            topic:
              curators:
                physics: [carol]
            """), "test.yaml");
        using var t = new TempStore(policy: policy);
        var carol = MemoryPrincipal.User("carol");
        var f = Keys.Fragment(Keys.Alice, "topic:physics", "E = mc^2");
        Assert.False((await t.Service.PutAsync(carol, [f.Envelope]))[0].Duplicate);
        Assert.True((await t.Service.PutAsync(carol, [f.Envelope]))[0].Duplicate);
        Assert.Equal("topic.curators", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutAsync(MemoryPrincipal.User("dave"), [f.Envelope]))).Refusal.Rule);
        var big = Keys.Fragment(Keys.Alice, "topic:physics", "far more than ten bytes");
        Assert.Equal("limits.max_content_bytes", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutAsync(carol, [big.Envelope]))).Refusal.Rule);
        var three = Enumerable.Range(0, 3).Select(i => Keys.Fragment(Keys.Alice, "topic:physics", $"f{i}").Envelope).ToList();
        Assert.Equal("limits.max_batch", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutAsync(carol, three))).Refusal.Rule);
        Assert.Equal("topic.custodial", (await Assert.ThrowsAsync<MemoryPolicyRefusedException>(() => t.Service.PutCustodialAsync(carol, MemoryNamespace.Topic("physics"), "x", null))).Refusal.Rule);
    }

    [Fact]
    public async Task A_tampered_envelope_is_refused_before_the_policy()
    {
        using var t = new TempStore();
        var f = Keys.Fragment(Keys.Node, "public", "true statement");
        var o = f.Envelope.ToJson();
        ((JsonObject)o["payload"])["content"] = "false statement";
        var env = Registry.Envelopes.SignedEnvelope.FromJson(o);
        var e = await Assert.ThrowsAsync<MemoryWriteInvalidException>(() => t.Service.PutAsync(MemoryPrincipal.Operator, [env]));
        Assert.Equal(FragmentFailure.EnvelopeIdMismatch, e.Failure);
    }

    [Fact]
    public async Task A_small_namespace_in_a_large_store_gets_the_same_ranking_as_alone()
    {
        using var t = new TempStore();
        // 2 of 400 fragments are in topic:small (under 5%: the namespace joins the match), all 400 in the other search
        // (FTS5 ranks everything, the namespace is filtered after): both paths must agree.
        var big = Enumerable.Range(0, 398).Select(i => Keys.Fragment(Keys.Node, "public", $"shared term {(i % 3 == 0 ? "alpha" : "delta")} {i} beta")).ToList();
        var small = new[] { Keys.Fragment(Keys.Node, "topic:small", "alpha beta gamma"), Keys.Fragment(Keys.Node, "topic:small", "alpha alpha") };
        await t.Store.AppendAsync([.. big, .. small]);
        var both = await t.Store.SearchAsync("alpha gamma", ["public", "topic:small"], 400);
        var onlySmall = await t.Store.SearchAsync("alpha gamma", ["topic:small"], 10);
        Assert.Equal(both.Where(h => h.Namespace == "topic:small").Select(h => h.Cid), onlySmall.Select(h => h.Cid));
        Assert.Equal(2, onlySmall.Count);
        Assert.Equal(big.Count(f => f.Fragment.Content.Contains("alpha", StringComparison.Ordinal)) + 2, both.Count);
        var onlyPublic = await t.Store.SearchAsync("alpha gamma", ["public"], 10);
        Assert.Equal(both.Where(h => h.Namespace == "public").Take(10).Select(h => h.Cid), onlyPublic.Select(h => h.Cid));
    }

    [Fact]
    public async Task A_tie_across_the_cut_is_broken_by_cid_over_every_tied_fragment()
    {
        using var t = new TempStore();
        // 80 fragments with the same text score exactly the same; the top 10 must be the 10 smallest CIDs of all 80.
        var same = Enumerable.Range(0, 80).Select(i => Keys.Fragment(Keys.Node, "public", "granite basalt", t: i)).ToList();
        var noise = Enumerable.Range(0, 100).Select(i => Keys.Fragment(Keys.Node, "public", $"unrelated words number {i}")).ToList();
        await t.Store.AppendAsync([.. noise, .. same]);
        var hits = await t.Store.SearchAsync("granite", ["public"], 10);
        Assert.Equal(same.Select(f => f.Cid).Order().Take(10), hits.Select(h => h.Cid));
    }

    [Fact]
    public async Task Words_in_half_the_documents_or_more_are_left_out_of_the_match_unless_all_are()
    {
        using var t = new TempStore();
        await t.Store.AppendAsync(Enumerable.Range(0, 10).Select(i => Keys.Fragment(Keys.Node, "public", i < 6 ? $"common word {i}" : $"rare{i} word")).ToList());
        Assert.Equal(["word", "common"], t.Store.QueryWords("word common"));
        Assert.Equal(["word"], t.Store.QueryWords("word"));
        Assert.Empty(t.Store.QueryWords("absent"));
        // "common" is in 6 of 10 documents too, so only "rare7" stays.
        Assert.Equal(["rare7"], t.Store.QueryWords("common rare7"));
        Assert.Equal("rare7 word", Assert.Single(await t.Store.SearchAsync("rare7 common", ["public"], 5)).Content);
    }
}
