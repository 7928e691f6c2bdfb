namespace Federation.Node.Review;

/// <summary>Placeholder until the ledger lands; replaced in the integration commit.</summary>
public sealed class ReviewService(ReviewQueue queue)
{
    public Task<ReviewItem> DecideAsync(string id, bool approve, string reviewer, string? edited, string? comment, CancellationToken ct)
    {
        _ = ct;
        var item = queue.Decide(id, approve, reviewer, edited, comment);
        return Task.FromResult(queue.Complete(item.Id, -1));
    }
}
