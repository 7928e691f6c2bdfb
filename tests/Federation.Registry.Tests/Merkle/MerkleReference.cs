using System.Security.Cryptography;

namespace Federation.Registry.Tests.Merkle;

/// <summary>A straightforward recursive RFC 9162 §2.1 reference (MTH, PATH, PROOF), independent of the production code.</summary>
internal static class MerkleReference
{
    public static byte[] Leaf(byte[] d) => SHA256.HashData([0x00, .. d]);
    public static byte[] Node(byte[] l, byte[] r) => SHA256.HashData([0x01, .. l, .. r]);

    private static int K(int n) { int k = 1; while (k * 2 < n) k *= 2; return k; }

    public static byte[] Mth(byte[][] d) => d.Length switch
    {
        0 => SHA256.HashData(ReadOnlySpan<byte>.Empty),
        1 => Leaf(d[0]),
        _ => Node(Mth(d[..K(d.Length)]), Mth(d[K(d.Length)..])),
    };

    public static List<byte[]> Path(int m, byte[][] d)
    {
        if (d.Length <= 1) return [];
        int k = K(d.Length);
        if (m < k) return [.. Path(m, d[..k]), Mth(d[k..])];
        return [.. Path(m - k, d[k..]), Mth(d[..k])];
    }

    public static List<byte[]> Proof(int m, byte[][] d) => m == 0 || m == d.Length ? [] : SubProof(m, d, true);

    private static List<byte[]> SubProof(int m, byte[][] d, bool b)
    {
        if (m == d.Length) return b ? [] : [Mth(d)];
        int k = K(d.Length);
        if (m <= k) return [.. SubProof(m, d[..k], b), Mth(d[k..])];
        return [.. SubProof(m - k, d[k..], false), Mth(d[..k])];
    }

    /// <summary>64 deterministic leaves of varied lengths (the first is empty).</summary>
    public static byte[][] Leaves(int count) =>
        [.. Enumerable.Range(0, count).Select(i => SHA256.HashData(BitConverter.GetBytes(i))[..(i % 33)])];
}
