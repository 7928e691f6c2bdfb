using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Production.Data;

namespace Federation.Specialists.Production.Personalization;

/// <summary>
/// A per-user adapter (seed §Personalization): applied on top of a specialist only for <see cref="User"/>'s requests,
/// only on its base, and only for requests routed to one of <see cref="Topics"/> (the topics it was consolidated for):
/// stacked on any other topic's specialist it was never gated for, and can break it.
/// </summary>
public sealed record UserAdapter(string User, string AdapterId, Cid BaseCid, IReadOnlyList<string> Topics, float Scale = 1f);

/// <summary>
/// Which adapters a request runs with: the specialist's adapter, plus the requesting user's own adapter when one is
/// bound to that user on the same base for the request's routed topic. Invariants (tested): an adapter bound to one user
/// is never selected for a request of any other user, nor for an anonymous one, nor for a topic it is not bound to (a
/// null topic — a panel — never gets one). Thread-safe.
/// </summary>
public sealed class UserAdapterRegistry
{
    private readonly Dictionary<(string User, Cid Base, string Topic), UserAdapter> _bound = new();
    private readonly Lock _gate = new();

    /// <summary>Binds <paramref name="adapter"/> to its user on its base for each of its topics (replacing an earlier binding of that user, base and topic).</summary>
    public void Bind(UserAdapter adapter)
    {
        ArgumentException.ThrowIfNullOrEmpty(adapter.User);
        ArgumentException.ThrowIfNullOrEmpty(adapter.AdapterId);
        ArgumentNullException.ThrowIfNull(adapter.Topics);
        if (adapter.Topics.Count == 0 || adapter.Topics.Any(string.IsNullOrEmpty))
            throw new ArgumentException("a user adapter is bound to at least one topic, and no topic is empty.", nameof(adapter));
        lock (_gate)
            foreach (var t in adapter.Topics) _bound[(adapter.User, adapter.BaseCid, t)] = adapter;
    }

    /// <summary>Removes the user's binding on <paramref name="baseCid"/> for <paramref name="topic"/>.</summary>
    public bool Unbind(string user, Cid baseCid, string topic)
    {
        lock (_gate) return _bound.Remove((user, baseCid, topic));
    }

    /// <summary>
    /// The adapters for a request of <paramref name="user"/> (null = anonymous) routed to <paramref name="topic"/> (null =
    /// no single topic, e.g. a panel) and served by <paramref name="specialistAdapterId"/> on <paramref name="baseCid"/>.
    /// </summary>
    public IReadOnlyList<AdapterSelection> Select(string? user, string? topic, string specialistAdapterId, Cid baseCid)
    {
        var list = new List<AdapterSelection> { new(specialistAdapterId) };
        if (user is null || topic is null) return list;
        lock (_gate)
        {
            if (_bound.TryGetValue((user, baseCid, topic), out var a) && a.User == user && a.Topics.Contains(topic))
                list.Add(new AdapterSelection(a.AdapterId, a.Scale));
        }
        return list;
    }
}

/// <summary>One dialogue turn pair a user may consent to use for consolidation.</summary>
public sealed record Dialogue(string User, string Topic, string Question, string Answer)
{
    /// <summary>CID of the dialogue's canonical JSON <c>{"answer","question","topic","user"}</c>.</summary>
    public Cid Cid => Cid.Of(new JsonObject { ["user"] = User, ["topic"] = Topic, ["question"] = Question, ["answer"] = Answer });
}

/// <summary>
/// A user's explicit consent that a dialogue may train their adapter: a signed envelope of type
/// <see cref="EnvelopeType"/> with payload <c>{"dialogue","scope":"consolidation","user"}</c>, signed by the user's
/// key (or the node's custodial key for the user) and appended to the ledger before consolidation uses it.
/// </summary>
public static class Consent
{
    public const string EnvelopeType = "consent.consolidation";

    public static SignedEnvelope Grant(string user, Cid dialogue, NodeKey signer) =>
        SignedEnvelope.Seal(EnvelopeType, new JsonObject { ["user"] = user, ["dialogue"] = dialogue.ToString(), ["scope"] = "consolidation" }, signer);
}

/// <summary>
/// Consolidation (seed §Personalization): the training examples for <paramref name="user"/>'s adapter are exactly the
/// user's dialogues that a verified consent of that user names. Anything else — another user's dialogue, a consent by
/// or for someone else, an altered consent, or no consent — is left out and counted. The examples then go through
/// <see cref="Training.ISpecialistTrainer.TrainAdapter"/> and the acceptance gate like any adapter.
/// </summary>
public static class Consolidation
{
    public static (IReadOnlyList<TopicExample> Examples, int Excluded) Collect(string user, IEnumerable<Dialogue> dialogues,
        IEnumerable<SignedEnvelope> consents, IReadOnlyCollection<NodeId> trustedSigners)
    {
        var consented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in consents)
        {
            if (c.Type != Consent.EnvelopeType || !c.Verify().IsValid || !trustedSigners.Contains(c.Signer)) continue;
            if (c.Payload is not JsonObject o || !o.TryGetValue("user", out var u) || u is not JsonString us || us.Value != user) continue;
            if (!o.TryGetValue("scope", out var s) || s is not JsonString ss || ss.Value != "consolidation") continue;
            if (o.TryGetValue("dialogue", out var d) && d is JsonString ds) consented.Add(ds.Value);
        }
        var list = new List<TopicExample>();
        var excluded = 0;
        foreach (var d in dialogues)
        {
            if (d.User == user && consented.Contains(d.Cid.ToString())) list.Add(new TopicExample(d.Topic, d.Question, d.Answer, DatasetSplit.Train));
            else excluded++;
        }
        return (list, excluded);
    }
}
