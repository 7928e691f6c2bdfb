using Federation.Registry;
using Federation.Registry.Catalog;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using Federation.Router;
using Federation.Specialists.Production.Demo;
using Federation.Specialists.Production.Provenance;

namespace Federation.Node.Hosting;

/// <summary>
/// The demo federation in a running node (issue 9): build it on first start (or reuse the cache under
/// <c>&lt;data-dir&gt;/demo/&lt;recipe CID&gt;</c>), check every specialist's signed manifest against the file and against
/// the policy's lineage and jurisdiction, and ledger the catalog records and genesis champions once.
/// </summary>
public static class DemoWiring
{
    /// <summary>The policy a demo node uses when none is given.</summary>
    public const string PolicyRelativePath = "policies/demo/routing.yaml";

    /// <summary>The shipped recipe of a profile, found like the default policy (above the current dir, then next to the program).</summary>
    public static string FindRecipe(string profile)
    {
        if (profile is not ("full" or "test"))
            throw new ArgumentException($"demo profile must be 'full' or 'test' (or 'none' for fed serve); got '{profile}'.");
        var rel = Path.Combine("policies", "demo", $"recipe-{profile}.json");
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, rel))) return Path.Combine(dir.FullName, rel);
        throw new FileNotFoundException($"no {rel} found above '{Environment.CurrentDirectory}' or '{AppContext.BaseDirectory}'; run from the repository or pass --recipe FILE.");
    }

    /// <summary>Where shipped weights of a profile live in the repository (<see cref="DemoShipping"/>).</summary>
    public static string ShippedRelativePath(string profile) => Path.Combine("demo", "shipped", profile);

    /// <summary>Environment variable naming a shipped build directory (instead of the repository's <c>demo/shipped/&lt;profile&gt;</c>).</summary>
    public const string ShippedEnvironmentVariable = "FEDERATION_DEMO_SHIPPED";

    /// <summary>
    /// The shipped build to install from: the explicit directory, else <c>$FEDERATION_DEMO_SHIPPED</c>, else the
    /// repository's <c>demo/shipped/&lt;profile&gt;</c> found like <see cref="FindRecipe"/>; null when none holds a
    /// shipped build (then the first start trains from the recipe).
    /// </summary>
    public static string? FindShipped(string profile, string? explicitDir)
    {
        if (explicitDir is not null)
            return DemoShipping.IsShipped(explicitDir) ? explicitDir
                : throw new FileNotFoundException($"'{explicitDir}' holds no shipped demo build ({DemoShipping.IndexFile} and {DemoShipping.ProducerFile} are missing); write one with 'fed demo ship'.");
        if (Environment.GetEnvironmentVariable(ShippedEnvironmentVariable) is { Length: > 0 } env) return FindShipped(profile, env);
        var rel = ShippedRelativePath(profile);
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (DemoShipping.IsShipped(Path.Combine(dir.FullName, rel))) return Path.Combine(dir.FullName, rel);
        return null;
    }

    /// <summary>The demo policy: the explicit one, else <see cref="PolicyRelativePath"/> found like <see cref="FindRecipe"/>.</summary>
    public static string FindPolicy(string? explicitPath)
    {
        if (explicitPath is not null) return explicitPath;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, PolicyRelativePath))) return Path.Combine(dir.FullName, PolicyRelativePath);
        throw new FileNotFoundException($"no {PolicyRelativePath} found; pass --policy FILE.");
    }

    /// <summary>
    /// The demo adapter a policy specialist names (by catalog name or adapter CID), after its manifest is verified and
    /// its signed lineage and jurisdiction match the policy's; throws with the reason otherwise (the node does not start).
    /// </summary>
    public static DemoAdapter Resolve(DemoFederation demo, SpecialistRef s, IReadOnlyCollection<NodeId> producers)
    {
        var a = demo.Adapters.FirstOrDefault(x => x.Name == s.Adapter || x.Cid.ToString() == s.Adapter)
            ?? throw new InvalidOperationException($"specialist '{s.Id}' names adapter '{s.Adapter}', which is not in the demo catalog ({string.Join(", ", demo.Adapters.Select(x => x.Name))}); name a catalog adapter or its CID, or start with --demo none to serve the data dir's own models.");
        var m = ManifestVerifier.Require(a.Path, a.Cid, producers);
        if (m.Lineage.Lineage != s.BaseLineage || m.Operator.Jurisdiction != s.Jurisdiction)
            throw new InvalidOperationException($"specialist '{s.Id}': the policy says base_lineage '{s.BaseLineage}', jurisdiction '{s.Jurisdiction}', but the signed manifest of '{a.Name}' says '{m.Lineage.Lineage}', '{m.Operator.Jurisdiction}'; the tier rules check signed provenance, so fix the policy.");
        return a;
    }

    /// <summary>Appends the catalog records (base, adapter) and genesis champions not yet in the ledger; returns how many entries were added.</summary>
    public static async Task<int> LedgerAsync(SqliteLedger ledger, NodeKey key, DemoFederation demo, RoutingPolicy policy, IReadOnlyDictionary<string, SpecialistBindingInfo> bound)
    {
        var have = CatalogIndex.Read(ledger).Select(e => (e.Record.Kind, e.Record.FileCid)).ToHashSet();
        var genesis = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < ledger.Size; i++)
        {
            var e = ledger.GetEntry(i);
            if (e.Envelope.Type == CatalogIndex.GenesisType && e.Envelope.Payload is JsonObject o && o.TryGetValue("topic", out var t) && o.TryGetValue("adapter_cid", out var c))
                genesis.Add(t.AsString() + "/" + c.AsString());
        }
        var entries = new List<(string, JsonValue)>();
        foreach (var b in demo.Bases.Where(b => !have.Contains((CatalogKind.Base, b.Cid))))
            entries.Add((CatalogRecord.BaseType, new CatalogRecord(CatalogKind.Base, b.Name, b.Cid, null, null, demo.RecipeCid, b.ManifestId, null).Sign(key).ToJson()));
        foreach (var a in demo.Adapters.Where(a => !have.Contains((CatalogKind.Adapter, a.Cid))))
            entries.Add((CatalogRecord.AdapterType, new CatalogRecord(CatalogKind.Adapter, a.Name, a.Cid, a.BaseCid, a.Topic, demo.RecipeCid, a.ManifestId, a.Acceptance).Sign(key).ToJson()));
        foreach (var topic in policy.Topics)
        {
            var champ = topic.Champion;
            if (string.IsNullOrEmpty(champ) || !bound.TryGetValue(champ, out var info)) continue;
            if (!genesis.Add(topic.Id + "/" + info.AdapterCid)) continue;
            // Seed: the demo's first champions are genesis entries; later changes of champion go through DIIP.
            entries.Add((CatalogIndex.GenesisType, new JsonObject
            {
                ["topic"] = topic.Id,
                ["specialist"] = champ,
                ["adapter"] = info.AdapterName,
                ["adapter_cid"] = info.AdapterCid,
                ["base_cid"] = info.BaseCid,
                ["recipe"] = demo.RecipeCid.ToString(),
                ["admitted"] = info.Admitted,
            }));
        }
        if (entries.Count > 0) await ledger.AppendBatchAsync(entries);
        return entries.Count;
    }
}

/// <summary>What the ledgering step needs to know of a bound specialist.</summary>
public sealed record SpecialistBindingInfo(string AdapterName, string AdapterCid, string BaseCid, bool Admitted);
