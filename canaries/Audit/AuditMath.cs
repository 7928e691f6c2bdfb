using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Federation.Canaries.Audit;

/// <summary>
/// Commit-reveal sampling of an audit battery (seed §"Canary lifecycle": "commit-reveal with unpredictable sampling").
/// The auditor draws a 32-byte seed, publishes SHA-256(seed) first, then samples: every battery handle is ranked by
/// SHA-256(seed ‖ UTF-8(handle)) (bytes compared unsigned, big-endian; ties by handle, ordinal) and the first n are
/// taken in that order. Anyone holding the revealed seed and the battery re-derives exactly the same sample.
/// </summary>
public static class AuditSampling
{
    /// <summary>Seed length in bytes.</summary>
    public const int SeedLength = 32;

    /// <summary>A fresh seed from the OS generator.</summary>
    public static byte[] NewSeed() => RandomNumberGenerator.GetBytes(SeedLength);

    /// <summary>SHA-256(seed) as lowercase hex: what is published before sampling.</summary>
    public static string Commitment(ReadOnlySpan<byte> seed) => Convert.ToHexStringLower(SHA256.HashData(seed));

    /// <summary>The first <paramref name="n"/> handles by keyed rank (all of them if fewer).</summary>
    public static IReadOnlyList<string> Sample(ReadOnlySpan<byte> seed, IEnumerable<string> battery, int n)
    {
        ArgumentNullException.ThrowIfNull(battery);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var s = seed.ToArray();
        return [.. battery.Distinct(StringComparer.Ordinal)
            .Select(h => (Handle: h, Rank: Rank(s, h)))
            .OrderBy(x => x.Rank, RankComparer.Instance).ThenBy(x => x.Handle, StringComparer.Ordinal)
            .Take(n).Select(x => x.Handle)];
    }

    private static byte[] Rank(byte[] seed, string handle)
    {
        var h = Encoding.UTF8.GetBytes(handle);
        var buf = new byte[seed.Length + h.Length];
        seed.CopyTo(buf, 0);
        h.CopyTo(buf, seed.Length);
        return SHA256.HashData(buf);
    }

    private sealed class RankComparer : IComparer<byte[]>
    {
        public static readonly RankComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}

/// <summary>
/// The random audit rate (seed §9.3): a cheat gains G when not audited and loses P (slashed stake, lost reputation) when
/// audited at rate r, so its expected value is (1 − r)·G − r·P, negative exactly when r &gt; G / (G + P).
/// </summary>
public static class AuditRate
{
    /// <summary>The break-even rate G / (G + P); any rate above it makes cheating a loss.</summary>
    /// <exception cref="ArgumentOutOfRangeException">G &lt; 0, P &lt; 0, G + P = 0, or not finite.</exception>
    public static double Minimum(double gain, double penalty)
    {
        if (!double.IsFinite(gain) || gain < 0) throw new ArgumentOutOfRangeException(nameof(gain), gain, "the gain from cheating must be a finite number ≥ 0.");
        if (!double.IsFinite(penalty) || penalty < 0) throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "the penalty when caught must be a finite number ≥ 0.");
        if (gain + penalty == 0) throw new ArgumentOutOfRangeException(nameof(penalty), "gain and penalty are both 0: nothing to deter, no rate is defined.");
        return gain / (gain + penalty);
    }

    /// <summary>The expected value of cheating, (1 − r)·G − r·P.</summary>
    public static double CheatingExpectedValue(double rate, double gain, double penalty) => (1 - rate) * gain - rate * penalty;

    /// <summary>Whether <paramref name="rate"/> makes cheating strictly unprofitable (r &gt; G/(G+P)).</summary>
    public static bool Deters(double rate, double gain, double penalty) => rate > Minimum(gain, penalty);

    /// <summary>
    /// The rate to run at: the break-even rate times a safety margin (≥ 1, e.g. 1.5), capped at 1. A node's gate
    /// samples its own traffic at it with <see cref="ShouldAudit"/>.
    /// </summary>
    public static double Recommended(double gain, double penalty, double margin = 1.5)
    {
        if (!(margin >= 1)) throw new ArgumentOutOfRangeException(nameof(margin), margin, "the safety margin must be ≥ 1.");
        return Math.Min(1, Minimum(gain, penalty) * margin);
    }

    /// <summary>
    /// A deterministic, unpredictable-without-the-seed draw: audit when the first 8 bytes of
    /// SHA-256(seed ‖ UTF-8(requestId)), read big-endian as u64 and divided by 2^64, are below <paramref name="rate"/>.
    /// </summary>
    public static bool ShouldAudit(ReadOnlySpan<byte> seed, string requestId, double rate)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (rate <= 0) return false;
        if (rate >= 1) return true;
        var id = Encoding.UTF8.GetBytes(requestId);
        var buf = new byte[seed.Length + id.Length];
        seed.CopyTo(buf);
        id.CopyTo(buf, seed.Length);
        var u = BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(buf));
        return u / 18446744073709551616.0 < rate;
    }
}
