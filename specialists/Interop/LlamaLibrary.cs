using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using LLama.Native;

namespace Federation.Specialists.Interop;

/// <summary>An error from the native llama.cpp layer, with a message that says what to do.</summary>
public sealed class LlamaException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Severity of a native log line.</summary>
public enum NativeLogLevel
{
    Debug,
    Information,
    Warning,
    Error,
}

/// <summary>
/// Loads llama.cpp once per process through LLamaSharp's own loader (<see cref="NativeLibraryConfig"/>: the backend
/// package's <c>runtimes/&lt;rid&gt;/native/&lt;avx level&gt;</c> folders, best CPU level first), bridges its log, and binds
/// <see cref="LlamaImports"/> to the very library LLamaSharp loaded, so there is one llama.cpp in the process.
/// An explicit folder (argument, or <c>FEDERATION_LLAMA_LIB_DIR</c>) replaces the package's libraries with a
/// self-built <c>libllama</c> of the same llama.cpp commit.
/// </summary>
public static partial class LlamaLibrary
{
    /// <summary>llama.cpp commit that LLamaSharp 0.30.0's backend packages are built from.</summary>
    public const string LlamaCppCommit = "815a2a5";
    /// <summary>Environment variable naming a folder with a self-built <c>libllama</c> (optional).</summary>
    public const string LibDirVariable = "FEDERATION_LLAMA_LIB_DIR";

    private static readonly Lock Gate = new();
    private static readonly StringBuilder PendingLine = new();
    private static readonly Queue<string> RecentProblems = new();
    private static readonly List<string> LoaderLines = [];
    private static NativeLogLevel _pendingLevel = NativeLogLevel.Information;
    private static string? _loadedPath;

    /// <summary>Full path of the <c>libllama</c> in use, or null before <see cref="EnsureLoaded"/>.</summary>
    public static string? LoadedPath => _loadedPath;

    /// <summary>Folder of the <c>libllama</c> in use, or null before <see cref="EnsureLoaded"/>.</summary>
    public static string? LoadedDirectory => _loadedPath is null ? null : Path.GetDirectoryName(_loadedPath);

    /// <summary>What is loaded: llama.cpp commit and the LLamaSharp version that wraps it.</summary>
    public static string Version => $"{LlamaCppCommit} (LLamaSharp {LlamaSharpVersion})";

    /// <summary>The LLamaSharp version pinned in Directory.Packages.props (its assembly carries no version attribute).</summary>
    public const string LlamaSharpVersion = "0.30.0";

    /// <summary>True when the loaded build can offload layers to a GPU (a CUDA/Vulkan backend package).</summary>
    public static bool SupportsGpuOffload { get; private set; }

    /// <summary>
    /// Receives complete native log lines (llama.cpp's and LLamaSharp's loader's), assembled from continuation
    /// fragments. Called on whatever thread logs; must not throw. Null drops them.
    /// </summary>
    public static Action<NativeLogLevel, string>? LogSink { get; set; }

