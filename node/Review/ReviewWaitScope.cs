namespace Federation.Node.Review;

/// <summary>
/// What the endpoint that admitted a request tells the review queue about it, carried down the call (an
/// <see cref="AsyncLocal{T}"/>, so the answering path between them needs no new parameters): who asked (recorded on the
/// review, so a client reads only its own), whether the client waits (<c>federation.review: "async"</c> does not), and
/// what to release before a wait starts (the generation slot: a request waiting for a human must not hold one, issue 8).
/// </summary>
public sealed class ReviewWaitScope
{
    private static readonly AsyncLocal<ReviewWaitScope?> Ambient = new();

    /// <summary>The scope of the request running on this async flow, if any.</summary>
    public static ReviewWaitScope? Current => Ambient.Value;

    /// <summary>Makes <paramref name="scope"/> current for this async flow and the calls it makes.</summary>
    public static void Enter(ReviewWaitScope scope) => Ambient.Value = scope;

    /// <summary>The requesting API key's name (<c>anonymous-loopback</c> on a keyless node).</summary>
    public string? Requester { get; init; }

    /// <summary>True: do not wait for the reviewer; the item is queued and the request answered at once.</summary>
    public bool Async { get; init; }

    /// <summary>Runs once, when the item is queued (before any wait): releases the generation slot and the reservation.</summary>
    public Action? OnQueued { get; init; }
}
