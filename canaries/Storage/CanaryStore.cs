using Federation.Canaries.Lifecycle;
using Federation.Registry.Json;
using Microsoft.Data.Sqlite;

namespace Federation.Canaries.Storage;

/// <summary>A stored canary with its private state (salt) and its use so far.</summary>
public sealed record CanaryRecord(Canary Canary, byte[]? Salt, string? Commitment, bool Committed, bool Revealed, CanaryUsage Usage, DateTimeOffset AddedAt, string? RetireReason)
{
    /// <summary>How the canary is named in public before it is revealed: its CID if public, its commitment if secret.</summary>
    public string Handle => Commitment ?? Canary.Cid.ToString();

    /// <summary>"active", "retired" or "expired" (lifespan of scored reveals used up).</summary>
    public string State => Usage.Retired ? "retired" : CanaryLifecycle.IsExpired(Canary, Usage) ? "expired" : "active";
}

/// <summary>A bad request to the store (unknown id, wrong visibility…); the message says what to do.</summary>
public sealed class CanaryStoreException(string message) : InvalidOperationException(message);

/// <summary>
/// The canary registry of one node: SQLite at <c>&lt;dataDir&gt;/canaries.db</c>. Secret canaries keep their salt here
/// (private to the node) until revealed. Safe for one process at a time per call (each call opens its own connection;
/// SQLite serialises writers).
/// </summary>
public sealed class CanaryStore
{
    private readonly string _connectionString;

