using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Memory.Search;
using Federation.Memory.Storage;
using Federation.Registry.Crypto;
using Federation.Registry.Ledger;
using Federation.Router;
using Federation.Specialists.Engine;
using Federation.Specialists.Models;
using Federation.Node.Telemetry;

namespace Federation.Node.Hosting;

/// <summary>A registered specialist: the policy's entry plus the base and adapter the engine serves it with.</summary>
public sealed record SpecialistBinding(SpecialistRef Ref, string BaseCid, string AdapterCid, string AdapterPath);

/// <summary>The demo federation a node serves (null when it serves the embedded random default).</summary>
public sealed record DemoServing(Federation.Specialists.Production.Demo.DemoFederation Federation, int LedgeredEntries);

/// <summary>
/// Everything a running node holds: identity, ledger, policy, engine and specialists. Built once at start-up by
/// <see cref="Start"/>; with no configuration it builds the embedded default (a project-made tiny base with one random
/// adapter per policy specialist, under the data dir) so the whole request path runs on a fresh machine.
/// </summary>
public sealed class NodeRuntime : IAsyncDisposable
{
    private NodeRuntime(NodeKey key, SqliteLedger ledger, RoutingPolicy policy, SpecialistEngine engine,
        IReadOnlyDictionary<string, SpecialistBinding> specialists, MemoryService memory,
        IReadOnlyDictionary<string, SpecialistEngine>? engines = null, DemoServing? demo = null)
    {
        Engines = engines ?? new Dictionary<string, SpecialistEngine>(StringComparer.Ordinal) { [engine.BaseCid.ToString()] = engine };
        Demo = demo;
        Memory = memory;
        Key = key;
        Ledger = ledger;
        Policy = policy;
        Engine = engine;
        Specialists = specialists;
        TreeHeads = new TreeHeadCache(ledger);
        Personal = Answering.PersonalAdapters.Load(Path.GetDirectoryName(ledger.Path)!, ledger, Engines); // per-user adapters (issue 9)
    }

    /// <summary>Per-user adapters: consents, consolidation, and which user's adapter a request stacks on its specialist.</summary>
    public Answering.PersonalAdapters Personal { get; }

    /// <summary>The latest signed tree head, re-signed only when the ledger has grown.</summary>
    public TreeHeadCache TreeHeads { get; }

    public NodeKey Key { get; }
    public SqliteLedger Ledger { get; }
    public RoutingPolicy Policy { get; }
    /// <summary>The first base's engine: embeddings, memory, tokenisation limits.</summary>
    public SpecialistEngine Engine { get; }

    /// <summary>One engine per hosted base, by base CID (issue 9: several bases, each with its own adapters).</summary>
    public IReadOnlyDictionary<string, SpecialistEngine> Engines { get; }

    /// <summary>The demo federation served, or null.</summary>
    public DemoServing? Demo { get; }

    /// <summary>DIIP's live state: champions switched by activated proposals, shadow soaks (docs/diip.md §Live).</summary>
    public Federation.Node.Diip.DiipLiveState DiipLive { get; } = new();

    /// <summary>The engine of the base <paramref name="specialistId"/>'s adapter belongs to.</summary>
    public SpecialistEngine EngineFor(string specialistId) =>
        Specialists.TryGetValue(specialistId, out var b) && Engines.TryGetValue(b.BaseCid, out var e) ? e : Engine;
    public IReadOnlyDictionary<string, SpecialistBinding> Specialists { get; }

    /// <summary>Plane H memory (<c>memory.db</c>, <c>policies/memory.yaml</c>, the serving base's embeddings); every new root statement is ledgered.</summary>
    public MemoryService Memory { get; }

    /// <summary>The ledger entry type of a memory root statement (the signed <c>memory.root</c> envelope).</summary>
    public const string MemoryRootEntryType = "memory.root";

