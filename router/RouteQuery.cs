namespace Federation.Router;

/// <summary>Who wrote a piece of text the model will read. Every role is classified the same way; the role is kept for the trace.</summary>
public enum SegmentRole
{
    /// <summary>A chat <c>system</c> message.</summary>
    System,
    /// <summary>A chat <c>developer</c> message.</summary>
    Developer,
    /// <summary>A chat <c>user</c> message.</summary>
    User,
    /// <summary>A chat <c>assistant</c> message (earlier turns the client replays).</summary>
    Assistant,
    /// <summary>A chat <c>tool</c> (or <c>function</c>) result.</summary>
    Tool,
    /// <summary>The <c>prompt</c> of a completions request.</summary>
    Prompt,
    /// <summary>Retrieved memory put into the model's context.</summary>
    Memory,
}

/// <summary>One piece of text the model will read: one text part of one message, a completions prompt, or a retrieved memory fragment.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="Text">The text exactly as the model will read it.</param>
public readonly record struct QuerySegment(SegmentRole Role, string Text);

/// <summary>
/// Everything a model will read for one request, in the order it will read it. The router classifies all of it
/// (issue 8: T3 text in a system message or an earlier turn is still T3); the highest tier present wins.
/// </summary>
public sealed class RouteQuery
{
    /// <summary>Creates a query from its segments (at least one; texts not null).</summary>
    public RouteQuery(IReadOnlyList<QuerySegment> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        if (segments.Count == 0) throw new ArgumentException("a query needs at least one segment", nameof(segments));
        long total = 0;
        foreach (var s in segments)
        {
            if (s.Text is null) throw new ArgumentException("segment text must not be null", nameof(segments));
            total += s.Text.Length;
        }
        Segments = segments;
        TotalLength = total;
    }

    /// <summary>The segments in reading order.</summary>
    public IReadOnlyList<QuerySegment> Segments { get; }

    /// <summary>Sum of the segments' lengths in UTF-16 code units (what <see cref="RoutingPolicy.MaxQueryChars"/> bounds).</summary>
    public long TotalLength { get; }

    /// <summary>
    /// The question the answer is checked against by class-A checkers: the last <see cref="SegmentRole.User"/> or
    /// <see cref="SegmentRole.Prompt"/> segment, else the last segment.
    /// </summary>
    public string CheckText
    {
        get
        {
            for (int i = Segments.Count - 1; i >= 0; i--)
                if (Segments[i].Role is SegmentRole.User or SegmentRole.Prompt) return Segments[i].Text;
            return Segments[^1].Text;
        }
    }

    /// <summary>A single user message (what the string overloads of the router mean).</summary>
    public static RouteQuery FromText(string text) => new([new QuerySegment(SegmentRole.User, text ?? throw new ArgumentNullException(nameof(text)))]);

    /// <summary>A completions <c>prompt</c>.</summary>
    public static RouteQuery FromPrompt(string prompt) => new([new QuerySegment(SegmentRole.Prompt, prompt ?? throw new ArgumentNullException(nameof(prompt)))]);

    /// <summary>Chat messages as (OpenAI role name, text) pairs, one pair per text part; see <see cref="TryParseRole"/>.</summary>
    /// <exception cref="ArgumentException">A role name is not one the router knows.</exception>
    public static RouteQuery FromMessages(IEnumerable<(string Role, string Text)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<QuerySegment>();
        foreach (var (role, text) in messages)
        {
            if (!TryParseRole(role, out var r))
                throw new ArgumentException($"unknown message role '{role}'; expected system, developer, user, assistant, tool or function", nameof(messages));
            list.Add(new QuerySegment(r, text));
        }
        return new RouteQuery(list);
    }

    /// <summary>Maps an OpenAI message role (<c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>, <c>function</c>) to a <see cref="SegmentRole"/>.</summary>
    public static bool TryParseRole(string? role, out SegmentRole value)
    {
        value = role switch
        {
            "system" => SegmentRole.System,
            "developer" => SegmentRole.Developer,
            "user" => SegmentRole.User,
            "assistant" => SegmentRole.Assistant,
            "tool" or "function" => SegmentRole.Tool,
            _ => (SegmentRole)(-1),
        };
        return (int)value >= 0;
    }

    /// <summary>The lower-case wire name of a role (<c>system</c>, …, <c>prompt</c>, <c>memory</c>).</summary>
    public static string RoleName(SegmentRole role) => role switch
    {
        SegmentRole.System => "system",
        SegmentRole.Developer => "developer",
        SegmentRole.User => "user",
        SegmentRole.Assistant => "assistant",
        SegmentRole.Tool => "tool",
        SegmentRole.Prompt => "prompt",
        SegmentRole.Memory => "memory",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}
