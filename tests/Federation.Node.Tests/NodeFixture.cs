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
    public string DataDir { get; } = TempDir("fed-node-tests");
    public WebApplication App { get; private set; } = null!;
    public Uri BaseUrl { get; private set; } = null!;
    public string ClientKey { get; private set; } = "";
    public string ReviewerKey { get; private set; } = "";
    public HttpClient Http { get; private set; } = null!;
    public NodeRuntime Runtime => App.Services.GetRequiredService<RuntimeHolder>().Runtime!;

    /// <summary>Waits until the node's background self-audit re-checks (issue 11) have landed, so the ledger size is settled.</summary>
    public Task SettledAsync() => App.Services.GetRequiredService<Federation.Node.Auditing.SelfAuditQueue>().WaitIdleAsync(TimeSpan.FromMinutes(1));

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
        await holder.Started.WaitAsync(TimeSpan.FromMinutes(2));
        if (expectReady && holder.Runtime is null) throw new InvalidOperationException("node did not start: " + holder.StartError);
        return (app, url);
    }

    /// <summary>A fresh directory name under the temp dir (not created); tests delete it with <see cref="DeleteDir"/>.</summary>
    public static string TempDir(string prefix) => Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Deletes a test's data dir (SQLite may still hold a file for a moment after the node stops: retried once).</summary>
    public static void DeleteDir(string dir)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                return;
            }
            catch (IOException) when (attempt == 0)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            }
        }
    }

    /// <summary>Stops a node started by a test and deletes its data dir.</summary>
    public static async Task StopAsync(WebApplication app, string dir)
    {
        await app.StopAsync();
        await app.DisposeAsync();
        DeleteDir(dir);
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
        DeleteDir(DataDir);
    }
}

[CollectionDefinition("node")]
public sealed class NodeCollection : ICollectionFixture<NodeFixture>;
