using System.Runtime.InteropServices;
using Federation.Specialists.Interop;

namespace Federation.Specialists.Training.Ggml;

/// <summary>
/// The ggml tensor API (<c>ggml.h</c> of llama.cpp 815a2a5) from the <c>libggml-base</c> and <c>libggml-cpu</c> next to
/// the <c>libllama</c> LLamaSharp loaded: graph building, autodiff (<c>ggml_build_backward_expand</c>) and CPU compute.
/// "ggml-base" resolves through <see cref="LlamaImports"/>' resolver; the one <c>libggml-cpu</c> entry point is bound
/// by address (the assembly's resolver is not ours to extend).
/// </summary>
internal static unsafe partial class GgmlNative
{
    private const string Base = "ggml-base";

    internal const int TypeF32 = 0;
    internal const int TypeI32 = 26;
    internal const int RopeModeNorm = 0; // LLAMA_ROPE_TYPE_NORM, what llama.cpp uses for LLM_ARCH_LLAMA

    [StructLayout(LayoutKind.Sequential)]
    internal struct InitParams
    {
        public nuint MemSize;
        public nint MemBuffer;
        public byte NoAlloc;
    }

    [LibraryImport(Base)] internal static partial nint ggml_init(InitParams p);
    [LibraryImport(Base)] internal static partial void ggml_free(nint ctx);
    [LibraryImport(Base)] internal static partial void ggml_reset(nint ctx);
    [LibraryImport(Base)] internal static partial nuint ggml_tensor_overhead();
    [LibraryImport(Base)] internal static partial nuint ggml_graph_overhead_custom(nuint size, byte grads);
    [LibraryImport(Base)] internal static partial nuint ggml_nbytes(nint t);
    [LibraryImport(Base)] internal static partial nint ggml_get_first_tensor(nint ctx);
    [LibraryImport(Base)] internal static partial nint ggml_get_next_tensor(nint ctx, nint t);
    [LibraryImport(Base)] internal static partial nint ggml_get_data(nint t);
    [LibraryImport(Base)] internal static partial nint ggml_new_tensor_1d(nint ctx, int type, long ne0);
    [LibraryImport(Base)] internal static partial nint ggml_new_tensor_2d(nint ctx, int type, long ne0, long ne1);

    [LibraryImport(Base)] internal static partial nint ggml_get_rows(nint ctx, nint a, nint b);
    [LibraryImport(Base)] internal static partial nint ggml_rms_norm(nint ctx, nint a, float eps);
    [LibraryImport(Base)] internal static partial nint ggml_mul(nint ctx, nint a, nint b);
    [LibraryImport(Base)] internal static partial nint ggml_add(nint ctx, nint a, nint b);
    [LibraryImport(Base)] internal static partial nint ggml_mul_mat(nint ctx, nint a, nint b);
    [LibraryImport(Base)] internal static partial nint ggml_scale(nint ctx, nint a, float s);
    [LibraryImport(Base)] internal static partial nint ggml_silu(nint ctx, nint a);
    [LibraryImport(Base)] internal static partial nint ggml_cont(nint ctx, nint a);
    [LibraryImport(Base)] internal static partial nint ggml_reshape_2d(nint ctx, nint a, long ne0, long ne1);
    [LibraryImport(Base)] internal static partial nint ggml_reshape_4d(nint ctx, nint a, long ne0, long ne1, long ne2, long ne3);
    [LibraryImport(Base)] internal static partial nint ggml_permute(nint ctx, nint a, int ax0, int ax1, int ax2, int ax3);
    [LibraryImport(Base)]
    internal static partial nint ggml_rope_ext(nint ctx, nint a, nint pos, nint freqFactors, int nDims, int mode, int nCtxOrig,
        float freqBase, float freqScale, float extFactor, float attnFactor, float betaFast, float betaSlow);
    [LibraryImport(Base)] internal static partial nint ggml_soft_max_ext(nint ctx, nint a, nint mask, float scale, float maxBias);
    [LibraryImport(Base)] internal static partial nint ggml_cross_entropy_loss(nint ctx, nint a, nint b);

    [LibraryImport(Base)] internal static partial void ggml_set_param(nint t);
    [LibraryImport(Base)] internal static partial void ggml_set_loss(nint t);
    [LibraryImport(Base)] internal static partial nint ggml_new_graph_custom(nint ctx, nuint size, byte grads);
    [LibraryImport(Base)] internal static partial void ggml_build_forward_expand(nint graph, nint t);
    [LibraryImport(Base)] internal static partial void ggml_build_backward_expand(nint ctx, nint graph, nint gradAccs);
    [LibraryImport(Base)] internal static partial void ggml_graph_reset(nint graph);
    [LibraryImport(Base)] internal static partial nint ggml_graph_get_grad(nint graph, nint node);

    private static delegate* unmanaged<nint, nint, int, int> _compute;

    /// <summary><c>ggml_graph_compute_with_ctx</c> (libggml-cpu): runs <paramref name="graph"/> on <paramref name="threads"/> CPU threads.</summary>
    internal static void Compute(nint ctx, nint graph, int threads)
    {
        if (_compute == null) Bind();
        var status = _compute(ctx, graph, threads);
        if (status != 0) throw new LlamaException($"ggml_graph_compute_with_ctx failed with status {status} (-2 allocation failed, -1 failed, 1 aborted).");
    }

    private static void Bind()
    {
        LlamaLibrary.EnsureLoaded();
        var dir = LlamaLibrary.LoadedDirectory!;
        var file = new[] { "libggml-cpu.so", "libggml-cpu.dylib", "ggml-cpu.dll" }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
            ?? throw new LlamaException($"no libggml-cpu next to '{LlamaLibrary.LoadedPath}': the ggml training route needs the CPU backend of the same build.");
        var h = NativeLibrary.Load(file); // already mapped by libllama: the OS hands back the same copy
        var init = (delegate* unmanaged<void>)NativeLibrary.GetExport(h, "ggml_cpu_init");
        init();
        _compute = (delegate* unmanaged<nint, nint, int, int>)NativeLibrary.GetExport(h, "ggml_graph_compute_with_ctx");
    }

    internal static Span<float> F32(nint t, long count) => new((void*)ggml_get_data(t), checked((int)count));
    internal static Span<int> I32(nint t, long count) => new((void*)ggml_get_data(t), checked((int)count));
}
