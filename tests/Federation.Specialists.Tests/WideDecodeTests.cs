using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

[CollectionDefinition("threads alone", DisableParallelization = true)]
public sealed class ThreadsAloneCollection;

/// <summary>
/// Runs alone (no other test opens engines meanwhile): it counts the process's threads by name. OpenMP worker threads
/// inherit the name of the thread that opened their team, so a context worker that ran a multi-threaded decode itself
/// would leave a second thread named like it.
/// </summary>
[Collection("threads alone")]
public class WideDecodeTests
{
    private readonly ModelFiles _files = ModelFiles.Instance;

    private static Dictionary<int, string> Threads() =>
        Directory.GetDirectories("/proc/self/task").ToDictionary(d => int.Parse(Path.GetFileName(d)), d =>
        {
            try { return File.ReadAllText(Path.Combine(d, "comm")).Trim(); }
            catch (IOException) { return ""; } // the thread ended meanwhile
        });

    [Fact]
    public async Task Lone_contexts_decode_on_every_core_from_one_thread_so_the_process_keeps_one_OpenMP_team()
    {
        var before = Threads();
        var quiet = new MachineLoad(others: () => 0);
        GenerationResult a, b;
        long solo, wideBefore = WideDecoder.Decodes;
        using (var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 2, SoloThreads = 2, MachineLoad = quiet }))
        {
            engine.RegisterAdapter("a", _files.Adapters[0].Path);
            engine.RegisterAdapter("b", _files.Adapters[1].Path);
            // A alone on one context (2 threads), then B on the other beside it (1 thread each), then B alone (2 threads):
            // both contexts run wide decodes.
            var ra = engine.GenerateAsync(new GenerationRequest { Prompt = "first, alone", MaxTokens = 150, Adapters = [new AdapterSelection("a")] });
            while (engine.PeakGroupSize == 0 && !ra.IsCompleted) await Task.Delay(1);
            var rb = engine.GenerateAsync(new GenerationRequest { Prompt = "second, outlives the first", MaxTokens = 400, Adapters = [new AdapterSelection("b")] });
            a = await ra;
            b = await rb;
            solo = engine.SoloThreadDecodes;
            Assert.Equal(2, engine.AdapterSwaps); // one set per context: both contexts ran
            var started = Threads().Where(t => !before.ContainsKey(t.Key)).Select(t => t.Value).ToList();
            Assert.Equal(1, started.Count(n => n == "llama-context-0"));
            Assert.Equal(1, started.Count(n => n == "llama-context-1"));
        }
        Assert.True(solo > 0, "no decode ran on the solo threads");
        Assert.Equal(solo, WideDecoder.Decodes - wideBefore);
        var wide = Threads().Values.Count(n => n.StartsWith("llama-wide", StringComparison.Ordinal));
        Assert.True(wide >= 2, $"{wide} wide-decode threads (the decoding thread and its OpenMP worker)");

        // the thread count and the thread that decodes change no token: the same requests on a busy machine (1 thread)
        using var busy = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 2, SoloThreads = 2, MachineLoad = new MachineLoad(others: () => 2) });
        busy.RegisterAdapter("a", _files.Adapters[0].Path);
        busy.RegisterAdapter("b", _files.Adapters[1].Path);
        Assert.Equal(a.TokenIds, (await busy.GenerateAsync(new GenerationRequest { Prompt = "first, alone", MaxTokens = 150, Adapters = [new AdapterSelection("a")] })).TokenIds);
        Assert.Equal(b.TokenIds, (await busy.GenerateAsync(new GenerationRequest { Prompt = "second, outlives the first", MaxTokens = 400, Adapters = [new AdapterSelection("b")] })).TokenIds);
        Assert.Equal(0, busy.SoloThreadDecodes);
    }
}
