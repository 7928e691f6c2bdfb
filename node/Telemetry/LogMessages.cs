namespace Federation.Node.Telemetry;

/// <summary>
/// Every log message of the node host, source-generated. Event ids by area: 1000–1099 start-up and shutdown,
/// 1100–1199 HTTP and authentication, 1200–1299 answers and the gate, 1300–1399 reviews, 1400–1499 ledger.
/// Prompts and answers are never logged.
/// </summary>
internal static partial class LogMessages
{
    [LoggerMessage(1000, LogLevel.Information, "node {NodeId} ready on {Urls}")]
    public static partial void NodeReady(this ILogger logger, string nodeId, string urls);

    [LoggerMessage(1001, LogLevel.Error, "node failed to start: {Reason}")]
    public static partial void NodeStartFailed(this ILogger logger, Exception exception, string reason);

    [LoggerMessage(1002, LogLevel.Information, "created node identity {NodeId} in {DataDir}")]
    public static partial void IdentityCreated(this ILogger logger, string nodeId, string dataDir);

    [LoggerMessage(1003, LogLevel.Information, "routing policy {Path}: {Topics} topics, {Specialists} specialists, cid {Cid}")]
    public static partial void PolicyLoaded(this ILogger logger, string path, int topics, int specialists, string cid);

    [LoggerMessage(1004, LogLevel.Information, "created embedded default base model {Path}")]
    public static partial void DefaultBaseCreated(this ILogger logger, string path);

    [LoggerMessage(1005, LogLevel.Information, "engine ready: base {BaseCid}, {Count} specialists")]
    public static partial void EngineReady(this ILogger logger, string baseCid, int count);

    [LoggerMessage(1100, LogLevel.Error, "unhandled error on {Method} {Path}")]
    public static partial void UnhandledRequestError(this ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(1101, LogLevel.Warning, "request refused with 429: the admission limit and its queue are full")]
    public static partial void AdmissionRejected(this ILogger logger);

    [LoggerMessage(1102, LogLevel.Warning, "refused Host '{Host}': a node without API keys answers loopback names only")]
    public static partial void NonLoopbackHostRefused(this ILogger logger, string host);

    [LoggerMessage(1300, LogLevel.Error, "ledgering review decisions failed: {Reason}")]
    public static partial void ReviewLedgerFailed(this ILogger logger, Exception exception, string reason);

    [LoggerMessage(1301, LogLevel.Information, "reviewer session of {Reviewer} ended: the key is revoked")]
    public static partial void ReviewerSessionRevoked(this ILogger logger, string reviewer);

    [LoggerMessage(1400, LogLevel.Debug, "signed tree head at size {TreeSize}")]
    public static partial void TreeHeadSigned(this ILogger logger, long treeSize);
}
