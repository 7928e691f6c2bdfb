using Federation.Canaries.Storage;
using Federation.Registry.Json;

namespace Federation.Canaries.Tests;

public sealed class StoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly string _dir = Directory.CreateTempSubdirectory("fed-canary-store-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public void Store_adds_lists_commits_reveals_retires_and_survives_reopening()
    {
        var store = CanaryStore.ForDataDir(_dir);
        var pub = store.Add(TestCanaries.Exact(), T0).Record;
        var (sec, added) = store.Add(TestCanaries.Exact(expected: "5", v: CanaryVisibility.Secret), T0);
        Assert.True(added);
        Assert.False(store.Add(TestCanaries.Exact(), T0).Added);
        Assert.Equal(pub.Canary.Cid.ToString(), pub.Handle);
        Assert.NotNull(sec.Commitment);
        Assert.Equal(sec.Commitment, sec.Handle);

        var reopened = CanaryStore.ForDataDir(_dir);
        Assert.Equal(2, reopened.List("math").Count);
        Assert.Empty(reopened.List("other"));
        Assert.Equal(sec.Commitment, reopened.Commit(sec.Canary.Cid.ToString()[..10]));
        Assert.Throws<CanaryStoreException>(() => reopened.Commit(pub.Canary.Cid.ToString()));

        var reveal = reopened.Reveal(sec.Commitment!);
        Assert.True(CanaryCommitment.TryVerifyReveal(reveal, sec.Commitment, out var back, out var err), err);
        Assert.Equal(sec.Canary.Cid, back.Cid);
        Assert.True(reopened.Get(sec.Canary.Cid.ToString()).Revealed);

        reopened.RecordUse(pub.Handle, 1, scoredReveal: true);
        reopened.RecordUse(pub.Handle, 0.5, scoredReveal: false);
        var used = reopened.Get(pub.Handle);
        Assert.Equal(new Lifecycle.CanaryUsage(1, 2, 1.5, false), used.Usage);

        reopened.Retire(pub.Handle, "leaked");
        Assert.Equal("retired", reopened.Get(pub.Handle).State);
        Assert.Single(reopened.Battery("math"));
        var e = Assert.Throws<CanaryStoreException>(() => reopened.Get("ffffffffffff"));
        Assert.Contains("fed canary list", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Expired_canaries_leave_the_battery()
    {
        var store = CanaryStore.ForDataDir(_dir);
        var r = store.Add(TestCanaries.Exact(lifespan: 1), T0).Record;
        Assert.Single(store.Battery("math"));
        store.RecordUse(r.Handle, 1, scoredReveal: true);
        Assert.Equal("expired", store.Get(r.Handle).State);
        Assert.Empty(store.Battery("math"));
    }

    [Fact]
    public void A_corrupted_row_is_reported_not_silently_used()
    {
        var store = CanaryStore.ForDataDir(_dir);
        var r = store.Add(TestCanaries.Exact(), T0).Record;
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.Path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE canaries SET body = $b";
            cmd.Parameters.AddWithValue("$b", CanonicalJson.Serialize(TestCanaries.Exact(expected: "999").Json));
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidDataException>(() => store.Get(r.Handle));
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
    }
}
