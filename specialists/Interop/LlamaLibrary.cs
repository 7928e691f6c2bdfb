using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Federation.Specialists.Interop;

/// <summary>An error from the native llama.cpp layer, with a message that says what to do.</summary>
public sealed class LlamaException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Severity of a native log line (ggml_log_level without NONE/CONT).</summary>
public enum NativeLogLevel
{
    Debug,
    Information,
    Warning,
    Error,
}

/// <summary>
/// Finds, loads and checks the pinned llama.cpp native libraries once per process, and bridges llama.cpp's log.
/// Search order: an explicit directory, then <c>FEDERATION_LLAMA_LIB_DIR</c>, then the set-up's install folder
/// (<c>.native/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64</c>) searched upward from the app's base directory
/// and from the current directory. The first directory holding <c>libllama</c> is used; a failure lists every path tried.
/// </summary>
public static unsafe class LlamaLibrary
{
    /// <summary>llama.cpp release the binding was written against (node-llama-cpp 3.22.1).</summary>
    public const string PinnedVersion = "0.5.0-dev";
    /// <summary>Environment variable that names the directory of the native libraries.</summary>
    public const string LibDirVariable = "FEDERATION_LLAMA_LIB_DIR";
    /// <summary>Install folder relative to the repository root (what <c>scripts/setup.sh</c> creates).</summary>
    public const string InstallSubdir = ".native/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
    /// <summary>The command that installs the libraries.</summary>
    public const string SetupCommand = "scripts/setup.sh";

    // Expected sizes from the pinned header (checked with gcc against node-llama-cpp 3.22.1's llama.h).
    internal const int ExpectedModelParamsSize = 80;
    internal const int ExpectedContextParamsSize = 160;
    internal const int ExpectedBatchSize = 56;

    private static readonly string[] LlamaNames = ["libllama.v0.5.0.so", "libllama.cuda.v0.5.0.so", "libllama.so"];
    private static readonly string[] GgmlNames = ["libggml.v0.5.0.so", "libggml.cuda.v0.5.0.so", "libggml.so"];

    private static readonly Lock Gate = new();
    private static string? _loadedDir;
    private static nint _llama;
    private static nint _ggml;
    private static Action<NativeLogLevel, string>? _logSink;
    private static readonly StringBuilder PendingLine = new();
    private static NativeLogLevel _pendingLevel = NativeLogLevel.Information;
    private static readonly Queue<string> RecentProblems = new();

    /// <summary>The directory the libraries were loaded from, or null before <see cref="EnsureLoaded"/>.</summary>
    public static string? LoadedDirectory => _loadedDir;

    /// <summary>The version string the loaded library reports (<c>llama_version()</c>).</summary>
    public static string Version { get; private set; } = "";

    /// <summary>True when the loaded build can offload layers to a GPU (the CUDA build).</summary>
    public static bool SupportsGpuOffload { get; private set; }

    /// <summary>
    /// Receives complete native log lines. Lines are assembled from llama.cpp's CONT fragments. Set to null to drop them.
    /// The sink is called on whatever thread llama.cpp logs from and must not throw.
    /// </summary>
    public static Action<NativeLogLevel, string>? LogSink
    {
        get => _logSink;
        set => _logSink = value;
    }

