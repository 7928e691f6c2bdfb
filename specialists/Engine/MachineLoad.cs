using Microsoft.Win32.SafeHandles;

namespace Federation.Specialists.Engine;

/// <summary>
/// One reading of the kernel's CPU counters (clock ticks, all CPUs together): <see cref="Total"/> = every column of
/// the <c>cpu</c> line of /proc/stat, <see cref="Busy"/> = user + system + irq + softirq + steal, <see cref="Nice"/> =
/// the nice column (time of processes at a positive nice value), <see cref="Own"/> = this process's utime + stime
/// (/proc/self/stat), <see cref="OwnNice"/> = this process's nice value (where the kernel files its own time),
/// <see cref="Cpus"/> = the number of <c>cpuN</c> lines.
/// </summary>
internal readonly record struct CpuSample(long Total, long Busy, long Nice, long Own, int OwnNice, int Cpus);

/// <summary>
/// How busy the machine is with work other than this process, in cores (0 = quiet, 2 = both cores of a 2-core machine
/// taken), over the last second: the change of the busy CPU time in /proc/stat minus this process's own CPU time
/// (/proc/self/stat) between a sample about <see cref="Window"/> old and the newest, divided by the elapsed time.
/// Sampled every <see cref="SamplePeriod"/> by a timer, so reading <see cref="Others"/> on the decode path is one
/// volatile read (no allocation, no file access).
/// Threads that follow the load use it: ggml's worker threads meet at a barrier after every graph node, so a decode on
/// two threads stalls whenever the scheduler gives either core to another process (docs/engine.md).
/// Positive-nice time (the <c>nice</c> column: processes that asked to yield) counts only while this process is niced
/// itself (auto, the default): the kernel gives a nice-0 thread about 9× the CPU share of a nice-10 one, so niced
/// background work barely delays a nice-0 decode, while at equal niceness it takes its full share (measured in
/// docs/benchmarks.md). Without /proc the machine counts as quiet.
/// </summary>
internal sealed class MachineLoad : IDisposable
{
    /// <summary>How often the counters are read.</summary>
    public static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(250);

    /// <summary>The span the load is measured over (the newest sample against the one this much older).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private const int Ring = 5; // Window / SamplePeriod + 1 samples
    private readonly CpuSample[] _ring = new CpuSample[Ring];
    private int _count, _next;
    private readonly bool? _countNice;
    private readonly Func<double>? _fake;
    private readonly Lock _gate = new();
    private Timer? _timer;
    private SafeFileHandle? _stat, _self;
    private readonly byte[] _buffer = [];
    private double _others;

