using Federation.Canaries.Audit;

namespace Federation.Canaries.Tests;

public sealed class AuditMathTests
{
    private static readonly byte[] Seed = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Minimum_audit_rate_is_gain_over_gain_plus_penalty_and_makes_cheating_break_even()
    {
        Assert.Equal(0.2, AuditRate.Minimum(1, 4), 15);
        Assert.Equal(0, AuditRate.Minimum(0, 5));
        Assert.Equal(1, AuditRate.Minimum(5, 0));
        var r = AuditRate.Minimum(3, 7);
        Assert.Equal(0, AuditRate.CheatingExpectedValue(r, 3, 7), 12);
        Assert.True(AuditRate.CheatingExpectedValue(r + 0.01, 3, 7) < 0);
        Assert.True(AuditRate.CheatingExpectedValue(r - 0.01, 3, 7) > 0);
        Assert.False(AuditRate.Deters(r, 3, 7));
        Assert.True(AuditRate.Deters(r + 1e-9, 3, 7));
        Assert.Equal(0.45, AuditRate.Recommended(3, 7), 12);
        Assert.Equal(1, AuditRate.Recommended(9, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditRate.Minimum(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditRate.Minimum(-1, 1));
    }

    [Fact]
    public void Self_sampling_hits_the_rate_within_sampling_error_and_is_deterministic()
    {
        var hits = Enumerable.Range(0, 20000).Count(i => AuditRate.ShouldAudit(Seed, "req-" + i, 0.1));
        Assert.InRange(hits, 1800, 2200);
        Assert.Equal(AuditRate.ShouldAudit(Seed, "req-42", 0.5), AuditRate.ShouldAudit(Seed, "req-42", 0.5));
        Assert.False(AuditRate.ShouldAudit(Seed, "x", 0));
        Assert.True(AuditRate.ShouldAudit(Seed, "x", 1));
    }

    [Fact]
    public void Sample_is_a_deterministic_function_of_seed_and_battery_and_independent_of_battery_order()
    {
        var battery = Enumerable.Range(0, 100).Select(i => $"h{i:000}").ToList();
        var a = AuditSampling.Sample(Seed, battery, 10);
        var b = AuditSampling.Sample(Seed, Enumerable.Reverse(battery), 10);
        Assert.Equal(a, b);
        Assert.Equal(10, a.Distinct().Count());
        var other = AuditSampling.Sample(Enumerable.Repeat((byte)9, 32).ToArray(), battery, 10);
        Assert.NotEqual(a, other);
        Assert.Equal(battery.Count, AuditSampling.Sample(Seed, battery, 500).Count);
        // The rule, spelled out: rank by SHA-256(seed ‖ UTF-8(handle)).
        var first = battery.OrderBy(h => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. Seed, .. System.Text.Encoding.UTF8.GetBytes(h)])), StringComparer.Ordinal).First();
        Assert.Equal(first, a[0]);
    }

    [Fact]
    public void Seed_commitment_is_sha256_of_the_seed()
    {
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Seed)), AuditSampling.Commitment(Seed));
    }
}
