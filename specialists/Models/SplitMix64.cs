namespace Federation.Specialists.Models;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator whose output is fixed by its definition, unlike
/// <see cref="System.Random"/> whose algorithm may change between .NET versions. Model files must be byte-identical for
/// a seed forever, so every random weight comes from here, using only integer and exactly-rounded float arithmetic.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A float uniform in [0, 1) with 24 random bits (exact, platform-independent).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A float uniform in [-limit, limit).</summary>
    public float NextSymmetric(float limit) => ((NextFloat() * 2f) - 1f) * limit;

    /// <summary>
    /// A generator for one named stream derived from <paramref name="seed"/>, so each tensor's values do not depend on
    /// the order tensors are generated in. The name is hashed with FNV-1a over its UTF-8 bytes.
    /// </summary>
    public static SplitMix64 ForStream(ulong seed, string name)
    {
        var h = 0xCBF29CE484222325UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }
        var mixer = new SplitMix64(seed);
        return new SplitMix64(mixer.NextUInt64() ^ h);
    }
}
