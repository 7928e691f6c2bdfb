using System.Text;
using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Registry.Json;

namespace Federation.Memory.Rag;

/// <summary>What retrieval gives the router: the fragments, their proofs, the prompt block and the answer's record.</summary>
public sealed record RagContext(string GlobalRoot, IReadOnlyList<MemoryHit> Hits, IReadOnlyList<JsonObject> Proofs)
{
    /// <summary>
    /// The prompt block (docs/memory.md §RAG), empty when nothing was retrieved:
    /// <code>
    /// [memory global_root=HEX]
    /// [1] NAMESPACE CID
    /// CONTENT
    /// ...
    /// [/memory]
    /// </code>
    /// </summary>
    public string PromptBlock()
    {
        if (Hits.Count == 0) return "";
        var sb = new StringBuilder();
        sb.Append("[memory global_root=").Append(GlobalRoot).Append("]\n");
        for (int i = 0; i < Hits.Count; i++)
            sb.Append('[').Append(i + 1).Append("] ").Append(Hits[i].Namespace).Append(' ').Append(Hits[i].Cid).Append('\n')
              .Append(Hits[i].Content.ReplaceLineEndings("\n")).Append('\n');
        sb.Append("[/memory]\n");
        return sb.ToString();
    }

    /// <summary>The answer's <c>federation.memory</c>: <c>{"global_root","fragments":[{"fragment_cid","namespace","score"}],"proofs":[…]}</c>.</summary>
    public JsonObject ToFederationJson() => new()
    {
        ["global_root"] = GlobalRoot,
        ["fragments"] = new JsonArray(Hits.Select(h => (JsonValue)new JsonObject { ["fragment_cid"] = h.Cid.ToString(), ["namespace"] = h.Namespace, ["score"] = h.Score })),
        ["proofs"] = new JsonArray(Proofs.Select(p => (JsonValue)p)),
    };
}

/// <summary>
/// Retrieval for the live path (issue 10, "RAG in the live path"): search what the caller may read (their
/// <c>user:</c> namespace, the routed topic's namespace, <c>public</c>, or the namespaces the client named), and prove
/// every hit against one signed statement. The router puts <see cref="RagContext.PromptBlock"/> before the user's message
/// and records <see cref="RagContext.ToFederationJson"/> in the answer and its ledger entry.
/// </summary>
public static class MemoryRag
{
    /// <summary>The default namespaces for <paramref name="who"/> answering on <paramref name="topic"/>.</summary>
    public static IReadOnlyList<string> DefaultNamespaces(MemoryPrincipal who, string? topic)
    {
        var list = new List<string>();
        if (who.UserId is { } u && MemoryNamespace.ValidId(u)) list.Add("user:" + u);
        if (topic is not null && MemoryNamespace.ValidId(topic)) list.Add("topic:" + topic);
        list.Add("public");
        return list;
    }

    /// <summary>Retrieves up to <paramref name="k"/> fragments and their proofs. Namespaces that do not exist yet are skipped.</summary>
    public static async Task<RagContext> RetrieveAsync(MemoryService memory, MemoryPrincipal who, string query, string? topic,
        IReadOnlyCollection<string>? namespaces = null, int k = 4, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var asked = namespaces is { Count: > 0 } ? namespaces : DefaultNamespaces(who, topic);
        var existing = memory.Store.Heads().Select(h => h.Namespace).ToHashSet(StringComparer.Ordinal);
        var use = asked.Where(existing.Contains).ToList();
        var hits = use.Count == 0 ? [] : await memory.SearchAsync(who, query, use, k, cancellationToken).ConfigureAwait(false);
        var proofs = hits.Select(h => memory.Store.Prove(h.Cid)).ToList();
        var root = proofs.Count > 0 ? ((JsonString)proofs[0]["global_root"]).Value : Convert.ToHexStringLower(memory.Store.GlobalTree().Root);
        return new RagContext(root, hits, proofs);
    }
}
