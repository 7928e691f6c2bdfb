namespace Federation.Router;

/// <summary>One problem in a policy file, at a 1-based line and column.</summary>
/// <param name="Position">Where the problem is.</param>
/// <param name="Message">What was expected, what was found, and what to do.</param>
public sealed record PolicyError(PolicyPosition Position, string Message)
{
    /// <summary><c>file:line:col: message</c>.</summary>
    public override string ToString() => $"{Position}: {Message}";
}

/// <summary>
/// A policy that cannot be used. Carries every error found (not only the first), each formatted as
/// <c>file:line:col: message</c>; the exception message is those lines joined by newlines.
/// </summary>
public sealed class PolicyException : Exception
{
    /// <summary>Creates the exception from a non-empty list of errors.</summary>
    public PolicyException(IReadOnlyList<PolicyError> errors)
        : base(string.Join("\n", errors.Select(e => e.ToString())))
    {
        Errors = errors;
    }

    /// <summary>Every error, in file order.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }
}
