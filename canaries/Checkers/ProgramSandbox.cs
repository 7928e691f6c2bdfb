using System.Diagnostics;
using System.Text;
using Federation.Registry.Json;

namespace Federation.Canaries.Checkers;

/// <summary>Where and how <see cref="ProgramSandbox"/> runs submitted Python.</summary>
public sealed class ProgramSandboxOptions
{
    /// <summary>The Python interpreter; null resolves <c>python3</c> on PATH to its real executable once.</summary>
    public string? PythonPath { get; set; }

    /// <summary>Run the child in a new, empty network namespace (<c>unshare -rn</c>) when the kernel allows it (default true).</summary>
    public bool IsolateNetwork { get; set; } = true;
}

/// <summary>
/// Runs a submitted Python function against test cases in a child process: a fresh temporary directory, an empty
/// environment (no proxies, no user site, <c>python3 -I</c>), address-space and CPU limits via <c>prlimit</c>, a
/// wall-clock limit enforced by killing the process tree, and — where user namespaces are allowed — no network at all.
/// The child is given only the test <em>arguments</em>; expected values stay in this process and the comparison is done
/// here, so code that forges its result channel gains nothing.
/// </summary>
public sealed class ProgramSandbox(ProgramSandboxOptions? options = null)
{
    private readonly ProgramSandboxOptions _options = options ?? new ProgramSandboxOptions();
    private static readonly Lazy<string?> ResolvedPython = new(ResolvePython);
    private static readonly Lazy<bool> CanUnshare = new(() => Probe("unshare", ["-rn", "true"]));
    private static readonly Lazy<bool> HasPrlimit = new(() => Probe("prlimit", ["--version"]));

    // Reads args from tests.json, calls the entry per test, appends one JSON line per test to out.jsonl (flushed,
    // so a timeout still shows which tests finished). Return values that are not JSON count as a failed test.
    private const string Harness = """
import json, sys, importlib.util
def main():
    spec = json.load(open('tests.json'))
    out = open('out.jsonl', 'w')
    def emit(o):
        out.write(json.dumps(o, allow_nan=False) + '\n'); out.flush()
    try:
        s = importlib.util.spec_from_file_location('solution', 'solution.py')
        m = importlib.util.module_from_spec(s); s.loader.exec_module(m)
        f = getattr(m, spec['entry'])
    except BaseException as e:
        emit({'load_error': (type(e).__name__ + ': ' + str(e))[:300]}); return
    for args in spec['args']:
        try:
            v = f(*args)
            emit({'ok': True, 'value': v})
        except BaseException as e:
            emit({'ok': False, 'error': (type(e).__name__ + ': ' + str(e))[:300]})
main()
""";