    /// <summary>The seed of the embedded default base model (fixed, so every fresh node has the same base CID).</summary>
    public const ulong DefaultBaseSeed = 20261122;

    public static NodeRuntime Start(NodeOptions options, ILogger logger)
    {
        var layout = new DataDirLayout(options.DataDir);
        Directory.CreateDirectory(layout.Root);
        var (key, created) = new NodeKeyStore(layout.Root).LoadOrCreate();
        if (created) logger.IdentityCreated(key.Id.ToString(), layout.Root);
        if (options.DemoProfile is { } profile) return StartDemo(options, logger, layout, key, profile);
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
        IMemoryStore? memoryStore = null;
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
            RecordedCid.Check(basePath, engine.BaseCid.ToString());
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
                RecordedCid.Check(adapterPath, info.Cid.ToString());
                bindings[s.Id] = new SpecialistBinding(s, engine.BaseCid.ToString(), info.Cid.ToString(), adapterPath);
            }
            logger.EngineReady(engine.BaseCid.ToString(), bindings.Count);
            var memoryPolicyPath = PolicyLocator.FindMemoryPolicy(options.PolicyPath);
            var memoryPolicy = memoryPolicyPath is null ? MemoryPolicy.Default : MemoryPolicyLoader.Load(memoryPolicyPath);
            // SQLite at <data-dir>/memory.db, or PostgreSQL/Qdrant when configured (docs/memory.md §Configuration)
            memoryStore = MemoryStores.Open(layout.Root, key, new EngineEmbedder(engine), new MemoryStoreOptions
            {
                // Blocking is deliberate: the statement is in the ledger before the write that caused it returns.
                StatementSigned = st => ledger.AppendAsync(MemoryRootEntryType, st.Envelope.ToJson()).GetAwaiter().GetResult(),
            });
            var memory = new MemoryService(memoryStore, memoryPolicy, new CustodialKeyring(key));
            return new NodeRuntime(key, ledger, policy, engine, bindings, memory);
        }
        catch
        {
            memoryStore?.Dispose();
            engine?.Dispose();
            ledger.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a node that serves the demo federation: build or reuse it, one engine per base, each policy specialist
    /// bound to the catalog adapter it names after its signed manifest verified (<see cref="DemoWiring.Resolve"/>),
    /// catalog records and genesis champions ledgered once.
    /// </summary>
    private static NodeRuntime StartDemo(NodeOptions options, ILogger logger, DataDirLayout layout, NodeKey key, string profile)
    {
        var recipe = Federation.Specialists.Production.Demo.DemoRecipe.Load(DemoWiring.FindRecipe(profile));
        var policyPath = DemoWiring.FindPolicy(options.PolicyPath);
        var policy = PolicyLoader.Load(policyPath);
        logger.PolicyLoaded(policyPath, policy.Topics.Count, policy.Specialists.Count, policy.Cid);
        var builder = new Federation.Specialists.Production.Demo.DemoBuilder(recipe, key) { ShippedDir = DemoWiring.FindShipped(profile, options.DemoShippedDir) };
        var demo = builder.BuildOrLoad(layout.Root);
        var ledger = SqliteLedger.Open(layout.LedgerDb, key, new LedgerOptions { Synchronous = options.LedgerSync });
        var engines = new Dictionary<string, SpecialistEngine>(StringComparer.Ordinal);
        SqliteMemoryStore? memoryStore = null;
        try
        {
            foreach (var b in demo.Bases)
            {
                Federation.Specialists.Production.Provenance.ManifestVerifier.Require(b.Path, b.Cid, builder.TrustedProducers);
                var e = SpecialistEngine.Open(new EngineOptions
                {
                    BaseModelPath = b.Path,
                    Threads = options.Threads,
                    Contexts = options.Contexts,
                    ContextSize = Api.ContextLimits.ContextTokens,
                    Logger = logger,
                });
                engines[e.BaseCid.ToString()] = e;
            }
            var bindings = new Dictionary<string, SpecialistBinding>(StringComparer.Ordinal);
            var infos = new Dictionary<string, SpecialistBindingInfo>(StringComparer.Ordinal);
            foreach (var s in policy.Specialists)
            {
                var a = DemoWiring.Resolve(demo, s, builder.TrustedProducers);
                var info = engines[a.BaseCid.ToString()].RegisterAdapter(s.Id, a.Path);
                bindings[s.Id] = new SpecialistBinding(s, a.BaseCid.ToString(), info.Cid.ToString(), a.Path);
                infos[s.Id] = new SpecialistBindingInfo(a.Name, info.Cid.ToString(), a.BaseCid.ToString(), a.Admitted);
            }
            var added = DemoWiring.LedgerAsync(ledger, key, demo, policy, infos).GetAwaiter().GetResult();
            var primary = engines[demo.Bases[0].Cid.ToString()];
            logger.EngineReady(primary.BaseCid.ToString(), bindings.Count);
            var memoryPolicyPath = PolicyLocator.FindMemoryPolicy(null);
            var memoryPolicy = memoryPolicyPath is null ? MemoryPolicy.Default : MemoryPolicyLoader.Load(memoryPolicyPath);
            memoryStore = SqliteMemoryStore.Open(layout.MemoryDb, key, new EngineEmbedder(primary), new MemoryStoreOptions
            {
                StatementSigned = st => ledger.AppendAsync(MemoryRootEntryType, st.Envelope.ToJson()).GetAwaiter().GetResult(),
            });
            var memory = new MemoryService(memoryStore, memoryPolicy, new CustodialKeyring(key));
            return new NodeRuntime(key, ledger, policy, primary, bindings, memory, engines, new DemoServing(demo, added));
        }
        catch
        {
            memoryStore?.Dispose();
            foreach (var e in engines.Values) e.Dispose();
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
        Memory.Store.Dispose();
        foreach (var e in Engines.Values) e.Dispose();
        await Ledger.DisposeAsync();
        Key.Dispose();
    }
}

/// <summary>
/// The memory's <see cref="IEmbedder"/>: the serving base's embeddings (the same vectors as <c>/v1/embeddings</c>;
/// deterministic, so a fragment's vector does not depend on when it was stored).
/// </summary>
public sealed class EngineEmbedder(SpecialistEngine engine) : IEmbedder
{
    public int Dimensions => engine.EmbeddingSize;

    public async ValueTask<float[]> EmbedAsync(string text, CancellationToken cancellationToken = default) =>
        (await engine.EmbedAsync([text], cancellationToken))[0];
}

/// <summary>
/// The node's signed tree heads, read from the registry ledger: <see cref="SqliteLedger.LatestSignedTreeHead"/> (which
/// the ledger keeps current itself) while the ledger has not grown past it, else a new head from
/// <see cref="SqliteLedger.SignTreeHeadAsync"/> (the writer batches concurrent requests into one signature), so readers
/// never cause a signature per request and the node keeps no second copy.
/// </summary>
public sealed class TreeHeadCache(SqliteLedger ledger)
{
    /// <summary>A head for the current ledger size: the ledger's latest one, or a newly signed one when the ledger grew.</summary>
    public async Task<SignedTreeHead> CurrentAsync(CancellationToken ct = default)
    {
        var latest = ledger.LatestSignedTreeHead;
        return latest is not null && latest.TreeSize == ledger.Size ? latest : await ledger.SignTreeHeadAsync(ct);
    }

    /// <summary>Signs a head when the ledger has grown since the last one and is not empty (the periodic publisher).</summary>
    public async Task<bool> PublishIfGrownAsync(CancellationToken ct = default)
    {
        if (ledger.Size == 0 || ledger.LatestSignedTreeHead?.TreeSize == ledger.Size) return false;
        await ledger.SignTreeHeadAsync(ct);
        return true;
    }
}
