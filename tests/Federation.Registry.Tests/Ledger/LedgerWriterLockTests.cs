using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Registry.Tests.Ledger;

public sealed class LedgerWriterLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-lock-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly NodeKey _key = NodeKey.FromSeed(new byte[32]);

    private string DbPath => Path.Combine(_dir, "ledger.db");

    public void Dispose()
    {
        _key.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_second_writer_is_refused_while_readers_still_open_and_the_lock_is_released_on_dispose()
    {
        await using (var writer = SqliteLedger.Open(DbPath, _key))
        {
            await writer.AppendAsync("note", new JsonObject { ["n"] = 1 });
            var e = Assert.Throws<LedgerLockedException>(() => SqliteLedger.Open(DbPath, _key));
            Assert.Contains("open for writing by another process", e.Message, StringComparison.Ordinal);
            await using var reader = SqliteLedger.Open(DbPath, key: null);
            Assert.Equal(1, reader.Size);
        }
        await using var again = SqliteLedger.Open(DbPath, _key);
        Assert.Equal(1, again.Size);
    }
}
