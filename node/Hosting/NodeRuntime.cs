using Federation.Registry.Crypto;
using Federation.Registry.Ledger;
using Federation.Router;
using Federation.Specialists.Engine;
using Federation.Specialists.Models;
using Federation.Node.Telemetry;

namespace Federation.Node.Hosting;

/// <summary>A registered specialist: the policy's entry plus the base and adapter the engine serves it with.</summary>
public sealed record SpecialistBinding(SpecialistRef Ref, string BaseCid, string AdapterCid, string AdapterPath);

/// <summary>
/// Everything a running node holds: identity, ledger, policy, engine and specialists. Built once at start-up by
/// <see cref="Start"/>; with no configuration it builds the embedded default (a project-made tiny base with one random
/// adapter per policy specialist, under the data dir) so the whole request path runs on a fresh machine.
/// </summary>
public sealed class NodeRuntime : IAsyncDisposable
{
    private NodeRuntime(NodeKey key, SqliteLedger ledger, RoutingPolicy policy, SpecialistEngine engine,
        IReadOnlyDictionary<string, SpecialistBinding> specialists)
    {
        Key = key;
        Ledger = ledger;
        Policy = policy;
        Engine = engine;
        Specialists = specialists;
        TreeHeads = new TreeHeadCache(ledger);
    }

    /// <summary>The latest signed tree head, re-signed only when the ledger has grown.</summary>
    public TreeHeadCache TreeHeads { get; }

    public NodeKey Key { get; }
    public SqliteLedger Ledger { get; }
    public RoutingPolicy Policy { get; }
    public SpecialistEngine Engine { get; }
    public IReadOnlyDictionary<string, SpecialistBinding> Specialists { get; }

    /// <summary>The seed of the embedded default base model (fixed, so every fresh node has the same base CID).</summary>
    public const ulong DefaultBaseSeed = 20261122;

    public static NodeRuntime Start(NodeOptions options, ILogger logger)
    {
        var layout = new DataDirLayout(options.DataDir);
        Directory.CreateDirectory(layout.Root);
        var (key, created) = new NodeKeyStore(layout.Root).LoadOrCreate();
        if (created) logger.IdentityCreated(key.Id.ToString(), layout.Root);
        var policyPath = PolicyLocator.Resolve(options.PolicyPath);
        var policy = PolicyLoader.Load(policyPath);
        logger.PolicyLoaded(policyPath, policy.Topics.Count, policy.Specialists.Count, policy.Cid);

        var adapters = layout.Adapters;
        Directory.CreateDirectory(layout.Models);
        Directory.CreateDirectory(adapters);
        var basePath = layout.DefaultBaseModel;
        if (!File.Exists(basePath))
        {
            // Written to a temp name and moved, so a crash never leaves a half-written base that later loads.
            TinyModelFactory.Create("tiny", DefaultBaseSeed, basePath + ".tmp");
            File.Move(basePath + ".tmp", basePath, overwrite: true);
            logger.DefaultBaseCreated(basePath);
        }

        var ledger = SqliteLedger.Open(layout.LedgerDb, key, new LedgerOptions { Synchronous = options.LedgerSync });
        SpecialistEngine? engine = null;
        try
        {
            engine = SpecialistEngine.Open(new EngineOptions
            {
                BaseModelPath = basePath,
                Threads = options.Threads,
                Contexts = options.Contexts,
                ContextSize = Api.ContextLimits.ContextTokens,
                Logger = logger,
            });
            var bindings = new Dictionary<string, SpecialistBinding>(StringComparer.Ordinal);
            foreach (var s in policy.Specialists)
            {
                var adapterPath = Path.Combine(adapters, SafeFileName(s.Adapter) + ".gguf");
                if (!File.Exists(adapterPath))
                {
                    LoraAdapterFactory.Create(basePath, adapterPath + ".tmp", rank: 8, seed: StableSeed(s.Adapter));
                    File.Move(adapterPath + ".tmp", adapterPath, overwrite: true);
                }
                var info = engine.RegisterAdapter(s.Id, adapterPath);
                bindings[s.Id] = new SpecialistBinding(s, engine.BaseCid, info.Cid, adapterPath);
            }
            logger.EngineReady(engine.BaseCid, bindings.Count);
            return new NodeRuntime(key, ledger, policy, engine, bindings);
        }
        catch
        {
            engine?.Dispose();
            ledger.Dispose();
            throw;
        }
    }

    /// <summary>A seed derived from a name, the same on every machine (FNV-1a 64).</summary>
    public static ulong StableSeed(string name)
    {
        var h = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(name)) h = (h ^ b) * 1099511628211UL;
        return h;
    }

    private static string SafeFileName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    public async ValueTask DisposeAsync()
    {
        Engine.Dispose();
        await Ledger.DisposeAsync();
        Key.Dispose();
    }
}

/// <summary>
/// The node's latest signed tree head. <see cref="Current"/> returns the cached head while the ledger has not grown and
/// signs (and stores) a new one only when it has, so readers never cause a signature per request.
/// </summary>
public sealed class TreeHeadCache(SqliteLedger ledger)
{
    private readonly Lock _gate = new();
    private SignedTreeHead? _latest = ledger.LatestSth();

    /// <summary>A head for the current ledger size: the cached one, or a newly signed one when the ledger grew.</summary>
    public SignedTreeHead Current()
    {
        var latest = Volatile.Read(ref _latest);
        if (latest is not null && latest.TreeSize == ledger.Size) return latest;
        lock (_gate)
        {
            if (_latest is not null && _latest.TreeSize == ledger.Size) return _latest;
            var sth = ledger.SignTreeHead();
            Volatile.Write(ref _latest, sth);
            return sth;
        }
    }

    /// <summary>Signs a head when the ledger has grown since the last one and is not empty (the periodic publisher).</summary>
    public bool PublishIfGrown()
    {
        if (ledger.Size == 0) return false;
        var before = Volatile.Read(ref _latest);
        return !ReferenceEquals(before, Current());
    }
}
