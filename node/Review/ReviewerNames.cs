using System.Text.RegularExpressions;

namespace Federation.Node.Review;

/// <summary>
/// Reviewer names name a directory under <c>&lt;data-dir&gt;/reviewers/</c>, so they are restricted to a safe alphabet
/// (no path separators, no <c>.</c>/<c>..</c>): 1–64 of <c>a-z A-Z 0-9 _ -</c> and inner dots.
/// </summary>
public static partial class ReviewerNames
{
    [GeneratedRegex(@"^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_-])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Valid();

    public static bool IsValid(string? name) => name is not null && Valid().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> saying what a name may hold when <paramref name="name"/> is not one.</summary>
    public static string Require(string? name) => IsValid(name) ? name! : throw new ArgumentException(
        $"reviewer name '{name}' is not valid: use 1 to 64 letters, digits, '_', '-' or inner '.', as in 'alice' or 'j.doe'.");
}
