using Federation.Registry.Crypto;
using Federation.Registry.Ledger;
using Federation.Router;
using Federation.Specialists.Engine;
using Federation.Specialists.Models;

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
    }

    public NodeKey Key { get; }
    public SqliteLedger Ledger { get; }
    public RoutingPolicy Policy { get; }
    public SpecialistEngine Engine { get; }
    public IReadOnlyDictionary<string, SpecialistBinding> Specialists { get; }

    /// <summary>The seed of the embedded default base model (fixed, so every fresh node has the same base CID).</summary>
    public const ulong DefaultBaseSeed = 20261122;

    /// <summary>The policy file shipped next to the node binaries (policies/routing.yaml).</summary>
    public static string DefaultPolicyPath() => Path.Combine(AppContext.BaseDirectory, "policies", "routing.yaml");

    public static NodeRuntime Start(NodeOptions options, ILogger logger)
    {
        Directory.CreateDirectory(options.DataDir);
        var (key, created) = new NodeKeyStore(options.DataDir).LoadOrCreate();
        if (created) logger.LogInformation("created node identity {NodeId} in {DataDir}", key.Id, options.DataDir);
        var policyPath = options.PolicyPath ?? DefaultPolicyPath();
        var policy = PolicyLoader.Load(policyPath);
        logger.LogInformation("routing policy {Path}: {Topics} topics, {Specialists} specialists, cid {Cid}",
            policyPath, policy.Topics.Count, policy.Specialists.Count, policy.Cid);

        var models = Path.Combine(options.DataDir, "models");
        var adapters = Path.Combine(options.DataDir, "adapters");
        Directory.CreateDirectory(models);
        Directory.CreateDirectory(adapters);
        var basePath = Path.Combine(models, "base-tiny.gguf");
        if (!File.Exists(basePath))
        {
            // Written to a temp name and moved, so a crash never leaves a half-written base that later loads.
            TinyModelFactory.Create("tiny", DefaultBaseSeed, basePath + ".tmp");
            File.Move(basePath + ".tmp", basePath, overwrite: true);
            logger.LogInformation("created embedded default base model {Path}", basePath);
        }

        var ledger = SqliteLedger.Open(Path.Combine(options.DataDir, "ledger.db"), key, new LedgerOptions { Synchronous = options.LedgerSync });
        SpecialistEngine? engine = null;
        try
        {
            engine = SpecialistEngine.Open(new EngineOptions
            {
                BaseModelPath = basePath,
                Threads = options.Threads,
                Contexts = options.Contexts,
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
                bindings[s.Id] = new SpecialistBinding(s, engine.BaseCid.ToString(), info.Cid.ToString(), adapterPath);
            }
            logger.LogInformation("engine ready: base {BaseCid}, {Count} specialists", engine.BaseCid, bindings.Count);
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
