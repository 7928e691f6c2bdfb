namespace Federation.Governance.Tests;

public sealed class ExplorationBudgetTests
{
    [Fact]
    public void Newcomers_get_the_reserved_share_whatever_their_weight()
    {
        var a = ExplorationBudget.Allocate(40, 0.1, [0.5, 0.5, 0, 0], [false, false, true, true]);
        Assert.Equal([18, 18, 2, 2], a);
    }

    [Fact]
    public void Without_newcomers_everything_goes_by_weight_with_largest_remainders()
    {
        var a = ExplorationBudget.Allocate(10, 0.2, [1, 1, 1], [false, false, false]);
        Assert.Equal([4, 3, 3], a);
        Assert.Equal([5, 3, 2], ExplorationBudget.Allocate(10, 0, [0.5, 0.3, 0.2], [false, false, false]));
    }

    [Fact]
    public void All_zero_weights_split_equally_and_the_total_is_always_kept()
    {
        Assert.Equal([3, 3, 2], ExplorationBudget.Allocate(8, 0, [0, 0, 0], [false, false, false]));
        var rng = new Random(5);
        for (int t = 0; t < 500; t++)
        {
            int n = rng.Next(1, 12), total = rng.Next(0, 200);
            var w = Enumerable.Range(0, n).Select(_ => rng.Next(3) == 0 ? 0 : rng.NextDouble()).ToArray();
            var nc = Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0).ToArray();
            var share = rng.NextDouble() * 0.5;
            var a = ExplorationBudget.Allocate(total, share, w, nc);
            Assert.Equal(total, a.Sum());
            if (Array.IndexOf(nc, true) >= 0) Assert.True(a.Where((_, i) => nc[i]).Sum() >= (int)Math.Floor(total * share));
            Assert.Equal(a, ExplorationBudget.Allocate(total, share, w, nc));
        }
    }
}
