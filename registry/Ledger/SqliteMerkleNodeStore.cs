using Federation.Registry.Merkle;
using Microsoft.Data.Sqlite;

namespace Federation.Registry.Ledger;

/// <summary>
/// Merkle nodes in the ledger's <c>merkle_nodes</c> table, keyed by one integer: <c>level &lt;&lt; 56 | index</c>
/// (a rowid lookup). Writes go into the writer's current <see cref="Transaction"/>, so nodes commit or vanish together
/// with the entries that produced them.
/// </summary>
internal sealed class SqliteMerkleNodeStore : IMerkleNodeStore, IDisposable
{
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _insertId, _insertHash;
    private readonly SqliteCommand _select;
    private readonly SqliteParameter _selectId;

    public SqliteMerkleNodeStore(SqliteConnection connection)
    {
        _insert = connection.CreateCommand();
        _insert.CommandText = "INSERT INTO merkle_nodes(id, hash) VALUES ($id, $hash)";
        _insertId = _insert.Parameters.Add("$id", SqliteType.Integer);
        _insertHash = _insert.Parameters.Add("$hash", SqliteType.Blob);
        _select = connection.CreateCommand();
        _select.CommandText = "SELECT hash FROM merkle_nodes WHERE id = $id";
        _selectId = _select.Parameters.Add("$id", SqliteType.Integer);
    }

    /// <summary>The transaction node writes join; set by the writer before appending.</summary>
    public SqliteTransaction? Transaction
    {
        get => _insert.Transaction;
        set { _insert.Transaction = value; _select.Transaction = value; }
    }

    public static long Key(int level, long index) => ((long)level << 56) | index;

    public void ReadNode(int level, long index, Span<byte> destination)
    {
        _selectId.Value = Key(level, index);
        if (_select.ExecuteScalar() is not byte[] h || h.Length != MerkleHasher.HashSize)
            throw new InvalidDataException($"merkle node ({level}, {index}) is missing from the ledger; reopen the ledger to rebuild its Merkle nodes from the entries.");
        h.CopyTo(destination);
    }

    public void WriteNode(int level, long index, ReadOnlySpan<byte> hash)
    {
        _insertId.Value = Key(level, index);
        _insertHash.Value = hash.ToArray();
        _insert.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert.Dispose();
        _select.Dispose();
    }
}