    /// <summary>Opens (creating if needed) the store at <paramref name="path"/>.</summary>
    public CanaryStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString();
        using var c = Open();
        Exec(c, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS canaries (
              cid TEXT PRIMARY KEY, topic TEXT NOT NULL, class TEXT NOT NULL, visibility TEXT NOT NULL, body BLOB NOT NULL,
              salt TEXT, commitment TEXT UNIQUE, committed INTEGER NOT NULL DEFAULT 0, revealed INTEGER NOT NULL DEFAULT 0,
              retired INTEGER NOT NULL DEFAULT 0, retire_reason TEXT, scored_reveals INTEGER NOT NULL DEFAULT 0,
              attempts INTEGER NOT NULL DEFAULT 0, pass_sum REAL NOT NULL DEFAULT 0, added_at INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS canaries_topic ON canaries(topic);
            """);
    }

    /// <summary>The store under a data dir: <c>&lt;dataDir&gt;/canaries.db</c>.</summary>
    public static CanaryStore ForDataDir(string dataDir) => new(System.IO.Path.Combine(dataDir, "canaries.db"));

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Adds a canary (a secret one gets a fresh salt and its commitment). Adding the same CID again returns the stored record.</summary>
    public (CanaryRecord Record, bool Added) Add(Canary canary, DateTimeOffset now, byte[]? salt = null)
    {
        ArgumentNullException.ThrowIfNull(canary);
        if (TryGet(canary.Cid.ToString(), out var existing)) return (existing, false);
        string? saltHex = null, commitment = null;
        if (canary.Visibility == CanaryVisibility.Secret)
        {
            salt ??= CanaryCommitment.NewSalt();
            saltHex = Convert.ToHexStringLower(salt);
            commitment = CanaryCommitment.Compute(salt, canary);
        }
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO canaries(cid, topic, class, visibility, body, salt, commitment, added_at) VALUES ($cid,$topic,$class,$vis,$body,$salt,$com,$at)";
        cmd.Parameters.AddWithValue("$cid", canary.Cid.ToString());
        cmd.Parameters.AddWithValue("$topic", canary.Topic);
        cmd.Parameters.AddWithValue("$class", canary.Class.ToString());
        cmd.Parameters.AddWithValue("$vis", canary.Visibility == CanaryVisibility.Secret ? "secret" : "public");
        cmd.Parameters.AddWithValue("$body", canary.CanonicalBytes);
        cmd.Parameters.AddWithValue("$salt", (object?)saltHex ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$com", (object?)commitment ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$at", now.ToUnixTimeSeconds());
        cmd.ExecuteNonQuery();
        return (Get(canary.Cid.ToString()), true);
    }

    /// <summary>Finds a canary by CID, by commitment, or by a unique prefix of either (at least 8 characters).</summary>
    public bool TryGet(string idOrPrefix, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CanaryRecord? record)
    {
        record = null;
        if (string.IsNullOrEmpty(idOrPrefix)) return false;
        var found = Query("WHERE cid = $id OR commitment = $id", ("$id", idOrPrefix));
        if (found.Count == 0 && idOrPrefix.Length >= 8)
        {
            found = Query("WHERE cid LIKE $p OR commitment LIKE $p", ("$p", idOrPrefix.Replace("%", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal) + "%"));
            if (found.Count > 1) throw new CanaryStoreException($"'{idOrPrefix}' matches {found.Count} canaries; give more characters of the id.");
        }
        record = found.FirstOrDefault();
        return record is not null;
    }

    /// <summary>Like <see cref="TryGet"/>, but an unknown id is an error that says how to list the ids.</summary>
    public CanaryRecord Get(string idOrPrefix) =>
        TryGet(idOrPrefix, out var r) ? r : throw new CanaryStoreException($"no canary with id or commitment '{idOrPrefix}'; see 'fed canary list'.");

    /// <summary>All canaries, optionally of one topic, ordered by CID.</summary>
    public IReadOnlyList<CanaryRecord> List(string? topic = null) =>
        topic is null ? Query("ORDER BY cid") : Query("WHERE topic = $t ORDER BY cid", ("$t", topic));

    /// <summary>The auditable battery of a topic (public and secret, not expired), ordered by handle.</summary>
    public IReadOnlyList<CanaryRecord> Battery(string topic) =>
        [.. List(topic).Where(r => CanaryLifecycle.IsAuditable(r.Canary, r.Usage)).OrderBy(r => r.Handle, StringComparer.Ordinal)];

    /// <summary>Marks a secret canary as published by its commitment and returns the commitment.</summary>
    public string Commit(string id)
    {
        var r = Get(id);
        if (r.Commitment is null) throw new CanaryStoreException($"canary {r.Canary.Cid} is public: it is published in clear, there is nothing to commit. Add it with --secret to keep it in the secret reserve.");
        Update(r.Canary.Cid.ToString(), "committed = 1");
        return r.Commitment;
    }

    /// <summary>The reveal <c>{"commitment","salt","canary"}</c> of a secret canary; marks it revealed.</summary>
    public JsonObject Reveal(string id)
    {
        var r = Get(id);
        if (r.Salt is null) throw new CanaryStoreException($"canary {r.Canary.Cid} is public: there is no commitment to reveal.");
        Update(r.Canary.Cid.ToString(), "revealed = 1");
        return CanaryCommitment.Reveal(r.Salt, r.Canary);
    }

    /// <summary>Retires a canary by hand (its weight becomes 0; it leaves every battery).</summary>
    public CanaryRecord Retire(string id, string reason)
    {
        var r = Get(id);
        Update(r.Canary.Cid.ToString(), "retired = 1, retire_reason = $reason", ("$reason", reason));
        return Get(r.Canary.Cid.ToString());
    }

    /// <summary>Records one check of the canary: attempts += 1, pass sum += o; a scored reveal also counts toward its lifespan.</summary>
    public void RecordUse(string id, double o, bool scoredReveal)
    {
        var r = Get(id);
        Update(r.Canary.Cid.ToString(), "attempts = attempts + 1, pass_sum = pass_sum + $o, scored_reveals = scored_reveals + $s",
            ("$o", o), ("$s", scoredReveal ? 1 : 0));
    }

    private void Update(string cid, string set, params (string Name, object Value)[] args)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"UPDATE canaries SET {set} WHERE cid = $cid";
        cmd.Parameters.AddWithValue("$cid", cid);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        cmd.ExecuteNonQuery();
    }

    private List<CanaryRecord> Query(string where, params (string Name, object Value)[] args)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT body, salt, commitment, committed, revealed, retired, retire_reason, scored_reveals, attempts, pass_sum, added_at, cid FROM canaries " + where;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        using var rd = cmd.ExecuteReader();
        var list = new List<CanaryRecord>();
        while (rd.Read())
        {
            var body = (byte[])rd[0];
            if (!Canary.TryFromJson(CanonicalJson.Parse(body), out var canary, out var error) || canary.Cid.ToString() != rd.GetString(11))
                throw new InvalidDataException($"canary {rd.GetString(11)} in {Path} is corrupt ({error ?? "its body no longer hashes to its CID"}); restore the database from a backup.");
            var salt = rd.IsDBNull(1) ? null : Convert.FromHexString(rd.GetString(1));
            list.Add(new CanaryRecord(canary, salt, rd.IsDBNull(2) ? null : rd.GetString(2), rd.GetInt64(3) != 0, rd.GetInt64(4) != 0,
                new CanaryUsage((int)rd.GetInt64(7), (int)rd.GetInt64(8), rd.GetDouble(9), rd.GetInt64(5) != 0),
                DateTimeOffset.FromUnixTimeSeconds(rd.GetInt64(10)), rd.IsDBNull(6) ? null : rd.GetString(6)));
        }
        return list;
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
