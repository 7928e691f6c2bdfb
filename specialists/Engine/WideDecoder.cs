using System.Runtime.ExceptionServices;
using Federation.Specialists.Interop;

namespace Federation.Specialists.Engine;

/// <summary>
/// Runs every multi-threaded decode of the process (a lone busy context on <see cref="EngineOptions.SoloThreads"/>) on
/// one dedicated OS thread. Why: the CPU backend of the pinned llama.cpp is built with OpenMP, so a decode on n &gt; 1
/// threads is an OpenMP parallel region opened by the calling thread, and libgomp keeps one thread team per thread that
/// opens regions. When the two context workers each had opened 2-thread regions, libgomp managed 3 threads on 2 cores,
/// and from then on ("more managed threads than CPUs") its barrier waits spin 100 rounds instead of ~300,000 before
/// sleeping in the kernel: every per-graph-node barrier of a decode became a futex sleep and wake, and a lone
/// small-model request fell from 163 to 24–66 tok/s (docs/benchmarks.md). With every wide decode opened from this one
/// thread, the process has one team and libgomp keeps spinning. Callers take turns (a lock); the caller's thread
/// sleeps while its decode runs here. One-thread decodes never come here (they open no region).
/// </summary>
internal static class WideDecoder
{
    private static readonly Lock Gate = new();
    private static readonly ManualResetEventSlim Go = new(false), Done = new(false);
    private static Thread? _thread;
    private static EngineContext? _ctx;
    private static NativeBatch? _batch;
    private static Exception? _error;

    /// <summary>Decodes calls made through here so far (tests and benches).</summary>
    public static long Decodes => Interlocked.Read(ref _decodes);
    private static long _decodes;

    /// <summary>The thread wide decodes run on (null until the first).</summary>
    public static int? ManagedThreadId => _thread?.ManagedThreadId;

    /// <summary><see cref="EngineContext.Decode"/> on the shared wide-decode thread; throws what it throws.</summary>
    public static void Decode(EngineContext ctx, NativeBatch batch)
    {
        lock (Gate)
        {
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = "llama-wide-decode" };
                _thread.Start();
            }
            _ctx = ctx;
            _batch = batch;
            _error = null;
            Done.Reset();
            Go.Set();
            Done.Wait();
            var error = _error;
            _ctx = null;
            _batch = null;
            _error = null;
            Interlocked.Increment(ref _decodes);
            if (error is not null) ExceptionDispatchInfo.Throw(error);
        }
    }

    private static void Loop()
    {
        while (true)
        {
            Go.Wait();
            Go.Reset();
            try
            {
                _ctx!.Decode(_batch!);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Done.Set();
        }
    }
}
