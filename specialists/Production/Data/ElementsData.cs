using System.Globalization;
using System.Reflection;

namespace Federation.Specialists.Production.Data;

/// <summary>One chemical element of the shipped table (<c>elements.csv</c>, IUPAC; see its header for source and licence).</summary>
public sealed record Element(int Number, string Symbol, string Name);

/// <summary>
/// The <c>elements</c> topic (issue 9: T1/B): symbol, name and atomic number of all 118 elements. Four question forms
/// are trained; the held-out set asks every element in two further phrasings the training never saw (the facts cannot
/// be held out: a specialist must know all 118).
/// </summary>
public static class ElementsData
{
    private static readonly Lazy<IReadOnlyList<Element>> _table = new(LoadTable);

    /// <summary>All 118 elements, by atomic number.</summary>
    public static IReadOnlyList<Element> Table => _table.Value;

    /// <summary>Trained forms: (question format, which field answers). {0} = name (lower case), {1} = symbol, {2} = number.</summary>
    public static readonly IReadOnlyList<(string Form, string Answer)> TrainForms =
    [
        ("What is the symbol of {0}?", "symbol"),
        ("Which element has atomic number {2}?", "name"),
        ("What is the atomic number of {0}?", "number"),
        ("Which element has the symbol {1}?", "name"),
    ];

    /// <summary>Held-out phrasings (never trained).</summary>
    public static readonly IReadOnlyList<(string Form, string Answer)> HeldOutForms =
    [
        ("What is the chemical symbol for {0}?", "symbol"),
        ("Name the element with atomic number {2}.", "name"),
    ];

    /// <summary>
    /// More trained phrasings of the same four questions (option <c>paraphrases</c>): with several wordings per
    /// question the model learns the key words (symbol, atomic number, name) instead of one sentence, which is what
    /// the two held-out phrasings test. None of them is a held-out phrasing.
    /// </summary>
    public static readonly IReadOnlyList<(string Form, string Answer)> ParaphraseForms =
    [
        ("What is the chemical symbol of {0}?", "symbol"),
        ("Give the symbol for {0}.", "symbol"),
        ("Symbol for {0}?", "symbol"),
        ("Which element is number {2}?", "name"),
        ("Name the element number {2}.", "name"),
        ("What element has the atomic number {2}?", "name"),
        ("Give the atomic number of {0}.", "number"),
        ("Atomic number for {0}?", "number"),
        ("Name the element with the symbol {1}.", "name"),
        ("What element has the symbol {1}?", "name"),
    ];

    /// <summary>Every element in every trained form (train) and every held-out form (held out), in table order.</summary>
    /// <param name="paraphrases">Also train every element in every <see cref="ParaphraseForms"/> phrasing (default off).</param>
    public static Dataset Generate(string name = "elements", int? firstElements = null, bool paraphrases = false)
    {
        var list = new List<TopicExample>();
        foreach (var e in Table.Take(firstElements ?? Table.Count))
        {
            foreach (var (f, a) in TrainForms) list.Add(Example(e, f, a, DatasetSplit.Train));
            if (paraphrases)
                foreach (var (f, a) in ParaphraseForms) list.Add(Example(e, f, a, DatasetSplit.Train));
            foreach (var (f, a) in HeldOutForms) list.Add(Example(e, f, a, DatasetSplit.HeldOut));
        }
        return new Dataset(name, "elements", list);
    }

    private static TopicExample Example(Element e, string form, string answer, DatasetSplit split) =>
        new("elements", string.Format(CultureInfo.InvariantCulture, form, e.Name.ToLowerInvariant(), e.Symbol, e.Number),
            answer switch
            {
                "symbol" => e.Symbol,
                "name" => e.Name,
                _ => e.Number.ToString(CultureInfo.InvariantCulture),
            }, split);

    private static List<Element> LoadTable()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Federation.Specialists.Production.Data.elements.csv")
            ?? throw new InvalidOperationException("the element table (embedded elements.csv) is missing from the assembly; rebuild specialists/.");
        using var r = new StreamReader(s);
        var list = new List<Element>();
        string? line;
        while ((line = r.ReadLine()) is not null)
        {
            if (line.Length == 0 || line[0] == '#' || line.StartsWith("number,", StringComparison.Ordinal)) continue;
            var p = line.Split(',');
            list.Add(new Element(int.Parse(p[0], CultureInfo.InvariantCulture), p[1], p[2]));
        }
        return list;
    }
}
