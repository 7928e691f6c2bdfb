using System.Diagnostics;

namespace Federation.Bench.Fuzz;

/// <summary>
/// One reader under fuzzing: seed inputs (valid ones), a dictionary of tokens worth splicing in, the call, and the typed
/// error the reader documents. Any other exception is a crash.
/// </summary>
public sealed record FuzzTarget(string Name, IReadOnlyList<byte[]> Seeds, IReadOnlyList<byte[]> Dictionary, Action<byte[]> Run, Func<Exception, bool> IsTyped)
{
    /// <summary>
    /// Crashes found and reported but not fixed yet because the reader belongs to code this change may not edit; they
    /// are counted apart (<see cref="FuzzReport.Known"/>) and each keeps a regression input that must still reproduce it.
    /// </summary>
    public IReadOnlyList<KnownCrash> Known { get; init; } = [];
}

/// <summary>A reported, unfixed crash: how to recognise it, why it is open, and an input that shows it.</summary>
public sealed record KnownCrash(string Note, Func<Exception, bool> Matches, byte[] Regression);

/// <summary>An input that made the reader throw something other than its typed error.</summary>
public sealed record FuzzCrash(string Target, byte[] Input, Exception Error)
{
    public override string ToString() =>
        $"{Target}: {Error.GetType().Name}: {Error.Message} at {string.Join(" < ", (Error.StackTrace ?? "").Split('\n').Take(4).Select(l => l.Trim()))} on input (base64) {Convert.ToBase64String(Input)}";
}

/// <summary>What a run did: executions, how many ended in the typed error, and the crashes (distinct by exception type and site).</summary>
public sealed record FuzzReport(string Target, long Executions, long Typed, TimeSpan Elapsed, IReadOnlyList<FuzzCrash> Crashes, long Known = 0);

/// <summary>
/// A seeded mutational fuzzer that runs in-process: each input is a seed with 1–8 mutations (bit flips, interesting
/// bytes, inserted, deleted and duplicated chunks, dictionary tokens, splices with another seed, truncation).
/// Why not SharpFuzz: it needs an AFL-instrumented assembly and the afl-fuzz driver, which this build does not have;
/// a seeded generator gives the same property (only the typed error, never another exception), runs in the test
/// suite with fixed seeds (bit-for-bit the same inputs every run), and longer from <c>bench fuzz</c>.
/// </summary>
public static class Fuzzer
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0xC0, 0xED, 0xF4, (byte)'"', (byte)'\\', (byte)'{', (byte)'[', (byte)'9', (byte)'\n'];

    /// <summary>
    /// Runs <paramref name="target"/> on generated inputs until <paramref name="maxExecutions"/> or <paramref name="budget"/>
    /// is reached (the suite bounds by executions, so its inputs do not depend on machine speed).
    /// </summary>
    public static FuzzReport Run(FuzzTarget target, int seed, long maxExecutions, TimeSpan budget, int maxCrashes = 5)
    {
        var rng = new Random(seed);
        var crashes = new List<FuzzCrash>();
        var sites = new HashSet<string>(StringComparer.Ordinal);
        long execs = 0, typed = 0, known = 0;
        var sw = Stopwatch.StartNew();
        // the seeds themselves first: they must pass or fail with the typed error too
        foreach (var s in target.Seeds) Exec(s);
        while (execs < maxExecutions && sw.Elapsed < budget && crashes.Count < maxCrashes)
            Exec(Mutate(target, rng));
        return new FuzzReport(target.Name, execs, typed, sw.Elapsed, crashes, known);

        void Exec(byte[] input)
        {
            execs++;
            try
            {
                target.Run(input);
            }
            catch (Exception e) when (target.IsTyped(e))
            {
                typed++;
            }
            catch (Exception e) when (target.Known.Any(k => k.Matches(e)))
            {
                known++;
            }
            catch (Exception e)
            {
                var site = e.GetType().FullName + "@" + (e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "");
                if (sites.Add(site)) crashes.Add(new FuzzCrash(target.Name, input, e));
            }
        }
    }

    /// <summary>A seed with 1–8 random mutations.</summary>
    public static byte[] Mutate(FuzzTarget target, Random rng)
    {
        var data = new List<byte>(target.Seeds[rng.Next(target.Seeds.Count)]);
        var n = 1 + rng.Next(8);
        for (var i = 0; i < n; i++)
        {
            var pos = data.Count == 0 ? 0 : rng.Next(data.Count + 1);
            switch (rng.Next(9))
            {
                case 0 when data.Count > 0:
                    var p = Math.Min(pos, data.Count - 1);
                    data[p] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[Math.Min(pos, data.Count - 1)] = Interesting[rng.Next(Interesting.Length)];
                    break;
                case 2:
                    var bytes = new byte[1 + rng.Next(8)];
                    rng.NextBytes(bytes);
                    data.InsertRange(pos, bytes);
                    break;
                case 3 when data.Count > 0:
                    var del = Math.Min(1 + rng.Next(16), data.Count - Math.Min(pos, data.Count - 1));
                    data.RemoveRange(Math.Min(pos, data.Count - 1), del);
                    break;
                case 4 when data.Count > 0:
                    // duplicate a chunk: nesting bombs and repeated keys come from here
                    var from = rng.Next(data.Count);
                    var len = Math.Min(1 + rng.Next(64), data.Count - from);
                    var chunk = data.GetRange(from, len);
                    for (var k = rng.Next(1, 40); k > 0; k--) data.InsertRange(pos, chunk);
                    break;
                case 5 when target.Dictionary.Count > 0:
                case 6 when target.Dictionary.Count > 0:
                    data.InsertRange(pos, target.Dictionary[rng.Next(target.Dictionary.Count)]);
                    break;
                case 7:
                    var other = target.Seeds[rng.Next(target.Seeds.Count)];
                    var cut = rng.Next(other.Length + 1);
                    data.RemoveRange(pos, data.Count - pos);
                    data.AddRange(other.AsSpan(cut).ToArray());
                    break;
                case 8 when data.Count > 0:
                    data.RemoveRange(pos, data.Count - pos);
                    break;
            }
        }
        return data.ToArray();
    }
}
