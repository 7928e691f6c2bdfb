using System.Runtime.InteropServices;
using LLama.Native;

namespace Federation.Specialists.Interop;

/// <summary>
/// Training entry points of llama.cpp 815a2a5 (<c>llama_opt_*</c>, <c>llama.h</c>) and ggml's optimiser
/// (<c>ggml_opt_*</c>, <c>ggml-opt.h</c>, exported by <c>libggml-base</c> next to the <c>libllama</c> LLamaSharp loaded).
/// Struct layouts follow that commit's headers.
/// </summary>
internal static unsafe partial class LlamaImports
{
    private const string GgmlBase = "ggml-base";
    private static nint _ggmlBase;

    /// <summary>The <c>libggml-base</c> in the folder of the loaded <c>libllama</c> (already mapped: the OS returns its handle).</summary>
    private static nint GgmlBaseHandle()
    {
        if (_ggmlBase != 0) return _ggmlBase;
        var dir = LlamaLibrary.LoadedDirectory ?? throw new LlamaException("llama.cpp is not loaded yet; call LlamaLibrary.EnsureLoaded first.");
        var file = new[] { "libggml-base.so", "libggml-base.dylib", "ggml-base.dll" }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
            ?? throw new LlamaException($"no libggml-base next to '{LlamaLibrary.LoadedPath}': training needs the ggml library of the same build.");
        _ggmlBase = NativeLibrary.Load(file);
        return _ggmlBase;
    }

    internal const int GgmlTypeI32 = 26; // enum ggml_type GGML_TYPE_I32

    /// <summary><c>struct ggml_opt_optimizer_params</c>: AdamW {alpha, beta1, beta2, eps, wd}, then SGD {alpha, wd}.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OptimizerParams
    {
        public float AdamAlpha, AdamBeta1, AdamBeta2, AdamEps, AdamWd;
        public float SgdAlpha, SgdWd;
    }

    /// <summary><c>struct llama_opt_params</c> (815a2a5): n_ctx_train, param_filter(+ud), get_opt_pars(+ud), optimizer_type.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OptParams
    {
        public uint NCtxTrain;
        public delegate* unmanaged<nint, nint, byte> ParamFilter;
        public nint ParamFilterUd;
        public delegate* unmanaged<nint, OptimizerParams> GetOptPars;
        public nint GetOptParsUd;
        public int OptimizerType; // 0 = AdamW, 1 = SGD
    }

    [LibraryImport(Llama)] internal static partial void llama_opt_init(SafeLLamaContextHandle ctx, SafeLlamaModelHandle model, OptParams p);

    [LibraryImport(Llama)]
    internal static partial void llama_opt_epoch(SafeLLamaContextHandle ctx, nint dataset, nint resultTrain, nint resultEval, long idataSplit,
        delegate* unmanaged<byte, nint, nint, nint, long, long, long, void> callbackTrain,
        delegate* unmanaged<byte, nint, nint, nint, long, long, long, void> callbackEval);

    [LibraryImport(Llama)] internal static partial uint llama_n_ctx(SafeLLamaContextHandle ctx);

    [LibraryImport(GgmlBase)] internal static partial nint ggml_opt_dataset_init(int typeData, int typeLabel, long neDatapoint, long neLabel, long ndata, long ndataShard);
    [LibraryImport(GgmlBase)] internal static partial void ggml_opt_dataset_free(nint dataset);
    [LibraryImport(GgmlBase)] internal static partial nint ggml_opt_dataset_data(nint dataset);
    [LibraryImport(GgmlBase)] internal static partial nint ggml_opt_dataset_labels(nint dataset);
    [LibraryImport(GgmlBase)] internal static partial nint ggml_get_data(nint tensor);
    [LibraryImport(GgmlBase)] internal static partial nint ggml_get_name(nint tensor);
    [LibraryImport(GgmlBase)] internal static partial nint ggml_opt_result_init();
    [LibraryImport(GgmlBase)] internal static partial void ggml_opt_result_free(nint result);
    [LibraryImport(GgmlBase)] internal static partial void ggml_opt_result_loss(nint result, out double loss, out double unc);
    [LibraryImport(GgmlBase)] internal static partial void ggml_opt_result_accuracy(nint result, out double accuracy, out double unc);
}
