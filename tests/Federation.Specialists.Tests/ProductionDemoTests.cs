using Federation.Registry.Crypto;
using Federation.Specialists.Production.Demo;
using Federation.Specialists.Production.Provenance;
using Xunit;
using Xunit.Abstractions;

namespace Federation.Specialists.Tests;

/// <summary>Builds the demo federation's test profile once (policies/demo/recipe-test.json) for the tests below.</summary>
public sealed class DemoBuildFixture : IDisposable
{
    public DemoBuildFixture()
    {
        Recipe = DemoRecipe.Load(DemoRecipe.PathFor(Path.Combine(ProductionDataTests.FindRepoRoot(), "policies"), "test"));
        Key = NodeKey.FromSeed(Enumerable.Repeat((byte)3, 32).ToArray());
        Federation = new DemoBuilder(Recipe, Key, new Progress<DemoProgress>(p => Log.Add($"{p.Step}: {p.Detail}"))).BuildOrLoad(Dir.Path);
    }

    public TempDir Dir { get; } = new();
    public NodeKey Key { get; }
    public DemoRecipe Recipe { get; }
    public DemoFederation Federation { get; }
    public List<string> Log { get; } = [];

    public void Dispose()
    {
        Key.Dispose();
        Dir.Dispose();
    }
}

public sealed class ProductionDemoTests(DemoBuildFixture fx, ITestOutputHelper output) : IClassFixture<DemoBuildFixture>
{
    [Fact]
    public void Test_profile_builds_two_bases_of_different_lineage_with_verified_manifests()
    {
        var f = fx.Federation;
        output.WriteLine($"build {f.BuildSeconds:F1} s; " + string.Join(" | ", f.Adapters.Select(a => $"{a.Name}: {a.Acceptance["comparisons"][0]}")));
        Assert.Equal(2, f.Bases.Count);
        Assert.NotEqual(f.Bases[0].Cid, f.Bases[1].Cid);
        Assert.NotEqual(f.Bases[0].Lineage, f.Bases[1].Lineage);
        Assert.Null(f.Verify([fx.Key.NodeId]));
        var a = ManifestVerifier.Require(f.Bases[0].Path, f.Bases[0].Cid);
        var b = ManifestVerifier.Require(f.Bases[1].Path, f.Bases[1].Cid);
        Assert.NotEqual(a.Architecture["embedding_length"], b.Architecture["embedding_length"]);
        Assert.NotEqual(a.Lineage.Seed, b.Lineage.Seed);
        Assert.NotEqual(a.TrainingData, b.TrainingData);
        Assert.Equal(fx.Recipe.Cid, a.Methodology.RecipeCid);
        var math = ManifestVerifier.Require(f.Adapters.Single(x => x.Name == "math-a").Path, f.Adapters.Single(x => x.Name == "math-a").Cid);
        Assert.Equal(f.Bases[0].Cid, math.Lineage.ParentCid);
        Assert.Equal([f.Datasets["math"]], math.TrainingData);
        Assert.All(f.Adapters, x => Assert.True(x.Acceptance["comparisons"].AsArray().Count >= 1));
    }

    [Fact]
    public void A_second_build_from_the_cache_is_reused_and_a_tampered_manifest_is_refused()
    {
        var again = new DemoBuilder(fx.Recipe, fx.Key).BuildOrLoad(fx.Dir.Path);
        Assert.Equal(0, again.BuildSeconds);
        Assert.Equal(fx.Federation.Adapters.Select(a => a.Cid), again.Adapters.Select(a => a.Cid));
        var adapter = fx.Federation.Adapters[0];
        var path = ProvenanceManifest.PathFor(adapter.Path);
        var original = File.ReadAllText(path);
        try
        {
            File.WriteAllText(path, original.Replace("\"EU\"", "\"CN\"", StringComparison.Ordinal));
            Assert.Contains("altered", again.Verify(), StringComparison.Ordinal);
            var refused = Assert.Throws<InvalidOperationException>(() => new DemoBuilder(fx.Recipe, fx.Key).BuildOrLoad(fx.Dir.Path));
            Assert.Contains("does not verify", refused.Message, StringComparison.Ordinal);
            Assert.True(File.Exists(adapter.Path), "a refused build is kept for inspection, not deleted");
        }
        finally
        {
            File.WriteAllText(path, original);
        }
    }
}
