using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Registry.Crypto;
using Federation.Registry.Ledger;
using Microsoft.Extensions.AI;

namespace Federation.Client.Tests;

/// <summary>Receipt verification against a real node's ledger: a real receipt verifies; every tampering is caught.</summary>
[Collection("node")]
public sealed class ReceiptVerificationTests(NodeFixture node)
{
    private async Task<ChatResponse> AskAsync(FederationClient client, string q = "hello, explain recursion") =>
        await client.GetResponseAsync(q, FederationClientTests.Short);

    [Fact]
    public async Task A_real_receipt_verifies_against_the_pinned_node_key()
    {
        using var client = node.Client();
        var response = await AskAsync(client);
        var r = await client.VerifyReceiptAsync(response);
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(NodeKeyTrust.Pinned, r.KeyTrust);
        Assert.Equal(response.GetFederation()!.Ledger!.Index, r.LedgerIndex);
        Assert.True(r.TreeHead!.TreeSize > r.LedgerIndex);
        Assert.Equal(node.NodeKey, r.TreeHead.Signer);
    }

    [Fact]
    public async Task A_real_receipt_verifies_with_the_key_fetched_from_the_node_and_says_so()
    {
        using var client = node.Client(nodeKey: "");
        var r = await client.VerifyReceiptAsync(await AskAsync(client));
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(NodeKeyTrust.FetchedFromNode, r.KeyTrust);
    }

    [Fact]
    public async Task A_wrong_pinned_key_rejects_the_tree_head()
    {
        using var other = NodeKey.Generate();
        using var honest = node.Client();
        var response = await AskAsync(honest);
        using var client = node.Client(nodeKey: other.NodeId.ToString());
        var r = await client.VerifyReceiptAsync(response);
        Assert.Equal(ReceiptFailure.TreeHeadSignatureInvalid, r.Failure);
        Assert.Contains(other.NodeId.ToString(), r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_answer_whose_text_was_changed_is_rejected()
    {
        using var client = node.Client();
        var response = await AskAsync(client);
        var changed = new ChatResponse(new ChatMessage(ChatRole.Assistant, response.Text + "!"))
        {
            AdditionalProperties = response.AdditionalProperties,
        };
        var r = await client.VerifyReceiptAsync(changed);
        Assert.Equal(ReceiptFailure.AnswerHashMismatch, r.Failure);
        Assert.True((await client.VerifyReceiptAsync(response)).IsValid);
    }

    [Fact]
    public async Task The_receipt_also_proves_the_question_when_the_messages_are_given()
    {
        using var client = node.Client();
        List<ChatMessage> asked = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hello, explain tides")];
        var response = await client.GetResponseAsync(asked, FederationClientTests.Short);
        var r = await client.VerifyReceiptAsync(response, asked);
        Assert.True(r.IsValid, r.ToString());
        Assert.Contains("query_sha256", r.Reason, StringComparison.Ordinal);
        var other = await client.VerifyReceiptAsync(response, [new ChatMessage(ChatRole.User, "hello, explain waves")]);
        Assert.Equal(ReceiptFailure.QueryHashMismatch, other.Failure);
    }

    [Fact]
    public async Task A_tampered_inclusion_proof_is_rejected()
    {
        using var setup = node.Client();
        await AskAsync(setup); // at least two entries, so every proof has a path
        var response = await AskAsync(setup);
        using var http = new HttpClient(new TamperingHandler(o =>
        {
            var path = o["path"]!.AsArray();
            var h = Convert.FromHexString(path[0]!.GetValue<string>());
            h[0] ^= 1;
            path[0] = Convert.ToHexStringLower(h);
        }));
        using var client = node.Client(http: http);
        var r = await client.VerifyReceiptAsync(response);
        Assert.Equal(ReceiptFailure.InclusionProofInvalid, r.Failure);
    }

    [Fact]
    public async Task A_ledger_entry_altered_in_transit_is_rejected()
    {
        using var setup = node.Client();
        var response = await AskAsync(setup);
        var realHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("something else")));
        using var http = new HttpClient(new TamperingHandler(o => o["entry"]!["payload"]!["answer_sha256"] = realHash));
        using var client = node.Client(http: http);
        var r = await client.VerifyReceiptAsync(response);
        Assert.Equal(ReceiptFailure.EntryInvalid, r.Failure);
    }

