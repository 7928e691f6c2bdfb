using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Federation.Governance;

/// <summary>One node's row at one step of the simulation.</summary>
public sealed record SimNodeRow(string Name, int Audits, double N, double CHat, double S, double R, double Weight);

/// <summary>One step: its time, θ, the effective number of independent voters among the joined nodes, events, rows.</summary>
public sealed record SimStep(int Step, double Tau, double? Theta, double EffectiveVoters, IReadOnlyList<string> Events, IReadOnlyList<SimNodeRow> Nodes);

/// <summary>The whole run.</summary>
public sealed record SimResult(TopicReputationKnobs Knobs, IReadOnlyList<SimStep> Steps);

/// <summary>
/// <c>fed sim reputation</c>: a documented, deterministic scenario (docs/reputation.md) showing §9.9 at work on four kinds
/// of node — honest, lazy, a cartel that agrees among itself but fails class A, and a newcomer that builds a record through
/// the exploration budget. No clock and no RNG: every draw is a SplitMix64 hash of (seed, node, step, slot).
/// </summary>
/// <remarks>
/// Each step (7 days): 60 class-A audit slots are split by <see cref="ExplorationBudget.Allocate"/> (the exploration share
/// reserved for newcomers — N below newcomer_mass — the rest by last step's weight: auditors spot-check the work routing
/// sends, and routing follows weight); each audit has difficulty d ∈ [0.5, 1) and passes with the node's pass rate. Every
/// joined node also answers 2 class-C canaries; honest nodes err independently, cartel members give one shared answer.
/// Collusion trigger (§9.5): a set of nodes with pairwise ρ ≥ 0.8 over the class-C history whose class-A pass rate C is
/// below 0.5 is slashed once (S ×slash_factor, stake burned). Then the table is computed at τ.
/// </remarks>
public static class ReputationSimulation
{
    /// <summary>The knobs the documented run uses (the same values as the defaults in policies/reputation.yaml).</summary>
    public static TopicReputationKnobs DefaultKnobs { get; } = new(ReputationKnobs.Default, Slashing.DefaultFactor, 120, 0.1, 5, IndependenceKnobs.Default);

    private sealed record Actor(string Name, double PassRate, double Stake, int JoinStep, string? Cartel);

    private static readonly Actor[] Cast =
    [
        new("honest-1", 0.95, 1000, 0, null),
        new("honest-2", 0.93, 2000, 0, null),
        new("honest-3", 0.96, 500, 0, null),
        new("honest-4", 0.94, 1000, 0, null),
        new("honest-5", 0.92, 3000, 0, null),
        new("honest-6", 0.97, 1000, 0, null),
        new("lazy", 0.60, 1000, 0, null),
        new("cartel-1", 0.30, 20000, 0, "cartel"),
        new("cartel-2", 0.30, 20000, 0, "cartel"),
        new("cartel-3", 0.30, 20000, 0, "cartel"),
        new("newcomer", 0.97, 500, 4, null),
    ];

    /// <summary>Steps 0…12, 7 days apart.</summary>
    public const int Steps = 13;

    /// <summary>Days between steps.</summary>
    public const double StepDays = 7;

    private const int AuditSlots = 60;
    private const int ClassCPerStep = 2;
    private const double CollusionRho = 0.8;
    private const double CollusionPass = 0.5;
    private const ulong Seed = 0x5EED_0011;

