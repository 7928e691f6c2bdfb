using System.Text;
using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

public class MachineLoadTests
{
    // Recorded on the 2-core build machine (2026-12-02 14:36 UTC), one second apart, while other helpers' builds and
    // tests at nice 10/19 filled both cores: almost all the time went to the nice column.
    private const string StatBefore =
        "cpu  655356 986000 277129 209102 2177 0 3165 0 0 0\n" +
        "cpu0 345128 473100 133126 113717 593 0 928 0 0 0\n" +
        "cpu1 310228 512900 144002 95385 1583 0 2236 0 0 0\n" +
        "intr 8306719 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 10 0 0 0 0 2140 822 0 186 1 624502 0 22317\n" +
        "ctxt 51234567\nbtime 1764676000\nprocesses 25600\nprocs_running 9\nprocs_blocked 0\n";
    private const string StatAfter =
        "cpu  655359 986205 277137 209102 2177 0 3165 0 0 0\n" +
        "cpu0 345128 473204 133130 113717 593 0 928 0 0 0\n" +
        "cpu1 310230 513001 144006 95385 1583 0 2236 0 0 0\n" +
        "intr 8307000 0 0 0\nctxt 51239999\n";

    private static CpuSample Sample(string stat, long own, int ownNice)
    {
        Assert.True(MachineLoad.TryParseProcStat(Encoding.ASCII.GetBytes(stat), out var total, out var busy, out var nice, out var cpus));
        return new CpuSample(total, busy, nice, own, ownNice, cpus);
    }

    [Fact]
    public void The_cpu_line_is_split_into_busy_nice_and_total_and_the_cpus_are_counted()
    {
        Assert.True(MachineLoad.TryParseProcStat(Encoding.ASCII.GetBytes(StatBefore), out var total, out var busy, out var nice, out var cpus));
        Assert.Equal(2, cpus);
        Assert.Equal(655356 + 986000 + 277129 + 209102 + 2177 + 0 + 3165 + 0, total); // guest columns are inside user/nice
        Assert.Equal(655356 + 277129 + 0 + 3165 + 0, busy);                           // user + system + irq + softirq + steal
        Assert.Equal(986000, nice);
        Assert.False(MachineLoad.TryParseProcStat("intr 1 2 3\n"u8, out _, out _, out _, out _));
        Assert.False(MachineLoad.TryParseProcStat("cpu  1 2\n"u8, out _, out _, out _, out _));
    }

    [Fact]
    public void Own_cpu_time_and_nice_come_from_after_the_command_name_even_with_parentheses_and_spaces_in_it()
    {
        // fields after ')': 3 state … 14 utime, 15 stime … 19 nice
        var line = "4242 (dotnet (x) y) S 1 4242 4242 0 -1 4194560 52311 0 12 0 1530 212 0 0 30 10 41 0 1070618 3133440 412\n"u8;
        Assert.True(MachineLoad.TryParseSelfStat(line, out var own, out var nice));
        Assert.Equal(1530 + 212, own);
        Assert.Equal(10, nice);
        Assert.True(MachineLoad.TryParseSelfStat("25594 (cat) R 25588 25588 16320 0 -1 4194304 100 0 0 0 7 3 0 0 20 -5 1 0\n"u8, out own, out nice));
        Assert.Equal(10, own);
        Assert.Equal(-5, nice);
        Assert.False(MachineLoad.TryParseSelfStat("25594 cat R 1 2"u8, out _, out _));
    }

    [Fact]
    public void Niced_background_work_is_load_only_for_a_niced_process()
    {
        // Δuser 3, Δnice 205, Δsystem 8, Δidle 0: both cores busy for 108 ticks each, 205 of them at positive nice.
        // A nice-0 node that used nothing: only the 11 un-niced ticks compete (0.10 cores).
        var atNice0 = MachineLoad.OthersBetween(Sample(StatBefore, 500, 0), Sample(StatAfter, 500, 0), countNice: null);
        Assert.Equal(11.0 / 108, atNice0, 6);
        // The same machine seen by a node at nice 10 that used 100 of the nice ticks itself: the other 105 nice ticks
        // and the 11 un-niced ones compete with it.
        var atNice10 = MachineLoad.OthersBetween(Sample(StatBefore, 500, 10), Sample(StatAfter, 600, 10), countNice: null);
        Assert.Equal((11.0 + 205 - 100) / 108, atNice10, 6);
        // forced either way
        Assert.Equal(2.0, MachineLoad.OthersBetween(Sample(StatBefore, 500, 0), Sample(StatAfter, 500, 0), countNice: true), 6);
        Assert.Equal(11.0 / 108, MachineLoad.OthersBetween(Sample(StatBefore, 500, 10), Sample(StatAfter, 600, 10), countNice: false), 6);
    }

