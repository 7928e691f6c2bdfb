using System.Runtime.InteropServices;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using LLama.Native;

namespace Federation.Specialists.Tests;

/// <summary>One llama.cpp in the process: LLamaSharp loads it, and the project's few imports bind to that same file.</summary>
public class NativeLibraryTests
{
    [Fact]
    public void Exactly_one_libllama_is_loaded_and_it_is_the_one_the_imports_are_bound_to()
    {
        var dir = LlamaLibrary.EnsureLoaded();
        using (var model = BaseModel.Load(ModelFiles.Instance.Base, 0))
        using (var ctx = EngineContext.Create(model, new ContextSettings { ContextPerSequence = 64 }))
        using (var batch = new NativeBatch(2))
        {
            batch.Add(model.Bos, 0, 0, true);
            ctx.Decode(batch); // through LlamaImports
            // llama_n_ctx_seq, also through LlamaImports (llama.cpp rounds n_ctx up to a multiple of 256).
            Assert.Equal((int)ctx.Handle.ContextSize / ctx.Sequences, ctx.ContextPerSequence);
            Assert.InRange(ctx.ContextPerSequence, 64, 256);
        }
        var loaded = Assert.Single(LlamaLibrary.LoadedLlamaModules());
        Assert.Equal(LlamaLibrary.LoadedPath, loaded);
        Assert.Equal(dir, Path.GetDirectoryName(loaded));
        // The OS hands out one handle per loaded file: loading the path again gives the handle the imports use.
        var again = NativeLibrary.Load(loaded);
        try
        {
            Assert.Equal(LlamaImports.Handle, again);
            Assert.True(NativeLibrary.TryGetExport(again, "llama_decode", out _));
        }
        finally
        {
            NativeLibrary.Free(again); // drops only the extra reference taken here
        }
    }

    [Fact]
    public void The_library_comes_from_the_backend_package_and_reports_the_pinned_llama_cpp()
    {
        var dir = LlamaLibrary.EnsureLoaded();
        var overridden = Environment.GetEnvironmentVariable(LlamaLibrary.LibDirVariable);
        if (string.IsNullOrWhiteSpace(overridden))
            Assert.StartsWith(Path.Combine(AppContext.BaseDirectory, "runtimes"), dir, StringComparison.Ordinal);
        else
            Assert.Equal(Path.GetFullPath(overridden).TrimEnd('/'), dir);
        Assert.Contains(LlamaLibrary.LlamaCppCommit, LlamaLibrary.Version, StringComparison.Ordinal);
        Assert.Contains("LLamaSharp 0.30.0", LlamaLibrary.Version, StringComparison.Ordinal);
        // The constant says what the central package pins.
        var props = Path.Combine(RepoRoot(), "Directory.Packages.props");
        Assert.Contains($"<PackageVersion Include=\"LLamaSharp\" Version=\"{LlamaLibrary.LlamaSharpVersion}\" />", File.ReadAllText(props), StringComparison.Ordinal);
        Assert.NotNull(NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama));
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Directory.Packages.props"))) return d.FullName;
        throw new DirectoryNotFoundException("no Directory.Packages.props above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_load_error_lists_what_was_tried_and_the_fix()
    {
        var e = LlamaLibrary.NotLoaded(new DllNotFoundException("libllama.so: cannot open shared object file"));
        Assert.Contains("could not be loaded", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot open shared object file", e.Message, StringComparison.Ordinal);
        Assert.Contains("Files tried (relative to ", e.Message, StringComparison.Ordinal);
        Assert.Contains("-p:LlamaBackend=", e.Message, StringComparison.Ordinal);
        Assert.Contains(LlamaLibrary.LibDirVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_imports_name_only_functions_the_loaded_library_exports()
    {
        LlamaLibrary.EnsureLoaded();
        foreach (var export in LlamaImports.RequiredExports)
            Assert.True(NativeLibrary.TryGetExport(LlamaImports.Handle, export, out _), export);
        // The training entry points a later issue needs are in the same file, ready for LlamaImports.
        Assert.True(NativeLibrary.TryGetExport(LlamaImports.Handle, "llama_opt_init", out _));
    }
}
