using System.Diagnostics;
using System.Globalization;

namespace Federation.Specialists.Engine;

/// <summary>
/// How busy the machine is with work other than this process: the kernel's 1-minute load average minus this
/// process's own CPU use averaged the same way (an exponential average with a 60 s time constant), sampled at most once
/// a second. Threads that follow the load use it: ggml's worker threads meet at a barrier after every graph node, so a
/// decode on two threads stalls whenever the scheduler gives either core to another process, and on a busy 2-core
/// machine that collapsed a lone request from 161–173 to 24–47 tok/s (docs/benchmarks.md). Without /proc/loadavg the
/// machine counts as quiet.
/// </summary>
internal sealed class MachineLoad
{
    private const double TimeConstantSeconds = 60;
    private readonly Lock _gate = new();
    private readonly Func<double?> _loadAverage;
    private readonly Func<double> _ownCpuSeconds;
    private long _lastSample;
    private double _lastCpu;
    private double _ownAverage;
    private double _others;

    public MachineLoad(Func<double?>? loadAverage = null, Func<double>? ownCpuSeconds = null)
    {
        _loadAverage = loadAverage ?? ReadLoadAverage;
        _ownCpuSeconds = ownCpuSeconds ?? (() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
        _lastCpu = _ownCpuSeconds();
        _lastSample = Stopwatch.GetTimestamp();
        _others = Math.Max(0, _loadAverage() ?? 0);
    }

    /// <summary>Runnable tasks of other processes, averaged over about a minute (0 = quiet).</summary>
    public double Others
    {
        get
        {
            var now = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(_lastSample, now).TotalSeconds < 1) return Volatile.Read(ref _others);
            lock (_gate)
            {
                var dt = Stopwatch.GetElapsedTime(_lastSample, now).TotalSeconds;
                if (dt < 1) return _others;
                var cpu = _ownCpuSeconds();
                var rate = Math.Max(0, (cpu - _lastCpu) / dt);
                var keep = Math.Exp(-dt / TimeConstantSeconds);
                _ownAverage = _ownAverage * keep + rate * (1 - keep);
                _lastCpu = cpu;
                _lastSample = now;
                Volatile.Write(ref _others, Math.Max(0, (_loadAverage() ?? 0) - _ownAverage));
                return _others;
            }
        }
    }

    private static double? ReadLoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            var end = text.IndexOf(' ');
            return double.Parse(end < 0 ? text : text[..end], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
