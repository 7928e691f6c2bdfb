namespace Federation.Node.Hosting;

/// <summary>
/// The one description of a node's data directory; every command and the host take their paths from here.
/// <code>
/// identity/            node key (0600)            reviewers/&lt;name&gt;/identity/  reviewer signing keys
/// ledger.db (+.lock)   the signed Merkle ledger   node.db                       API key hashes, review queue
/// models/              base models (GGUF)         adapters/                     LoRA adapters (GGUF)
/// </code>
/// </summary>
public sealed record DataDirLayout(string Root)
{
    /// <summary>The environment variable that overrides the default data dir.</summary>
    public const string EnvironmentVariable = "FEDERATION_DATA_DIR";

    /// <summary><c>--data-dir</c> when given, then <c>$FEDERATION_DATA_DIR</c>, then <c>~/.federation</c>; always absolute.</summary>
    public static DataDirLayout Resolve(string? explicitDir)
    {
        if (!string.IsNullOrEmpty(explicitDir)) return new(Path.GetFullPath(explicitDir));
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env)) return new(Path.GetFullPath(env));
        return new(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".federation"));
    }

    /// <summary>The signed Merkle ledger (SQLite).</summary>
    public string LedgerDb => Path.Combine(Root, "ledger.db");

    /// <summary>API key hashes and the T3 review queue (SQLite).</summary>
    public string NodeDb => Path.Combine(Root, "node.db");

    /// <summary>Plane H memory (fragments, namespace logs, roots): the same file <c>fed memory</c> uses.</summary>
    public string MemoryDb => Path.Combine(Root, "memory.db");

    public string Models => Path.Combine(Root, "models");

    public string Adapters => Path.Combine(Root, "adapters");

    /// <summary>The embedded default base model, created on first start.</summary>
    public string DefaultBaseModel => Path.Combine(Models, "base-tiny.gguf");

    /// <summary>The directory holding a reviewer's signing key. Names are checked by the caller (<see cref="Review.ReviewerNames"/>).</summary>
    public string ReviewerDir(string reviewer) => Path.Combine(Root, "reviewers", reviewer);
}

/// <summary>Where the routing policy comes from when none is named: the same rule for <c>fed route</c>, <c>fed policy</c> and <c>fed serve</c>.</summary>
public static class PolicyLocator
{
    /// <summary>Relative location of the default policy.</summary>
    public const string DefaultRelativePath = "policies/routing.yaml";

    /// <summary>
    /// Searches upward from the current directory, then from the program's directory (the build copies
    /// <c>policies/*.yaml</c> next to the binaries), for <c>policies/routing.yaml</c>; null when none exists.
    /// </summary>
    public static string? FindDefault()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, DefaultRelativePath);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// The memory policy, found the same way: <c>memory.yaml</c> next to an explicit routing policy, else
    /// <c>policies/memory.yaml</c> above the current directory or next to the program; null (built-in default) when none.
    /// </summary>
    public static string? FindMemoryPolicy(string? explicitRoutingPolicy)
    {
        if (explicitRoutingPolicy is not null)
        {
            var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(explicitRoutingPolicy)) ?? ".", "memory.yaml");
            if (File.Exists(sibling)) return sibling;
        }
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "policies", "memory.yaml");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>The explicit path when given, else <see cref="FindDefault"/>; throws with the fix when neither exists.</summary>
    public static string Resolve(string? explicitPath) => explicitPath ?? FindDefault()
        ?? throw new FileNotFoundException(
            $"no {DefaultRelativePath} found above '{Environment.CurrentDirectory}' or '{AppContext.BaseDirectory}'; pass --policy FILE.");
}
