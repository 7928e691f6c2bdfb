namespace Federation.Router;

/// <summary>One panel member's answer.</summary>
public sealed record PanelAnswer(string SpecialistId, string Text);

/// <summary>Similarity of two panel answers.</summary>
public sealed record PanelPair(string A, string B, double Similarity);

/// <summary>
/// How far a class C panel agreed: pairwise similarities, their mean, the largest group of members that all agree with one
/// member at or above the threshold, and whether the mean reaches the threshold.
/// </summary>
public sealed record PanelAgreementReport(double MeanSimilarity, double Threshold, bool Agreed, IReadOnlyList<string> LargestAgreeingGroup, IReadOnlyList<PanelPair> Pairs);

/// <summary>
/// Compares panel answers (seed §9.2 class C: "compare by meaning"). Today's measure is lexical — Jaccard similarity of the
/// answers' normalised word sets — a deterministic stand-in until embedding similarity is wired in. Pure.
/// </summary>
public static class PanelAgreement
{
    /// <summary>Compares <paramref name="answers"/>; <paramref name="threshold"/> is usually <see cref="RoutingPolicy.AgreementThreshold"/>.</summary>
    public static PanelAgreementReport Compare(IReadOnlyList<PanelAnswer> answers, double threshold)
    {
        ArgumentNullException.ThrowIfNull(answers);
        var sets = answers.Select(a => new HashSet<string>(QueryText.Words(QueryText.Normalize(a.Text)), StringComparer.Ordinal)).ToArray();
        var pairs = new List<PanelPair>();
        var sim = new double[answers.Count, answers.Count];
        for (int i = 0; i < answers.Count; i++)
        {
            sim[i, i] = 1;
            for (int j = i + 1; j < answers.Count; j++)
            {
                double s = Jaccard(sets[i], sets[j]);
                sim[i, j] = sim[j, i] = s;
                pairs.Add(new PanelPair(answers[i].SpecialistId, answers[j].SpecialistId, s));
            }
        }
        double mean = pairs.Count == 0 ? 1 : pairs.Sum(p => p.Similarity) / pairs.Count;
        IReadOnlyList<string> best = [];
        for (int i = 0; i < answers.Count; i++)
        {
            var group = Enumerable.Range(0, answers.Count).Where(j => sim[i, j] >= threshold).Select(j => answers[j].SpecialistId).ToList();
            if (group.Count > best.Count) best = group;
        }
        return new PanelAgreementReport(mean, threshold, mean >= threshold, best, pairs);
    }

    /// <summary>|A ∩ B| / |A ∪ B|; two empty sets are identical (1).</summary>
    public static double Jaccard(IReadOnlySet<string> a, IReadOnlySet<string> b)
    {
        if (a.Count == 0 && b.Count == 0) return 1;
        int inter = a.Count(b.Contains);
        return (double)inter / (a.Count + b.Count - inter);
    }
}
