using Federation.Specialists.Engine;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;

namespace Federation.Specialists.Tests;

/// <summary>
/// Model files generated once per test run (tiny base, adapters, a mismatched adapter, damaged files) and one shared
/// engine. The native library comes from the LLamaSharp backend package copied into the test output; when it cannot
/// load, the tests fail with the loader's message (they never skip).
/// </summary>
public sealed class EngineFixture : IDisposable
{
    public EngineFixture()
    {
        Files = ModelFiles.Instance;
        Engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = Files.Base, Contexts = 2, SequencesPerContext = 2, ContextSize = 256 });
        foreach (var (id, path) in Files.Adapters) Engine.RegisterAdapter(id, path);
    }

    public ModelFiles Files { get; }
    public SpecialistEngine Engine { get; }

    public void Dispose() => Engine.Dispose();
}

[CollectionDefinition("engine")]
public sealed class EngineCollection : ICollectionFixture<EngineFixture>;

/// <summary>The generated files (process-wide, written to a fresh temp folder).</summary>
public sealed class ModelFiles
{
    private static readonly Lazy<ModelFiles> Lazy = new(() => new ModelFiles());

    public static ModelFiles Instance => Lazy.Value;

    private ModelFiles()
    {
        LlamaLibrary.EnsureLoaded();
        Dir = Path.Combine(Path.GetTempPath(), "fed-engine-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        Base = TinyModelFactory.Create(ModelPreset.Tiny, 1, Path.Combine(Dir, "base.gguf")).Path;
        var adapters = new List<(string, string)>();
        for (var i = 0; i < 4; i++)
        {
            var id = ((char)('a' + i)).ToString();
            adapters.Add((id, LoraAdapterFactory.Create(Base, Path.Combine(Dir, $"{id}.gguf"), rank: 8, seed: (ulong)(11 + i)).Path));
        }
        Adapters = adapters;
        var other = TinyModelFactory.Create(new ModelPreset("other", 64, 2, 2, 2, 160), 2, Path.Combine(Dir, "other.gguf")).Path;
        Mismatched = LoraAdapterFactory.Create(other, Path.Combine(Dir, "mismatched.gguf"), rank: 4, seed: 3).Path;
        Truncated = Path.Combine(Dir, "truncated.gguf");
        var bytes = File.ReadAllBytes(Adapters[0].Path);
        File.WriteAllBytes(Truncated, bytes[..(bytes.Length / 2)]);
        Garbage = Path.Combine(Dir, "garbage.gguf");
        File.WriteAllBytes(Garbage, "GGUF\u0003\0\0\0not really a gguf file at all"u8.ToArray());
    }

    public string Dir { get; }
    public string Base { get; }
    public IReadOnlyList<(string Id, string Path)> Adapters { get; }
    public string Mismatched { get; }
    public string Truncated { get; }
    public string Garbage { get; }
}
