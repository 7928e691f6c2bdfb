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
