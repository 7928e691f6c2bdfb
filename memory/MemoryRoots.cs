using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Memory;

/// <summary>One namespace log's head: its name, RFC 9162 root and size.</summary>
public sealed record NamespaceHead(string Namespace, byte[] Root, long Size)
{
    /// <summary>
    /// The global tree's leaf data for this namespace: the canonical JSON bytes of
    /// <c>{"namespace":N,"root":hex,"size":n}</c> (issue 10, Model).
    /// </summary>
    public byte[] GlobalLeafData() => GlobalLeafData(Namespace, Root, Size);

    /// <summary>See <see cref="GlobalLeafData()"/>.</summary>
    public static byte[] GlobalLeafData(string ns, ReadOnlySpan<byte> root, long size)
    {
        // Namespace names are letters, digits and : . _ @ - (MemoryNamespace), which canonical JSON writes as themselves,
        // so the bytes are written directly; any other name goes through the serializer.
        if (ns.AsSpan().ContainsAnyExcept(PlainNameChars) || root.Length != 32 || size < 0)
            return CanonicalJson.Serialize(new JsonObject { ["namespace"] = ns, ["root"] = Convert.ToHexStringLower(root), ["size"] = size });
        Span<byte> digits = stackalloc byte[20];
        size.TryFormat(digits, out int nd, default, System.Globalization.CultureInfo.InvariantCulture);
        var b = new byte[14 + ns.Length + 10 + 64 + 9 + nd + 1];
        int o = 0;
        void Put(ReadOnlySpan<byte> x, Span<byte> into) { x.CopyTo(into[o..]); o += x.Length; }
        Put("{\"namespace\":\""u8, b);
        foreach (var ch in ns) b[o++] = (byte)ch;
        Put("\",\"root\":\""u8, b);
        Convert.TryToHexStringLower(root, b.AsSpan(o, 64), out _);
        o += 64;
        Put("\",\"size\":"u8, b);
        Put(digits[..nd], b);
        b[o++] = (byte)'}';
        return b;
    }

    private static readonly System.Buffers.SearchValues<char> PlainNameChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._@-");
}

/// <summary>
/// The global root: an RFC 9162 tree whose leaves are <see cref="NamespaceHead.GlobalLeafData()"/> of every non-empty
/// namespace, sorted by namespace name in code-point order. Pure: built in memory from the heads.
/// </summary>
public sealed class GlobalTree
{
    private readonly MerkleTree _tree;
    private readonly Dictionary<string, int> _index;

    /// <summary>Builds the tree from <paramref name="heads"/> (any order; they are sorted here).</summary>
    public GlobalTree(IEnumerable<NamespaceHead> heads)
    {
        Heads = heads.Where(h => h.Size > 0).OrderBy(h => h.Namespace, CodePointComparer.Instance).ToArray();
        _tree = new MerkleTree(new InMemoryMerkleNodeStore());
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Heads.Count; i++)
        {
            _tree.Append(Heads[i].GlobalLeafData());
            _index[Heads[i].Namespace] = i;
        }
        Root = _tree.Root();
    }

    /// <summary>The namespace heads in leaf order.</summary>
    public IReadOnlyList<NamespaceHead> Heads { get; }

    /// <summary>The global root (SHA-256 of the empty string when no namespace has a fragment).</summary>
    public byte[] Root { get; }

    /// <summary>The number of leaves (namespaces).</summary>
    public long Size => Heads.Count;

    /// <summary>The leaf index of <paramref name="ns"/>, or -1.</summary>
    public int IndexOf(string ns) => _index.TryGetValue(ns, out var i) ? i : -1;

    /// <summary>The inclusion proof of namespace leaf <paramref name="index"/>.</summary>
    public InclusionProof Prove(int index) => _tree.ProveInclusion(index, Size);
}

