using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Registry.Ledger;

/// <summary>
/// The node's append-only, Merkle-backed log of signed entries in SQLite (WAL, synchronous=FULL). Entry i is a
/// <see cref="Envelopes.SignedEnvelope"/> sealed by the node key; Merkle leaf i is the envelope's canonical JSON bytes
/// (<see cref="Envelopes.SignedEnvelope.ToCanonicalBytes"/>), so leaf hash = SHA-256(0x00 ‖ those bytes).
/// </summary>
/// <remarks>
/// One file, three parts with one job each: <see cref="Writer"/> (appends with group commit, tree-head signing),
/// <see cref="Proofs"/> (entries, roots, inclusion and consistency proofs, on a second connection that sees only
/// committed data) and <see cref="Auditor"/> (full verification, and the repair of Merkle nodes on open). This class
/// opens them together and forwards the common calls. Thread-safe.
/// </remarks>
public sealed class SqliteLedger : IAsyncDisposable, IDisposable
{
    private readonly NodeKey? _key;
    private readonly LedgerHead _head;
    private readonly Microsoft.Data.Sqlite.SqliteConnection _writeConnection;
    private LedgerWriterLock? _writerLock;
    private bool _disposed;

    private SqliteLedger(string path, NodeKey? key, LedgerOptions options)
    {
        Path = path;
        _key = key;
        _writeConnection = LedgerDatabase.Open(path, options);
        LedgerProofReader? reader = null;
        try
        {
            LedgerDatabase.EnsureSchema(_writeConnection, path);
            long size = LedgerAuditor.RecoverOnOpen(_writeConnection, path, out var repaired);
            SignedTreeHead? latest;
            try { latest = LedgerDatabase.LatestSth(_writeConnection); }
            catch (FormatException) { latest = null; } // a malformed stored head is reported by VerifyAll, not at open
            _head = new LedgerHead(size, latest);
            reader = new LedgerProofReader(path, options, _head);
            Proofs = reader;
            Auditor = new LedgerAuditor(path, options, _head, reader, key?.Id, repaired);
            Writer = new LedgerWriter(path, _writeConnection, key, options, _head);
        }
        catch
        {
            reader?.Dispose();
            _writeConnection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens (creating if needed) the ledger at <paramref name="path"/>. With a <paramref name="key"/> the ledger can
    /// append and sign tree heads; without one it is read-only. Opening checks that the Merkle nodes agree with the
    /// entries and rebuilds them from the entries when they do not (<see cref="RepairedOnOpen"/>).
    /// </summary>
    public static SqliteLedger Open(string path, NodeKey? key, LedgerOptions? options = null)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var writerLock = key is null ? null : LedgerWriterLock.Acquire(System.IO.Path.GetFullPath(path));
        try
        {
            return new SqliteLedger(path, key, options ?? new LedgerOptions()) { _writerLock = writerLock };
        }
        catch
        {
            writerLock?.Dispose();
            throw;
        }
    }

    /// <summary>Appends and signs tree heads.</summary>
    public LedgerWriter Writer { get; }

    /// <summary>Reads entries, roots and proofs.</summary>
    public LedgerProofReader Proofs { get; }

    /// <summary>Verifies the whole log.</summary>
    public LedgerAuditor Auditor { get; }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The node key's id, or null when opened read-only.</summary>
    public NodeId? NodeId => _key?.Id;

    /// <summary>The number of committed (durable) entries. A read-only ledger (opened without a key) reports the size
    /// it saw when opened: another process may have appended since; open it again to see them.</summary>
    public long Size => _head.Size;

    /// <summary>True when opening found Merkle nodes inconsistent with the entries and rebuilt them.</summary>
    public bool RepairedOnOpen => Auditor.RepairedOnOpen;

    /// <inheritdoc cref="LedgerWriter.LatestSignedTreeHead"/>
    public SignedTreeHead? LatestSignedTreeHead => _head.Latest;

    /// <inheritdoc cref="LedgerWriter.AppendAsync"/>
    public Task<LedgerReceipt> AppendAsync(string type, JsonValue payload, CancellationToken cancellationToken = default) =>
        Writer.AppendAsync(type, payload, cancellationToken);

    /// <inheritdoc cref="LedgerWriter.AppendBatchAsync"/>
    public Task<IReadOnlyList<LedgerReceipt>> AppendBatchAsync(IReadOnlyList<(string Type, JsonValue Payload)> entries, CancellationToken cancellationToken = default) =>
        Writer.AppendBatchAsync(entries, cancellationToken);

    /// <inheritdoc cref="LedgerWriter.SignTreeHeadAsync"/>
    public Task<SignedTreeHead> SignTreeHeadAsync(CancellationToken cancellationToken = default) => Writer.SignTreeHeadAsync(cancellationToken);

    /// <summary>Signs and stores a tree head for the committed size and root (blocks until stored; see <see cref="SignTreeHeadAsync"/>).</summary>
    public SignedTreeHead SignTreeHead() => Writer.SignTreeHeadAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="LedgerProofReader.GetEntry"/>
    public LedgerEntry GetEntry(long index) => Proofs.GetEntry(index);

    /// <inheritdoc cref="LedgerProofReader.Root"/>
    public byte[] Root(long? size = null) => Proofs.Root(size);

    /// <inheritdoc cref="LedgerProofReader.Prove"/>
    public InclusionProof Prove(long index, long? treeSize = null) => Proofs.Prove(index, treeSize);

    /// <inheritdoc cref="LedgerProofReader.LeafHash"/>
    public byte[] LeafHash(long index) => Proofs.LeafHash(index);

    /// <inheritdoc cref="LedgerProofReader.Consistency"/>
    public ConsistencyProof Consistency(long size1, long size2) => Proofs.Consistency(size1, size2);

    /// <inheritdoc cref="LedgerProofReader.LatestSth"/>
    public SignedTreeHead? LatestSth() => Proofs.LatestSth();

    /// <inheritdoc cref="LedgerAuditor.VerifyAll"/>
    public LedgerVerification VerifyAll(NodeId? expectedSigner = null, IProgress<long>? progress = null) => Auditor.VerifyAll(expectedSigner, progress);

    /// <summary>Stops accepting appends, waits for pending ones to commit, and closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Writer.DisposeAsync().ConfigureAwait(false);
        _writeConnection.Dispose();
        _writerLock?.Dispose();
        Proofs.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => Task.Run(() => DisposeAsync().AsTask()).GetAwaiter().GetResult();
}
