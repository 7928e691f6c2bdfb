using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Federation.Specialists.Interop;

/// <summary>
/// The llama.cpp v0.5.0 C API entry points we use, with their native names. Library names are logical ("llama",
/// "ggml"); <see cref="LlamaLibrary"/> resolves them to full paths before the first call.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Llama = "llama";
    internal const string Ggml = "ggml";

    [LibraryImport(Llama)] internal static partial byte* llama_version();
    [LibraryImport(Llama)] internal static partial LlamaModelParams llama_model_default_params();
    [LibraryImport(Llama)] internal static partial LlamaContextParams llama_context_default_params();
    [LibraryImport(Llama)] internal static partial LlamaSamplerChainParams llama_sampler_chain_default_params();
    [LibraryImport(Llama)] internal static partial void llama_backend_init();
    [LibraryImport(Llama)] internal static partial void llama_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);
    [LibraryImport(Llama)][return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_supports_gpu_offload();
    [LibraryImport(Llama)] internal static partial nuint llama_max_parallel_sequences();
    [LibraryImport(Ggml, StringMarshalling = StringMarshalling.Utf8)] internal static partial void ggml_backend_load_all_from_path(string dirPath);

    // Model
    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint llama_model_load_from_file(string path, LlamaModelParams p);
    [LibraryImport(Llama)] internal static partial void llama_model_free(nint model);
    [LibraryImport(Llama)] internal static partial nint llama_model_get_vocab(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial int llama_model_n_embd(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial int llama_model_n_layer(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial int llama_model_n_head(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial int llama_model_n_ctx_train(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial ulong llama_model_n_params(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial ulong llama_model_size(SafeLlamaModelHandle model);
    [LibraryImport(Llama)] internal static partial int llama_model_desc(SafeLlamaModelHandle model, byte* buf, nuint size);
    [LibraryImport(Llama)] internal static partial byte* llama_model_chat_template(SafeLlamaModelHandle model, byte* name);
    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)] internal static partial int llama_model_meta_val_str(SafeLlamaModelHandle model, string key, byte* buf, nuint size);

    // Vocab (the vocab pointer lives as long as the model)
    [LibraryImport(Llama)] internal static partial int llama_vocab_n_tokens(nint vocab);
    [LibraryImport(Llama)] internal static partial int llama_vocab_bos(nint vocab);
    [LibraryImport(Llama)] internal static partial int llama_vocab_eos(nint vocab);
    [LibraryImport(Llama)][return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_is_eog(nint vocab, int token);
    [LibraryImport(Llama)][return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_get_add_bos(nint vocab);
    [LibraryImport(Llama)] internal static partial int llama_tokenize(nint vocab, byte* text, int textLen, int* tokens, int nTokensMax,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);
    [LibraryImport(Llama)] internal static partial int llama_token_to_piece(nint vocab, int token, byte* buf, int length, int lstrip,
        [MarshalAs(UnmanagedType.U1)] bool special);
    [LibraryImport(Llama)] internal static partial int llama_chat_apply_template(byte* tmpl, LlamaChatMessageNative* chat, nuint nMsg,
        [MarshalAs(UnmanagedType.U1)] bool addAssistant, byte* buf, int length);

    // Adapters
    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)] internal static partial nint llama_adapter_lora_init(SafeLlamaModelHandle model, string path);
    [LibraryImport(Llama)] internal static partial void llama_adapter_lora_free(nint adapter);
    [LibraryImport(Llama)] internal static partial int llama_set_adapters_lora(SafeLlamaContextHandle ctx, nint* adapters, nuint n, float* scales);

    // Context
    [LibraryImport(Llama)] internal static partial nint llama_init_from_model(SafeLlamaModelHandle model, LlamaContextParams p);
    [LibraryImport(Llama)] internal static partial void llama_free(nint ctx);
    [LibraryImport(Llama)] internal static partial uint llama_n_ctx(SafeLlamaContextHandle ctx);
    [LibraryImport(Llama)] internal static partial uint llama_n_ctx_seq(SafeLlamaContextHandle ctx);
    [LibraryImport(Llama)] internal static partial uint llama_n_batch(SafeLlamaContextHandle ctx);
    [LibraryImport(Llama)] internal static partial uint llama_n_seq_max(SafeLlamaContextHandle ctx);
    [LibraryImport(Llama)] internal static partial nint llama_get_memory(SafeLlamaContextHandle ctx);
    [LibraryImport(Llama)] internal static partial void llama_memory_clear(nint mem, [MarshalAs(UnmanagedType.U1)] bool data);
    [LibraryImport(Llama)][return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_memory_seq_rm(nint mem, int seq, int p0, int p1);
    [LibraryImport(Llama)] internal static partial void llama_set_n_threads(SafeLlamaContextHandle ctx, int nThreads, int nThreadsBatch);
    [LibraryImport(Llama)] internal static partial int llama_decode(SafeLlamaContextHandle ctx, LlamaBatchNative batch);
    [LibraryImport(Llama)] internal static partial float* llama_get_logits_ith(SafeLlamaContextHandle ctx, int i);
    [LibraryImport(Llama)] internal static partial float* llama_get_embeddings_seq(SafeLlamaContextHandle ctx, int seq);
    [LibraryImport(Llama)] internal static partial LlamaBatchNative llama_batch_init(int nTokens, int embd, int nSeqMax);
    [LibraryImport(Llama)] internal static partial void llama_batch_free(LlamaBatchNative batch);

    // Sampling
    [LibraryImport(Llama)] internal static partial nint llama_sampler_chain_init(LlamaSamplerChainParams p);
    [LibraryImport(Llama)] internal static partial void llama_sampler_chain_add(SafeLlamaSamplerHandle chain, nint sampler);
    [LibraryImport(Llama)] internal static partial nint llama_sampler_init_greedy();
    [LibraryImport(Llama)] internal static partial nint llama_sampler_init_dist(uint seed);
    [LibraryImport(Llama)] internal static partial nint llama_sampler_init_top_k(int k);
    [LibraryImport(Llama)] internal static partial nint llama_sampler_init_top_p(float p, nuint minKeep);
    [LibraryImport(Llama)] internal static partial nint llama_sampler_init_temp(float t);
    [LibraryImport(Llama)] internal static partial void llama_sampler_free(nint sampler);
    [LibraryImport(Llama)] internal static partial void llama_sampler_reset(SafeLlamaSamplerHandle sampler);
    [LibraryImport(Llama)] internal static partial int llama_sampler_sample(SafeLlamaSamplerHandle sampler, SafeLlamaContextHandle ctx, int idx);

    internal static string? Utf8(byte* p) => p == null ? null : Marshal.PtrToStringUTF8((nint)p);

    /// <summary>Sizes of the structs as this build declares them (compared with the pinned header at start-up).</summary>
    internal static (int Model, int Context, int Batch) StructSizes() =>
        (Unsafe.SizeOf<LlamaModelParams>(), Unsafe.SizeOf<LlamaContextParams>(), Unsafe.SizeOf<LlamaBatchNative>());
}
