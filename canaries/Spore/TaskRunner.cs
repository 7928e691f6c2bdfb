using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Federation.Canaries.Spore;

/// <summary>The outcome of one sandboxed run of a task artifact.</summary>
public sealed record RunResult(double? Metric, bool TimedOut, int ExitCode, string OutputTail, TimeSpan Elapsed)
{
    /// <summary>A run with no metric is a crash (record status <c>crash</c>, val_bpb 0.0).</summary>
    public bool Crashed => Metric is null;
}

/// <summary>Where and how artifacts run.</summary>
public sealed record TaskRunnerOptions
{
    /// <summary>The interpreter for python artifacts (default: Debian's /usr/bin/python3 when present).</summary>
    public string Python { get; init; } = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    /// <summary>Address-space limit of the child (prlimit --as), bytes.</summary>
    public long MemoryLimitBytes { get; init; } = 1L << 30;
    /// <summary>Output kept from the child (the rest is discarded while reading).</summary>
    public int MaxOutputChars { get; init; } = 64 * 1024;
}

/// <summary>
/// Runs a task artifact in a child process: a fresh temporary directory, an empty environment (PATH=/usr/bin:/bin),
/// Python in isolated mode, <c>prlimit</c> limits on address space, CPU seconds and open files where prlimit exists,
/// and a wall-clock budget after which the whole process tree is killed. The metric is the last line
/// <c>&lt;metric&gt;: &lt;number&gt;</c> (or <c>val_bpb: …</c>) printed.
/// </summary>
public sealed class TaskRunner(TaskRunnerOptions? options = null)
{
    private readonly TaskRunnerOptions _o = options ?? new TaskRunnerOptions();

