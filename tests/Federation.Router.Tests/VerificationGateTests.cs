using Federation.Router.Verification;
using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

/// <summary>The pure verification gate: checkers come from the policy, a refutation withholds, T3 and a disagreeing panel go to a human.</summary>
public class VerificationGateTests
{
    private static readonly RoutingPolicy Policy = PolicyLoader.Load(DefaultPolicyPath());
    private static readonly VerificationGate Gate = new(Policy);

    private static RouteDecision Route(string query, RequestedRoute? request = null) =>
        RoutePlanner.Plan(query, Policy, request ?? new RequestedRoute()).Decision ?? throw new InvalidOperationException("rejected");

    private static PanelAnswer[] Answers(RouteDecision d, params string[] texts) => d.Specialists.Select((s, i) => new PanelAnswer(s, texts[i])).ToArray();

    [Fact]
    public void The_default_policy_names_the_arithmetic_checker_for_math_and_no_checker_elsewhere()
    {
        Assert.Equal(["arithmetic"], Policy.TopicsById["math"].Checkers);
        Assert.All(Policy.Topics.Where(t => t.Id != "math"), t => Assert.Empty(t.Checkers));
    }

    [Fact]
    public void A_refuted_class_A_answer_is_failed_and_not_released()
    {
        var d = Route("calculate 12 * 7");
        Assert.Equal("math", d.Topic);
        var v = Gate.Evaluate(d, "calculate 12 * 7", Answers(d, "the result is 86"));
        Assert.Equal(VerificationOutcome.Failed, v.Outcome);
        Assert.False(v.Released);
        Assert.Equal("failed", v.Status);
        Assert.Contains("84", v.Reason, StringComparison.Ordinal);
        Assert.Equal(CheckOutcome.Failed, Assert.Single(v.Checks).Outcome);
    }

    [Fact]
    public void A_confirmed_class_A_answer_passes()
    {
        var d = Route("calculate 12 * 7");
        var v = Gate.Evaluate(d, RouteQuery.FromText("calculate 12 * 7"), Answers(d, "12 * 7 = 84"));
        Assert.Equal(VerificationOutcome.Passed, v.Outcome);
        Assert.True(v.Released);
        Assert.Equal(VerificationClass.A, v.Class);
    }

    [Fact]
    public void The_checker_reads_the_last_user_message_not_other_segments()
    {
        var q = new RouteQuery([new(SegmentRole.System, "3 + 4 is a classic"), new(SegmentRole.User, "calculate 2 + 2")]);
        var d = RoutePlanner.Plan(q, Policy, new RequestedRoute()).Decision!;
        Assert.Equal(VerificationOutcome.Passed, Gate.Evaluate(d, q, Answers(d, "4")).Outcome);
        Assert.Equal(VerificationOutcome.Failed, Gate.Evaluate(d, q, Answers(d, "7")).Outcome);
    }

    [Fact]
    public void A_class_A_answer_with_no_checkable_question_is_released_unchecked()
    {
        var d = Route("solve this equation for me");
        var v = Gate.Evaluate(d, "solve this equation for me", Answers(d, "x = 2"));
        Assert.Equal(VerificationOutcome.Unchecked, v.Outcome);
        Assert.True(v.Released);
        Assert.Equal(CheckOutcome.NotApplicable, Assert.Single(v.Checks).Outcome);
    }

