using System.Runtime.InteropServices;
using Federation.Specialists.Interop;

namespace Federation.Specialists.Tests;

/// <summary>
/// The struct mirrors match llama.h of llama.cpp v0.5.0 (node-llama-cpp 3.22.1). Expected offsets were printed by a C
/// program compiled with gcc against that header (offsetof/sizeof); a field in the wrong place would corrupt calls.
/// </summary>
public class InteropLayoutTests
{
    public static TheoryData<string, int> ModelParamOffsets => new()
    {
        { "devices", 0 }, { "tensor_buft_overrides", 8 }, { "n_gpu_layers", 16 }, { "split_mode", 20 }, { "load_mode", 24 },
        { "lazy_mode", 28 }, { "main_gpu", 32 }, { "tensor_split", 40 }, { "progress_callback", 48 },
        { "progress_callback_user_data", 56 }, { "kv_overrides", 64 }, { "vocab_only", 72 }, { "check_tensors", 73 },
        { "use_extra_bufts", 74 }, { "no_host", 75 }, { "no_alloc", 76 }, { "load_mtp", 77 },
    };

    public static TheoryData<string, int> ContextParamOffsets => new()
    {
        { "n_ctx", 0 }, { "n_batch", 4 }, { "n_ubatch", 8 }, { "n_seq_max", 12 }, { "n_rs_seq", 16 }, { "n_outputs_max", 20 },
        { "n_outputs_max_per_seq", 24 }, { "n_threads", 28 }, { "n_threads_batch", 32 }, { "ctx_type", 36 },
        { "rope_scaling_type", 40 }, { "pooling_type", 44 }, { "attention_type", 48 }, { "flash_attn_type", 52 },
        { "rope_freq_base", 56 }, { "rope_freq_scale", 60 }, { "yarn_ext_factor", 64 }, { "yarn_attn_factor", 68 },
        { "yarn_beta_fast", 72 }, { "yarn_beta_slow", 76 }, { "yarn_orig_ctx", 80 }, { "defrag_thold", 84 }, { "cb_eval", 88 },
        { "cb_eval_user_data", 96 }, { "type_k", 104 }, { "type_v", 108 }, { "abort_callback", 112 },
        { "abort_callback_data", 120 }, { "embeddings", 128 }, { "offload_kqv", 129 }, { "no_perf", 130 }, { "op_offload", 131 },
        { "swa_full", 132 }, { "kv_unified", 133 }, { "samplers", 136 }, { "n_samplers", 144 }, { "ctx_other", 152 },
    };

    public static TheoryData<string, int> BatchOffsets => new()
    {
        { "n_tokens", 0 }, { "token", 8 }, { "embd", 16 }, { "pos", 24 }, { "n_seq_id", 32 }, { "seq_id", 40 }, { "logits", 48 },
    };

    [Fact]
    public void Struct_sizes_match_the_pinned_header()
    {
        Assert.Equal(80, Marshal.SizeOf<LlamaModelParams>());
        Assert.Equal(160, Marshal.SizeOf<LlamaContextParams>());
        Assert.Equal(56, Marshal.SizeOf<LlamaBatchNative>());
        Assert.Equal(16, Marshal.SizeOf<LlamaChatMessageNative>());
        Assert.Equal(1, Marshal.SizeOf<LlamaSamplerChainParams>());
        Assert.Equal((80, 160, 56), NativeMethods.StructSizes());
    }

    [Theory]
    [MemberData(nameof(ModelParamOffsets))]
    public void Model_params_field_sits_at_the_header_offset(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaModelParams>(field));

    [Theory]
    [MemberData(nameof(ContextParamOffsets))]
    public void Context_params_field_sits_at_the_header_offset(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaContextParams>(field));

    [Theory]
    [MemberData(nameof(BatchOffsets))]
    public void Batch_field_sits_at_the_header_offset(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaBatchNative>(field));

    [Fact]
    public void Library_loads_and_reports_the_pinned_version()
    {
        var dir = LlamaLibrary.EnsureLoaded();
        Assert.True(File.Exists(Path.Combine(dir, "libllama.v0.5.0.so")), $"loaded from {dir}");
        Assert.Equal(LlamaLibrary.PinnedVersion, LlamaLibrary.Version);
    }

    [Fact]
    public void Default_params_come_back_by_value_with_the_documented_defaults()
    {
        LlamaLibrary.EnsureLoaded();
        var m = NativeMethods.llama_model_default_params();
        Assert.Equal(-1, m.n_gpu_layers);
        Assert.Equal(-1, m.load_mode);
        Assert.Equal(1, m.use_extra_bufts);
        var c = NativeMethods.llama_context_default_params();
        Assert.Equal((512u, 2048u, 512u, 1u), (c.n_ctx, c.n_batch, c.n_ubatch, c.n_seq_max));
        Assert.Equal(-1, c.flash_attn_type);
        Assert.Equal((1, 1, 0), (c.type_k, c.offload_kqv, c.kv_unified));
    }

    [Fact]
    public void Environment_variable_directory_is_searched_before_the_install_folder()
    {
        var env = Environment.GetEnvironmentVariable(LlamaLibrary.LibDirVariable);
        var dirs = LlamaLibrary.CandidateDirectories("/explicit/dir");
        Assert.Equal("/explicit/dir", dirs[0]);
        if (!string.IsNullOrEmpty(env)) Assert.Equal(Path.GetFullPath(env), dirs[1]);
        Assert.Contains(dirs, d => d.EndsWith(LlamaLibrary.InstallSubdir, StringComparison.Ordinal));
    }

    [Fact]
    public void Not_found_message_lists_every_path_tried_and_the_setup_command()
    {
        var (llama, _, reason) = LlamaLibrary.Probe("/nonexistent/llama/dir");
        Assert.Null(llama);
        var e = LlamaLibrary.NotFound(["/a (" + reason + ")", "/b (no libllama.v0.5.0.so)"]);
        Assert.Contains("/a (no such directory)", e.Message, StringComparison.Ordinal);
        Assert.Contains("/b", e.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/setup.sh", e.Message, StringComparison.Ordinal);
        Assert.Contains(LlamaLibrary.LibDirVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Install_folder_probe_finds_both_libraries()
    {
        var dir = LlamaLibrary.EnsureLoaded();
        var (llama, ggml, reason) = LlamaLibrary.Probe(dir);
        Assert.Equal("ok", reason);
        Assert.NotNull(llama);
        Assert.NotNull(ggml);
    }
}
