namespace Federation.Client;

/// <summary>Where the node is, how to authenticate, and which node key to trust.</summary>
public sealed class FederationClientOptions
{
    /// <summary>The node's base address, e.g. <c>http://127.0.0.1:8740</c> (a trailing <c>/v1</c> is accepted too).</summary>
    public required Uri Endpoint { get; set; }

    /// <summary>The node API key (<c>fed keys create --name N</c>), sent as <c>Authorization: Bearer</c>; null for a keyless loopback node.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The model used when a request names none: <c>federation</c> (the auto-router), <c>federation/&lt;topic&gt;</c> or a specialist id.</summary>
    public string Model { get; set; } = "federation";

    /// <summary>
    /// The node's Ed25519 public key (its node id, 64 lowercase hex characters, <c>fed keys show</c> or
    /// <c>&lt;data-dir&gt;/identity/node_id</c>). When set, tree heads must be signed by exactly this key: the secure
    /// option. When null the key is fetched once from the node's <c>/health</c> (trust on first use).
    /// </summary>
    public string? NodeKey { get; set; }

    /// <summary>Where the last verified tree head per node is kept (default: in memory, per client).</summary>
    public ITreeHeadStore TreeHeads { get; set; } = new InMemoryTreeHeadStore();
}
