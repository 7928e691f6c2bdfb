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
    public static Dataset Generate(int train, int heldOut, int maxOperand = 999, ulong seed = 1, string name = "math",
        MathFormat format = MathFormat.Answer, bool mixedDigits = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxOperand);
        var rng = new SplitMix64(seed);
        var list = new List<TopicExample>(train + heldOut);
        var seen = new HashSet<(int A, int B, char Op, int Form)>();
        int nTrain = 0, nHeld = 0, guard = 0;
        while ((nTrain < train || nHeld < heldOut) && guard++ < 100 * (train + heldOut) + 1000)
        {
            var a = Operand(rng, maxOperand, mixedDigits);
            var b = Operand(rng, maxOperand, mixedDigits);
            var op = rng.NextUInt64() % 2 == 0 ? '+' : '-';
            var form = (int)(rng.NextUInt64() % (ulong)Forms.Count);
            var held = IsHeldOutPair(a, b);
            if (held ? nHeld >= heldOut : nTrain >= train) continue;
            // Distinct questions first; a small operand space (the test profile) may repeat once it is used up.
            if (!seen.Add((a, b, op, form)) && guard < 20 * (train + heldOut)) continue;
            // Held-out answers stay the bare result whatever the format: they are the checker's reference, not training text.
            list.Add(held || format == MathFormat.Answer
                ? Example(a, b, op, form, held ? DatasetSplit.HeldOut : DatasetSplit.Train)
                : StepsExample(a, b, op, form));
            if (held) nHeld++; else nTrain++;
        }
        if (nTrain < train || nHeld < heldOut)
            throw new ArgumentException($"operands 0..{maxOperand} cannot give {train} training and {heldOut} held-out examples (got {nTrain} and {nHeld}); raise maxOperand or ask for fewer.");
        return new Dataset(name, "math", list);
    }

    /// <summary>
    /// One operand in 0..<paramref name="maxOperand"/>. Uniform, or with <paramref name="mixedDigits"/> half of the draws
    /// uniform and half with a uniformly drawn digit count first: uniform draws over 0..999 are 90 % three-digit numbers,
    /// so a model trained on them alone fails questions such as <c>What is 37 + 48?</c> (measured: issue 9's own
    /// examples were withheld by the checker).
    /// </summary>
    private static int Operand(SplitMix64 rng, int maxOperand, bool mixedDigits)
    {
        var uniform = (int)(rng.NextUInt64() % (ulong)(maxOperand + 1));
        if (!mixedDigits || rng.NextUInt64() % 2 == 0) return uniform;
        var maxDigits = maxOperand.ToString(CultureInfo.InvariantCulture).Length;
        var digits = 1 + (int)(rng.NextUInt64() % (ulong)maxDigits);
        var lo = digits == 1 ? 0 : (int)Math.Pow(10, digits - 1);
        var hi = Math.Min(maxOperand, (int)Math.Pow(10, digits) - 1);
        return lo + (int)(rng.NextUInt64() % (ulong)(hi - lo + 1));
    }

    /// <summary>One example: question in form <paramref name="form"/>, answer = the exact integer result.</summary>
    public static TopicExample Example(int a, int b, char op, int form, DatasetSplit split)
    {
        var r = op == '+' ? a + b : a - b;
        var q = string.Format(CultureInfo.InvariantCulture, Forms[form], a, op, b);
        return new TopicExample("math", q, r.ToString(CultureInfo.InvariantCulture), split);
    }

    /// <summary>A training example whose answer is <see cref="Steps"/> (the worked digits, then the result).</summary>
    public static TopicExample StepsExample(int a, int b, char op, int form) =>
        new("math", string.Format(CultureInfo.InvariantCulture, Forms[form], a, op, b), Steps(a, op, b), DatasetSplit.Train);

    /// <summary>
    /// The worked answer of <see cref="MathFormat.Steps"/> for operands 0..999: fixed length per operator, so every
    /// token depends on a few tokens at fixed distances (or, for the operand digits, on a digit found by content).
    /// <list type="number">
    /// <item>the digit counts of A and B (<c>22</c> for 37 and 48): with them the digit of place i is "the digit of A
    /// with position count−i from the left", a match by content rather than by a distance that varies with the form;</item>
    /// <item>three steps, units first. For +: a_i b_i r_i c_(i+1) (digits, sum digit, carry). For −: a_i b_i, then the
    /// digit and borrow of A−B, then the digit and borrow of B−A (both, so the sign is known at the end without a
    /// comparison first);</item>
    /// <item><c> =</c> and the result right-aligned in four characters (leading zeros as spaces, a minus sign before
    /// the first digit when A−B borrowed out of the hundreds). The result is the last integer, as the checker reads it.</item>
    /// </list>
    /// <c>37 + 48</c> → <c> 22 7851 3480 0000 =  85</c>; <c>37 - 91</c> → <c> 22 716041 394150 009100 = -54</c>.
    /// </summary>
    public static string Steps(int a, char op, int b)
    {
        if (a is < 0 or > 999 || b is < 0 or > 999) throw new ArgumentOutOfRangeException(nameof(a), $"the worked format covers operands 0..999 (got {a} and {b}).");
        if (op is not ('+' or '-')) throw new ArgumentException($"operator must be + or - (got '{op}').", nameof(op));
        static int Digit(int x, int place) => place switch { 0 => x % 10, 1 => x / 10 % 10, _ => x / 100 % 10 };
        static int Length(int x) => x.ToString(CultureInfo.InvariantCulture).Length;
        var sb = new System.Text.StringBuilder(32);
        sb.Append(' ').Append(Length(a)).Append(Length(b));
        int carry = 0, borrowAB = 0, borrowBA = 0;
        var digits = new int[4];
        var other = new int[4];
        for (var i = 0; i < 3; i++)
        {
            int ai = Digit(a, i), bi = Digit(b, i);
            sb.Append(' ').Append(ai).Append(bi);
            if (op == '+')
            {
                var s = ai + bi + carry;
                digits[i] = s % 10;
                carry = s / 10;
                sb.Append(digits[i]).Append(carry);
            }
            else
            {
                var d = ai - bi - borrowAB;
                borrowAB = d < 0 ? 1 : 0;
                digits[i] = d + (10 * borrowAB);
                var e = bi - ai - borrowBA;
                borrowBA = e < 0 ? 1 : 0;
                other[i] = e + (10 * borrowBA);
                sb.Append(digits[i]).Append(borrowAB).Append(other[i]).Append(borrowBA);
            }
        }
        var negative = false;
        if (op == '+') digits[3] = carry;
        else if (borrowAB == 1)
        {
            negative = true;
            digits = other;
        }
        var high = 0;
        for (var p = 3; p >= 0; p--)
            if (digits[p] != 0) { high = p; break; }
        sb.Append(" =");
        for (var p = 3; p >= 0; p--)
            sb.Append(p <= high ? (char)('0' + digits[p]) : negative && p == high + 1 ? '-' : ' ');
        return sb.ToString();
    }

    private static ulong SplitMix64Hash(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>How a math training answer is written (held-out answers are always the bare result, the checker's reference).</summary>
public enum MathFormat
{
    /// <summary>The result alone (<c>85</c>): the default, and what a base corpus sees.</summary>
    Answer,

    /// <summary>The worked digits, then the result (<see cref="MathData.Steps"/>).</summary>
    Steps,
}
