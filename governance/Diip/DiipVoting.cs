namespace Federation.Governance.Diip;

/// <summary>One signed ballot: the voter (node id) and approve or not.</summary>
public sealed record DiipBallot(string Voter, bool Approve);

/// <summary>One voter's weight in the tally, with what was done to it.</summary>
/// <param name="Voter">Node id.</param>
/// <param name="Competence">R without the stake factor (input).</param>
/// <param name="Weight">Clipped share, after the proposer reduction.</param>
/// <param name="IsProposer">True for the proposer, whose weight was multiplied by the proposer factor (disclosed).</param>
/// <param name="Voted">null: did not vote; true/false: the ballot.</param>
public sealed record DiipVoterWeight(string Voter, double Competence, double Weight, bool IsProposer, bool? Voted);

/// <summary>The tally of a vote (seed §10.4).</summary>
/// <param name="WMaxUsed">The clip actually applied: max(w_max, 1/n) — with n voters no cap below 1/n can hold.</param>
/// <param name="Ignored">Ballots from nodes outside the electorate (no competence in the topic): counted with weight 0.</param>
public sealed record DiipTally(IReadOnlyList<DiipVoterWeight> Voters, IReadOnlyList<string> Ignored, double WMaxUsed, double ProposerFactor,
    double TotalWeight, double Participating, double Yes, double Quorum, double Threshold)
{
    /// <summary>Participating share of the electorate's weight.</summary>
    public double Turnout => TotalWeight > 0 ? Participating / TotalWeight : 0;

    /// <summary>Approving share of the participating weight.</summary>
    public double Approval => Participating > 0 ? Yes / Participating : 0;

    /// <summary>Quorum met.</summary>
    public bool QuorumMet => TotalWeight > 0 && Turnout >= Quorum;

    /// <summary>Quorum met and approval ≥ threshold.</summary>
    public bool Passed => QuorumMet && Approval >= Threshold;
}

/// <summary>
/// Competence-weighted votes (seed §10.4): weight = earned competence in the proposal's topic — reputation's R
/// (docs/reputation.md) <b>without</b> the stake factor ("not stake or compute") — clipped so no voter exceeds w_max, the
/// proposer's weight reduced and disclosed, then quorum and threshold.
/// </summary>
public static class DiipVoting
{
    /// <summary>R without stake: Ĉ·N^γ·S (the stake factor g is taken as 1), per node at τ, ordered by name.</summary>
    public static IReadOnlyDictionary<string, double> CompetenceWithoutStake(IEnumerable<NodeEvidence> nodes, double tau, ReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(knobs);
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var (n, c) = ReputationMath.Evidence(node.Audits, tau, knobs.HalfLife);
            var cHat = ReputationMath.Shrunk(n, c, knobs.Kappa, knobs.C0);
            result[node.Name] = ReputationMath.Raw(cHat, n, knobs.Gamma, node.S, 1.0);
        }
        return result;
    }

    /// <summary>Tallies <paramref name="ballots"/> over the electorate <paramref name="competence"/> (node id → R without stake).</summary>
    /// <exception cref="ArgumentException">A competence is negative or not finite, or a voter cast two ballots.</exception>
    public static DiipTally Tally(IReadOnlyDictionary<string, double> competence, IEnumerable<DiipBallot> ballots, string proposer,
        double threshold, double quorum, DiipVotingRules rules)
    {
        ArgumentNullException.ThrowIfNull(competence);
        ArgumentNullException.ThrowIfNull(rules);
        var names = competence.Keys.Order(StringComparer.Ordinal).ToArray();
        foreach (var n in names)
            if (!(double.IsFinite(competence[n]) && competence[n] >= 0))
                throw new ArgumentException($"competence of {n}: expected a finite number >= 0, found {competence[n]}");
        var byVoter = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var b in ballots)
            if (!byVoter.TryAdd(b.Voter, b.Approve)) throw new ArgumentException($"voter {b.Voter} cast two ballots; one ballot per node");

        var positive = names.Count(n => competence[n] > 0);
        var wMax = positive == 0 ? rules.WMax : Math.Max(rules.WMax, 1.0 / positive);
        var weights = positive == 0 ? new double[names.Length] : VoteWeights.Clip(names.Select(n => competence[n]).ToArray(), wMax).Weights.ToArray();
        var voters = new List<DiipVoterWeight>(names.Length);
        double total = 0, part = 0, yes = 0;
        for (int i = 0; i < names.Length; i++)
        {
            var isProposer = names[i] == proposer;
            var w = isProposer ? weights[i] * rules.ProposerFactor : weights[i];
            bool? voted = byVoter.TryGetValue(names[i], out var a) ? a : null;
            total += w;
            if (voted is { } v) { part += w; if (v) yes += w; }
            voters.Add(new DiipVoterWeight(names[i], competence[names[i]], w, isProposer, voted));
        }
        var ignored = byVoter.Keys.Where(k => !competence.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        return new DiipTally(voters, ignored, wMax, rules.ProposerFactor, total, part, yes, quorum, threshold);
    }

    /// <summary>Predictors whose signed prediction matched the outcome ("auditors who correctly predict the outcome are rewarded").</summary>
    public static IReadOnlyList<string> Credited(IEnumerable<(string Predictor, bool Adopt)> predictions, bool adopted) =>
        predictions.Where(p => p.Adopt == adopted).Select(p => p.Predictor).Order(StringComparer.Ordinal).ToArray();
}