    [Fact]
    public async Task A_response_without_a_receipt_is_reported_as_such()
    {
        using var client = node.Client();
        var r = await client.VerifyReceiptAsync(new ChatResponse(new ChatMessage(ChatRole.Assistant, "hi")));
        Assert.Equal(ReceiptFailure.NoReceipt, r.Failure);
    }

    [Fact]
    public async Task Later_receipts_check_consistency_with_the_head_seen_before_and_advance_it()
    {
        var heads = new InMemoryTreeHeadStore();
        using var client = node.Client(heads: heads);
        var first = await client.VerifyReceiptAsync(await AskAsync(client));
        Assert.True(first.IsValid, first.ToString());
        var seen = heads.Get(node.NodeKey)!;
        await AskAsync(client);
        var second = await client.VerifyReceiptAsync(await AskAsync(client));
        Assert.True(second.IsValid, second.ToString());
        Assert.True(heads.Get(node.NodeKey)!.TreeSize >= seen.TreeSize + 2);
        var check = await client.CheckConsistencyAsync(seen, heads.Get(node.NodeKey)!);
        Assert.True(check.IsConsistent, check.Reason);
    }

    [Fact]
    public async Task A_node_that_rewrote_its_history_is_caught_by_the_consistency_check()
    {
        using var setup = node.Client();
        await AskAsync(setup);
        await AskAsync(setup);
        var now = await setup.GetTreeHeadAsync();
        // What the client saw earlier: a head over the first entries, validly signed by the node key, but with a root
        // the node's present ledger does not extend (the node served different entries then).
        using var key = node.LoadNodeSigningKey();
        var fakeRoot = new byte[32];
        fakeRoot[0] = 0x42;
        var earlier = TreeHead.Parse(SignedTreeHead.Create(now.TreeSize - 1, fakeRoot, now.Timestamp - 1000, key).ToJson().ToJsonString());
        Assert.Null(earlier.Verify(NodeId.Parse(node.NodeKey)));
        var heads = new InMemoryTreeHeadStore();
        heads.Set(node.NodeKey, earlier);

        using var client = node.Client(heads: heads);
        var r = await client.VerifyReceiptAsync(await AskAsync(client));
        Assert.Equal(ReceiptFailure.ConsistencyFailed, r.Failure);
        Assert.Contains("history rewritten", r.Reason, StringComparison.Ordinal);
        Assert.Same(earlier, heads.Get(node.NodeKey)); // a rejected head is not remembered
    }

    [Fact]
    public async Task A_node_whose_ledger_shrank_is_caught()
    {
        using var setup = node.Client();
        await AskAsync(setup);
        var now = await setup.GetTreeHeadAsync();
        using var key = node.LoadNodeSigningKey();
        var bigger = TreeHead.Parse(SignedTreeHead.Create(now.TreeSize + 100, new byte[32], now.Timestamp, key).ToJson().ToJsonString());
        var check = await setup.CheckConsistencyAsync(bigger, now);
        Assert.False(check.IsConsistent);
        Assert.Contains("shrank", check.Reason, StringComparison.Ordinal);
    }

    /// <summary>Rewrites the JSON of inclusion-proof responses on the way to the client (a lying node or a man in the middle).</summary>
    private sealed class TamperingHandler(Action<JsonObject> tamper) : DelegatingHandler(new HttpClientHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/proof", StringComparison.Ordinal)) return response;
            var o = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
            tamper(o);
            response.Content = new StringContent(o.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            return response;
        }
    }
}
