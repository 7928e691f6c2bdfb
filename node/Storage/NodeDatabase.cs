using Microsoft.Data.Sqlite;

namespace Federation.Node.Storage;

/// <summary>
/// The node database (<c>&lt;data-dir&gt;/node.db</c>, SQLite in WAL mode) shared by the API key store and the review
/// queue: each owner creates its own tables through <see cref="Create"/> and opens pooled connections with <see cref="Open"/>.
/// </summary>
public sealed class NodeDatabase
{
    private readonly string _connectionString;

    private NodeDatabase(string dbPath) =>
        _connectionString = new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = true }.ToString();

    /// <summary>Opens the database at <paramref name="dbPath"/> and runs <paramref name="schema"/> (idempotent DDL).</summary>
    public static NodeDatabase Create(string dbPath, string schema)
    {
        var db = new NodeDatabase(dbPath);
        using var c = db.Open();
        using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // the schema is a constant of the calling store
        cmd.CommandText = "PRAGMA journal_mode=WAL;\n" + schema;
#pragma warning restore CA2100
        cmd.ExecuteNonQuery();
        return db;
    }

    public SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }
}
