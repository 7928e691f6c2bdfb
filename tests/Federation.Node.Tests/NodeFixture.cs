using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using Federation.Node.Auth;
using Federation.Node.Hosting;
using OpenAI;

namespace Federation.Node.Tests;

/// <summary>
/// A real node (Kestrel on 127.0.0.1, a free port) on a fresh data dir with the embedded default: project-made tiny
/// base, one adapter per policy specialist, SQLite. Shared by the tests of the "node" collection.
/// </summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "fed-node-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ClientKey { get; private set; } = "";
    public string ReviewerKey { get; private set; } = "";
    public HttpClient Http { get; private set; } = null!;
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    /// <summary>How long T3 requests wait for a reviewer on this node.</summary>
    public static readonly TimeSpan ReviewWait = TimeSpan.FromSeconds(1);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        var keys = new ApiKeyStore(Path.Combine(DataDir, "node.db"));
        ClientKey = keys.Create("tests").Secret;
        ReviewerKey = keys.Create("alice", "reviewer").Secret;
        (App, BaseUrl) = await StartAsync(new NodeOptions { DataDir = DataDir, Urls = "http://127.0.0.1:0", ReviewWait = ReviewWait, MaxRequestBytes = 64 * 1024 });
        Http = new HttpClient { BaseAddress = BaseUrl };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ClientKey);
    }

    /// <summary>Starts a node and waits until /health says ready (or failed, when <paramref name="expectReady"/> is false).</summary>
    public static async Task<(WebApplication App, Uri BaseUrl)> StartAsync(NodeOptions options, bool expectReady = true)
    {
        var app = NodeHost.Build(options, logging => logging.AddFilter(_ => false));
        await app.StartAsync();
        var url = new Uri(app.Urls.First());
        var holder = app.Services.GetRequiredService<RuntimeHolder>();
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (holder.Runtime is null && holder.StartError is null && DateTime.UtcNow < deadline) await Task.Delay(50);
        if (expectReady && holder.Runtime is null) throw new InvalidOperationException("node did not start: " + holder.StartError);
        return (app, url);
    }

    /// <summary>An OpenAI SDK client pointed at the node (no retries, so error statuses surface as they are).</summary>
    public OpenAIClient OpenAi(string? key = null) => new(new ApiKeyCredential(key ?? ClientKey), new OpenAIClientOptions
    {
        Endpoint = new Uri(BaseUrl, "/v1"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

[CollectionDefinition("node")]
public sealed class NodeCollection : ICollectionFixture<NodeFixture>;
