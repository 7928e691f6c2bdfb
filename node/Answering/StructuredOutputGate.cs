using Federation.Node.Api;
using Federation.Node.Verification;

namespace Federation.Node.Answering;

/// <summary>
/// The gate's check of structured output (docs/api.md): a <c>response_format</c> answer must parse and validate against
/// its schema, a tool call must name a callable declared function with arguments valid against its parameters. The
/// grammar already guarantees this; the check is independent of it and lands in the ledger's
/// <c>verification.checks</c> (checker <c>structured_output</c>). A violation withholds the answer (status failed).
/// </summary>
public static class StructuredOutputGate
{
    public const string Checker = "structured_output";

    public static VerificationInfo Check(CompletionRequestIn req, string text, VerificationInfo verification)
    {
        if (req.Structured is not { } s) return verification;
        var why = s.Violation(text);
        var what = s.Kind == "tools" ? (s.TextAllowed && !text.StartsWith('{') ? "text answer (tool_choice auto)" : "tool call") : s.Kind;
        var check = new CheckResult(Checker, why is null ? CheckOutcome.Passed : CheckOutcome.Failed, why is null ? $"{what} valid" : $"{what} invalid: {why}");
        var checks = verification.Checks.Append(check).ToList();
        return why is null
            ? verification with { Checks = checks }
            : verification with { Checks = checks, Status = VerificationStatus.Failed, Detail = $"structured output invalid: {why}" };
    }
}
