using System.Security.Cryptography;
using Federation.Canaries;
using Federation.Canaries.Storage;
using Federation.Governance.Diip;

namespace Federation.Node.Diip;

/// <summary>
/// Draws the DIIP holdout at submission (seed §10.2): from the topic's <b>public</b>, active, class-A canaries — never from
/// the secret reserve, which stays for blind audits — ordered by SHA-256(salt ‖ CID) with a fresh random salt, the first
/// <c>size</c>. The commitment (<see cref="DiipHoldout.Commitment(string, IEnumerable{string})"/>) is published in
/// <c>gauntlet_start</c> before anything runs; the reveal goes into <c>gauntlet_result</c>, where every node checks it.
/// </summary>
public static class HoldoutDraw
{
    /// <summary>The draw: the canaries and their reveal. <exception cref="InvalidOperationException">The topic has no eligible canary.</exception></summary>
    public static (IReadOnlyList<Canary> Canaries, DiipHoldout Reveal) Draw(CanaryStore store, string topic, int size, byte[]? salt = null)
    {
        salt ??= RandomNumberGenerator.GetBytes(32);
        var eligible = Eligible(store, topic);
        if (eligible.Count == 0)
            throw new InvalidOperationException($"topic '{topic}' has no public, active class-A canary to draw a DIIP holdout from; add some with 'fed canary add' (the secret reserve is never used for DIIP).");
        var picked = eligible.OrderBy(c => Convert.ToHexStringLower(SHA256.HashData([.. salt, .. System.Text.Encoding.ASCII.GetBytes(c.Cid.ToString())])), StringComparer.Ordinal).Take(size).ToList();
        return (picked, new DiipHoldout(Convert.ToHexStringLower(salt), picked.Select(c => c.Cid.ToString()).ToList()));
    }

    /// <summary>The topic's public, active, class-A canaries, by CID.</summary>
    public static IReadOnlyList<Canary> Eligible(CanaryStore store, string topic) =>
        store.List(topic).Where(r => r.Canary.Visibility == CanaryVisibility.Public && r.State == "active" && r.Canary.Class == CanaryClass.A)
            .Select(r => r.Canary).OrderBy(c => c.Cid.ToString(), StringComparer.Ordinal).ToList();
}
