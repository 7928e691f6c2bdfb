namespace Federation.Canaries.Spore;

/// <summary>
/// Caps that bound what peers can make this node hold (docs/spore.md, "Bounded memory"). The reference has none; we drop
/// (with <see cref="SporeReason.CapReached"/>) what exceeds them, and keep the connection.
/// </summary>
public sealed record SporeLimits
{
    /// <summary>Records held in total.</summary>
    public int MaxRecords { get; init; } = 200_000;
    /// <summary>Records held per publisher (node_id).</summary>
    public int MaxRecordsPerNode { get; init; } = 50_000;
    /// <summary>Signed manifests held in total.</summary>
    public int MaxTasks { get; init; } = 10_000;
    /// <summary>Signed manifests per creator.</summary>
    public int MaxTasksPerCreator { get; init; } = 1_000;
    /// <summary>Control events held in total.</summary>
    public int MaxControlEvents { get; init; } = 200_000;
    /// <summary>Control events per signer.</summary>
    public int MaxControlEventsPerSigner { get; init; } = 50_000;
    /// <summary>Profiles held (one per node).</summary>
    public int MaxProfiles { get; init; } = 10_000;
    /// <summary>Bytes of artifacts held in memory.</summary>
    public long MaxArtifactBytes { get; init; } = 256L * 1024 * 1024;
    /// <summary>Entries per in-memory seen set before it is cleared (the store still deduplicates by id).</summary>
    public int MaxSeenEntries { get; init; } = 500_000;
    /// <summary>Open connections (inbound + outbound).</summary>
    public int MaxConnections { get; init; } = 64;
    /// <summary>Messages queued for sending per connection; gossip beyond it is dropped, replies wait.</summary>
    public int SendQueueCapacity { get; init; } = 4096;
    /// <summary>Addresses taken from one pex_response.</summary>
    public int MaxPexAddresses { get; init; } = 64;
    /// <summary>Known peer addresses kept.</summary>
    public int MaxKnownPeers { get; init; } = 256;
}
