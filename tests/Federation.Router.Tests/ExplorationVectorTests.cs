using System.Security.Cryptography;
using System.Text;

namespace Federation.Router.Tests;

/// <summary>Frozen vectors for the exploration draw, computed independently (Python hashlib) from the formula in docs/routing.md.</summary>
public class ExplorationVectorTests
{
    private static readonly string Cid = Convert.ToHexStringLower(SHA256.HashData("policy"u8));

    [Theory]
    [InlineData("hello world", 3753, 2)]
    [InlineData("python bug", 6513, 2)]
    [InlineData("joint venture strategy", 9449, 0)]
    [InlineData("x 2", 763, 0)]
    [InlineData("x 4", 3420, 2)]
    public void Exploration_draw_matches_the_documented_formula(string normalized, int bucket, int pick)
    {
        var qh = QueryClassifier.HashQuery(normalized);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized))), qh);
        // Explores exactly when bucket < floor(share * 10000).
        Assert.Null(RoutePlanner.ExplorationPick(Cid, qh, bucket / 10000.0, 3));
        Assert.Equal(pick, RoutePlanner.ExplorationPick(Cid, qh, (bucket + 1) / 10000.0, 3));
        Assert.Null(RoutePlanner.ExplorationPick(Cid, qh, 0, 3));
        Assert.Equal(pick, RoutePlanner.ExplorationPick(Cid, qh, 1, 3));
    }
}
