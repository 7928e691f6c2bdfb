using Federation.Canaries.Audit;

namespace Federation.Canaries.Tests;

/// <summary>
/// Frozen values an independent implementation must reproduce from docs/canaries.md. If one changes, published
/// commitments and audit records stop verifying: change the format version instead. Both values were computed
/// independently with Python hashlib from the formulas in the doc.
/// </summary>
public sealed class FrozenFormatTests
{
    private static readonly byte[] Salt = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Commitment_of_the_documented_example_is_frozen()
    {
        var c = TestCanaries.Exact(v: CanaryVisibility.Secret);
        Assert.Equal("86a06cad6881bcd2c8be8c48e025935e49cd0bb791110ea0a3fafd239355014e", CanaryCommitment.Compute(Salt, c));
    }

    [Fact]
    public void Sample_order_for_a_fixed_seed_is_frozen()
    {
        var battery = Enumerable.Range(0, 8).Select(i => $"h{i}").ToList();
        Assert.Equal("h7,h0,h2,h5", string.Join(",", AuditSampling.Sample(Salt, battery, 4)));
    }
}
