using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using static Federation.Router.Tests.TestPolicies;

namespace Federation.Router.Tests;

/// <summary>
/// Issue 8 property: generated T3 queries, wrapped in every evasion the issue names and their combinations (zero-width
/// and other default-ignorable characters inside the T3 words, look-alike letters, upper case, padding with T1 keywords,
/// the T3 text moved into a system/developer/earlier/assistant/tool/memory segment or a completions prompt, and a
/// requested model or specialist that would lower the tier), never come out below T3: the classifier says T3, and the
/// planner either refuses or decides T3. FsCheck runs from xunit with a fixed seed, so every run is the same.
/// </summary>
public class TierEvasionPropertyTests
{
    private static readonly RoutingPolicy Policy = PolicyLoader.Load(DefaultPolicyPath());

    /// <summary>Fixed seed: a failure reproduces exactly (FsCheck prints the shrunk counter-example).</summary>
    private static readonly Config Fixed = Config.QuickThrowOnFailure
        .WithMaxTest(1500)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261202UL, 1442695040888963407UL), FSharpOption<int>.None)));

    // Look-alikes written out by hand from the Unicode charts (an independent source from the generated table).
    private static readonly Dictionary<char, string[]> LookAlikes = new()
    {
        ['a'] = ["\u0430", "\u03B1"], ['c'] = ["\u0441"], ['d'] = ["\u0501"], ['e'] = ["\u0435", "\u03B5"], ['h'] = ["\u04BB"],
        ['i'] = ["\u0456", "\u03B9"], ['j'] = ["\u0458"], ['o'] = ["\u043E", "\u03BF"], ['p'] = ["\u0440", "\u03C1"],
        ['s'] = ["\u0455"], ['x'] = ["\u0445"], ['y'] = ["\u0443"], ['v'] = ["\u03BD"],
        ['A'] = ["\u0410", "\u0391"], ['B'] = ["\u0412", "\u0392"], ['C'] = ["\u0421"], ['E'] = ["\u0415", "\u0395"], ['H'] = ["\u041D", "\u0397"],
        ['I'] = ["\u0406", "\u0399"], ['J'] = ["\u0408"], ['K'] = ["\u041A", "\u039A"], ['M'] = ["\u041C", "\u039C"], ['N'] = ["\u039D"],
        ['O'] = ["\u041E", "\u039F"], ['P'] = ["\u0420", "\u03A1"], ['S'] = ["\u0405"], ['T'] = ["\u0422", "\u03A4"], ['X'] = ["\u0425", "\u03A7"],
        ['Y'] = ["\u03A5"],
    };

    private static readonly string[] Invisible = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD", "\u202E", "\u202C", "\u2066", "\u2069", "\uFE0F", "\uFE00", "\U000E0020", "\U000E0073", "\u034F", "\u180E", "\u061C"];

    private static readonly string[] T3Patterns = Policy.Topics.Where(t => t.Tier == TrustTier.T3)
        .SelectMany(t => t.Rules).Where(r => r.Kind != MatchKind.Regex).Select(r => r.Pattern).ToArray();

    private static readonly string[] T1Words = Policy.Topics.Where(t => t.Tier == TrustTier.T1)
        .SelectMany(t => t.Rules).Where(r => r.Kind != MatchKind.Regex).Select(r => r.Pattern).ToArray();

    private static readonly string[] Filler = ["please", "the", "report", "for", "our", "team", "today", "and", "review", "this", "draft", "2 + 3", "main()"];

    private static readonly string[] LoweringModels = ["federation", "federation/general", "federation/code", "federation/math", "federation/medical", "federation/legal", "general-qwen", "code-qwen", "math-deepseek"];

    /// <summary>One generated attack: where the T3 text goes, how it is disguised, what the client asks for.</summary>
    public sealed record Attack(string T3Pattern, int Disguise, int Seed, int Padding, int Placement, string Model, bool NamedSpecialists)
    {
        public RouteQuery Build(out string disguised)
        {
            var rng = new Random(Seed);
            disguised = Apply(T3Pattern, Disguise, rng);
            var pad = string.Join(" ", Enumerable.Range(0, Padding).Select(_ => T1Words[rng.Next(T1Words.Length)]));
            var t3 = $"{Filler[rng.Next(Filler.Length)]} {disguised} {Filler[rng.Next(Filler.Length)]}";
            var userPadded = $"{Filler[rng.Next(Filler.Length)]} {pad}";
            QuerySegment[] segs = Placement switch
            {
                0 => [new(SegmentRole.User, $"{t3} {pad}")],
                1 => [new(SegmentRole.System, t3), new(SegmentRole.User, userPadded)],
                2 => [new(SegmentRole.Developer, t3), new(SegmentRole.User, userPadded)],
                3 => [new(SegmentRole.User, t3), new(SegmentRole.Assistant, pad), new(SegmentRole.User, userPadded)],
                4 => [new(SegmentRole.User, userPadded), new(SegmentRole.Tool, t3), new(SegmentRole.User, pad)],
                5 => [new(SegmentRole.Memory, t3), new(SegmentRole.User, userPadded)],
                6 => [new(SegmentRole.Prompt, $"{pad} {t3} {pad}")],
                _ => [new(SegmentRole.Assistant, t3), new(SegmentRole.User, userPadded)],
            };
            return new RouteQuery(segs);
        }

        // Disguise is a bit set: 1 invisible characters inside words, 2 look-alike letters, 4 upper case, 8 title case,
        // 16 fullwidth letters. All combinations are generated.
        private static string Apply(string pattern, int how, Random rng)
        {
            var s = pattern;
            if ((how & 4) != 0) s = s.ToUpperInvariant();
            else if ((how & 8) != 0) s = string.Join(" ", s.Split(' ').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < s.Length; i++)
            {
                var c = s[i];
                string piece = c.ToString();
                if ((how & 2) != 0 && LookAlikes.TryGetValue(c, out var alts) && rng.Next(2) == 0) piece = alts[rng.Next(alts.Length)];
                else if ((how & 16) != 0 && char.IsAsciiLetter(c) && rng.Next(3) == 0) piece = ((char)(c + 0xFEE0)).ToString();
                sb.Append(piece);
                if ((how & 1) != 0 && c != ' ' && i + 1 < s.Length && rng.Next(2) == 0)
                    for (int k = rng.Next(1, 3); k > 0; k--) sb.Append(Invisible[rng.Next(Invisible.Length)]);
            }
            return sb.ToString();
        }
    }

    private static readonly Gen<Attack> Attacks =
        from pattern in Gen.Elements(T3Patterns)
        from disguise in Gen.Choose(0, 31)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        from padding in Gen.Choose(0, 30)
        from placement in Gen.Choose(0, 7)
        from model in Gen.Elements(LoweringModels)
        from named in Gen.Elements(false, true)
        select new Attack(pattern, disguise, seed, padding, placement, model, named);

    [Fact]
    public void No_disguised_or_displaced_T3_query_is_classified_below_T3()
    {
        Prop.ForAll(Attacks.ToArbitrary(), a =>
        {
            var q = a.Build(out var disguised);
            var c = QueryClassifier.Classify(q, Policy);
            Assert.True(c.Tier == TrustTier.T3, $"{a} ({disguised}) classified {c.Topic.Id}/{c.Tier}");
            // The trace shows where the T3 rule matched in the original text, and that text normalises to what matched.
            var m = c.Trace.First(t => Policy.TopicsById[t.Topic].Tier == TrustTier.T3);
            Assert.Equal(m.Text, q.Segments[m.Segment].Text.Substring(m.Start, m.Length));
            Assert.Equal(m.Normalized, QueryText.Normalize(m.Text));
        }).Check(Fixed);
    }

    [Fact]
    public void No_requested_model_or_specialist_gets_a_T3_query_answered_below_T3()
    {
        int refused = 0, decided = 0;
        Prop.ForAll(Attacks.ToArbitrary(), a =>
        {
            var q = a.Build(out _);
            var request = a.NamedSpecialists
                ? new RequestedRoute(Specialists: [Policy.Specialists[Math.Abs(a.Seed) % Policy.Specialists.Count].Id])
                : new RequestedRoute(a.Model);
            var plan = RoutePlanner.Plan(q, Policy, request);
            if (plan.Decision is { } d)
            {
                decided++;
                Assert.True(d.Tier == TrustTier.T3, $"{a}: decided {d.Topic}/{d.Tier} with {string.Join(",", d.Specialists)}");
                Assert.All(d.Specialists, id => Assert.True(Policy.Tiers[TrustTier.T3].Allows(Policy.SpecialistsById[id]), $"{a}: {id}"));
            }
            else
            {
                refused++;
                Assert.Contains(plan.Rejection!.Code, new[] { "router.tier_downgrade_refused", "router.provenance_forbidden" });
                Assert.InRange(plan.Rejection.HttpStatus, 400, 499);
            }
        }).Check(Fixed);
        Assert.True(refused > 100 && decided > 100, $"refused {refused}, decided {decided}: the generator must exercise both paths");
    }

    [Fact]
    public void The_same_seed_generates_the_same_attacks()
    {
        var a = Attacks.Sample(10, new Rnd(7UL, 11UL), 20);
        var b = Attacks.Sample(10, new Rnd(7UL, 11UL), 20);
        Assert.Equal(a, b);
        Assert.True(a.Length >= 10 && a.Distinct().Count() > a.Length / 2, $"{a.Length} samples, {a.Distinct().Count()} distinct");
    }
}
