using Microsoft.Extensions.Logging;

namespace Federation.Specialists.Engine;

/// <summary>Settings of a <see cref="SpecialistEngine"/>. Defaults suit a small CPU machine.</summary>
public sealed record EngineOptions
{
    /// <summary>The frozen base model (GGUF). Loaded once; never modified or reloaded.</summary>
    public required string BaseModelPath { get; init; }

    /// <summary>
    /// Folder of a self-built <c>libllama</c> (llama.cpp 815a2a5) to use instead of the LLamaSharp backend package's;
    /// null = <c>FEDERATION_LLAMA_LIB_DIR</c>, then the package. Only the first engine in a process decides.
    /// </summary>
    public string? NativeLibraryDirectory { get; init; }

    /// <summary>Generation contexts on the one base; different adapter sets run on different contexts.</summary>
    public int Contexts { get; init; } = 2;

    /// <summary>
    /// Requests with the same adapter set that one context runs at once (KV streams per context). Their generation steps
    /// share one <c>llama_decode</c> in the fixed padded shape of docs/engine.md ("Determinism scheme"), so a request's
    /// logits are bit-identical whether it runs alone or beside up to this many neighbours. Default 4.
    /// </summary>
    public int SequencesPerContext { get; init; } = 4;

    /// <summary>KV cells per sequence: prompt plus generated tokens must fit.</summary>
    public int ContextSize { get; init; } = 512;

    /// <summary>Prompt tokens per decode call. Fixed so a request's decode shapes never depend on its neighbours.</summary>
    public int PromptChunk { get; init; } = 64;

    /// <summary>
    /// Threads per context while several requests run. Default 1: ggml workers spin, and two spinning threads on two
    /// busy cores collapsed generation to a few dozen tokens/s (docs/engine.md).
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Threads for prompt chunks while several requests run (default 1, see <see cref="Threads"/>).</summary>
    public int BatchThreads { get; init; } = 1;

    /// <summary>
    /// Threads a context uses while it runs the engine's only request and nothing waits (threads that follow the load),
    /// on the process's one wide-decode thread. 0 (default) = <see cref="Threads"/>: measured on a quiet 2-core machine, a
    /// lone small-model request was no faster on 2 threads (its padded 2-row step barely scales with threads; 2
    /// threads saved 10–20 % of the step and lost it to the hand-off) and the tiny model's step was 3× slower
    /// (docs/benchmarks.md). Set it above <see cref="Threads"/> on a machine where measurement shows a gain.
    /// The thread count does not change any logit (measured bit-identical, EngineDeterminismTests).
    /// </summary>
    public int SoloThreads { get; init; }

    /// <summary>
    /// <see cref="SoloThreads"/> (and idle contexts handing same-set requests to the lone busy one) apply only while
    /// other processes' load is at most this many cores: the CPU time of everything but this process over the last
    /// second (/proc/stat deltas minus /proc/self/stat, sampled every 0.25 s; positive-nice time counts only while this
    /// process is niced itself). Default 0.5: on a busy machine ggml's per-node thread barrier stalls whenever either
    /// core is taken (docs/engine.md, docs/benchmarks.md). <see cref="double.PositiveInfinity"/> switches the check off.
    /// </summary>
    public double SoloThreadsMaxOtherLoad { get; init; } = 0.5;

    /// <summary>The machine-load source (tests); null = /proc/stat and /proc/self/stat, sampled by the engine.</summary>
    internal MachineLoad? MachineLoad { get; init; }

    /// <summary>
    /// Whether decodes on <see cref="SoloThreads"/> run on the process's one wide-decode thread (default) rather than on
    /// the context's own worker thread (the bench's A/B of the two-OpenMP-teams collapse; see <see cref="WideDecoder"/>).
    /// </summary>
    internal bool SharedWideDecodeThread { get; init; } = true;

    /// <summary>Layers to offload to a GPU (llama.cpp's n_gpu_layers); used only with a GPU backend (<c>-p:LlamaBackend=Cuda12</c>). 0 = CPU only.</summary>
    public int GpuLayers { get; init; }

    /// <summary>Adapters kept loaded at once (LRU); others are loaded on first use.</summary>
    public int MaxResidentAdapters { get; init; } = 16;

    /// <summary>How many groups may be scheduled ahead of a waiting request before it is served next (no starvation).</summary>
    public int MaxBypass { get; init; } = 4;

    /// <summary>
    /// Inputs embedded per decode call. 1 (default): each input is decoded alone, so its vector is bit-identical
    /// whatever else is in the list. More: faster, but a vector then differs in the last bits with its batch neighbours
    /// (several sequences share one unified KV cache and one graph).
    /// </summary>
    public int EmbeddingSequences { get; init; } = 1;

    /// <summary>Receives the engine's log and llama.cpp's native log (bridged). Null = silent.</summary>
    public ILogger? Logger { get; init; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(BaseModelPath)) throw new ArgumentException("EngineOptions.BaseModelPath is required.");
        if (Contexts < 1) throw new ArgumentException($"EngineOptions.Contexts must be >= 1 (was {Contexts}).");
        if (SequencesPerContext < 1) throw new ArgumentException($"EngineOptions.SequencesPerContext must be >= 1 (was {SequencesPerContext}).");
        if (ContextSize < 16) throw new ArgumentException($"EngineOptions.ContextSize must be >= 16 (was {ContextSize}).");
        if (PromptChunk < 1) throw new ArgumentException($"EngineOptions.PromptChunk must be >= 1 (was {PromptChunk}).");
        if (Threads < 1 || BatchThreads < 1) throw new ArgumentException("EngineOptions.Threads and BatchThreads must be >= 1.");
        if (double.IsNaN(SoloThreadsMaxOtherLoad) || SoloThreadsMaxOtherLoad < 0) throw new ArgumentException($"EngineOptions.SoloThreadsMaxOtherLoad must be >= 0 (was {SoloThreadsMaxOtherLoad}).");
        if (SoloThreads < 0) throw new ArgumentException($"EngineOptions.SoloThreads must be >= 0 (0 = one per core; was {SoloThreads}).");
        if (MaxResidentAdapters < 1) throw new ArgumentException($"EngineOptions.MaxResidentAdapters must be >= 1 (was {MaxResidentAdapters}).");
        if (EmbeddingSequences < 1) throw new ArgumentException("EngineOptions.EmbeddingSequences must be >= 1.");
    }
}
