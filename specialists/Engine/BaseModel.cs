using System.Text;
using Federation.Specialists.Interop;
using LLama.Exceptions;
using LLama.Native;

namespace Federation.Specialists.Engine;

/// <summary>
/// The frozen base: LLamaSharp's <see cref="SafeLlamaModelHandle"/> plus what the engine asks of it often (sizes read
/// once, tokens as ints). Contexts created on it keep the native model alive (LLamaSharp takes a reference).
/// </summary>
internal sealed class BaseModel : IDisposable
{
    private BaseModel(SafeLlamaModelHandle handle, string path)
    {
        Handle = handle;
        Path = path;
        Vocab = handle.Vocab;
        VocabSize = Vocab.Count;
        EmbeddingSize = handle.EmbeddingSize;
        ParameterCount = handle.ParameterCount;
        Bos = Vocab.BOS is { } bos ? (int)bos : -1;
        ChatTemplate = handle.GetTemplate(null, strict: false);
    }

    public SafeLlamaModelHandle Handle { get; }
    public SafeLlamaModelHandle.Vocabulary Vocab { get; }
    public string Path { get; }
    public int VocabSize { get; }
    public int EmbeddingSize { get; }
    public ulong ParameterCount { get; }
    public int Bos { get; }
    /// <summary>The model's built-in chat template (<c>tokenizer.chat_template</c>), or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>Loads a GGUF model. Throws <see cref="LlamaException"/> when the file is missing or llama.cpp refuses it.</summary>
    public static BaseModel Load(string path, int gpuLayers)
    {
        if (!File.Exists(path))
            throw new LlamaException($"model file '{path}' does not exist; give the path of a GGUF model.");
        LlamaLibrary.EnsureLoaded();
        var p = LLamaModelParams.Default();
        p.n_gpu_layers = gpuLayers;
        LlamaLibrary.TakeRecentProblems();
        try
        {
            return new BaseModel(SafeLlamaModelHandle.LoadFromFile(path, p), path);
        }
        catch (LoadWeightsFailedException e)
        {
            throw new LlamaException($"llama.cpp could not load '{path}' as a model (not a valid GGUF llama model, or truncated). " +
                $"Native log: {LlamaLibrary.TakeRecentProblems()}", e);
        }
    }

    public bool IsEndOfGeneration(int token) => ((LLamaToken)token).IsEndOfGeneration(Vocab);

    /// <summary>Tokenizes text as UTF-8. Thread-safe (llama.cpp documents tokenization as such).</summary>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        var tokens = Handle.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8);
        var ids = new int[tokens.Length];
        for (var i = 0; i < ids.Length; i++) ids[i] = (int)tokens[i];
        return ids;
    }

    /// <summary>The bytes a token renders to (special tokens render as empty).</summary>
    public byte[] TokenToPiece(int token)
    {
        Span<byte> buf = stackalloc byte[64];
        var n = (int)Handle.TokenToSpan(token, buf, 0, special: false);
        if (n <= buf.Length) return buf[..n].ToArray();
        var big = new byte[n];
        n = (int)Handle.TokenToSpan(token, big, 0, special: false);
        return big.AsSpan(0, Math.Min(n, big.Length)).ToArray();
    }

    /// <summary>Loads a LoRA adapter for this model. Throws <see cref="LlamaException"/> when llama.cpp refuses it.</summary>
    public LoraAdapter LoadAdapter(string path)
    {
        if (!File.Exists(path))
            throw new LlamaException($"adapter file '{path}' does not exist.");
        LlamaLibrary.TakeRecentProblems();
        Exception? inner = null;
        try
        {
            var adapter = Handle.LoadLoraFromFile(path);
            if (LlamaImports.AdapterPointer(adapter) != 0) return adapter;
        }
        catch (Exception e) when (e is RuntimeError or InvalidOperationException or IOException)
        {
            inner = e;
        }
        throw new LlamaException($"llama.cpp could not load '{path}' as a LoRA adapter for base '{Path}' " +
            $"(wrong architecture, tensor shapes, or a damaged file). Native log: {LlamaLibrary.TakeRecentProblems()}", inner);
    }

    public void Dispose() => Handle.Dispose();
}