    [Fact]
    public void A_topic_without_checkers_is_released_unchecked_on_the_trust_score()
    {
        var d = Route("python bug");
        var v = Gate.Evaluate(d, "python bug", Answers(d, "fix the loop"));
        Assert.Equal(VerificationOutcome.Unchecked, v.Outcome);
        Assert.Empty(v.Checks);
        Assert.Contains("trust score", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_T3_answer_needs_review_even_when_the_panel_agrees()
    {
        var d = Route("our defence joint venture strategy");
        Assert.Equal(TrustTier.T3, d.Tier);
        var v = Gate.Evaluate(d, "q", Answers(d, "same words here", "same words here", "same words here"));
        Assert.Equal(VerificationOutcome.NeedsReview, v.Outcome);
        Assert.False(v.Released);
        Assert.True(v.Panel!.Agreed);
        Assert.Equal("T3 answers need human approval", v.Reason);
    }

    [Fact]
    public void A_class_C_panel_that_agrees_passes_and_one_that_disagrees_goes_to_review()
    {
        var d = Route("what dosage of this medication for blood pressure");
        Assert.Equal(DispatchMode.Panel, d.Mode);
        var agree = Gate.Evaluate(d, "q", Answers(d, "take 10 mg daily", "take 10 mg daily", "take 10 mg daily with water"));
        Assert.Equal(VerificationOutcome.Passed, agree.Outcome);
        var disagree = Gate.Evaluate(d, "q", Answers(d, "alpha beta", "gamma delta", "epsilon zeta"));
        Assert.Equal(VerificationOutcome.NeedsReview, disagree.Outcome);
        Assert.Contains("below 0.5", disagree.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_answer_chosen_from_a_panel_is_the_first_member_of_the_largest_agreeing_group()
    {
        var d = Route("what dosage of this medication for blood pressure");
        var v = Gate.Evaluate(d, "q", Answers(d, "odd one out entirely", "take 10 mg daily", "take 10 mg daily"));
        Assert.Equal(1, v.AnswerIndex);
    }

    [Fact]
    public void A_decision_cannot_lower_the_tier_the_policy_gives_its_topic()
    {
        var d = Route("our defence joint venture strategy") with { Tier = TrustTier.T1, Specialists = ["strategy-mistral"], Mode = DispatchMode.Requested };
        var v = Gate.Evaluate(d, "q", [new PanelAnswer("strategy-mistral", "an answer")]);
        Assert.Equal(TrustTier.T3, v.Tier);
        Assert.Equal(VerificationOutcome.NeedsReview, v.Outcome);
        Assert.False(Gate.CanStreamLive(d));
    }

    [Fact]
    public void Only_a_single_unchecked_non_T3_answer_may_stream_live()
    {
        Assert.True(Gate.CanStreamLive(Route("python bug")));
        Assert.False(Gate.CanStreamLive(Route("calculate 12 * 7")));                       // math has a checker
        Assert.False(Gate.CanStreamLive(Route("what dosage of this medication")));        // panel
        Assert.False(Gate.CanStreamLive(Route("defence strategy")));                      // T3
    }

    [Fact]
    public void Mismatched_inputs_are_refused_as_broken_invariants()
    {
        var d = Route("python bug");
        Assert.Throws<ArgumentException>(() => Gate.Evaluate(d, "q", []));
        Assert.Throws<ArgumentException>(() => Gate.Evaluate(d, "q", [new PanelAnswer("someone-else", "x")]));
        Assert.Throws<ArgumentException>(() => Gate.Evaluate(d with { PolicyCid = new string('0', 64) }, "q", Answers(d, "x")));
        Assert.Throws<ArgumentException>(() => Gate.Evaluate(d with { Topic = "nope" }, "q", Answers(d, "x")));
    }

    [Fact]
    public void A_gate_refuses_a_catalogue_that_lacks_a_checker_the_policy_names()
    {
        var e = Assert.Throws<ArgumentException>(() => new VerificationGate(Policy, new CheckerCatalog([])));
        Assert.Contains("arithmetic", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_or_repeated_checkers_in_the_policy_are_reported_at_their_position()
    {
        var text = Mutate(Small, "    priority: 5\n", "    priority: 5\n    checkers: [arithmetic, sudoku]\n");
        var e = Assert.Single(Errors(text));
        Assert.Equal(PositionOf(text, "sudoku"), (e.Position.Line, e.Position.Column));
        Assert.Equal($"test.yaml:{e.Position.Line}:{e.Position.Column}: unknown checker 'sudoku' in topic 'code'; known checkers: arithmetic", e.ToString());
        var twice = Mutate(Small, "    priority: 5\n", "    priority: 5\n    checkers: [arithmetic, arithmetic]\n");
        Assert.Contains("listed twice", Assert.Single(Errors(twice)).Message, StringComparison.Ordinal);
        var notList = Mutate(Small, "    priority: 5\n", "    priority: 5\n    checkers: arithmetic\n");
        Assert.Contains("to be a list", Assert.Single(Errors(notList)).Message, StringComparison.Ordinal);
        Assert.Equal(["arithmetic"], Parse(Mutate(Small, "    priority: 5\n", "    priority: 5\n    checkers: [arithmetic]\n")).TopicsById["code"].Checkers);
    }
}

public class ArithmeticCheckerTests
{
    private static readonly ArithmeticChecker Checker = new();

    [Theory]
    [InlineData("what is 2+2", "4", CheckOutcome.Passed)]
    [InlineData("12 * 7", "it is 84.", CheckOutcome.Passed)]
    [InlineData("12 x 7", "84", CheckOutcome.Passed)]
    [InlineData("12 × 7", "84", CheckOutcome.Passed)]
    [InlineData("10 - 15", "-5", CheckOutcome.Passed)]
    [InlineData("12 * 7", "184", CheckOutcome.Failed)]
    [InlineData("12 * 7", "eighty-four", CheckOutcome.Failed)]
    [InlineData("no numbers here", "4", CheckOutcome.NotApplicable)]
    [InlineData("1 + 1 and 2 + 2", "2 4", CheckOutcome.NotApplicable)]
    [InlineData("1234567890 + 1", "1234567891", CheckOutcome.NotApplicable)]
    [InlineData("\u0661\u0662 + 1", "13", CheckOutcome.NotApplicable)]   // Arabic-Indic digits are not parsed (node's \d crashed on them)
    [InlineData("999999999 * 999999999", "999999998000000001", CheckOutcome.Passed)]
    public void Judges_simple_integer_arithmetic(string question, string answer, CheckOutcome expected) =>
        Assert.Equal(expected, Checker.Check(question, answer).Outcome);
}
