using Federation.Governance.Diip;
using Federation.Registry.Json;
using static Federation.Governance.Tests.DiipTestKit;

namespace Federation.Governance.Tests;

/// <summary>
/// The persisted event-log format is frozen: a fixed key, proposal and time give these exact lines
/// (tests/vectors/diip/frozen-events.jsonl). Changing the format breaks replay of every stored log, so it must be deliberate:
/// regenerate with DIIP_WRITE_FROZEN=1 and say why in the commit.
/// </summary>
public class DiipFrozenFormatTests
{
    private static string Lines()
    {
        var env = Adapter().Sign(Producer);
        var id = env.Id.ToString();
        var events = new[]
        {
            DiipEvent.CreateDraft(env, T0, Producer),
            Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer),
            Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))),
            Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()),
        };
        return string.Concat(events.Select(e => CanonicalJson.SerializeToString(e.ToJson()) + "\n"));
    }

    [Fact]
    public void Event_log_lines_are_byte_for_byte_the_frozen_vectors()
    {
        var path = RepoFiles.Path("tests/vectors/diip") + "/frozen-events.jsonl";
        if (Environment.GetEnvironmentVariable("DIIP_WRITE_FROZEN") == "1") File.WriteAllText(path, Lines());
        Assert.Equal(File.ReadAllText(path), Lines());
    }

    [Fact]
    public void Frozen_log_replays_to_shadow_soak()
    {
        var log = new DiipEventLog(RepoFiles.Path("tests/vectors/diip/frozen-events.jsonl"));
        var book = DiipBook.Replay(Policy(), log.Load());
        Assert.False(log.DroppedTornTail);
        Assert.Equal(DiipState.ShadowSoak, Assert.Single(book.Proposals).State);
    }
}

/// <summary>Events stamped by an injected <see cref="TimeProvider"/>: the fold measures the time-lock between those stamps.</summary>
public class DiipInjectedClockTests
{
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Activation_waits_for_the_injected_clock_to_pass_the_time_lock()
    {
        var (book, id) = Drafted(Constitution());
        var at = ToVote(book, id);
        for (int i = 0; i < 8; i++) Ok(book, Ev(id, DiipEventKinds.Vote, at + 1, Obj(("approve", true)), Voters[i]), DiipState.Vote);
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(at + 14 * Day));
        Ok(book, DiipEvent.Create(id, DiipEventKinds.VoteClose, Obj(("electorate", Electorate(8))), Authority, clock), DiipState.TimeLock);
        var activate = Obj(("incumbent", Hex(0xdd)), ("baseline_pass_rate", 0.9));
        clock.Now += TimeSpan.FromDays(13);
        Refused(book, DiipEvent.Create(id, DiipEventKinds.Activate, activate, Authority, clock), DiipErrors.TimeLockActive);
        clock.Now += TimeSpan.FromDays(1);
        var s = Ok(book, DiipEvent.Create(id, DiipEventKinds.Activate, activate, Authority, clock), DiipState.Active);
        Assert.Equal(clock.Now.ToUnixTimeMilliseconds(), s.ActivatedAt);
    }
}
