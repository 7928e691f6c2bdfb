using Federation.Registry.Crypto;

namespace Federation.Registry.Tests;

public sealed class NodeKeyStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-keystore-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void First_call_creates_a_private_key_file_and_second_call_loads_the_same_key()
    {
        var store = new NodeKeyStore(_dir);
        var (k1, created1) = store.LoadOrCreate();
        var (k2, created2) = store.LoadOrCreate();
        Assert.True(created1);
        Assert.False(created2);
        Assert.Equal(k1.NodeId, k2.NodeId);
        Assert.Equal(k1.NodeId + "\n", File.ReadAllText(store.NodeIdPath));
        Assert.Matches("^[0-9a-f]{64}\n$", File.ReadAllText(store.KeyPath));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.KeyPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store.IdentityDir));
        }
        Assert.Empty(Directory.GetFiles(store.IdentityDir, "*.tmp-*"));
    }

    [Fact]
    public void Key_file_readable_by_others_is_refused_with_the_fix()
    {
        if (OperatingSystem.IsWindows()) return;
        var store = new NodeKeyStore(_dir);
        store.LoadOrCreate().Key.Dispose();
        File.SetUnixFileMode(store.KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var e = Assert.Throws<NodeKeyStoreException>(() => store.Load());
        Assert.Contains("mode 604", e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_id_file_that_disagrees_with_the_key_is_reported()
    {
        var store = new NodeKeyStore(_dir);
        store.LoadOrCreate().Key.Dispose();
        File.WriteAllText(store.NodeIdPath, new string('a', 64) + "\n");
        var e = Assert.Throws<NodeKeyStoreException>(() => store.Load());
        Assert.Contains("one of them was replaced", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_node_id_file_is_rewritten_from_the_key()
    {
        var store = new NodeKeyStore(_dir);
        var id = store.LoadOrCreate().Key.NodeId;
        File.Delete(store.NodeIdPath);
        Assert.Equal(id, store.Load().NodeId);
        Assert.Equal(id + "\n", File.ReadAllText(store.NodeIdPath));
    }

    [Fact]
    public void Malformed_key_file_is_reported_not_replaced()
    {
        var store = new NodeKeyStore(_dir);
        store.LoadOrCreate().Key.Dispose();
        File.WriteAllText(store.KeyPath, "not hex");
        var e = Assert.Throws<NodeKeyStoreException>(() => store.LoadOrCreate());
        Assert.Contains("malformed", e.Message, StringComparison.Ordinal);
        Assert.Equal("not hex", File.ReadAllText(store.KeyPath));
    }

    [Fact]
    public void Create_never_overwrites_an_existing_key()
    {
        var store = new NodeKeyStore(_dir);
        var id = store.Create().NodeId;
        Assert.Throws<NodeKeyStoreException>(() => store.Create());
        Assert.Equal(id, store.Load().NodeId);
    }

    [Fact]
    public void Given_seed_is_stored_and_reloaded()
    {
        var store = new NodeKeyStore(_dir);
        using var key = NodeKey.FromSeedHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        store.Create(key);
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", store.Load().NodeId.ToString());
    }

    [Fact]
    public void Concurrent_initialisation_ends_with_one_identity()
    {
        var ids = new NodeId[8];
        Parallel.For(0, ids.Length, i => ids[i] = new NodeKeyStore(_dir).LoadOrCreate().Key.NodeId);
        Assert.Single(ids.Distinct());
        Assert.Equal(ids[0], new NodeKeyStore(_dir).Load().NodeId);
    }

    [Fact]
    public void Loading_a_missing_key_says_how_to_create_one()
    {
        var e = Assert.Throws<NodeKeyStoreException>(() => new NodeKeyStore(_dir).Load());
        Assert.Contains("fed init", e.Message, StringComparison.Ordinal);
    }
}

public sealed class NodeKeyStoreFrozenFormatTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fed-keyfmt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // Frozen: a node.key written by hand in the documented format (hex seed + newline, mode 0600) loads as that identity.
    [Fact]
    public void Key_file_format_is_frozen()
    {
        var idDir = Path.Combine(_dir, "identity");
        Directory.CreateDirectory(idDir);
        var keyPath = Path.Combine(idDir, "node.key");
        File.WriteAllText(keyPath, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var key = new NodeKeyStore(_dir).Load();
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", key.NodeId.ToString());
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n", File.ReadAllText(Path.Combine(idDir, "node_id")));
    }
}
