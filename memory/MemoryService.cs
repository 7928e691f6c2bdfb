using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Memory;

/// <summary>A signed write that the service refused before the policy was consulted (bad signature, bad shape).</summary>
public sealed class MemoryWriteInvalidException(FragmentFailure failure, string message) : Exception(message)
{
    /// <summary>Why.</summary>
    public FragmentFailure Failure { get; } = failure;
}

/// <summary>
/// Plane H's front door: every read and write goes through <c>policies/memory.yaml</c> and then the store. Writes are
/// signed envelopes checked here (type, fragment shape, author = signer, signature); custodial writes are signed by
/// the per-user key of <see cref="CustodialKeyring"/> and only where the policy allows them.
/// </summary>
public sealed class MemoryService(IMemoryStore store, MemoryPolicy policy, CustodialKeyring? keyring = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The store.</summary>
    public IMemoryStore Store { get; } = store;

    /// <summary>The policy.</summary>
    public MemoryPolicy Policy { get; } = policy;

    /// <summary>Checks signed envelopes and the policy for all of them, then appends them in one transaction.</summary>
    /// <exception cref="MemoryWriteInvalidException">An envelope is not a valid signed fragment.</exception>
    /// <exception cref="MemoryPolicyRefusedException">The policy refuses one of them (nothing is appended).</exception>
    public Task<IReadOnlyList<AppendReceipt>> PutAsync(MemoryPrincipal who, IReadOnlyList<SignedEnvelope> envelopes, CancellationToken cancellationToken = default)
    {
        if (envelopes.Count > Policy.Limits.MaxBatch)
            throw new MemoryPolicyRefusedException(new MemoryRefusal("limits.max_batch", $"{envelopes.Count} fragments in one request; the limit is {Policy.Limits.MaxBatch}. Split the import."));
        // Signature checks dominate ingest (an Ed25519 verify each); a large batch spreads them over the cores.
        var results = new (SignedFragment? Fragment, FragmentFailure Failure, string Message)[envelopes.Count];
        if (envelopes.Count >= 64)
            Parallel.For(0, envelopes.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => results[i] = SignedFragment.Check(envelopes[i]));
        else
            for (int i = 0; i < envelopes.Count; i++) results[i] = SignedFragment.Check(envelopes[i]);
        var checkedOnes = new List<SignedFragment>(envelopes.Count);
        foreach (var (sf, failure, message) in results)
        {
            if (sf is null) throw new MemoryWriteInvalidException(failure, message);
            CheckWrite(who, sf);
            checkedOnes.Add(sf);
        }
        return Store.AppendAsync(checkedOnes, cancellationToken);
    }

    /// <summary>Signs <paramref name="content"/> for API-key user <paramref name="who"/> with their node-kept key (custodial).</summary>
    public async Task<AppendReceipt> PutCustodialAsync(MemoryPrincipal who, MemoryNamespace ns, string content, JsonObject? metadata, CancellationToken cancellationToken = default)
    {
        var env = SealCustodial(who, ns, content, metadata ?? []);
        return (await PutAsync(who, [env], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>Appends a custodial tombstone for <paramref name="cid"/>, or (with <paramref name="signedTombstone"/>) the caller's own.</summary>
    /// <exception cref="MemoryStoreException">Unknown fragment, or not live.</exception>
    public async Task<AppendReceipt> DeleteAsync(MemoryPrincipal who, Cid cid, SignedEnvelope? signedTombstone = null, NodeKey? key = null, CancellationToken cancellationToken = default)
    {
        var stored = Store.Get(cid) ?? throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
        var ns = MemoryNamespace.Parse(stored.Namespace);
        if (Policy.CheckRead(who, ns) is { } r) throw new MemoryPolicyRefusedException(r);
        if (stored.Status != FragmentStatus.Live)
            throw new MemoryStoreException($"{cid} is {stored.StatusName}; only a live fragment can be deleted.", "memory.bad_tombstone");
        var meta = new JsonObject { [Fragment.TombstoneKey] = cid.ToString() };
        SignedEnvelope env;
        if (signedTombstone is not null) env = signedTombstone;
        else if (key is not null) env = SignedFragment.Seal(new Fragment(ns, "", meta, key.NodeId, Now()), key).Envelope;
        else env = SealCustodial(who, ns, "", meta);
        return (await PutAsync(who, [env], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>Erases the content of <paramref name="cid"/> (the caller must be allowed to write its namespace).</summary>
    public bool Erase(MemoryPrincipal who, Cid cid)
    {
        var stored = Store.Get(cid) ?? throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
        var ns = MemoryNamespace.Parse(stored.Namespace);
        // The operator may erase anything: erasure is how a node honours a privacy request.
        if (who.IsOperator) return Store.Erase(cid);
        if (Policy.CheckRead(who, ns) is { } r) throw new MemoryPolicyRefusedException(r);
        if (Policy.CheckWrite(who, ns, custodial: false) is { } w && Policy.CheckWrite(who, ns, custodial: true) is not null)
            throw new MemoryPolicyRefusedException(w);
        return Store.Erase(cid);
    }

    /// <summary>A fragment the caller may read, or null when absent.</summary>
    public StoredFragment? Get(MemoryPrincipal who, Cid cid)
    {
        var f = Store.Get(cid);
        if (f is null) return null;
        if (Policy.CheckRead(who, MemoryNamespace.Parse(f.Namespace)) is { } r) throw new MemoryPolicyRefusedException(r);
        return f;
    }

    /// <summary>The proof of a fragment the caller may read.</summary>
    public JsonObject Prove(MemoryPrincipal who, Cid cid)
    {
        _ = Get(who, cid) ?? throw new MemoryStoreException($"no fragment {cid} in the store.", "memory.not_found");
        return Store.Prove(cid);
    }

    /// <summary>
    /// Searches the named namespaces (each must be readable, else refused), or by default every existing namespace the
    /// caller may read.
    /// </summary>
    public Task<IReadOnlyList<MemoryHit>> SearchAsync(MemoryPrincipal who, string query, IReadOnlyCollection<string>? namespaces, int k, CancellationToken cancellationToken = default)
    {
        List<string> list;
        if (namespaces is { Count: > 0 })
        {
            list = [];
            foreach (var n in namespaces)
            {
                var ns = MemoryNamespace.Parse(n);
                if (Policy.CheckRead(who, ns) is { } r) throw new MemoryPolicyRefusedException(r);
                list.Add(ns.Name);
            }
        }
        else
        {
            list = Store.Heads().Select(h => h.Namespace).Where(n => Policy.CheckRead(who, MemoryNamespace.Parse(n)) is null).ToList();
        }
        return Store.SearchAsync(query, list, k, cancellationToken);
    }

    private void CheckWrite(MemoryPrincipal who, SignedFragment sf)
    {
        if (Policy.CheckWrite(who, sf.Fragment.Namespace, sf.Custodial) is { } refusal) throw new MemoryPolicyRefusedException(refusal);
        if (Policy.CheckSize(sf.Fragment) is { } size) throw new MemoryPolicyRefusedException(size);
        if (sf.Custodial)
        {
            // A custodial envelope must carry the node-kept key of the very user who sends it.
            if (keyring is null || who.UserId is null)
                throw new MemoryPolicyRefusedException(new MemoryRefusal("custodial.signer", "custodial fragments are signed by the node for an authenticated API-key user; sign with your own key instead."));
            using var k = keyring.KeyFor(who.UserId);
            if (k.NodeId != sf.Envelope.Signer)
                throw new MemoryPolicyRefusedException(new MemoryRefusal("custodial.signer", $"a custodial fragment from user {who.UserId} must be signed by their node-kept key {k.NodeId}, not {sf.Envelope.Signer}."));
        }
    }

    private SignedEnvelope SealCustodial(MemoryPrincipal who, MemoryNamespace ns, string content, JsonObject metadata)
    {
        if (keyring is null || who.UserId is null)
            throw new MemoryPolicyRefusedException(new MemoryRefusal("custodial.signer", "custodial writes need an authenticated API-key user and a node that keeps per-user keys; otherwise send a fragment signed with your own key."));
        using var key = keyring.KeyFor(who.UserId);
        return SignedFragment.Seal(new Fragment(ns, content, metadata, key.NodeId, Now()), key, custodial: true).Envelope;
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
