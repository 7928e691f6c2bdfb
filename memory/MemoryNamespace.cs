using System.Diagnostics.CodeAnalysis;

namespace Federation.Memory;

/// <summary>The three kinds of namespace (issue 10): a user's private memory, a topic's curated memory, the public one.</summary>
public enum NamespaceKind
{
    /// <summary><c>user:&lt;id&gt;</c>: read and written only by that user.</summary>
    User,
    /// <summary><c>topic:&lt;id&gt;</c>: read by every caller, written by the topic's curators.</summary>
    Topic,
    /// <summary><c>public</c>: read by every caller, written by the writers the policy names.</summary>
    Public,
}

/// <summary>
/// A namespace name: <c>user:&lt;id&gt;</c>, <c>topic:&lt;id&gt;</c> or <c>public</c>. Ids are 1–128 characters of
/// <c>[A-Za-z0-9._@-]</c>, starting with a letter or digit: ASCII only, so code-point order equals byte order everywhere.
/// </summary>
public readonly record struct MemoryNamespace
{
    /// <summary>The longest id after the prefix.</summary>
    public const int MaxIdLength = 128;

    private MemoryNamespace(string name, NamespaceKind kind, string id)
    {
        Name = name;
        Kind = kind;
        Id = id;
    }

    /// <summary>The full name, e.g. <c>user:alice</c>.</summary>
    public string Name { get; }

    /// <summary>Which kind of namespace.</summary>
    public NamespaceKind Kind { get; }

    /// <summary>The user or topic id (empty for <c>public</c>).</summary>
    public string Id { get; }

    /// <summary>The public namespace.</summary>
    public static MemoryNamespace Public { get; } = new("public", NamespaceKind.Public, "");

    /// <summary>The private namespace of user <paramref name="userId"/>.</summary>
    public static MemoryNamespace User(string userId) => Parse("user:" + userId);

    /// <summary>The namespace of topic <paramref name="topicId"/>.</summary>
    public static MemoryNamespace Topic(string topicId) => Parse("topic:" + topicId);

    /// <summary>Parses a name; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static MemoryNamespace Parse(string? name) =>
        TryParse(name, out var ns, out var error) ? ns : throw new FormatException(error);

    /// <summary>Parses a name; on failure <paramref name="error"/> says what was expected.</summary>
    public static bool TryParse([NotNullWhen(true)] string? name, out MemoryNamespace ns, [NotNullWhen(false)] out string? error)
    {
        ns = default;
        error = null;
        if (name == "public")
        {
            ns = Public;
            return true;
        }
        NamespaceKind kind;
        string id;
        if (name is not null && name.StartsWith("user:", StringComparison.Ordinal)) { kind = NamespaceKind.User; id = name[5..]; }
        else if (name is not null && name.StartsWith("topic:", StringComparison.Ordinal)) { kind = NamespaceKind.Topic; id = name[6..]; }
        else
        {
            error = $"namespace \"{name}\" is not one of user:<id>, topic:<id> or public.";
            return false;
        }
        if (!ValidId(id))
        {
            error = $"namespace \"{name}\": the id after the prefix must be 1-{MaxIdLength} characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit.";
            return false;
        }
        ns = new MemoryNamespace(name, kind, id);
        return true;
    }

    /// <summary>Whether <paramref name="id"/> is a valid user or topic id.</summary>
    public static bool ValidId(string id)
    {
        if (id.Length is 0 or > MaxIdLength || !char.IsAsciiLetterOrDigit(id[0])) return false;
        foreach (var c in id)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '-')) return false;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
