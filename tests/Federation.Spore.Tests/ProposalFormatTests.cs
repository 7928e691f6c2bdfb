using System.Text;
using Federation.Canaries.Spore;

namespace Federation.Spore.Tests;

public class ProposalFormatTests
{
    private static readonly byte[] Artifact = ShippedTasks.RosenbrockArtifact();

    [Fact]
    public void The_shipped_artifact_exposes_its_constants_in_file_order()
    {
        Assert.Equal([("LR", "0.0005"), ("MOMENTUM", "0.5"), ("STEPS", "3000"), ("DIM", "10")], ProposalFormat.Constants(Artifact));
    }

    [Fact]
    public void Parameter_lines_become_an_edit_of_exactly_those_literals()
    {
        var e = ProposalFormat.Parse("Sure. Try this:\n`momentum = 0.9`\nLR: 0.0004\nthat should converge faster.", Artifact);
        Assert.True(e.Ok, e.Error);
        Assert.Equal([new ParameterChange("LR", "0.0005", "0.0004"), new ParameterChange("MOMENTUM", "0.5", "0.9")], e.Changes);
        var child = Encoding.UTF8.GetString(e.Code!);
        var parent = Encoding.UTF8.GetString(Artifact);
        Assert.Equal(parent.Replace("LR = 0.0005", "LR = 0.0004", StringComparison.Ordinal).Replace("MOMENTUM = 0.5", "MOMENTUM = 0.9", StringComparison.Ordinal), child);
        Assert.Equal("LR 0.0005 -> 0.0004, MOMENTUM 0.5 -> 0.9", e.Summary);
    }

    [Theory]
    [InlineData("", "no line of the form NAME = NUMBER")]
    [InlineData("increase the momentum a bit", "no line of the form NAME = NUMBER")]
    [InlineData("GAMMA = 0.3", "the answer sets 'GAMMA', which the artifact does not define (tunable: LR, MOMENTUM, STEPS, DIM)")]
    [InlineData("STEPS = 2500.5", "STEPS is an integer (3000); the answer gave '2500.5'")]
    [InlineData("LR = 1e999", "the value '1e999' for LR is not a finite number")]
    [InlineData("LR = 0.1\nlr = 0.2", "the answer sets LR twice (0.1 and 0.2)")]
    [InlineData("MOMENTUM = 0.5", "the answer repeats the current values: no change to run")]
    [InlineData("MOMENTUM = __import__('os')", "no line of the form NAME = NUMBER")]
    public void Unusable_answers_say_why(string answer, string why)
    {
        var e = ProposalFormat.Parse(answer, Artifact);
        Assert.False(e.Ok);
        Assert.Null(e.Code);
        Assert.StartsWith(why, e.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void No_answer_text_makes_the_parser_throw_and_only_numbers_reach_the_artifact()
    {
        // Random model output is arbitrary text: thousands of random and mutated answers never throw, and every accepted
        // edit differs from the parent only in numeric literals of known constants.
        var rng = new Random(1234);
        string[] pieces = ["LR", "momentum", "STEPS", "dim", "GAMMA", " = ", "=", ": ", "0.9", "12", "1e3", "-", ".", "\n", "`", "#", " ", "x", "()", "'", "\r"];
        var accepted = 0;
        for (int i = 0; i < 5000; i++)
        {
            var sb = new StringBuilder();
            for (int k = rng.Next(0, 16); k > 0; k--) sb.Append(rng.Next(12) == 0 ? ((char)rng.Next(0, 0xD7FF)).ToString() : pieces[rng.Next(pieces.Length)]);
            var chars = sb.ToString().ToCharArray();
            var e = ProposalFormat.Parse(new string(chars), Artifact);
            Assert.Equal(e.Ok, e.Code is not null);
            if (!e.Ok) continue;
            accepted++;
            var before = ProposalFormat.Constants(Artifact).Select(c => c.Name).ToArray();
            var after = ProposalFormat.Constants(e.Code!);
            Assert.Equal(before, after.Select(c => c.Name).ToArray());
            var strip = (byte[] b) => string.Join('\n', Encoding.UTF8.GetString(b).Split('\n').Where(l => !before.Any(n => l.StartsWith(n + " = ", StringComparison.Ordinal))));
            Assert.Equal(strip(Artifact), strip(e.Code!));
        }
        Assert.InRange(accepted, 1, 5000); // the generator does hit the format sometimes, so the invariant above was exercised
    }

    [Fact]
    public void The_prompt_lists_the_constants_and_the_current_best()
    {
        var p = ProposalFormat.Prompt("rosenbrock-10d", "loss", "minimize", 0.065, Artifact);
        Assert.Contains("LR = 0.0005\nMOMENTUM = 0.5\nSTEPS = 3000\nDIM = 10", p, StringComparison.Ordinal);
        Assert.Contains("current best 0.065", p, StringComparison.Ordinal);
        Assert.EndsWith("Answer only with lines NAME = NUMBER.", p, StringComparison.Ordinal);
    }
}
