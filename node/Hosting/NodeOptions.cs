using Microsoft.Extensions.Options;

namespace Federation.Node.Hosting;

/// <summary>
/// Settings of a running node (<c>fed serve</c>), bound through the options pattern and validated when the host is
/// built (<see cref="NodeOptionsValidator"/>, also registered with <c>ValidateOnStart</c>).
/// </summary>
public sealed class NodeOptions
{
    /// <summary>The default listening address: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8740";

    public required string DataDir { get; set; }
    public string Urls { get; set; } = DefaultUrl;

    /// <summary>The routing policy file; null = the embedded default (policies/routing.yaml shipped with the node).</summary>
    public string? PolicyPath { get; set; }

    /// <summary>How long a T3 request waits for a human decision before it gets a pending error.</summary>
    public TimeSpan ReviewWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Store query and answer bodies in clear in the ledger (off: only their SHA-256).</summary>
    public bool StoreBodies { get; set; }

    /// <summary>Generation threads per context (1 is fastest on small, busy machines: ggml threads spin).</summary>
    public int Threads { get; set; } = 1;

    /// <summary>Contexts in the engine's pool (parallel adapter sets).</summary>
    public int Contexts { get; set; } = 2;

    /// <summary>Generation requests admitted at once (in the engine, its queue, or waiting for review).</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>Requests that may wait, oldest first, for an admission slot before new ones get 429.</summary>
    public int AdmissionQueue { get; set; } = 64;

    public int MaxTokensLimit { get; set; } = 1024;

    /// <summary>When set, the Spore peer (docs/spore.md) runs alongside on this loopback endpoint (<c>fed serve --spore-listen</c>); store under <c>&lt;data-dir&gt;/spore</c>.</summary>
    public System.Net.IPEndPoint? SporeListen { get; set; }

    /// <summary>Spore peers to dial (host:port, loopback), with <see cref="SporeListen"/>.</summary>
    public IReadOnlyList<string> SporePeers { get; set; } = [];

    /// <summary>With <see cref="SporeListen"/>: spot-check others' Spore records, answer challenges and settle this node's challenges automatically (<c>fed serve --spore-auto-verify</c>).</summary>
    public bool SporeAutoVerify { get; set; }

    /// <summary>
    /// SQLite synchronous mode of the ledger: FULL (default) fsyncs every commit, so an acknowledged answer survives
    /// power loss; NORMAL survives a killed process (kill -9) but not an OS crash, and saves the fsync per answer.
    /// </summary>
    public string LedgerSync { get; set; } = "FULL";

    /// <summary>Largest accepted request body in bytes (413 above it).</summary>
    public long MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>
    /// When set (<c>full</c> or <c>test</c>), the node serves the demo federation of that profile (issue 9): built on
    /// first start under <c>&lt;data-dir&gt;/demo</c>, reused later; the policy defaults to <c>policies/demo/routing.yaml</c>.
    /// </summary>
    public string? DemoProfile { get; set; }

    /// <summary>Greedy answers kept in the signed response cache (<c>--response-cache</c>, docs/api.md); 0 (default) = off.</summary>
    public int ResponseCacheEntries { get; set; }
    /// <summary>A shipped demo build to install on first start instead of training (default: the repository's <c>demo/shipped/&lt;profile&gt;</c>, see DemoWiring.FindShipped).</summary>
    public string? DemoShippedDir { get; set; }

    /// <summary>
    /// The node's clock (registered as the host's <see cref="TimeProvider"/>): what DIIP events, reputation's τ and the
    /// schedules read. Null (default): the system clock. Tests inject a clock they move (e.g. past a DIIP time-lock).
    /// </summary>
    public TimeProvider? Clock { get; set; }

    /// <summary>Problems with these settings, each saying what to change; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var u in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
            if (!Uri.TryCreate(u.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                errors.Add($"--urls: '{u}' is not an http(s) URL such as {DefaultUrl}");
        if (Threads is < 1 or > 256) errors.Add($"--threads must be 1..256; found {Threads}");
        if (Contexts is < 1 or > 64) errors.Add($"--contexts must be 1..64; found {Contexts}");
        if (LedgerSync is not ("FULL" or "NORMAL")) errors.Add($"--ledger-sync must be full or normal; found {LedgerSync}");
        if (MaxQueue < 1) errors.Add($"--max-queue must be at least 1; found {MaxQueue}");
        if (AdmissionQueue < 0) errors.Add($"--admission-queue must not be negative; found {AdmissionQueue}");
        if (MaxTokensLimit < 1) errors.Add($"the max_tokens limit must be at least 1; found {MaxTokensLimit}");
        if (string.IsNullOrWhiteSpace(DataDir)) errors.Add("--data-dir must name a directory");
        if (ReviewWait < TimeSpan.Zero) errors.Add("--review-wait must not be negative");
        if (ResponseCacheEntries is < 0 or > 1_000_000) errors.Add($"--response-cache must be 0 (off) .. 1000000 answers; found {ResponseCacheEntries}");
        if (DemoProfile is not (null or "full" or "test")) errors.Add($"--demo must be full or test; found {DemoProfile}");
        if (PolicyPath is not null && !File.Exists(PolicyPath)) errors.Add($"--policy: file '{PolicyPath}' does not exist");
        return errors;
    }

    /// <summary>Copies every setting onto <paramref name="target"/> (the options pattern's configure step).</summary>
    public void CopyTo(NodeOptions target)
    {
        target.DataDir = DataDir;
        target.Urls = Urls;
        target.PolicyPath = PolicyPath;
        target.ReviewWait = ReviewWait;
        target.StoreBodies = StoreBodies;
        target.Threads = Threads;
        target.Contexts = Contexts;
        target.MaxQueue = MaxQueue;
        target.AdmissionQueue = AdmissionQueue;
        target.MaxTokensLimit = MaxTokensLimit;
        target.LedgerSync = LedgerSync;
        target.MaxRequestBytes = MaxRequestBytes;
        target.SporeAutoVerify = SporeAutoVerify;
        target.DemoProfile = DemoProfile;
        target.ResponseCacheEntries = ResponseCacheEntries;
        target.DemoShippedDir = DemoShippedDir;
        target.Clock = Clock;
    }

    /// <summary>True when every URL binds a loopback address only.</summary>
    public bool LoopbackOnly() => Urls.Split(';', StringSplitOptions.RemoveEmptyEntries).All(u =>
        Uri.TryCreate(u, UriKind.Absolute, out var uri) && (uri.IsLoopback || uri.Host == "localhost"));
}

/// <summary>Runs <see cref="NodeOptions.Validate"/> for the options pattern; failures list every problem.</summary>
public sealed class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
