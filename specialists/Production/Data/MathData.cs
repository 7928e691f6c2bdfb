using System.Globalization;
using Federation.Specialists.Models;

namespace Federation.Specialists.Production.Data;

/// <summary>
/// The <c>math</c> topic (issue 9: T1/A): integer + and − of two operands, asked as <c>What is A + B?</c>,
/// <c>Compute A - B</c> or <c>A+B=</c>; the answer is the result alone. The held-out split is by operand pair: a pair
/// whose <see cref="IsHeldOutPair"/> is true never appears in training, in any form, so evaluation uses fresh operands.
/// </summary>
public static class MathData
{
    /// <summary>The three question forms; <c>{0}</c> = A, <c>{1}</c> = operator, <c>{2}</c> = B.</summary>
    public static readonly IReadOnlyList<string> Forms = ["What is {0} {1} {2}?", "Compute {0} {1} {2}", "{0}{1}{2}="];

    /// <summary>One in <paramref name="heldOutOneIn"/> operand pairs is held out, chosen by a hash of the pair (not by the draw).</summary>
    public static bool IsHeldOutPair(int a, int b, int heldOutOneIn = 10) =>
        (SplitMix64Hash(((ulong)(uint)a << 32) | (uint)b) % (ulong)heldOutOneIn) == 0;

    /// <summary>
    /// <paramref name="train"/> training and <paramref name="heldOut"/> held-out examples with operands in
    /// 0..<paramref name="maxOperand"/>, drawn from <paramref name="seed"/>; form and operator are drawn per example.
    /// The result of − may be negative (the checker reads a leading minus).
    /// </summary>
    public static Dataset Generate(int train, int heldOut, int maxOperand = 999, ulong seed = 1, string name = "math")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxOperand);
        var rng = new SplitMix64(seed);
        var list = new List<TopicExample>(train + heldOut);
        var seen = new HashSet<(int A, int B, char Op, int Form)>();
        int nTrain = 0, nHeld = 0, guard = 0;
        while ((nTrain < train || nHeld < heldOut) && guard++ < 100 * (train + heldOut) + 1000)
        {
            var a = (int)(rng.NextUInt64() % (ulong)(maxOperand + 1));
            var b = (int)(rng.NextUInt64() % (ulong)(maxOperand + 1));
            var op = rng.NextUInt64() % 2 == 0 ? '+' : '-';
            var form = (int)(rng.NextUInt64() % (ulong)Forms.Count);
            var held = IsHeldOutPair(a, b);
            if (held ? nHeld >= heldOut : nTrain >= train) continue;
            // Distinct questions first; a small operand space (the test profile) may repeat once it is used up.
            if (!seen.Add((a, b, op, form)) && guard < 20 * (train + heldOut)) continue;
            list.Add(Example(a, b, op, form, held ? DatasetSplit.HeldOut : DatasetSplit.Train));
            if (held) nHeld++; else nTrain++;
        }
        if (nTrain < train || nHeld < heldOut)
            throw new ArgumentException($"operands 0..{maxOperand} cannot give {train} training and {heldOut} held-out examples (got {nTrain} and {nHeld}); raise maxOperand or ask for fewer.");
        return new Dataset(name, "math", list);
    }

    /// <summary>One example: question in form <paramref name="form"/>, answer = the exact integer result.</summary>
    public static TopicExample Example(int a, int b, char op, int form, DatasetSplit split)
    {
        var r = op == '+' ? a + b : a - b;
        var q = string.Format(CultureInfo.InvariantCulture, Forms[form], a, op, b);
        return new TopicExample("math", q, r.ToString(CultureInfo.InvariantCulture), split);
    }

    private static ulong SplitMix64Hash(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
