namespace Federation.Registry.Ledger;

/// <summary>Thrown when another process already has the ledger open for writing.</summary>
public sealed class LedgerLockedException(string message) : IOException(message);

/// <summary>
/// One writer per ledger file: the writer keeps <c>&lt;ledger&gt;.lock</c> open with no sharing for its lifetime.
/// Why: a writer caches the tree size and Merkle frontier in memory, so a second writing process would append at a
/// stale index. The OS drops the lock when the process dies (kill -9 included), so a crash never leaves it stuck.
/// </summary>
public sealed class LedgerWriterLock : IDisposable
{
    private readonly FileStream _file;

    private LedgerWriterLock(FileStream file) => _file = file;

    public static LedgerWriterLock Acquire(string ledgerPath)
    {
        var path = ledgerPath + ".lock";
        try
        {
            var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new LedgerWriterLock(fs);
        }
        catch (IOException e)
        {
            throw new LedgerLockedException(
                $"the ledger {ledgerPath} is open for writing by another process (probably 'fed serve'); " +
                $"stop it first, or use its HTTP API ({e.Message})");
        }
    }

    public void Dispose() => _file.Dispose();
}
