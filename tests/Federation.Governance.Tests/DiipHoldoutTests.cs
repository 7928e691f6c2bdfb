using Federation.Governance.Diip;
using Federation.Registry.Json;
using static Federation.Governance.Tests.DiipTestKit;

namespace Federation.Governance.Tests;

/// <summary>The DIIP holdout's commit-reveal as the fold checks it in gauntlet_result.</summary>
public class DiipHoldoutTests
{
    private static readonly string Salt = Hex(0x5a);
    private static readonly string[] Canaries = [Hex(0x03), Hex(0x01), Hex(0x02)];

    [Fact]
    public void The_commitment_is_sha256_of_salt_and_the_sorted_canonical_cid_list_and_ignores_order()
    {
        var c = DiipHoldout.Commitment(Salt, Canaries);
        Assert.Equal(c, DiipHoldout.Commitment(Salt, Canaries.Reverse()));
        // known value: SHA-256(salt bytes ‖ '["0101…","0202…","0303…"]')
        var list = System.Text.Encoding.UTF8.GetBytes("[\"" + Hex(0x01) + "\",\"" + Hex(0x02) + "\",\"" + Hex(0x03) + "\"]");
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. Convert.FromHexString(Salt), .. list]));
        Assert.Equal(expected, c);
        Assert.NotEqual(c, DiipHoldout.Commitment(Hex(0x5b), Canaries));
        Assert.NotEqual(c, DiipHoldout.Commitment(Salt, Canaries.Take(2)));
    }

    private static (DiipBook Book, string Id) InGauntlet(string commitment)
    {
        var (book, id) = Drafted(Adapter());
        Ok(book, Ev(id, DiipEventKinds.Submit, T0 + 1, new(), Producer), DiipState.Submitted);
        Ok(book, Ev(id, DiipEventKinds.GauntletStart, T0 + 2, Obj(("holdout_commitment", commitment), ("objective", true))), DiipState.Gauntlet);
        return (book, id);
    }

    private static JsonObject Result(DiipHoldout reveal, int n)
    {
        var ev = GoodGauntlet();
        ev["head_to_head"] = Obj(("b", 2), ("c", 0), ("n", n));
        ev["holdout"] = reveal.ToJson();
        return ev;
    }

    [Fact]
    public void A_reveal_that_matches_the_commitment_is_accepted_and_kept_with_the_evidence()
    {
        var reveal = new DiipHoldout(Salt, Canaries);
        var (book, id) = InGauntlet(reveal.Commitment());
        var r = book.Apply(Ev(id, DiipEventKinds.GauntletResult, T0 + 3, Result(reveal, 3)));
        Assert.True(r.Accepted, r.Message);
        Assert.Equal(reveal.Commitment(), r.Status!.GauntletEvidence!.Holdout!.Commitment());
        // replay gives the same state
        Assert.Equal(r.Status.State, DiipBook.Replay(Policy(), book.Accepted).Find(id)!.State);
    }

    [Fact]
    public void A_reveal_of_another_holdout_or_a_head_to_head_of_another_size_is_refused_and_nothing_changes()
    {
        var reveal = new DiipHoldout(Salt, Canaries);
        var (book, id) = InGauntlet(reveal.Commitment());
        Refused(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, Result(new DiipHoldout(Salt, Canaries.Take(2).ToList()), 2)), DiipErrors.EventInvalid);
        Refused(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, Result(new DiipHoldout(Hex(0x77), Canaries), 3)), DiipErrors.EventInvalid);
        Refused(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, Result(reveal, 400)), DiipErrors.EventInvalid);
        var bad = GoodGauntlet();
        bad["holdout"] = Obj(("salt", "xyz"), ("canaries", new JsonArray()));
        Refused(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, bad), DiipErrors.EventInvalid);
        Assert.Equal(DiipState.Gauntlet, book.Find(id)!.State);
    }

    [Fact]
    public void An_empty_guardrail_battery_is_named_as_having_no_items()
    {
        var (book, id) = InGauntlet(Hex(0x11));
        var ev = GoodGauntlet();
        ev["guardrails"] = new JsonArray(
            new JsonObject { ["battery"] = "topic", ["b"] = 0, ["c"] = 0, ["n"] = 10 },
            new JsonObject { ["battery"] = "neighbours", ["b"] = 0, ["c"] = 0, ["n"] = 0 },
            new JsonObject { ["battery"] = "safety", ["b"] = 0, ["c"] = 0, ["n"] = 2 },
            new JsonObject { ["battery"] = "no_bleed", ["b"] = 0, ["c"] = 0, ["n"] = 5 });
        var s = Ok(book, Ev(id, DiipEventKinds.GauntletResult, T0 + 3, ev), DiipState.Rejected);
        Assert.Contains("guardrail 'neighbours' has no items", s.ExitReason, StringComparison.Ordinal);
        Assert.False(s.BondBurned);
    }
}
