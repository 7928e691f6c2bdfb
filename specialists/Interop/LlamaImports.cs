using System.Reflection;
using System.Runtime.InteropServices;
using LLama.Native;

namespace Federation.Specialists.Interop;

/// <summary>
/// The only llama.cpp functions this project imports itself, each because LLamaSharp 0.30.0 does not offer it in a
/// usable form. The logical library "llama" resolves to the handle of the very file LLamaSharp loaded
/// (<see cref="Bind"/>), so these calls reach the same llama.cpp instance as LLamaSharp's own.
/// Add training entry points (<c>llama_opt_*</c>, exported by the same file) here when they are needed.
/// </summary>
internal static unsafe partial class LlamaImports
{
    private const string Llama = "llama";

    /// <summary>Exports the imports below need; checked once at load so a wrong library fails with a clear message.</summary>
    internal static readonly string[] RequiredExports = ["llama_decode", "llama_n_ctx_seq"];

    private static nint _handle;

    /// <summary>The handle the imports are bound to (the OS returns LLamaSharp's handle for an already-loaded file).</summary>
    internal static nint Handle => _handle;

    /// <summary>
    /// <c>llama_decode</c> without LLamaSharp's process-wide <c>GlobalInferenceLock</c>: the engine runs one context per
    /// worker thread, and that lock would serialise them (two contexts on two cores is where the scheduler's gain comes
    /// from). Separate contexts on one model are safe to decode concurrently on the CPU backend (EngineDeterminismTests
    /// and the engine tests run them so).
    /// </summary>
    /// <remarks><c>DllImport</c>, not <c>LibraryImport</c>: the source generator cannot prove another assembly's struct blittable.</remarks>
#pragma warning disable SYSLIB1054
    [DllImport(Llama, CallingConvention = CallingConvention.Cdecl)] internal static extern int llama_decode(SafeLLamaContextHandle ctx, LLamaNativeBatch batch);
#pragma warning restore SYSLIB1054

    /// <summary>KV cells per sequence (LLamaSharp keeps this one internal).</summary>
    [LibraryImport(Llama)] internal static partial uint llama_n_ctx_seq(SafeLLamaContextHandle ctx);

    private static readonly Func<LoraAdapter, nint> AdapterPointerGetter = BindAdapterPointer();

    /// <summary>
    /// The native pointer of a <see cref="LoraAdapter"/>. LLamaSharp 0.30.0's <c>LoadLoraFromFile</c> returns an adapter
    /// wrapping NULL when llama.cpp refuses the file (it does not check), and keeps the pointer internal; setting such an
    /// adapter on a context would crash, so the engine reads it to refuse the file with a clear error.
    /// </summary>
    internal static nint AdapterPointer(LoraAdapter adapter) => AdapterPointerGetter(adapter);

    private static Func<LoraAdapter, nint> BindAdapterPointer()
    {
        var getter = typeof(LoraAdapter).GetProperty("Pointer", BindingFlags.Instance | BindingFlags.NonPublic)?.GetMethod;
        if (getter is null || getter.ReturnType != typeof(nint))
            throw new LlamaException($"LLamaSharp's LoraAdapter has no internal 'Pointer' property: this build is written against LLamaSharp {LlamaLibrary.LlamaSharpVersion}; " +
                "use the version pinned in Directory.Packages.props.");
        return getter.CreateDelegate<Func<LoraAdapter, nint>>();
    }

    /// <summary>Binds the imports to <paramref name="path"/>, which LLamaSharp has already loaded.</summary>
    internal static void Bind(string path)
    {
        if (_handle != 0) return;
        var h = NativeLibrary.Load(path);
        var missing = RequiredExports.Where(e => !NativeLibrary.TryGetExport(h, e, out _)).ToList();
        if (missing.Count > 0)
            throw new LlamaException($"'{path}' lacks {string.Join(", ", missing)}: it is not llama.cpp {LlamaLibrary.LlamaCppCommit} " +
                "as LLamaSharp 0.30.0 expects. Use the backend package of the same version as LLamaSharp, or a libllama built from that commit.");
        _handle = h;
        NativeLibrary.SetDllImportResolver(typeof(LlamaImports).Assembly, Resolve);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Llama ? _handle : name == GgmlBase ? GgmlBaseHandle() : 0;
}

/// <summary>
/// A <c>llama_batch</c> in native memory (LLamaSharp's <see cref="NativeApi.llama_batch_init"/>), one sequence id per
/// token, for the generation hot path through <see cref="LlamaImports.llama_decode"/>. Not thread-safe.
/// </summary>
internal sealed unsafe class NativeBatch : IDisposable
{
    private LLamaNativeBatch _b;

    public NativeBatch(int capacity)
    {
        Capacity = capacity;
        _b = NativeApi.llama_batch_init(capacity, 0, 1);
    }

    public int Capacity { get; }
    public int Count => _b.n_tokens;
    internal LLamaNativeBatch Native => _b;

    public void Clear() => _b.n_tokens = 0;

    /// <summary>Adds a token; returns its index in the batch (the index for logits when <paramref name="output"/>).</summary>
    public int Add(int token, int pos, int seq, bool output)
    {
        var i = _b.n_tokens;
        if (i >= Capacity) throw new InvalidOperationException($"batch is full ({Capacity} tokens).");
        _b.tokens[i] = token;
        _b.pos[i] = pos;
        _b.n_seq_id[i] = 1;
        _b.seq_id[i][0] = (LLamaSeqId)seq;
        _b.logits[i] = output ? (byte)1 : (byte)0;
        _b.n_tokens = i + 1;
        return i;
    }

    public void Dispose()
    {
        if (_b.tokens == null) return;
        NativeApi.llama_batch_free(_b);
        _b = default;
    }
}