    /// <summary>The directories searched, in order, for the given explicit directory (which may be null).</summary>
    public static IReadOnlyList<string> CandidateDirectories(string? explicitDir)
    {
        var list = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitDir)) list.Add(Path.GetFullPath(explicitDir));
        var env = Environment.GetEnvironmentVariable(LibDirVariable);
        if (!string.IsNullOrWhiteSpace(env)) list.Add(Path.GetFullPath(env));
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, InstallSubdir);
                if (!list.Contains(candidate)) list.Add(candidate);
            }
        }
        return list;
    }

    /// <summary>
    /// Loads the libraries (once per process), loads the CPU backends, checks version and struct sizes, installs
    /// the log bridge and initialises the backend. Later calls return the directory already loaded.
    /// </summary>
    /// <exception cref="LlamaException">No directory holds the libraries, or the version/layout does not match.</exception>
    public static string EnsureLoaded(string? explicitDir = null)
    {
        lock (Gate)
        {
            if (_loadedDir is not null) return _loadedDir;
            var tried = new List<string>();
            foreach (var dir in CandidateDirectories(explicitDir))
            {
                var (llamaPath, ggmlPath, reason) = Probe(dir);
                if (llamaPath is null || ggmlPath is null)
                {
                    tried.Add($"{dir} ({reason})");
                    continue;
                }
                try
                {
                    // libllama's RUNPATH is $ORIGIN, so loading it by full path brings libggml and libggml-base along.
                    _llama = NativeLibrary.Load(llamaPath);
                    _ggml = NativeLibrary.Load(ggmlPath);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    tried.Add($"{dir} (found {Path.GetFileName(llamaPath)} but loading failed: {e.Message})");
                    continue;
                }
                NativeLibrary.SetDllImportResolver(typeof(LlamaLibrary).Assembly, Resolve);
                _loadedDir = dir;
                Initialise(dir);
                return dir;
            }
            throw NotFound(tried);
        }
    }

    /// <summary>Which library files a directory holds; the reason says what is missing.</summary>
    internal static (string? Llama, string? Ggml, string Reason) Probe(string dir)
    {
        if (!Directory.Exists(dir)) return (null, null, "no such directory");
        var llamaPath = LlamaNames.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists);
        if (llamaPath is null) return (null, null, $"no {string.Join(" / ", LlamaNames)}");
        var ggmlPath = GgmlNames.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists);
        if (ggmlPath is null) return (llamaPath, null, $"libllama present but no {string.Join(" / ", GgmlNames)}");
        return (llamaPath, ggmlPath, "ok");
    }

    /// <summary>The error for a failed search: every path tried and the command that installs the libraries.</summary>
    internal static LlamaException NotFound(IReadOnlyList<string> tried) => new(
        "llama.cpp native libraries not found. Paths tried:\n  " + string.Join("\n  ", tried) +
        $"\nInstall them with '{SetupCommand}' (it runs 'npm install @node-llama-cpp/linux-x64@3.22.1' into .native/), " +
        $"or set {LibDirVariable} to the folder that holds libllama.v0.5.0.so.");

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        NativeMethods.Llama => _llama,
        NativeMethods.Ggml => _ggml,
        _ => 0,
    };

    private static void Initialise(string dir)
    {
        Version = NativeMethods.Utf8(NativeMethods.llama_version()) ?? "";
        if (Version != PinnedVersion)
            throw new LlamaException($"llama.cpp in '{dir}' reports version '{Version}', but this binding is pinned to " +
                $"'{PinnedVersion}' (node-llama-cpp 3.22.1); struct layouts differ between versions. Run '{SetupCommand}' " +
                $"or point {LibDirVariable} at the pinned build.");
        CheckSizes(dir);
        NativeMethods.llama_log_set(&OnLog, null);
        // The CPU backend is a plugin; the default search looks next to the dotnet host, so name our folder.
        NativeMethods.ggml_backend_load_all_from_path(dir);
        NativeMethods.llama_backend_init();
        SupportsGpuOffload = NativeMethods.llama_supports_gpu_offload();
        // A sanity check that the defaults come back through the by-value struct return as the header says.
        var cp = NativeMethods.llama_context_default_params();
        if (cp.n_ctx != 512 || cp.n_seq_max != 1)
            throw new LlamaException($"llama.cpp in '{dir}' returned unexpected context defaults (n_ctx={cp.n_ctx}, n_seq_max={cp.n_seq_max}); " +
                "the library does not match the pinned header.");
    }

    internal static void CheckSizes(string dir)
    {
        var (m, c, b) = NativeMethods.StructSizes();
        if (m != ExpectedModelParamsSize || c != ExpectedContextParamsSize || b != ExpectedBatchSize)
            throw new LlamaException($"struct sizes of the binding (model_params {m}, context_params {c}, batch {b}) do not match " +
                $"llama.cpp {PinnedVersion} ({ExpectedModelParamsSize}, {ExpectedContextParamsSize}, {ExpectedBatchSize}) for '{dir}'.");
    }

    /// <summary>Takes the last few native warning/error lines (for error messages), clearing them.</summary>
    internal static string TakeRecentProblems()
    {
        lock (PendingLine)
        {
            var s = string.Join(" | ", RecentProblems);
            RecentProblems.Clear();
            return s;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        try
        {
            var s = NativeMethods.Utf8(text) ?? "";
            lock (PendingLine)
            {
                if ((GgmlLogLevel)level != GgmlLogLevel.Cont)
                {
                    _pendingLevel = (GgmlLogLevel)level switch
                    {
                        GgmlLogLevel.Debug => NativeLogLevel.Debug,
                        GgmlLogLevel.Warn => NativeLogLevel.Warning,
                        GgmlLogLevel.Error => NativeLogLevel.Error,
                        _ => NativeLogLevel.Information,
                    };
                }
                PendingLine.Append(s);
                if (!s.EndsWith('\n')) return;
                var line = PendingLine.ToString().TrimEnd('\n');
                PendingLine.Clear();
                if (_pendingLevel >= NativeLogLevel.Warning)
                {
                    RecentProblems.Enqueue(line.Trim());
                    while (RecentProblems.Count > 4) RecentProblems.Dequeue();
                }
                _logSink?.Invoke(_pendingLevel, line);
            }
        }
        catch
        {
            // An exception must never unwind into native code.
        }
    }
}
