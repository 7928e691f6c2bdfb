using System.Security.Cryptography;
using Federation.Bench.Fuzz;

namespace Federation.Bench;

/// <summary>
/// <c>fuzz [seconds] [target] [--seed N]</c>: the readers of untrusted bytes (see <see cref="FuzzTargets"/>), each for
/// <c>seconds</c> (default 60). Crash inputs are written to <c>fuzz-crashes/</c>; exit 1 when any target crashed.
/// </summary>
internal static class FuzzBench
{
    public static int Run(string[] args)
    {
        var seconds = 60;
        string? only = null;
        var seed = RandomNumberGenerator.GetInt32(int.MaxValue);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--seed" && i + 1 < args.Length && int.TryParse(args[++i], out var s)) seed = s;
            else if (int.TryParse(args[i], out var sec) && sec > 0) seconds = sec;
            else if (FuzzTargets.All.Any(t => t.Name == args[i])) only = args[i];
            else
            {
                Console.Error.WriteLine($"fed bench: unknown fuzz argument '{args[i]}'; usage: fuzz [seconds] [{string.Join('|', FuzzTargets.All.Select(t => t.Name))}] [--seed N]");
                return 2;
            }
        }
        Console.WriteLine($"fuzz: seed {seed}, {seconds} s per target");
        var failed = false;
        foreach (var t in FuzzTargets.All.Where(t => only is null || t.Name == only))
        {
            var r = Fuzzer.Run(t, seed, long.MaxValue, TimeSpan.FromSeconds(seconds));
            Console.WriteLine($"{t.Name,-16} {r.Executions,10} execs  {r.Executions / Math.Max(0.001, r.Elapsed.TotalSeconds),9:F0}/s  typed errors {r.Typed,9}  crashes {r.Crashes.Count}");
            foreach (var c in r.Crashes)
            {
                failed = true;
                Directory.CreateDirectory("fuzz-crashes");
                var file = Path.Combine("fuzz-crashes", $"{t.Name}-{Convert.ToHexStringLower(SHA256.HashData(c.Input))[..12]}.bin");
                File.WriteAllBytes(file, c.Input);
                Console.WriteLine($"  CRASH {c.Error.GetType().Name}: {c.Error.Message} -> {file}");
            }
        }
        return failed ? 1 : 0;
    }
}