    /// <summary>
    /// Asks the OpenMP runtime that llama.cpp's CPU backend uses to sleep, not spin, at its barriers
    /// (<c>OMP_WAIT_POLICY=PASSIVE</c>, unless the environment already sets it). Training runs one barrier per graph
    /// node; on a machine with fewer free cores than threads spinning made 2-thread training ~5× slower (measured,
    /// docs/production-line.md). OpenMP reads the variable once, when the library loads, so this only has an effect
    /// before <see cref="EnsureLoaded"/>; it returns false when it came too late or the environment already decides.
    /// </summary>
    public static bool PreferPassiveWait()
    {
        lock (Gate)
        {
            if (_loadedPath is not null || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return false;
            if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
            // the native environment (getenv in libgomp), not only .NET's copy of it
            return LibC.setenv("OMP_WAIT_POLICY", "PASSIVE", 0) == 0;
        }
    }

    private static partial class LibC
    {
        [System.Runtime.InteropServices.LibraryImport("libc", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        internal static partial int setenv(string name, string value, int overwrite);
    }

    /// <summary>
    /// Loads the native library (once per process) and returns its folder. Later calls return the folder already
    /// loaded; <paramref name="explicitDir"/> only matters on the first call.
    /// </summary>
    /// <exception cref="LlamaException">No library could be loaded, or it lacks the functions this build calls.</exception>
    public static string EnsureLoaded(string? explicitDir = null)
    {
        lock (Gate)
        {
            if (_loadedPath is not null) return LoadedDirectory!;
            var dir = !string.IsNullOrWhiteSpace(explicitDir) ? explicitDir : Environment.GetEnvironmentVariable(LibDirVariable);
            if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                if (!string.IsNullOrWhiteSpace(dir))
                {
                    var lib = Path.Combine(Path.GetFullPath(dir), LibraryFileName);
                    if (!File.Exists(lib))
                        throw new LlamaException($"llama.cpp native library not found: '{lib}' does not exist (folder from " +
                            $"{(string.IsNullOrWhiteSpace(explicitDir) ? LibDirVariable : "the explicit library folder")}). " +
                            $"Point it at a folder holding {LibraryFileName} built from llama.cpp {LlamaCppCommit}, or unset it to use the LLamaSharp backend package.");
                    NativeLibraryConfig.LLama.WithLibrary(lib);
                }
                NativeLibraryConfig.All.WithLogCallback(OnLog);
            }
            try
            {
                // LLamaSharp's static constructor runs its loader, sets the log callback and calls llama_backend_init.
                NativeApi.llama_empty_call();
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or LLama.Exceptions.RuntimeError)
            {
                throw NotLoaded(e);
            }
            var path = FindLoadedLibrary() ?? throw NotLoaded(null);
            LlamaImports.Bind(path);
            SupportsGpuOffload = NativeApi.llama_supports_gpu_offload();
            _loadedPath = path;
            return LoadedDirectory!;
        }
    }

    /// <summary>File name of libllama on this OS.</summary>
    internal static string LibraryFileName =>
        OperatingSystem.IsWindows() ? "llama.dll" : OperatingSystem.IsMacOS() ? "libllama.dylib" : "libllama.so";

    /// <summary>Every libllama mapped into this process (the loader loads exactly one).</summary>
    internal static IReadOnlyList<string> LoadedLlamaModules()
    {
        using var self = Process.GetCurrentProcess();
        return self.Modules.Cast<ProcessModule>()
            .Select(m => m.FileName)
            .Where(f => string.Equals(Path.GetFileName(f), LibraryFileName, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    private static string? FindLoadedLibrary()
    {
        var found = LoadedLlamaModules();
        if (found.Count > 1)
            throw new LlamaException($"more than one llama.cpp is loaded in this process ({string.Join(", ", found)}); " +
                "load it only through LLamaSharp (Federation.Specialists.Interop.LlamaLibrary).");
        return found.Count == 1 ? found[0] : null;
    }

    /// <summary>The error when nothing loads: every file LLamaSharp's loader tried (from its log), and the fixes.</summary>
    internal static LlamaException NotLoaded(Exception? inner)
    {
        const string failed = "Failed Loading '";
        List<string> tried;
        lock (PendingLine)
            tried = LoaderLines.Where(l => l.StartsWith(failed, StringComparison.Ordinal))
                .Select(l => l[failed.Length..].TrimEnd('\'')).Distinct(StringComparer.Ordinal).ToList();
        var cause = inner switch
        {
            DllNotFoundException or BadImageFormatException => $" ({inner.Message.Split('\n')[0]})",
            { InnerException: DllNotFoundException or BadImageFormatException } => $" ({inner.InnerException.Message.Split('\n')[0]})",
            _ => "",
        };
        var list = tried.Count == 0 ? "(the loader reported no files)" : string.Join("\n  ", tried);
        return new LlamaException(
            $"llama.cpp native library could not be loaded{cause}. Files tried (relative to {AppContext.BaseDirectory}):\n  {list}\n" +
            "Fix: build or run through the project so the backend package's runtimes/ folder is next to the app " +
            "(dotnet build copies it; the default is LLamaSharp.Backend.Cpu, others with -p:LlamaBackend=Cuda12, see docs/engine.md), " +
            $"or set {LibDirVariable} to a folder holding {LibraryFileName} built from llama.cpp {LlamaCppCommit}.", inner);
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

    private static void OnLog(LLamaLogLevel level, string text)
    {
        // Debug lines nobody reads (no sink, loading done) return before any lock or copy: llama.cpp writes one per
        // tensor when it loads an adapter (≈50 for a small rank-8 adapter), and adapter loads sit on the request path.
        if (LogSink is null && _loadedPath is not null &&
            (level == LLamaLogLevel.Debug || (level == LLamaLogLevel.Continue && _pendingLevel == NativeLogLevel.Debug)))
        {
            _pendingLevel = NativeLogLevel.Debug;
            return;
        }
        try
        {
            lock (PendingLine)
            {
                if (level != LLamaLogLevel.Continue)
                {
                    _pendingLevel = level switch
                    {
                        LLamaLogLevel.Debug => NativeLogLevel.Debug,
                        LLamaLogLevel.Warning => NativeLogLevel.Warning,
                        LLamaLogLevel.Error => NativeLogLevel.Error,
                        _ => NativeLogLevel.Information,
                    };
                }
                PendingLine.Append(text);
                if (!text.EndsWith('\n')) return;
                var line = PendingLine.ToString().TrimEnd('\n');
                PendingLine.Clear();
                if (_loadedPath is null && LoaderLines.Count < 200) LoaderLines.Add(line.Trim());
                if (_pendingLevel >= NativeLogLevel.Warning)
                {
                    RecentProblems.Enqueue(line.Trim());
                    while (RecentProblems.Count > 4) RecentProblems.Dequeue();
                }
                LogSink?.Invoke(_pendingLevel, line);
            }
        }
        catch
        {
            // An exception must never unwind into native code.
        }
    }
}
