using System.Security.Cryptography;
using Federation.Node.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Caching.Memory;

namespace Federation.Node.Auth;

/// <summary>A stored API key (the secret itself is never stored, only its SHA-256).</summary>
public sealed record ApiKeyInfo(string Id, string Name, string Role, DateTimeOffset CreatedAt, bool Revoked);

/// <summary>
/// API keys in the node database. <see cref="Create"/> returns the secret once; only SHA-256(secret) is stored, so a
/// leaked database does not leak usable keys. Roles: <c>client</c> (calls /v1), <c>reviewer</c> (also reviews T3) and <c>operator</c> (also drives DIIP: gauntlet, activation, rollback).
/// </summary>
public sealed class ApiKeyStore : IDisposable
{
    public const string Prefix = "fed-";
    private readonly NodeDatabase _db;
    private readonly TimeProvider _time;

    private readonly MemoryCache _cache;

    /// <summary>Opens (creating when needed) the key table in <paramref name="dbPath"/>; <paramref name="time"/> stamps new keys.</summary>
    public ApiKeyStore(string dbPath, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        // Its own bounded cache (not the host's IMemoryCache): Invalidate must drop only key lookups.
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = 10_000 });
        _db = NodeDatabase.Create(dbPath, """
            CREATE TABLE IF NOT EXISTS api_keys(
              id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
              secret_sha256 TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
            """);
    }

    private SqliteConnection Open() => _db.Open();

    public static readonly IReadOnlyList<string> Roles = ["client", "reviewer", "operator"];

    /// <summary>Creates a key and returns (info, secret). The secret is shown once and cannot be recovered.</summary>
    public (ApiKeyInfo Info, string Secret) Create(string name, string role = "client")
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64)
            throw new ArgumentException("a key name must be 1 to 64 characters");
        if (!Roles.Contains(role))
            throw new ArgumentException($"role must be one of {string.Join(", ", Roles)}; found '{role}'");
        var secret = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var id = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var now = _time.GetUtcNow();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO api_keys(id,name,role,secret_sha256,created_at) VALUES($id,$n,$r,$h,$t)";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$r", role);
        cmd.Parameters.AddWithValue("$h", Hash(secret));
        cmd.Parameters.AddWithValue("$t", now.ToUnixTimeSeconds());
        try
        {
            cmd.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            throw new ArgumentException($"a key named '{name}' already exists; pick another name or revoke it first");
        }
        Invalidate();
        return (new ApiKeyInfo(id, name, role, now, false), secret);
    }

    /// <summary>The key for a presented secret, or null when unknown or revoked.</summary>
    public ApiKeyInfo? Authenticate(string secret)
    {
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id,name,role,created_at,revoked FROM api_keys WHERE secret_sha256=$h AND revoked=0";
        cmd.Parameters.AddWithValue("$h", Hash(secret));
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    public IReadOnlyList<ApiKeyInfo> List()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id,name,role,created_at,revoked FROM api_keys ORDER BY created_at, name";
        using var r = cmd.ExecuteReader();
        var list = new List<ApiKeyInfo>();
        while (r.Read()) list.Add(Read(r));
        return list;
    }

    // Why a cache: /v1 asks on every request; keys are created and revoked by the CLI in another process, so changes
    // take effect within CacheTtl instead of at once (documented in docs/api.md).
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(1);

    /// <summary>True when any non-revoked key exists (then every /v1 call needs one). Cached for <see cref="CacheTtl"/>.</summary>
    public bool AnyActive() => _cache.GetOrCreate(("any", ""), e =>
    {
        e.AbsoluteExpirationRelativeToNow = CacheTtl;
        e.Size = 1;
        return AnyActiveUncached();
    });

    /// <summary>The key for a presented secret, or null when unknown or revoked. Cached per secret hash for <see cref="CacheTtl"/>.</summary>
    public ApiKeyInfo? AuthenticateCached(string secret) => _cache.GetOrCreate(("secret", Hash(secret)), e =>
    {
        e.AbsoluteExpirationRelativeToNow = CacheTtl;
        e.Size = 1;
        return Authenticate(secret);
    });

    /// <summary>True when the key with this id exists and is not revoked. Cached for <see cref="CacheTtl"/>.</summary>
    public bool IsActive(string id) => _cache.GetOrCreate(("id", id), e =>
    {
        e.AbsoluteExpirationRelativeToNow = CacheTtl;
        e.Size = 1;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT EXISTS(SELECT 1 FROM api_keys WHERE id=$id AND revoked=0)";
        cmd.Parameters.AddWithValue("$id", id);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
    });

    private bool AnyActiveUncached()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT EXISTS(SELECT 1 FROM api_keys WHERE revoked=0)";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    public bool Revoke(string nameOrId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE api_keys SET revoked=1 WHERE (name=$k OR id=$k) AND revoked=0";
        cmd.Parameters.AddWithValue("$k", nameOrId);
        var revoked = cmd.ExecuteNonQuery() > 0;
        Invalidate();
        return revoked;
    }

    // Changes made through this instance are seen at once; other processes' changes within CacheTtl.
    private void Invalidate() => _cache.Compact(1.0);

    private static ApiKeyInfo Read(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(3)), r.GetInt64(4) != 0);

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));

    public void Dispose() => _cache.Dispose();
}