    /// <summary>Runs the scenario with <paramref name="knobs"/> (default: <see cref="DefaultKnobs"/>).</summary>
    public static SimResult Run(TopicReputationKnobs? knobs = null)
    {
        var k = knobs ?? DefaultKnobs;
        int n = Cast.Length;
        var audits = Cast.Select(_ => new List<Audit>()).ToArray();
        var labels = Cast.Select(_ => new Dictionary<string, string>(StringComparer.Ordinal)).ToArray();
        var slashTimes = Cast.Select(_ => new List<double>()).ToArray();
        var stake = Cast.Select(a => a.Stake).ToArray();
        var slashed = new bool[n];
        var prevWeight = new double[n];
        var steps = new List<SimStep>();

        for (int s = 0; s < Steps; s++)
        {
            double tau = s * StepDays;
            var joined = Enumerable.Range(0, n).Where(i => Cast[i].JoinStep <= s).ToArray();
            var events = new List<string>();

            // Class-A audits, allocated by the exploration budget.
            var newcomer = joined.Select(i => ReputationMath.Evidence(audits[i], tau, k.Math.HalfLife).N < k.NewcomerMass).ToArray();
            var slots = ExplorationBudget.Allocate(AuditSlots, k.ExplorationShare, joined.Select(i => prevWeight[i]).ToArray(), newcomer);
            var given = new int[n];
            for (int j = 0; j < joined.Length; j++)
            {
                int i = joined[j];
                given[i] = slots[j];
                for (int a = 0; a < slots[j]; a++)
                {
                    double d = 0.5 + 0.5 * Draw((ulong)i, (ulong)s, (ulong)a, 1);
                    double o = Draw((ulong)i, (ulong)s, (ulong)a, 2) < Cast[i].PassRate ? 1 : 0;
                    audits[i].Add(new Audit(tau, d, o));
                }
            }

            // Class-C canaries: honest nodes err on their own; a cartel answers as one.
            for (int c = 0; c < ClassCPerStep; c++)
            {
                var id = $"c{s}-{c}";
                foreach (var i in joined)
                {
                    var actor = Cast[i];
                    string label = actor.Cartel is { } g
                        ? (Draw(0xCA27E1, (ulong)s, (ulong)c, 3) < 0.4 ? "ok" : $"{g}-answer")
                        : (Draw((ulong)i, (ulong)s, (ulong)c, 4) < actor.PassRate ? "ok" : $"{actor.Name}-error");
                    labels[i][id] = label;
                }
            }

            // Collusion trigger: strongly correlated on class C and failing class A.
            var rho = Independence.CorrelationMatrix(joined.Select(i => (IReadOnlyDictionary<string, string>)labels[i]).ToArray(), k.Independence);
            for (int x = 0; x < joined.Length; x++)
            {
                int i = joined[x];
                if (slashed[i] || ReputationMath.Evidence(audits[i], tau, k.Math.HalfLife).C >= CollusionPass) continue;
                var partners = Enumerable.Range(0, joined.Length)
                    .Where(y => y != x && rho[x, y] >= CollusionRho && ReputationMath.Evidence(audits[joined[y]], tau, k.Math.HalfLife).C < CollusionPass)
                    .Select(y => Cast[joined[y]].Name).ToArray();
                if (partners.Length == 0) continue;
                slashed[i] = true;
                slashTimes[i].Add(tau);
                stake[i] = 0;
                events.Add($"{Cast[i].Name} slashed for collusion with {string.Join(", ", partners)}: S ×{Fmt(k.SlashFactor)}, stake burned");
            }

            var evidence = joined.Select(i => new NodeEvidence(Cast[i].Name, Slashing.Factor(slashTimes[i], tau, k.RecoveryHalfLife, k.SlashFactor), stake[i], audits[i])).ToArray();
            var table = ReputationMath.Compute(evidence, tau, k.Math);
            var byName = table.Nodes.ToDictionary(r => r.Name, StringComparer.Ordinal);
            var rows = new List<SimNodeRow>();
            var weightsInJoinedOrder = new double[joined.Length];
            for (int j = 0; j < joined.Length; j++)
            {
                int i = joined[j];
                var r = byName[Cast[i].Name];
                prevWeight[i] = r.Weight;
                weightsInJoinedOrder[j] = r.Weight;
                rows.Add(new SimNodeRow(r.Name, given[i], r.N, r.CHat, evidence[j].S, r.R, r.Weight));
            }
            steps.Add(new SimStep(s, tau, table.Theta, Independence.EffectiveVoters(weightsInJoinedOrder, rho), events, rows));
        }
        return new SimResult(k, steps);
    }

