using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Federation.Node;
using Federation.Registry.Crypto;
using Federation.Registry.Ledger;

namespace Federation.Bench;

/// <summary>
/// <c>killtest [trials] [--seed N] [--max-acks N]</c> (default 100 trials): the ledger's kill -9 test as a long run. Each
/// trial starts <c>fed ledger append --count 1000000</c> on one data dir, reads receipts (a receipt is printed only once
/// the entry is durable: an acknowledged entry), sends SIGKILL after a seeded random number of them, then reopens the
/// ledger and times recovery (open, which repairs a torn tail, and full verification), and checks that every
/// acknowledged index holds the acknowledged leaf hash. Reports acknowledged entries lost (goal 0); exit 1 if any was lost
/// or verification failed. The test suite runs three trials (LedgerCommandsTests).
/// </summary>
internal static class KillTestBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var trials = 100;
        var seed = 1;
        var maxAcks = 2000;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--seed" && i + 1 < args.Length) seed = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--max-acks" && i + 1 < args.Length) maxAcks = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (int.TryParse(args[i], out var t) && t > 0) trials = t;
            else
            {
                Console.Error.WriteLine($"fed bench: unknown killtest argument '{args[i]}'; usage: killtest [trials] [--seed N] [--max-acks N]");
                return 2;
            }
        }
        var dir = Directory.CreateTempSubdirectory("fed-killtest-").FullName;
        try
        {
            using (new NodeKeyStore(dir).LoadOrCreate().Key) { }
            var payload = Path.Combine(dir, "payload.json");
            File.WriteAllText(payload, """{"kill":"test","pad":"0123456789abcdef0123456789abcdef"}""");
            var fedDll = typeof(FedCli).Assembly.Location;
            var rng = new Random(seed);
            long totalAcked = 0, lost = 0, mismatched = 0;
            var verifyFailures = 0;
            var openMs = new List<double>();
            var verifyMs = new List<double>();
            Console.WriteLine($"killtest: {trials} trials, seed {seed}, kill after 1..{maxAcks} acknowledged appends, data dir {dir}");
            for (var trial = 1; trial <= trials; trial++)
            {
                var killAfter = 1 + rng.Next(maxAcks);
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { fedDll, "--data-dir", dir, "ledger", "append", "--type", "kill.test", "--json", payload, "--count", "1000000", "-o", "json" })
                    psi.ArgumentList.Add(a);
                using var child = Process.Start(psi)!;
                var acked = new Dictionary<long, string>();
                while (acked.Count < killAfter)
                {
                    var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120));
                    if (line is null) throw new InvalidOperationException($"trial {trial}: fed exited early: {await child.StandardError.ReadToEndAsync()}");
                    Ack(acked, line);
                }
                child.Kill(entireProcessTree: false); // SIGKILL on Unix: no flush, no dispose
                await child.WaitForExitAsync();
                string? more;
                while ((more = await child.StandardOutput.ReadLineAsync()) is not null) Ack(acked, more);

                var sw = Stopwatch.StartNew();
                using var key = new NodeKeyStore(dir).LoadOrCreate().Key;
                await using var ledger = SqliteLedger.Open(Path.Combine(dir, "ledger.db"), key);
                openMs.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                var v = ledger.VerifyAll();
                verifyMs.Add(sw.Elapsed.TotalMilliseconds);
                if (!v.IsValid) verifyFailures++;
                var trialLost = 0;
                foreach (var (index, leaf) in acked)
                {
                    if (index >= ledger.Size) trialLost++;
                    else if (Convert.ToHexStringLower(ledger.GetEntry(index).LeafHash) != leaf) mismatched++;
                }
                lost += trialLost;
                totalAcked += acked.Count;
                Console.WriteLine($"trial {trial,3}: killed after {acked.Count,5} acks, ledger {ledger.Size,7} entries, lost {trialLost}, " +
                    $"open {openMs[^1]:F1} ms, verify {verifyMs[^1]:F0} ms{(v.IsValid ? "" : ", VERIFY FAILED: " + string.Join("; ", v.Issues))}{(ledger.RepairedOnOpen ? ", torn tail repaired" : "")}");
            }
            Console.WriteLine($"killtest: {trials} trials, {totalAcked} acknowledged entries, lost {lost}, mismatched {mismatched}, verification failures {verifyFailures}");
            Console.WriteLine($"recovery (open) ms: p50 {Pct(openMs, 0.5):F1} p95 {Pct(openMs, 0.95):F1} max {openMs.Max():F1}; full verify ms: p50 {Pct(verifyMs, 0.5):F0} max {verifyMs.Max():F0}");
            return lost == 0 && mismatched == 0 && verifyFailures == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Ack(Dictionary<long, string> acked, string line)
    {
        if (!line.StartsWith('{')) return;
        var r = JsonDocument.Parse(line).RootElement;
        acked[r.GetProperty("index").GetInt64()] = r.GetProperty("leaf_hash").GetString()!;
    }

    private static double Pct(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
