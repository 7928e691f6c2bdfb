using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Federation.Router;

/// <summary>A specialist's reputation in one topic, as routing uses it (seed §9.9: weight w, shrunk competence Ĉ).</summary>
/// <param name="Weight">The §9.9 vote weight w (0 without evidence).</param>
/// <param name="CompetenceHat">Ĉ, the trust score.</param>
/// <param name="Newcomer">Evidence mass below the topic's <c>newcomer_mass</c>: may take an exploration seat regardless of Ĉ.</param>
public sealed record SpecialistStanding(double Weight, double CompetenceHat, bool Newcomer);

/// <summary>
/// Reputation of a topic's specialists for routing: standing per specialist id (absent: no evidence), the competence
/// floor a panel member must reach, and the share of panel seats reserved for newcomers (the exploration budget).
/// </summary>
public sealed record TopicStanding(IReadOnlyDictionary<string, SpecialistStanding> BySpecialist, double CompetenceFloor, double ExplorationShare)
{
    /// <summary>True when any specialist has a positive weight (otherwise routing ignores reputation).</summary>
    public bool HasEvidence => BySpecialist.Values.Any(s => s.Weight > 0);

    /// <summary>The standing of <paramref name="id"/>, or a newcomer's (weight 0, Ĉ unknown = 0).</summary>
    public SpecialistStanding Of(string id) => BySpecialist.TryGetValue(id, out var s) ? s : new SpecialistStanding(0, 0, true);
}

/// <summary>
/// Reputation in routing (seed §9.5 "routing priority", §10.3 panels). Pure and deterministic: draws are SHA-256 hashes
/// of (policy CID, query hash, purpose), like the exploration draw.
/// </summary>
public static class ReputationRouting
{
    /// <summary>
    /// Routing priority: among <paramref name="eligible"/> specialists with positive weight and Ĉ at or above the floor,
    /// one is drawn with probability proportional to its weight (deterministic from policy CID and query hash), so higher
    /// reputation gets more work. Null when none qualifies (then the champion serves as before).
    /// </summary>
    public static SpecialistRef? PriorityPick(IReadOnlyList<SpecialistRef> eligible, TopicStanding standing, string policyCid, string queryHash)
    {
        ArgumentNullException.ThrowIfNull(eligible);
        ArgumentNullException.ThrowIfNull(standing);
        var ranked = eligible.Where(s => standing.Of(s.Id) is { Weight: > 0 } st && st.CompetenceHat >= standing.CompetenceFloor)
            .OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        if (ranked.Count == 0) return null;
        double total = 0;
        foreach (var s in ranked) total += standing.Of(s.Id).Weight;
        double u = Draw(policyCid, queryHash, "priority") * total;
        double acc = 0;
        foreach (var s in ranked)
        {
            acc += standing.Of(s.Id).Weight;
            if (u < acc) return s;
        }
        return ranked[^1];
    }

    /// <summary>
    /// A class-C / T2 panel (§10.3): top-k by reputation weight under the diversity constraint, with a competence floor.
    /// Seats are filled one at a time; each takes the candidate that brings a new base lineage if any remaining one does
    /// (the constraint), then the highest weight, then a new jurisdiction, then the smaller id. Candidates below the floor
    /// (Ĉ &lt; floor) are not seated — except newcomers on the exploration seat: when the draw (policy CID, query hash,
    /// "panel-exploration") falls below the exploration share, one newcomer (the first by the same rule) takes a seat
    /// first. If the floor leaves too few, the rest are filled from below the floor by the same rule and reported.
    /// </summary>
    /// <returns>The panel, whether an exploration seat was used, and how many were seated below the floor.</returns>
    public static (IReadOnlyList<SpecialistRef> Panel, SpecialistRef? Explorer, int BelowFloor) SelectPanel(
        IReadOnlyList<SpecialistRef> eligible, int size, TopicStanding standing, string policyCid, string queryHash)
    {
        ArgumentNullException.ThrowIfNull(eligible);
        ArgumentNullException.ThrowIfNull(standing);
        var panel = new List<SpecialistRef>();
        SpecialistRef? explorer = null;
        var newcomers = eligible.Where(s => standing.Of(s.Id).Newcomer).ToList();
        if (newcomers.Count > 0 && size > 1 && standing.ExplorationShare > 0 && Draw(policyCid, queryHash, "panel-exploration") < standing.ExplorationShare)
        {
            explorer = Best(newcomers, panel, standing);
            panel.Add(explorer);
        }
        var qualified = eligible.Where(s => !panel.Contains(s) && standing.Of(s.Id).CompetenceHat >= standing.CompetenceFloor).ToList();
        while (panel.Count < size && qualified.Count > 0)
        {
            var b = Best(qualified, panel, standing);
            panel.Add(b);
            qualified.Remove(b);
        }
        int below = 0;
        var rest = eligible.Where(s => !panel.Contains(s)).ToList();
        while (panel.Count < size && rest.Count > 0)
        {
            var b = Best(rest, panel, standing);
            panel.Add(b);
            rest.Remove(b);
            below++;
        }
        return (panel, explorer, below);
    }

    private static SpecialistRef Best(IReadOnlyList<SpecialistRef> candidates, IReadOnlyList<SpecialistRef> panel, TopicStanding standing)
    {
        bool NewLineage(SpecialistRef c) => !panel.Any(p => string.Equals(p.BaseLineage, c.BaseLineage, StringComparison.OrdinalIgnoreCase));
        bool NewJurisdiction(SpecialistRef c) => !panel.Any(p => string.Equals(p.Jurisdiction, c.Jurisdiction, StringComparison.OrdinalIgnoreCase));
        return candidates
            .OrderByDescending(NewLineage)
            .ThenByDescending(c => standing.Of(c.Id).Weight)
            .ThenByDescending(NewJurisdiction)
            .ThenBy(c => c.Id, StringComparer.Ordinal)
            .First();
    }

    /// <summary>A uniform draw in [0, 1): BE64 of SHA-256(policyCid ‖ ":" ‖ queryHash ‖ ":" ‖ purpose) / 2⁶⁴.</summary>
    public static double Draw(string policyCid, string queryHash, string purpose)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes(policyCid + ":" + queryHash + ":" + purpose));
        return (BinaryPrimitives.ReadUInt64BigEndian(h) >> 11) * (1.0 / (1UL << 53));
    }

    internal static string Fmt(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);
}
