using System.Collections.Immutable;

namespace Federation.Node.Diip;

/// <summary>A champion put in place by an activated DIIP proposal: the specialist slot now served by another adapter.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Specialist">The policy specialist id the router names for the topic (its champion slot).</param>
/// <param name="Adapter">The engine adapter id now served for it (the candidate).</param>
/// <param name="AdapterCid">The candidate weights' CID (what answer records name).</param>
/// <param name="Proposal">The DIIP proposal id.</param>
public sealed record ServedChampion(string Topic, string Specialist, string Adapter, string AdapterCid, string Proposal);

/// <summary>
/// The router's champion per topic after DIIP activations (seed §10.5): the policy's champion slot is served by the
/// activated candidate's adapter. A switch is one atomic swap of an immutable map, so every request sees the old or the new
/// champion, never a mix; the incumbent stays registered on its engine (warm), so switching back is the same swap.
/// </summary>
public sealed class ChampionSwitch
{
    private ImmutableDictionary<string, ServedChampion> _bySpecialist = ImmutableDictionary.Create<string, ServedChampion>(StringComparer.Ordinal);

    /// <summary>The engine adapter id to serve for <paramref name="specialistId"/> (itself unless a DIIP champion replaced it).</summary>
    public string AdapterFor(string specialistId) => Volatile.Read(ref _bySpecialist).TryGetValue(specialistId, out var c) ? c.Adapter : specialistId;

    /// <summary>The activated champion serving <paramref name="specialistId"/>, or null.</summary>
    public ServedChampion? For(string specialistId) => Volatile.Read(ref _bySpecialist).TryGetValue(specialistId, out var c) ? c : null;

    /// <summary>Every activated champion.</summary>
    public IReadOnlyCollection<ServedChampion> All => Volatile.Read(ref _bySpecialist).Values.ToList();

    /// <summary>Serves <paramref name="champion"/> from now on (atomic).</summary>
    public void Activate(ServedChampion champion) => ImmutableInterlocked.Update(ref _bySpecialist, m => m.SetItem(champion.Specialist, champion));

    /// <summary>Switches the slot of <paramref name="proposal"/> back to the warm incumbent (atomic); false when it was not serving.</summary>
    public bool Revert(string proposal)
    {
        var reverted = false;
        ImmutableInterlocked.Update(ref _bySpecialist, m =>
        {
            var hit = m.Values.FirstOrDefault(c => c.Proposal == proposal);
            reverted = hit is not null;
            return hit is null ? m : m.Remove(hit.Specialist);
        });
        return reverted;
    }
}
