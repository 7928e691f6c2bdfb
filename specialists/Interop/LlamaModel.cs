using System.Text;

namespace Federation.Specialists.Interop;

/// <summary>A loaded base model (read-only after load) with its vocabulary.</summary>
internal sealed unsafe class LlamaModel : IDisposable
{
    private readonly nint _vocab;

    private LlamaModel(SafeLlamaModelHandle handle, string path)
    {
        Handle = handle;
        Path = path;
        _vocab = NativeMethods.llama_model_get_vocab(handle);
        VocabSize = NativeMethods.llama_vocab_n_tokens(_vocab);
        EmbeddingSize = NativeMethods.llama_model_n_embd(handle);
        LayerCount = NativeMethods.llama_model_n_layer(handle);
        TrainContext = NativeMethods.llama_model_n_ctx_train(handle);
        ParameterCount = NativeMethods.llama_model_n_params(handle);
        SizeBytes = NativeMethods.llama_model_size(handle);
        Bos = NativeMethods.llama_vocab_bos(_vocab);
        Eos = NativeMethods.llama_vocab_eos(_vocab);
        ChatTemplate = NativeMethods.Utf8(NativeMethods.llama_model_chat_template(handle, null));
    }

    public SafeLlamaModelHandle Handle { get; }
    public string Path { get; }
    public int VocabSize { get; }
    public int EmbeddingSize { get; }
    public int LayerCount { get; }
    public int TrainContext { get; }
    public ulong ParameterCount { get; }
    public ulong SizeBytes { get; }
    public int Bos { get; }
    public int Eos { get; }
    /// <summary>The model's built-in chat template (<c>tokenizer.chat_template</c>), or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>Loads a GGUF model. Throws <see cref="LlamaException"/> when llama.cpp refuses the file.</summary>
    public static LlamaModel Load(string path, int gpuLayers)
    {
        if (!File.Exists(path))
            throw new LlamaException($"model file '{path}' does not exist; give the path of a GGUF model.");
        var p = NativeMethods.llama_model_default_params();
        p.n_gpu_layers = gpuLayers;
        LlamaLibrary.TakeRecentProblems();
        var h = NativeMethods.llama_model_load_from_file(path, p);
        if (h == 0)
            throw new LlamaException($"llama.cpp could not load '{path}' as a model (not a valid GGUF llama model, or truncated). " +
                $"Native log: {LlamaLibrary.TakeRecentProblems()}");
        return new LlamaModel(new SafeLlamaModelHandle(h), path);
    }

    public string Description
    {
        get
        {
            var buf = stackalloc byte[256];
            var n = NativeMethods.llama_model_desc(Handle, buf, 256);
            return n <= 0 ? "" : Encoding.UTF8.GetString(buf, Math.Min(n, 255));
        }
    }

    public string? Metadata(string key)
    {
        var buf = new byte[4096];
        fixed (byte* b = buf)
        {
            var n = NativeMethods.llama_model_meta_val_str(Handle, key, b, (nuint)buf.Length);
            return n < 0 ? null : Encoding.UTF8.GetString(buf, 0, Math.Min(n, buf.Length - 1));
        }
    }

    public bool AddBos => NativeMethods.llama_vocab_get_add_bos(_vocab);

    public bool IsEndOfGeneration(int token) => NativeMethods.llama_vocab_is_eog(_vocab, token);

    /// <summary>Tokenizes UTF-8 text. Thread-safe (llama.cpp documents tokenization as such).</summary>
    public int[] Tokenize(ReadOnlySpan<byte> utf8, bool addSpecial, bool parseSpecial)
    {
        var cap = utf8.Length + 8;
        while (true)
        {
            var tokens = new int[cap];
            int n;
            fixed (byte* t = utf8)
            fixed (int* o = tokens)
                n = NativeMethods.llama_tokenize(_vocab, t, utf8.Length, o, cap, addSpecial, parseSpecial);
            if (n >= 0) return tokens.AsSpan(0, n).ToArray();
            if (n == int.MinValue) throw new LlamaException("tokenization overflowed int32; the prompt is too long.");
            cap = -n;
        }
    }

    /// <summary>The bytes a token renders to (special tokens rendered as empty).</summary>
    public byte[] TokenToPiece(int token)
    {
        Span<byte> buf = stackalloc byte[64];
        int n;
        fixed (byte* b = buf)
            n = NativeMethods.llama_token_to_piece(_vocab, token, b, buf.Length, 0, false);
        if (n >= 0) return buf[..n].ToArray();
        var big = new byte[-n];
        fixed (byte* b = big)
            n = NativeMethods.llama_token_to_piece(_vocab, token, b, big.Length, 0, false);
        return big.AsSpan(0, Math.Max(n, 0)).ToArray();
    }

    /// <summary>Loads a LoRA adapter for this model. Throws <see cref="LlamaException"/> when llama.cpp refuses it.</summary>
    public LlamaAdapter LoadAdapter(string path)
    {
        if (!File.Exists(path))
            throw new LlamaException($"adapter file '{path}' does not exist.");
        LlamaLibrary.TakeRecentProblems();
        var h = NativeMethods.llama_adapter_lora_init(Handle, path);
        if (h == 0)
            throw new LlamaException($"llama.cpp could not load '{path}' as a LoRA adapter for base '{Path}' " +
                $"(wrong architecture, tensor shapes, or a damaged file). Native log: {LlamaLibrary.TakeRecentProblems()}");
        return new LlamaAdapter(new SafeLlamaAdapterHandle(h, Handle), path);
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>A loaded LoRA adapter; keeps its model alive.</summary>
internal sealed class LlamaAdapter(SafeLlamaAdapterHandle handle, string path) : IDisposable
{
    public SafeLlamaAdapterHandle Handle { get; } = handle;
    public string Path { get; } = path;
    public void Dispose() => Handle.Dispose();
}

/// <summary>llama.cpp's built-in (non-Jinja) chat template formatter.</summary>
internal static unsafe class LlamaChat
{
    /// <summary>Formats <paramref name="messages"/> with <paramref name="template"/>; null when llama.cpp does not know the template.</summary>
    public static string? Apply(string template, IReadOnlyList<(string Role, string Content)> messages, bool addAssistant)
    {
        var tmpl = Utf8Z(template);
        var roles = messages.Select(m => Utf8Z(m.Role)).ToArray();
        var contents = messages.Select(m => Utf8Z(m.Content)).ToArray();
        var handles = new List<System.Runtime.InteropServices.GCHandle>();
        try
        {
            var msgs = new LlamaChatMessageNative[messages.Count];
            for (var i = 0; i < msgs.Length; i++)
            {
                var hr = System.Runtime.InteropServices.GCHandle.Alloc(roles[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                var hc = System.Runtime.InteropServices.GCHandle.Alloc(contents[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                handles.Add(hr);
                handles.Add(hc);
                msgs[i].role = (byte*)hr.AddrOfPinnedObject();
                msgs[i].content = (byte*)hc.AddrOfPinnedObject();
            }
            var len = Math.Max(256, 2 * (contents.Sum(c => c.Length) + roles.Sum(r => r.Length)) + 256);
            while (true)
            {
                var buf = new byte[len];
                int n;
                fixed (byte* t = tmpl)
                fixed (LlamaChatMessageNative* m = msgs)
                fixed (byte* b = buf)
                    n = NativeMethods.llama_chat_apply_template(t, m, (nuint)msgs.Length, addAssistant, b, len);
                if (n < 0) return null;
                if (n <= len) return Encoding.UTF8.GetString(buf, 0, n);
                len = n;
            }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    private static byte[] Utf8Z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }
}