    /// <summary>
    /// The machine's own counters, read every <see cref="SamplePeriod"/> from now until disposed.
    /// <paramref name="countNice"/>: whether positive-nice time counts as load; null (default) = only while this process is niced.
    /// </summary>
    public MachineLoad(bool? countNice = null)
    {
        _countNice = countNice;
        try
        {
            _stat = File.OpenHandle("/proc/stat");
            _self = File.OpenHandle("/proc/self/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or PlatformNotSupportedException)
        {
            _stat?.Dispose();
            _stat = _self = null;
            return; // no /proc: always quiet
        }
        _buffer = new byte[32 * 1024];
        Sample(null);
        _timer = new Timer(Sample, null, SamplePeriod, SamplePeriod);
    }

    /// <summary>A fixed or scripted load for tests (no /proc, no timer).</summary>
    internal MachineLoad(Func<double> others) => _fake = others;

    /// <summary>Samples are fed by the caller through <see cref="Add"/> (tests on recorded /proc/stat lines).</summary>
    internal static MachineLoad FromSamples(bool? countNice = null) => new(countNice, manual: true);

    private MachineLoad(bool? countNice, bool manual) => _countNice = countNice;

    /// <summary>Cores' worth of CPU time other processes used over the last <see cref="Window"/> (0 = quiet).</summary>
    public double Others => _fake?.Invoke() ?? Volatile.Read(ref _others);

    /// <summary>Samples held (at most the window's).</summary>
    internal int Samples => Volatile.Read(ref _count);

    /// <summary>Adds a sample and recomputes <see cref="Others"/> against the oldest one in the window.</summary>
    internal void Add(in CpuSample sample)
    {
        lock (_gate)
        {
            _ring[_next] = sample;
            _next = (_next + 1) % Ring;
            if (_count < Ring) _count++;
            if (_count < 2) return;
            // the oldest sample kept: Ring - 1 periods back once the ring is full
            var oldest = _ring[_count < Ring ? 0 : _next];
            Volatile.Write(ref _others, OthersBetween(oldest, sample, _countNice));
        }
    }

    /// <summary>
    /// Cores' worth of CPU time used by other processes between two samples: (Δbusy [+ Δnice] − Δown) ÷ elapsed, the
    /// elapsed time being Δtotal ÷ CPUs (all in clock ticks, so the tick rate cancels out). This process's own time is
    /// subtracted only from the column the kernel files it in (nice when its nice value is positive).
    /// <paramref name="countNice"/> null = count positive-nice time only while this process is niced itself.
    /// </summary>
    internal static double OthersBetween(in CpuSample a, in CpuSample b, bool? countNice)
    {
        var cpus = Math.Max(1, b.Cpus);
        var total = b.Total - a.Total;
        if (total <= 0) return 0;
        var elapsed = (double)total / cpus;
        double busy = b.Busy - a.Busy;
        double nice = b.Nice - a.Nice;
        double own = b.Own - a.Own;
        var niced = b.OwnNice > 0;
        double others = (countNice ?? niced) ? busy + nice - own
            : niced ? busy                // our time is in the nice column, which is not counted
            : busy - own;
        return Math.Clamp(others / elapsed, 0, cpus);
    }

    private void Sample(object? _)
    {
        try
        {
            lock (_gate)
            {
                if (_stat is null || _self is null) return;
                var n = RandomAccess.Read(_stat, _buffer, 0);
                if (!TryParseProcStat(_buffer.AsSpan(0, n), out var total, out var busy, out var nice, out var cpus)) return;
                n = RandomAccess.Read(_self, _buffer, 0);
                if (!TryParseSelfStat(_buffer.AsSpan(0, n), out var own, out var ownNice)) return;
                Add(new CpuSample(total, busy, nice, own, ownNice, cpus));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // a failed read keeps the last value
        }
    }

    /// <summary>
    /// Parses /proc/stat: the aggregate <c>cpu</c> line (user nice system idle iowait irq softirq steal [guest
    /// guest_nice]; guest time is already inside user and nice, so it is not added again) and the count of
    /// <c>cpuN</c> lines.
    /// </summary>
    internal static bool TryParseProcStat(ReadOnlySpan<byte> text, out long total, out long busy, out long nice, out int cpus)
    {
        total = busy = nice = 0;
        cpus = 0;
        var firstLine = true;
        Span<long> v = stackalloc long[8];
        while (!text.IsEmpty)
        {
            var eol = text.IndexOf((byte)'\n');
            var line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            if (!line.StartsWith("cpu"u8)) break; // the cpu lines come first
            if (firstLine)
            {
                firstLine = false;
                if (line.Length < 4 || line[3] != (byte)' ') return false;
                var rest = line[3..];
                for (var i = 0; i < v.Length; i++)
                    if (!NextNumber(ref rest, out v[i])) { if (i < 4) return false; v[i] = 0; }
                // user nice system idle iowait irq softirq steal
                total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
                busy = v[0] + v[2] + v[5] + v[6] + v[7];
                nice = v[1];
                continue;
            }
            if (line.Length > 3 && char.IsAsciiDigit((char)line[3])) cpus++;
        }
        return !firstLine && cpus > 0;
    }

    /// <summary>Parses /proc/self/stat: utime + stime (fields 14 and 15) and nice (field 19), counted after the <c>)</c> that ends the command name.</summary>
    internal static bool TryParseSelfStat(ReadOnlySpan<byte> text, out long ownTicks, out int niceValue)
    {
        ownTicks = 0;
        niceValue = 0;
        var close = text.LastIndexOf((byte)')');
        if (close < 0) return false;
        var rest = text[(close + 1)..];
        // field 3 (state) is the first after ')'; utime is field 14, stime 15, nice 19
        long utime = 0, stime = 0, nice = 0;
        for (var field = 3; field <= 19; field++)
        {
            if (field == 3) { if (!SkipToken(ref rest)) return false; continue; }
            if (!NextSigned(ref rest, out var x)) return false;
            if (field == 14) utime = x;
            else if (field == 15) stime = x;
            else if (field == 19) nice = x;
        }
        ownTicks = utime + stime;
        niceValue = (int)nice;
        return true;
    }

    private static bool SkipToken(ref ReadOnlySpan<byte> s)
    {
        s = s.TrimStart((byte)' ');
        if (s.IsEmpty) return false;
        var end = s.IndexOf((byte)' ');
        s = end < 0 ? default : s[end..];
        return true;
    }

    private static bool NextNumber(ref ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        s = s.TrimStart((byte)' ');
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit((char)s[i])) value = value * 10 + (s[i++] - '0');
        if (i == 0) return false;
        s = s[i..];
        return true;
    }

    private static bool NextSigned(ref ReadOnlySpan<byte> s, out long value)
    {
        s = s.TrimStart((byte)' ');
        var negative = !s.IsEmpty && s[0] == (byte)'-';
        if (negative) s = s[1..];
        if (!NextNumber(ref s, out value)) return false;
        if (negative) value = -value;
        return true;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            _stat?.Dispose();
            _self?.Dispose();
            _stat = _self = null;
        }
    }
}
