namespace Federation.Router.Tests;

public class PanelAgreementTests
{
    [Fact]
    public void Identical_answers_agree_fully()
    {
        var r = PanelAgreement.Compare([new("a", "The answer is 42."), new("b", "the ANSWER is 42"), new("c", "The answer is 42")], 0.5);
        Assert.Equal(1.0, r.MeanSimilarity);
        Assert.True(r.Agreed);
        Assert.Equal(["a", "b", "c"], r.LargestAgreeingGroup);
        Assert.Equal(3, r.Pairs.Count);
    }

    [Fact]
    public void One_dissenter_lowers_the_mean_and_is_left_out_of_the_group()
    {
        var r = PanelAgreement.Compare([new("a", "raise prices in europe"), new("b", "raise prices in europe now"), new("c", "exit the market entirely")], 0.5);
        Assert.Equal(["a", "b"], r.LargestAgreeingGroup);
        Assert.Equal(0.8, r.Pairs.Single(p => p.A == "a" && p.B == "b").Similarity, 10);
        Assert.Equal(0, r.Pairs.Single(p => p.A == "a" && p.B == "c").Similarity);
        Assert.False(r.Agreed);
    }

    [Fact]
    public void Single_answer_trivially_agrees()
    {
        var r = PanelAgreement.Compare([new("a", "x")], 0.9);
        Assert.True(r.Agreed);
        Assert.Empty(r.Pairs);
    }
}
