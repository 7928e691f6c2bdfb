namespace Federation.Specialists.Production.Data;

/// <summary>
/// The demo's T2 and T3 topics (policies/routing.yaml: <c>legal</c> is T2/C, answered by a panel; <c>strategy</c> is
/// T3/C, answered only by bases whose signed manifests satisfy the T3 rule, then human review). Both are short
/// glossaries written for the project (its licence): <c>What does "X" mean in contract law?</c> →
/// one-sentence definition. A panel agrees when its members give the same definition. Held out: the second phrasing.
/// </summary>
public static class GlossaryData
{
    /// <summary>T2 topic <c>legal</c>: contract-law terms (the questions carry the topic's <c>contract</c> keyword).</summary>
    public static readonly IReadOnlyList<(string Term, string Definition)> Legal =
    [
        ("consideration", "Something of value each party gives in exchange for the other's promise."),
        ("offer", "A definite proposal that becomes binding when it is accepted."),
        ("acceptance", "Unconditional agreement to all the terms of an offer."),
        ("breach", "Failure to perform a duty the contract imposes."),
        ("indemnity", "A promise to cover the other party's loss from a stated cause."),
        ("liability cap", "A clause limiting how much one party must pay for its failures."),
        ("force majeure", "A clause excusing performance prevented by events beyond control."),
        ("warranty", "A promise that a stated fact about the subject is true."),
    ];

    /// <summary>T3 topic <c>strategy</c>: security-strategy terms (the questions carry the topic's <c>strategy</c> keyword).</summary>
    public static readonly IReadOnlyList<(string Term, string Definition)> Strategy =
    [
        ("deterrence", "Preventing an attack by making its expected cost exceed its gain."),
        ("defence in depth", "Several independent layers of protection, so one failure is not fatal."),
        ("supply chain security", "Assurance that suppliers and their parts have not been compromised."),
        ("red team", "A group that plays the adversary to find weaknesses before a real one does."),
        ("dual use", "Technology with both civilian and military applications."),
        ("resilience", "The ability to keep working through an attack and recover after it."),
    ];

    public static Dataset GenerateLegal(string name = "legal") => Generate(name, "legal", Legal,
        "What does \"{0}\" mean in contract law?", "In a contract, what is meant by \"{0}\"?");

    public static Dataset GenerateStrategy(string name = "strategy") => Generate(name, "strategy", Strategy,
        "What does \"{0}\" mean in security strategy?", "In strategy, what is meant by \"{0}\"?");

    private static Dataset Generate(string name, string topic, IReadOnlyList<(string Term, string Definition)> terms, string trainForm, string heldOutForm)
    {
        var list = new List<TopicExample>();
        foreach (var (t, d) in terms)
        {
            list.Add(new TopicExample(topic, string.Format(System.Globalization.CultureInfo.InvariantCulture, trainForm, t), d, DatasetSplit.Train));
            list.Add(new TopicExample(topic, string.Format(System.Globalization.CultureInfo.InvariantCulture, heldOutForm, t), d, DatasetSplit.HeldOut));
        }
        return new Dataset(name, topic, list);
    }
}
