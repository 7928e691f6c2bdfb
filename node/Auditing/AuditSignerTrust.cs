using Federation.Governance;
using Federation.Registry.Crypto;

namespace Federation.Node.Auditing;

/// <summary>
/// Whose signed audit records (and bounty credits) a node's reputation book counts: the node's own key (from
/// <c>&lt;data-dir&gt;/identity/node_id</c>), the policy's <c>auditors</c> and its <c>audit_signers</c> (docs/reputation.md
/// "Trusted audit signers"). Any other signer, however well its signature verifies, is refused.
/// </summary>
public static class AuditSignerTrust
{
    /// <summary>The data dir's node id, or null when it has no identity yet.</summary>
    public static string? OwnNodeId(string dataDir)
    {
        var path = new NodeKeyStore(dataDir).NodeIdPath;
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>The trust predicate for the book of <paramref name="dataDir"/> under <paramref name="policy"/> (null: built-in defaults, no auditors).</summary>
    public static Func<string, bool> For(string dataDir, ReputationPolicy? policy) => ReputationPolicy.AuditSignerTrust(policy, OwnNodeId(dataDir));
}
