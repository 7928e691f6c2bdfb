using System.Threading.RateLimiting;
using Federation.Node.Telemetry;

namespace Federation.Node.Api;

/// <summary>
/// Admission of generation requests (chat and text completions): <c>MaxQueue</c> generation slots with a bounded,
/// oldest-first admission queue behind them, and a per-key bound on pending T3 reviews. Taken by the endpoint rather
/// than the rate-limiting middleware because a slot must be given back when a T3 request starts waiting for its human
/// reviewer (issue 8: 64 waiting T3 requests must not lock every other client out), which a middleware lease cannot.
/// </summary>
public sealed class AdmissionControl(int slots, int queue, int maxPendingReviewsPerKey = AdmissionControl.DefaultMaxPendingReviewsPerKey) : IDisposable
{
    /// <summary>Default of <see cref="MaxPendingReviewsPerKey"/>.</summary>
    public const int DefaultMaxPendingReviewsPerKey = 16;

    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = slots,
        QueueLimit = queue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });
    private readonly Dictionary<string, int> _reserved = new(StringComparer.Ordinal);

    /// <summary>Generation slots (requests generating at once).</summary>
    public int Slots { get; } = slots;

    /// <summary>Requests that may wait for a slot.</summary>
    public int Queue { get; } = queue;

    /// <summary>T3 requests one API key may have pending review at once (waiting or async); more get 429 <c>review.too_many_pending</c>.</summary>
    public int MaxPendingReviewsPerKey { get; } = maxPendingReviewsPerKey;

    /// <summary>Slots in use now.</summary>
    public long InUse => Slots - (_limiter.GetStatistics()?.CurrentAvailablePermits ?? Slots);

    /// <summary>Waits for a generation slot, or throws 429 <c>node.queue_full</c> (with Retry-After) when the queue is full.</summary>
    public async Task<Lease> AcquireAsync(HttpContext ctx)
    {
        if (await TryAcquireAsync(ctx.RequestAborted) is { } lease) return lease;
        ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Federation.Node.Http").AdmissionRejected();
        throw new ApiException(StatusCodes.Status429TooManyRequests, "rate_limit_error", "node.queue_full",
            $"The node already admits {Slots} requests and {Queue} more wait; retry after a moment.") { RetryAfterSeconds = 1 };
    }

    /// <summary>Waits for a generation slot; null when the slots and the admission queue are full.</summary>
    public async Task<Lease?> TryAcquireAsync(CancellationToken ct)
    {
        var lease = await _limiter.AcquireAsync(1, ct);
        if (lease.IsAcquired) return new Lease(lease);
        lease.Dispose();
        return null;
    }

    /// <summary>
    /// Reserves one pending review for <paramref name="key"/>, counting its reviews pending in the queue
    /// (<paramref name="pendingInQueue"/>) and its reservations not yet queued; throws 429 <c>review.too_many_pending</c> at the bound.
    /// </summary>
    public Lease ReservePendingReview(string key, Func<int> pendingInQueue)
    {
        lock (_reserved)
        {
            var held = _reserved.GetValueOrDefault(key);
            var pending = pendingInQueue() + held;
            if (pending >= MaxPendingReviewsPerKey)
                throw new ApiException(StatusCodes.Status429TooManyRequests, "rate_limit_error", "review.too_many_pending",
                    $"The key '{key}' already has {pending} answers waiting for human review (at most {MaxPendingReviewsPerKey}); " +
                    "fetch their results with GET /v1/federation/reviews/{id} and retry once a reviewer has decided some.")
                { RetryAfterSeconds = 10 };
            _reserved[key] = held + 1;
        }
        return new Lease(new Release(() =>
        {
            lock (_reserved)
            {
                var n = _reserved.GetValueOrDefault(key) - 1;
                if (n <= 0) _reserved.Remove(key);
                else _reserved[key] = n;
            }
        }));
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>A slot or reservation, given back once: by <see cref="Dispose"/> or earlier by <see cref="Release"/>.</summary>
    public sealed class Lease(IDisposable inner) : IDisposable
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) inner.Dispose();
        }

        public void Dispose() => Release();
    }

    private sealed class Release(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