    /// <summary>Runs <paramref name="code"/> against the checker's tests; o = passed / total.</summary>
    public async Task<CheckOutcome> RunAsync(JsonObject checker, string code, CancellationToken cancellationToken = default)
    {
        var python = _options.PythonPath ?? ResolvedPython.Value;
        if (python is null) return CheckOutcome.Invalid("program checker: no python3 interpreter found on PATH; install python3 or set ProgramSandboxOptions.PythonPath");
        var tests = checker["tests"].AsArray();
        var timeoutMs = checker.TryGetValue("timeout_ms", out var t) ? (int)t.AsInt64() : 5000;
        var memoryMb = checker.TryGetValue("memory_mb", out var m) ? (int)m.AsInt64() : 256;
        var dir = Directory.CreateTempSubdirectory("fed-canary-sandbox-").FullName;
        try
        {
            var args = new JsonArray(tests.Select(x => x["args"]));
            File.WriteAllBytes(Path.Combine(dir, "tests.json"), CanonicalJson.Serialize(new JsonObject { ["entry"] = checker["entry"], ["args"] = args }));
            File.WriteAllText(Path.Combine(dir, "solution.py"), code, new UTF8Encoding(false));
            File.WriteAllText(Path.Combine(dir, "harness.py"), Harness, new UTF8Encoding(false));

            var psi = new ProcessStartInfo { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            psi.Environment.Clear();
            psi.Environment["PATH"] = "/usr/bin:/bin";
            psi.Environment["HOME"] = dir;
            psi.Environment["TMPDIR"] = dir;
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            psi.Environment["PYTHONHASHSEED"] = "0";
            var argv = new List<string>();
            if (_options.IsolateNetwork && CanUnshare.Value) argv.AddRange(["unshare", "-rn"]);
            if (HasPrlimit.Value)
                argv.AddRange(["prlimit", $"--as={(long)memoryMb * 1024 * 1024}", $"--cpu={Math.Max(1, (timeoutMs + 999) / 1000)}", "--core=0", "--"]);
            argv.AddRange([python, "-I", "-S", "harness.py"]);
            psi.FileName = argv[0];
            foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);

            using var proc = Process.Start(psi) ?? throw new InvalidOperationException("could not start the sandbox process");
            proc.StandardInput.Close();
            var stderrTask = proc.StandardError.ReadToEndAsync(cancellationToken);
            var stdoutTask = proc.StandardOutput.ReadToEndAsync(cancellationToken);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeoutMs);
            var timedOut = false;
            try
            {
                await proc.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                timedOut = true;
                try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await proc.WaitForExitAsync(CancellationToken.None);
            }
            var stderr = await stderrTask;
            await stdoutTask;
            return Score(tests, Path.Combine(dir, "out.jsonl"), timedOut, timeoutMs, memoryMb, proc.ExitCode, stderr);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static CheckOutcome Score(JsonArray tests, string outPath, bool timedOut, int timeoutMs, int memoryMb, int exitCode, string stderr)
    {
        var lines = File.Exists(outPath) ? File.ReadAllLines(outPath).Where(l => l.Length > 0).ToList() : [];
        if (lines.Count > 0 && CanonicalJsonTryParse(lines[0]) is JsonObject first && first.TryGetValue("load_error", out var le))
            return CheckOutcome.Fail($"0/{tests.Count} tests passed: the code did not load ({CanaryChecker.Clip(le.AsString())})");
        var passed = 0;
        string? firstFailure = null;
        for (var i = 0; i < tests.Count; i++)
        {
            var expected = tests[i]["expected"];
            if (i >= lines.Count)
            {
                firstFailure ??= $"test {i}: no result";
                continue;
            }
            var r = CanonicalJsonTryParse(lines[i]) as JsonObject;
            if (r is not null && r.TryGetValue("ok", out var ok) && ok is JsonBool { Value: true } && r.TryGetValue("value", out var v) && JsonSchemaSubset.NumericEquals(v, expected))
                passed++;
            else
                firstFailure ??= r is not null && r.TryGetValue("error", out var err)
                    ? $"test {i}: raised {CanaryChecker.Clip(err.AsString())}"
                    : $"test {i}: returned {CanaryChecker.Clip(r?.TryGetValue("value", out var got) == true ? got.ToString() : "a non-JSON value")}, expected {CanaryChecker.Clip(expected.ToString())}";
        }
        var why = timedOut ? $"; stopped after the {timeoutMs} ms wall-clock limit"
            : lines.Count < tests.Count ? $"; the process exited with code {exitCode} early (memory limit {memoryMb} MB?): {CanaryChecker.Clip(stderr.Trim().Split('\n').LastOrDefault() ?? "")}"
            : "";
        var o = (double)passed / tests.Count;
        return new CheckOutcome(o, $"{passed}/{tests.Count} tests passed{(firstFailure is null ? "" : "; first failure: " + firstFailure)}{why}");
    }

    private static JsonValue? CanonicalJsonTryParse(string line)
    {
        try
        {
            return CanonicalJson.Parse(line);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? ResolvePython()
    {
        // pyenv and similar put shell-script shims on PATH that need the user's environment; resolve the real binary
        // once with the ambient environment so the sandboxed child can run with an empty one.
        try
        {
            var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import sys; print(sys.executable)");
            using var p = Process.Start(psi);
            if (p is null) return null;
            var path = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && File.Exists(path) ? path : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static bool Probe(string file, string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi);
            if (p is null) return false;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