    [Fact]
    public void This_process_own_decode_is_not_load_but_another_process_using_both_cores_is()
    {
        var a = new CpuSample(Total: 10_000, Busy: 4_000, Nice: 0, Own: 1_000, OwnNice: 0, Cpus: 2);
        // one second on 2 cores (200 ticks): 196 user + 4 system ticks, all of them this process's own
        var ours = a with { Total = 10_200, Busy = 4_200, Own = 1_200 };
        Assert.Equal(0, MachineLoad.OthersBetween(a, ours, null), 6);
        // the same ticks spent by another process (llama-server's two threads)
        var theirs = a with { Total = 10_200, Busy = 4_200 };
        Assert.Equal(2.0, MachineLoad.OthersBetween(a, theirs, null), 6);
        // half a core of someone else beside our 1.5
        Assert.Equal(0.5, MachineLoad.OthersBetween(a, a with { Total = 10_200, Busy = 4_200, Own = 1_150 }, null), 6);
        // no time passed / counters went backwards: quiet, never negative or above the core count
        Assert.Equal(0, MachineLoad.OthersBetween(a, a, null));
        Assert.Equal(0, MachineLoad.OthersBetween(a, a with { Total = 10_200, Own = 1_400 }, null));
    }

    [Fact]
    public void A_busy_second_ago_is_forgotten_once_the_window_has_passed()
    {
        // The peer harness's pattern: llama-server's round keeps both cores busy, then the node's round starts. The old
        // rule (1-minute load average) still saw ~2 busy cores for a minute and kept the node on one thread.
        var load = MachineLoad.FromSamples();
        long total = 0, busy = 0, own = 0;
        void Tick(double othersCores, double ownCores)
        {
            // 0.25 s on 2 cores = 50 ticks at 100 Hz
            total += 50;
            busy += (long)Math.Round((othersCores + ownCores) * 25);
            own += (long)Math.Round(ownCores * 25);
            load.Add(new CpuSample(total, busy, 0, own, 0, 2));
        }
        Tick(0, 0);
        Assert.Equal(0, load.Others); // one sample: nothing measured yet, quiet
        for (var i = 0; i < 8; i++) Tick(2, 0); // llama-server: both cores for 2 s
        Assert.Equal(2, load.Others, 6);
        Tick(0, 2); Tick(0, 2);                 // our round starts: half the window is still theirs
        Assert.Equal(1, load.Others, 6);
        Tick(0, 2); Tick(0, 2);                 // one second later only our own work is in the window
        Assert.Equal(0, load.Others, 6);
        Tick(0.4, 1.6);                         // someone takes 0.4 cores for a quarter of the window
        Assert.Equal(0.1, load.Others, 6);
    }

    [Fact]
    public void The_real_counters_are_read_and_parsed()
    {
        if (!File.Exists("/proc/stat")) throw new PlatformNotSupportedException("these engines run on Linux (/proc)");
        var stat = File.ReadAllBytes("/proc/stat");
        Assert.True(MachineLoad.TryParseProcStat(stat, out var total, out var busy, out var nice, out var cpus));
        Assert.Equal(File.ReadAllLines("/proc/stat").Count(l => l.Length > 3 && l.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(l[3])), cpus);
        Assert.True(total > busy + nice && busy > 0);
        Assert.True(MachineLoad.TryParseSelfStat(File.ReadAllBytes("/proc/self/stat"), out var own0, out _));
        // burn ~0.3 s of CPU on this thread: our own ticks (100 Hz) must follow
        var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var x = 0.0;
        while ((System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds < 0.3)
            for (var i = 0; i < 100_000; i++) x += Math.Sqrt(i);
        Assert.True(x > 0);
        Assert.True(MachineLoad.TryParseSelfStat(File.ReadAllBytes("/proc/self/stat"), out var own1, out _));
        Assert.InRange(own1 - own0, 20, 100_000);
        // the live sampler publishes a value within the window
        using var live = new MachineLoad();
        Thread.Sleep(MachineLoad.Window + MachineLoad.SamplePeriod * 2);
        Assert.True(live.Samples >= 4, $"{live.Samples} samples");
        Assert.InRange(live.Others, 0, cpus);
    }
}
