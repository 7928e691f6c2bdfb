namespace Federation.Client.Tests;

/// <summary>The two samples under client/samples, run through their entry points against the real node.</summary>
[Collection("node")]
public sealed class SampleTests(NodeFixture node)
{
    [Fact]
    public async Task The_semantic_kernel_sample_chats_through_the_kernel_and_verifies_the_receipt()
    {
        var output = new StringWriter();
        var code = await Samples.SemanticKernelChat.Program.RunAsync(node.BaseUrl, node.ApiKey, node.NodeKey, offerTools: false, output);
        Assert.True(code == 0, output.ToString());
        Assert.Matches(@"native function ledger\.tree_size: \d+", output.ToString());
        Assert.Contains("receipt verified", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_semantic_kernel_sample_calls_its_native_function_as_a_tool_and_verifies_the_final_receipt()
    {
        var output = new StringWriter();
        var code = await Samples.SemanticKernelChat.Program.RunAsync(node.BaseUrl, node.ApiKey, node.NodeKey, offerTools: true, output);
        Assert.True(code == 0, output.ToString());
        Assert.Matches(@"tool call: \S*tree_size \(call_[0-9a-f]{24}\), finish tool_calls", output.ToString());
        Assert.Matches(@"tool result: \d+", output.ToString());
        Assert.Contains("receipt verified", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openai_sdk_sample_answers_and_verifies_the_receipt_with_federation_client()
    {
        var output = new StringWriter();
        var code = await Samples.OpenAiReceipt.Program.RunAsync(node.BaseUrl, node.ApiKey, node.NodeKey, "Explain recursion in one sentence.", output);
        Assert.True(code == 0, output.ToString());
        Assert.Contains("receipt verified", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openai_sdk_sample_exits_3_when_the_pinned_key_is_not_the_nodes()
    {
        using var other = Federation.Registry.Crypto.NodeKey.Generate();
        var output = new StringWriter();
        var code = await Samples.OpenAiReceipt.Program.RunAsync(node.BaseUrl, node.ApiKey, other.NodeId.ToString(), "hello", output);
        Assert.Equal(3, code);
        Assert.Contains("TreeHeadSignatureInvalid", output.ToString(), StringComparison.Ordinal);
    }
}
