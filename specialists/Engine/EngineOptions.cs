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
    /// Requests with the same adapter set that one context runs at once (KV streams per context). Default 1: a
    /// one-stream context reuses its compute graph step after step; with several streams, decoding them one after
    /// another rebuilds the graph each time (measured ~3x the cost of a 1-token decode on the tiny model).
    /// </summary>
    public int SequencesPerContext { get; init; } = 1;

    /// <summary>KV cells per sequence: prompt plus generated tokens must fit.</summary>
    public int ContextSize { get; init; } = 512;

    /// <summary>Prompt tokens per decode call. Fixed so a request's decode shapes never depend on its neighbours.</summary>
    public int PromptChunk { get; init; } = 64;

    /// <summary>
    /// Threads for single-token generation. Default 1: ggml workers spin, and two spinning threads on two busy cores
    /// collapsed generation to a few dozen tokens/s (docs/engine.md).
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Threads for prompt chunks (default 1, see <see cref="Threads"/>).</summary>
    public int BatchThreads { get; init; } = 1;

    /// <summary>Layers to offload to a GPU (llama.cpp's n_gpu_layers); used only with a GPU backend (<c>-p:LlamaBackend=Cuda12</c>). 0 = CPU only.</summary>
    public int GpuLayers { get; init; }

    /// <summary>Adapters kept loaded at once (LRU); others are loaded on first use.</summary>
    public int MaxResidentAdapters { get; init; } = 16;

    /// <summary>How many groups may be scheduled ahead of a waiting request before it is served next (no starvation).</summary>
    public int MaxBypass { get; init; } = 4;

    /// <summary>
    /// Throughput mode. When true (and <see cref="SequencesPerContext"/> &gt; 1), the generation steps of a group's
    /// sequences share one <c>llama_decode</c> call. That is NOT bit-identical to a solo run: a several-row matrix product
    /// rounds differently from a one-row one (measured max logit difference 3.4e-4 on the tiny model), so greedy output
    /// may depend on neighbours. Default false: every sequence is decoded alone and outputs are bit-identical to solo runs.
    /// </summary>
    public bool BatchSequences { get; init; }

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
        if (MaxResidentAdapters < 1) throw new ArgumentException($"EngineOptions.MaxResidentAdapters must be >= 1 (was {MaxResidentAdapters}).");
        if (EmbeddingSequences < 1) throw new ArgumentException("EngineOptions.EmbeddingSequences must be >= 1.");
    }
}