    /// <summary>JSON: <c>{"step_days", "steps": [{"step", "tau", "theta", "n_eff", "events", "nodes": {NAME: {"audits", "N", "C_hat", "S", "R", "weight"}}}]}</c>.</summary>
    public static string ToJson(SimResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("scenario", "honest, lazy, cartel, newcomer (docs/reputation.md)");
            w.WriteNumber("step_days", StepDays);
            w.WriteStartArray("steps");
            foreach (var s in result.Steps)
            {
                w.WriteStartObject();
                w.WriteNumber("step", s.Step);
                w.WriteNumber("tau", s.Tau);
                if (s.Theta is { } t) w.WriteNumber("theta", t); else w.WriteNull("theta");
                w.WriteNumber("n_eff", s.EffectiveVoters);
                w.WriteStartArray("events");
                foreach (var e in s.Events) w.WriteStringValue(e);
                w.WriteEndArray();
                w.WriteStartObject("nodes");
                foreach (var r in s.Nodes)
                {
                    w.WriteStartObject(r.Name);
                    w.WriteNumber("audits", r.Audits);
                    w.WriteNumber("N", r.N);
                    w.WriteNumber("C_hat", r.CHat);
                    w.WriteNumber("S", r.S);
                    w.WriteNumber("R", r.R);
                    w.WriteNumber("weight", r.Weight);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A fixed-width table: one line per step and node, then θ, n_eff and events of the step.</summary>
    public static string ToText(SimResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{"step",4} {"tau",5}  {"node",-9} {"audits",6} {"N",8} {"C_hat",6} {"S",6} {"R",8} {"weight",7}\n");
        foreach (var s in result.Steps)
        {
            foreach (var r in s.Nodes)
                sb.Append(CultureInfo.InvariantCulture, $"{s.Step,4} {s.Tau,5:0}  {r.Name,-9} {r.Audits,6} {r.N,8:0.000} {r.CHat,6:0.000} {r.S,6:0.000} {r.R,8:0.000} {r.Weight,7:0.000}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{"",4} {"",5}  theta {(s.Theta is { } t ? t.ToString("0.000", CultureInfo.InvariantCulture) : "none")}, n_eff {s.EffectiveVoters:0.00} of {s.Nodes.Count}\n");
            foreach (var e in s.Events) sb.Append(CultureInfo.InvariantCulture, $"{"",4} {"",5}  event: {e}\n");
        }
        return sb.ToString();
    }

    /// <summary>An SVG line chart of each node's weight per step (self-contained, deterministic text).</summary>
    /// <param name="result">The steps to draw.</param>
    /// <param name="title">The heading (default: the simulation's); <c>fed reputation chart</c> passes its own.</param>
    /// <param name="xLabel">The x-axis caption (default: steps of the simulation's 7 days).</param>
    public static string ToSvg(SimResult result, string? title = null, string? xLabel = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        const int W = 760, H = 380, L = 56, R = 150, T = 30, B = 44;
        double pw = W - L - R, ph = H - T - B;
        double maxW = Math.Max(0.05, Math.Ceiling(result.Steps.SelectMany(s => s.Nodes).Max(r => r.Weight) * 20) / 20);
        int last = result.Steps.Count - 1;
        string X(double step) => F(L + pw * step / Math.Max(1, last));
        string Y(double w) => F(T + ph * (1 - w / maxW));
        string[] colors = ["#1b9e77", "#17a589", "#117a65", "#0e6251", "#45b39d", "#2e86c1", "#d95f02", "#7d3c98", "#a569bd", "#c39bd3", "#e7298a"];
        var names = result.Steps.SelectMany(s => s.Nodes.Select(r => r.Name)).Distinct().ToArray();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L}\" y=\"18\" font-size=\"14\">{System.Security.SecurityElement.Escape(title ?? "fed sim reputation: vote weight per node")} (w_max {F(result.Knobs.Math.WMax)})</text>\n");
        for (int g = 0; g <= 4; g++)
        {
            double v = maxW * g / 4;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" y1=\"{Y(v)}\" x2=\"{F(L + pw)}\" y2=\"{Y(v)}\" stroke=\"#dddddd\"/><text x=\"{L - 6}\" y=\"{Y(v)}\" text-anchor=\"end\" dominant-baseline=\"middle\">{F(v)}</text>\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" y1=\"{Y(result.Knobs.Math.WMax)}\" x2=\"{F(L + pw)}\" y2=\"{Y(result.Knobs.Math.WMax)}\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/><text x=\"{F(L + pw - 4)}\" y=\"{F(T + ph * (1 - result.Knobs.Math.WMax / maxW) - 5)}\" text-anchor=\"end\" fill=\"#c0392b\">w_max</text>\n");
        foreach (var s in result.Steps)
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(s.Step)}\" y=\"{F(T + ph + 16)}\" text-anchor=\"middle\">{s.Step}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(L + pw / 2)}\" y=\"{H - 8}\" text-anchor=\"middle\">{System.Security.SecurityElement.Escape(xLabel ?? $"step ({F(StepDays)} days each)")}</text>\n");
        for (int k = 0; k < names.Length; k++)
        {
            var name = names[k];
            var pts = result.Steps.SelectMany(s => s.Nodes.Where(r => r.Name == name).Select(r => $"{X(s.Step)},{Y(r.Weight)}"));
            var color = colors[k % colors.Length];
            sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', pts)}\"/>\n");
            double ly = T + 8 + k * 18;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(L + pw + 14)}\" y1=\"{F(ly)}\" x2=\"{F(L + pw + 34)}\" y2=\"{F(ly)}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{F(L + pw + 40)}\" y=\"{F(ly)}\" dominant-baseline=\"middle\">{System.Security.SecurityElement.Escape(name)}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string F(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Fmt(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A uniform draw in [0, 1) from (seed, a, b, c, salt) by chained SplitMix64 — the same on every machine.</summary>
    internal static double Draw(ulong a, ulong b, ulong c, ulong salt)
    {
        ulong x = Mix(Seed ^ Mix(salt));
        x = Mix(x ^ a);
        x = Mix(x ^ (b * 0x9E3779B97F4A7C15UL));
        x = Mix(x ^ (c * 0xC2B2AE3D27D4EB4FUL));
        return (x >> 11) * (1.0 / (1UL << 53));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
