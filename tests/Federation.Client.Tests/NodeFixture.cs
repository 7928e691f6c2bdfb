using Federation.Client;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;

namespace Federation.Client.Tests;

/// <summary>
/// A real node (Kestrel on 127.0.0.1, port 0) on a fresh data dir with the embedded default (project-made tiny base,
/// one adapter per policy specialist, SQLite ledger), started the way tests/Federation.Node.Tests does. Shared by the
/// "node" collection.
/// </summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "fed-client-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";

    /// <summary>The node's public key, read from its data dir: what a careful operator hands out for pinning.</summary>
    public string NodeKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        ApiKey = new ApiKeyStore(Path.Combine(DataDir, "node.db")).Create("client-tests").Secret;
        App = NodeHost.Build(new NodeOptions { DataDir = DataDir, Urls = "http://127.0.0.1:0" }, logging => logging.AddFilter(_ => false));
        await App.StartAsync();
        BaseUrl = new Uri(App.Urls.First());
        var holder = App.Services.GetRequiredService<RuntimeHolder>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (holder.Runtime is null && holder.StartError is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        if (holder.Runtime is null) throw new InvalidOperationException("node did not start: " + holder.StartError);
        NodeKey = File.ReadAllText(new NodeKeyStore(DataDir).NodeIdPath).Trim();
    }

    /// <summary>A client for this node; pinned to its key unless <paramref name="nodeKey"/> says otherwise ("" = unpinned).</summary>
    public FederationClient Client(string? nodeKey = null, HttpClient? http = null, ITreeHeadStore? heads = null) => new(new FederationClientOptions
    {
        Endpoint = BaseUrl,
        ApiKey = ApiKey,
        NodeKey = nodeKey is null ? NodeKey : nodeKey.Length == 0 ? null : nodeKey,
        Model = "federation/general",
        TreeHeads = heads ?? new InMemoryTreeHeadStore(),
    }, http);

    /// <summary>The node's own signing key (to craft tree heads a lying node could sign).</summary>
    public NodeKey LoadNodeSigningKey() => new NodeKeyStore(DataDir).Load();

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); }
        catch (IOException) { /* best effort */ }
    }
}

[CollectionDefinition("node")]
public sealed class NodeCollection : ICollectionFixture<NodeFixture>;
