using System.Globalization;
using System.Text;
using Federation.Registry.Envelopes;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// The ledger's SQLite file: schema (format 1, see docs/formats.md), connection settings and small helpers shared by
/// <see cref="LedgerWriter"/>, <see cref="LedgerProofReader"/> and <see cref="LedgerAuditor"/>.
/// </summary>
internal static class LedgerDatabase
{
    public const int FormatVersion = 1;

    /// <summary>Creates the tables when missing and checks the format version.</summary>
    public static void EnsureSchema(SqliteConnection c, string path)
    {
        Exec(c, """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS entries (
              idx INTEGER PRIMARY KEY,      -- leaf index, contiguous from 0
              id TEXT NOT NULL,             -- envelope id (CID of its signed bytes)
              type TEXT NOT NULL,
              signer TEXT NOT NULL,
              signature BLOB NOT NULL,
              envelope BLOB NOT NULL,       -- canonical envelope JSON = Merkle leaf data
              leaf_hash BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS merkle_nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS sths (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              tree_size INTEGER NOT NULL, root BLOB NOT NULL, timestamp INTEGER NOT NULL,
              envelope BLOB NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('format', '1');
            """);
        var format = Scalar(c, "SELECT value FROM meta WHERE key = 'format'") as string;
        if (format != FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: ledger format '{format}' is not supported; this build reads format {FormatVersion}.");
    }

    public static SqliteConnection Open(string path, LedgerOptions options)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        var c = new SqliteConnection(cs);
        c.Open();
        if (options.Synchronous is not ("FULL" or "NORMAL" or "EXTRA" or "OFF"))
        {
            c.Dispose();
            throw new ArgumentException($"Synchronous must be FULL, EXTRA, NORMAL or OFF; got '{options.Synchronous}'.", nameof(options));
        }
#pragma warning disable CA2100 // the value was checked against a fixed list just above
        // A larger page cache and memory-mapped reads keep proof lookups (random rowids) off read() system calls.
        Exec(c, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={options.Synchronous}; PRAGMA busy_timeout=10000; PRAGMA cache_size=-32768; PRAGMA mmap_size=1073741824;");
#pragma warning restore CA2100
        return c;
    }

    /// <summary>The most recently stored tree head, or null when none was signed yet.</summary>
    /// <exception cref="FormatException">The stored envelope is not an STH.</exception>
    public static SignedTreeHead? LatestSth(SqliteConnection c)
    {
        var bytes = Scalar(c, "SELECT envelope FROM sths ORDER BY seq DESC LIMIT 1") as byte[];
        return bytes is null ? null : SignedTreeHead.FromEnvelope(SignedEnvelope.Parse(Encoding.UTF8.GetString(bytes)));
    }

    public static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // fixed SQL written in the ledger classes
        cmd.CommandText = sql;
#pragma warning restore CA2100
        cmd.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // fixed SQL written in the ledger classes
        cmd.CommandText = sql;
#pragma warning restore CA2100
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    public static long Long(object? v) => Convert.ToInt64(v, CultureInfo.InvariantCulture);

    public static void CheckSize(long n, long size)
    {
        if (n < 0 || n > size)
            throw new ArgumentOutOfRangeException(nameof(n), $"tree size {n} is outside the ledger, which holds {size} entries; give 0 <= size <= {size}.");
    }

    public static void CheckIndex(long index, long size)
    {
        if (index < 0 || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"entry index {index} is outside the tree of {size} entries; give 0 <= index < {size}.");
    }
}

/// <summary>
/// What the writer publishes to readers: the committed (durable) size and the latest signed tree head. Written only by
/// <see cref="LedgerWriter"/>; read lock-free.
/// </summary>
internal sealed class LedgerHead(long size, SignedTreeHead? latest)
{
    private long _size = size;
    private SignedTreeHead? _latest = latest;

    public long Size => Volatile.Read(ref _size);

    public SignedTreeHead? Latest => Volatile.Read(ref _latest);

    public void Publish(long size) => Volatile.Write(ref _size, size);

    public void Publish(SignedTreeHead sth) => Volatile.Write(ref _latest, sth);
}