    /// <summary>Runs <paramref name="artifact"/> (a Python script) under <paramref name="budget"/>.</summary>
    public async Task<RunResult> RunAsync(byte[] artifact, string metric, TimeSpan budget, CancellationToken ct = default)
    {
        var dir = Directory.CreateTempSubdirectory("spore-run-");
        var sw = Stopwatch.StartNew();
        try
        {
            var script = Path.Combine(dir.FullName, "train.py");
            await File.WriteAllBytesAsync(script, artifact, ct);
            var psi = new ProcessStartInfo { WorkingDirectory = dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.Environment.Clear();
            psi.Environment["PATH"] = "/usr/bin:/bin";
            psi.Environment["HOME"] = dir.FullName;
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            psi.Environment["PYTHONHASHSEED"] = "0";
            var cpu = (long)Math.Ceiling(budget.TotalSeconds) + 1;
            if (File.Exists("/usr/bin/prlimit"))
            {
                psi.FileName = "/usr/bin/prlimit";
                foreach (var a in new[] { $"--as={_o.MemoryLimitBytes}", $"--cpu={cpu}", "--nofile=64", "--", _o.Python, "-I", "train.py" }) psi.ArgumentList.Add(a);
            }
            else
            {
                psi.FileName = _o.Python;
                psi.ArgumentList.Add("-I");
                psi.ArgumentList.Add("train.py");
            }
            using var p = new Process { StartInfo = psi };
            try
            {
                p.Start();
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return new RunResult(null, false, -1, $"could not start {psi.FileName}: {e.Message}; install python3 or set TaskRunnerOptions.Python", sw.Elapsed);
            }
            var output = new StringBuilder();
            var readOut = Drain(p.StandardOutput, output);
            var readErr = Drain(p.StandardError, output);
            using var budgetCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            budgetCts.CancelAfter(budget);
            var timedOut = false;
            try
            {
                await p.WaitForExitAsync(budgetCts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await p.WaitForExitAsync(CancellationToken.None);
            }
            await Task.WhenAll(readOut, readErr);
            var text = output.ToString();
            var tail = text.Length > 2000 ? text[^2000..] : text;
            var value = timedOut || p.ExitCode != 0 ? null : ParseMetric(text, metric);
            return new RunResult(value, timedOut, timedOut ? -1 : p.ExitCode, tail, sw.Elapsed);
        }
        finally
        {
            try { dir.Delete(true); } catch (IOException) { }
        }
    }

    private async Task Drain(StreamReader r, StringBuilder into)
    {
        var buf = new char[4096];
        int n;
        while ((n = await r.ReadAsync(buf)) > 0)
            lock (into)
                if (into.Length < _o.MaxOutputChars) into.Append(buf, 0, Math.Min(n, _o.MaxOutputChars - into.Length));
    }

    /// <summary>The value of the last line <c>metric: number</c> (or <c>val_bpb: number</c>); null if none or not finite.</summary>
    public static double? ParseMetric(string output, string metric)
    {
        double? found = null;
        foreach (var line in output.Split('\n'))
        {
            var m = Regex.Match(line.Trim(), $"^(?:{Regex.Escape(metric)}|val_bpb):\\s*([-+0-9.eE]+|inf|nan)$");
            if (m.Success && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
                found = v;
        }
        return found;
    }

    /// <summary>
    /// Keep or discard against the parent: the reference keeps a child that is strictly lower (goal ignored); for a
    /// <c>maximize</c> task we keep a strictly higher one (docs/spore.md, differences). A crash is <c>crash</c>.
    /// </summary>
    public static string Decide(RunResult child, double? parentMetric, string goal)
    {
        if (child.Crashed) return RecordStatus.Crash;
        if (parentMetric is null) return RecordStatus.Keep;
        var better = goal == "maximize" ? child.Metric > parentMetric : child.Metric < parentMetric;
        return better ? RecordStatus.Keep : RecordStatus.Discard;
    }

    /// <summary>A unified diff that replaces the whole parent text with the child's (valid for <c>patch</c>).</summary>
    public static string WholeFileDiff(string parent, string child)
    {
        if (parent == child) return "";
        static string[] Lines(string s) => s.Length == 0 ? [] : s.TrimEnd('\n').Split('\n');
        var a = Lines(parent);
        var b = Lines(child);
        var sb = new StringBuilder();
        sb.Append("--- a/train.py\n+++ b/train.py\n");
        sb.Append(CultureInfo.InvariantCulture, $"@@ -{(a.Length == 0 ? 0 : 1)},{a.Length} +{(b.Length == 0 ? 0 : 1)},{b.Length} @@\n");
        foreach (var l in a) sb.Append('-').Append(l).Append('\n');
        foreach (var l in b) sb.Append('+').Append(l).Append('\n');
        return sb.ToString();
    }
}

/// <summary>The outcome of a dispute under the median rule (notes §8).</summary>
public sealed record DisputeVerdict(string Outcome, double GroundTruth, IReadOnlyList<string> Winners, IReadOnlyList<string> Losers);

/// <summary>Dispute arithmetic of notes §8.</summary>
public static class DisputeMath
{
    /// <summary>Median of the values (mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) throw new ArgumentException("the median of no values is undefined", nameof(values));
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2.0;
    }

    /// <summary>
    /// Ground truth = median of [claimed, challenger, responses…]; <c>rejected</c> when |claimed − median| &gt; tol. A
    /// verifier within tol of the claim sides with the original (wins on upheld, loses on rejected); one outside is the reverse.
    /// </summary>
    public static DisputeVerdict Resolve(double claimed, double challenger, IReadOnlyList<(string VerifierId, double Value)> responses, double tolerance)
    {
        var truth = Median(new[] { claimed, challenger }.Concat(responses.Select(r => r.Value)));
        var rejected = Math.Abs(claimed - truth) > tolerance;
        var winners = new List<string>();
        var losers = new List<string>();
        foreach (var (id, value) in responses)
        {
            var supportsOriginal = Math.Abs(value - claimed) <= tolerance;
            (supportsOriginal ^ rejected ? winners : losers).Add(id);
        }
        return new DisputeVerdict(rejected ? "rejected" : "upheld", truth, winners, losers);
    }
}
