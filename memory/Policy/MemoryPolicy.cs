namespace Federation.Memory.Policy;

/// <summary>Who is asking: an authenticated API-key user, the node operator (CLI with the node key), or nobody.</summary>
/// <param name="UserId">The API-key user's id (the key's name), or null.</param>
/// <param name="IsOperator">The node operator: holds the node key and the database.</param>
public sealed record MemoryPrincipal(string? UserId, bool IsOperator)
{
    /// <summary>The node operator.</summary>
    public static MemoryPrincipal Operator { get; } = new(null, true);

    /// <summary>An unauthenticated caller (reads <c>topic:</c> and <c>public</c> only if the policy allows anonymous reads).</summary>
    public static MemoryPrincipal Anonymous { get; } = new(null, false);

    /// <summary>An authenticated API-key user.</summary>
    public static MemoryPrincipal User(string userId) => new(userId, false);

    /// <inheritdoc/>
    public override string ToString() => IsOperator ? "operator" : UserId is null ? "anonymous" : "user " + UserId;
}

/// <summary>A policy refusal: the rule that refused (e.g. <c>user.private</c>) and why. HTTP answers it with 403.</summary>
public sealed record MemoryRefusal(string Rule, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"refused by rule {Rule}: {Message}";
}

/// <summary>Thrown by the service when the policy refuses an operation.</summary>
public sealed class MemoryPolicyRefusedException(MemoryRefusal refusal) : Exception(refusal.ToString())
{
    /// <summary>The refusal.</summary>
    public MemoryRefusal Refusal { get; } = refusal;
}

/// <summary>Size limits of <c>policies/memory.yaml</c>.</summary>
public sealed record MemoryLimits(int MaxContentBytes, int MaxMetadataBytes, int MaxBatch);

/// <summary>
/// <c>policies/memory.yaml</c> (docs/memory.md §Policy): who may read and write which namespace, size limits, and where
/// custodial writes are allowed. Pure: every decision is a function of the principal, the namespace and this policy.
/// </summary>
/// <remarks>
/// Fixed semantics per kind (issue 10): <c>user:&lt;id&gt;</c> is read and written by that user only (the operator may
/// read it: the operator holds the database anyway, and <c>fed memory export</c> needs it); <c>topic:&lt;id&gt;</c> is
/// read by any authenticated caller (and anonymous ones when <see cref="AnonymousRead"/>) and written by its curators
/// and the operator; <c>public</c> likewise, written by <see cref="PublicWriters"/> and the operator.
/// </remarks>
public sealed class MemoryPolicy
{
    /// <summary>A policy.</summary>
    public MemoryPolicy(MemoryLimits limits, bool userCustodial, bool topicCustodial, bool publicCustodial,
        IReadOnlyDictionary<string, IReadOnlyList<string>> curators, IReadOnlyList<string> publicWriters, bool anonymousRead, string cid)
    {
        Limits = limits;
        UserCustodial = userCustodial;
        TopicCustodial = topicCustodial;
        PublicCustodial = publicCustodial;
        Curators = curators;
        PublicWriters = publicWriters;
        AnonymousRead = anonymousRead;
        Cid = cid;
    }

    /// <summary>The built-in default (the same as the shipped <c>policies/memory.yaml</c>).</summary>
    public static MemoryPolicy Default { get; } = new(new MemoryLimits(16384, 4096, 10000), true, false, false,
        new Dictionary<string, IReadOnlyList<string>>(), [], false, "builtin");

    /// <summary>Size limits.</summary>
    public MemoryLimits Limits { get; }

    /// <summary>Custodial writes allowed in <c>user:</c> namespaces.</summary>
    public bool UserCustodial { get; }

    /// <summary>Custodial writes allowed in <c>topic:</c> namespaces.</summary>
    public bool TopicCustodial { get; }

    /// <summary>Custodial writes allowed in <c>public</c>.</summary>
    public bool PublicCustodial { get; }

    /// <summary>Topic id (or <c>*</c> for every topic) → user ids that curate it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Curators { get; }

    /// <summary>User ids that may write <c>public</c>.</summary>
    public IReadOnlyList<string> PublicWriters { get; }

    /// <summary>Whether unauthenticated callers may read <c>topic:</c> and <c>public</c>.</summary>
    public bool AnonymousRead { get; }

    /// <summary>Lowercase hex SHA-256 of the policy file's bytes ("builtin" for <see cref="Default"/>).</summary>
    public string Cid { get; }

    /// <summary>Null when <paramref name="who"/> may read <paramref name="ns"/>, else the refusal.</summary>
    public MemoryRefusal? CheckRead(MemoryPrincipal who, MemoryNamespace ns)
    {
        if (who.IsOperator) return null;
        switch (ns.Kind)
        {
            case NamespaceKind.User:
                return who.UserId == ns.Id ? null
                    : new MemoryRefusal("user.private", $"{ns.Name} is private to user {ns.Id}; {who} may not read it.");
            default:
                return who.UserId is not null || AnonymousRead ? null
                    : new MemoryRefusal("read.authenticated", $"reading {ns.Name} needs an API key (anonymous_read is off).");
        }
    }

    /// <summary>Null when <paramref name="who"/> may write <paramref name="ns"/> (custodially or not), else the refusal.</summary>
    public MemoryRefusal? CheckWrite(MemoryPrincipal who, MemoryNamespace ns, bool custodial)
    {
        switch (ns.Kind)
        {
            case NamespaceKind.User:
                if (who.UserId != ns.Id)
                    return new MemoryRefusal("user.private", $"{ns.Name} is written only by user {ns.Id}; {who} may not write it.");
                if (custodial && !UserCustodial)
                    return new MemoryRefusal("user.custodial", $"custodial writes to {ns.Name} are not allowed (user.custodial is false); sign the fragment with your own key.");
                return null;
            case NamespaceKind.Topic:
                if (!who.IsOperator && !IsCurator(who.UserId, ns.Id))
                    return new MemoryRefusal("topic.curators", $"{ns.Name} is written by its curators; {who} is not one (policies/memory.yaml topic.curators).");
                if (custodial && !TopicCustodial)
                    return new MemoryRefusal("topic.custodial", $"custodial writes to {ns.Name} are not allowed (topic.custodial is false).");
                return null;
            default:
                if (!who.IsOperator && (who.UserId is null || !PublicWriters.Contains(who.UserId)))
                    return new MemoryRefusal("public.writers", $"public is written by the operator and public.writers; {who} is not one.");
                if (custodial && !PublicCustodial)
                    return new MemoryRefusal("public.custodial", "custodial writes to public are not allowed (public.custodial is false).");
                return null;
        }
    }

    /// <summary>Null when the fragment fits the size limits, else the refusal.</summary>
    public MemoryRefusal? CheckSize(Fragment f)
    {
        var n = f.ContentBytes;
        if (n > Limits.MaxContentBytes)
            return new MemoryRefusal("limits.max_content_bytes", $"content is {n} bytes; the limit is {Limits.MaxContentBytes}. Split it into several fragments.");
        var m = Registry.Json.CanonicalJson.Serialize(f.Metadata).Length;
        if (m > Limits.MaxMetadataBytes)
            return new MemoryRefusal("limits.max_metadata_bytes", $"metadata is {m} canonical bytes; the limit is {Limits.MaxMetadataBytes}.");
        return null;
    }

    private bool IsCurator(string? user, string topic) =>
        user is not null && ((Curators.TryGetValue(topic, out var c) && c.Contains(user)) || (Curators.TryGetValue("*", out var all) && all.Contains(user)));
}