/// <summary>
/// A memory root statement (issue 10): the node's signature over <c>{"global_root":hex,"namespaces":n,"time":ms}</c>,
/// where <c>namespaces</c> is the global tree's size. Carried as a <see cref="SignedEnvelope"/> of type
/// <see cref="EnvelopeType"/>, like a ledger signed tree head.
/// </summary>
public sealed record MemoryRootStatement(byte[] GlobalRoot, long Namespaces, long TimeMs, SignedEnvelope Envelope)
{
    /// <summary>The envelope type.</summary>
    public const string EnvelopeType = "memory.root";

    /// <summary>Signs a statement.</summary>
    public static MemoryRootStatement Create(byte[] globalRoot, long namespaces, long timeMs, NodeKey key)
    {
        var payload = new JsonObject
        {
            ["global_root"] = Convert.ToHexStringLower(globalRoot),
            ["namespaces"] = namespaces,
            ["time"] = timeMs,
        };
        return new MemoryRootStatement(globalRoot, namespaces, timeMs, SignedEnvelope.Seal(EnvelopeType, payload, key));
    }

    /// <summary>Reads a statement's shape from its envelope (not its signature: see <see cref="SignedEnvelope.Verify"/>).</summary>
    public static bool TryFromEnvelope(SignedEnvelope env, [NotNullWhen(true)] out MemoryRootStatement? statement, [NotNullWhen(false)] out string? error)
    {
        statement = null;
        if (env.Type != EnvelopeType)
        {
            error = $"statement envelope type is \"{env.Type}\"; expected \"{EnvelopeType}\".";
            return false;
        }
        if (env.Payload is not JsonObject o || o.Count != 3
            || !o.TryGetValue("global_root", out var r) || r is not JsonString rs || !TryHash(rs.Value, out var root)
            || !o.TryGetValue("namespaces", out var n) || n is not JsonInt ni || !ni.TryGetInt64(out var count) || count < 0
            || !o.TryGetValue("time", out var t) || t is not JsonInt ti || !ti.TryGetInt64(out var time))
        {
            error = "statement payload must be exactly {\"global_root\": 64 lowercase hex, \"namespaces\": integer >= 0, \"time\": integer ms}.";
            return false;
        }
        statement = new MemoryRootStatement(root, count, time, env);
        error = null;
        return true;
    }

    /// <summary>The statement as JSON for <c>fed memory root</c> and <c>GET /v1/memory/roots</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["global_root"] = Convert.ToHexStringLower(GlobalRoot),
        ["namespaces"] = Namespaces,
        ["time"] = TimeMs,
        ["statement"] = Envelope.ToJson(),
    };

    internal static bool TryHash(string s, out byte[] hash)
    {
        hash = new byte[32];
        if (s.Length != 64) return false;
        foreach (var c in s)
            if (!(c is (>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        hash = Convert.FromHexString(s);
        return true;
    }
}

/// <summary>
/// Per-user keys the node keeps for custodial writes: the seed of user <c>u</c> is
/// HMAC-SHA256(node seed, "federation.memory.custodial.v1:" ‖ u). Derived, never stored, so they are exactly as secret as
/// the node key and survive restarts without a key table.
/// </summary>
public sealed class CustodialKeyring
{
    private readonly byte[] _nodeSeed;

    /// <summary>A keyring under <paramref name="nodeKey"/>.</summary>
    public CustodialKeyring(NodeKey nodeKey)
    {
        ArgumentNullException.ThrowIfNull(nodeKey);
        _nodeSeed = Convert.FromHexString(nodeKey.ExportSeedHex());
    }

    /// <summary>The per-user key of <paramref name="userId"/> (the caller disposes it).</summary>
    public NodeKey KeyFor(string userId)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var seed = HMACSHA256.HashData(_nodeSeed, Encoding.UTF8.GetBytes("federation.memory.custodial.v1:" + userId));
        try { return NodeKey.FromSeed(seed); }
        finally { CryptographicOperations.ZeroMemory(seed); }
    }
}
