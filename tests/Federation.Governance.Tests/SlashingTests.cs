namespace Federation.Governance.Tests;

public sealed class SlashingTests
{
    [Fact]
    public void Without_events_S_is_1()
    {
        Assert.Equal(1.0, Slashing.Factor([], 100, 120));
    }

    [Fact]
    public void An_event_drops_S_to_a_tenth_at_once()
    {
        Assert.Equal(0.1, Slashing.Factor([50], 50, 120), 15);
    }

    [Fact]
    public void The_deficit_halves_every_recovery_half_life()
    {
        Assert.Equal(1 - 0.9 / 2, Slashing.Factor([0], 120, 120), 14);
        Assert.Equal(1 - 0.9 / 4, Slashing.Factor([0], 240, 120), 14);
    }

    [Fact]
    public void Trust_leaves_faster_than_it_arrives()
    {
        // One evidence half-life (30) after the event, S has recovered far less than half of what it lost.
        var s = Slashing.Factor([0], 30, 120);
        Assert.True(s < 0.3, $"S {s}");
    }

    [Fact]
    public void Repeated_events_compound_and_future_events_are_ignored()
    {
        // Event at 0 → 0.1; recovers to 1 − 0.9/2 = 0.55 at 120; event at 120 → 0.055.
        Assert.Equal(0.055, Slashing.Factor([0, 120], 120, 120), 14);
        Assert.Equal(Slashing.Factor([0], 60, 120), Slashing.Factor([0, 61], 60, 120));
        Assert.Equal(Slashing.Factor([120, 0], 200, 120), Slashing.Factor([0, 120], 200, 120));
    }

    [Fact]
    public void Bad_knobs_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Slashing.Factor([0], 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Slashing.Factor([0], 1, 10, 1.5));
    }
}
