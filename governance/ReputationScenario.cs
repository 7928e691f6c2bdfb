using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Federation.Governance;

/// <summary>
/// The exact input of <c>fed reputation compute --scenario FILE</c> (issue 11):
/// <c>{"tau", "half_life", "kappa", "C0", "gamma", "beta", "stake0", "g_max", "w_max", "nodes": {"NAME": {"S", "stake",
/// "audits": [[t_a, d_a, o_a], …]}}}</c>. Parsing is strict: missing or extra keys, repeated keys, wrong types and
/// out-of-range values are errors naming the field.
/// </summary>
public sealed record ReputationScenario(double Tau, ReputationKnobs Knobs, IReadOnlyList<NodeEvidence> Nodes)
{
    private static readonly string[] TopKeys = ["tau", "half_life", "kappa", "C0", "gamma", "beta", "stake0", "g_max", "w_max", "nodes"];
    private static readonly string[] NodeKeys = ["S", "stake", "audits"];

    /// <summary>Computes the table (see <see cref="ReputationMath.Compute"/>).</summary>
    public ReputationTable Compute() => ReputationMath.Compute(Nodes, Tau, Knobs);

    /// <summary>Parses scenario JSON text.</summary>
    /// <exception cref="ReputationInputException">The text is not a valid scenario; the field says where.</exception>
    public static ReputationScenario Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new ReputationInputException("(document)", $"not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            var top = Object(root, "(document)", TopKeys);
            double Num(string key) => Number(top[key], key);
            var tau = Num("tau");
            var knobs = new ReputationKnobs(Num("half_life"), Num("kappa"), Num("C0"), Num("gamma"), Num("beta"), Num("stake0"), Num("g_max"), Num("w_max"));
            if (knobs.FirstProblem() is { } p) throw new ReputationInputException(p.Field, p.Message);

            var nodesEl = top["nodes"];
            if (nodesEl.ValueKind != JsonValueKind.Object) throw new ReputationInputException("nodes", $"expected an object of node name → {{\"S\", \"stake\", \"audits\"}}, found {Kind(nodesEl)}");
            var nodes = new List<NodeEvidence>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in nodesEl.EnumerateObject())
            {
                var name = prop.Name;
                var path = $"nodes.{name}";
                if (name.Length == 0) throw new ReputationInputException("nodes", "a node name is empty; give every node a non-empty name");
                if (!names.Add(name)) throw new ReputationInputException(path, "this node name appears twice; each node has one entry");
                var node = Object(prop.Value, path, NodeKeys);
                var s = Number(node["S"], $"{path}.S");
                if (s is < 0 or > 1) throw new ReputationInputException($"{path}.S", $"expected a number in [0, 1], found {Fmt(s)}");
                var stake = Number(node["stake"], $"{path}.stake");
                if (stake < 0) throw new ReputationInputException($"{path}.stake", $"expected a number >= 0, found {Fmt(stake)}");
                var auditsEl = node["audits"];
                if (auditsEl.ValueKind != JsonValueKind.Array) throw new ReputationInputException($"{path}.audits", $"expected an array of [t_a, d_a, o_a] triples, found {Kind(auditsEl)}");
                var audits = new List<Audit>();
                int k = 0;
                foreach (var a in auditsEl.EnumerateArray())
                {
                    var ap = $"{path}.audits[{k}]";
                    if (a.ValueKind != JsonValueKind.Array || a.GetArrayLength() != 3)
                        throw new ReputationInputException(ap, $"expected a triple [t_a, d_a, o_a], found {(a.ValueKind == JsonValueKind.Array ? $"an array of {a.GetArrayLength()}" : Kind(a))}");
                    var t = Number(a[0], $"{ap}[0] (t_a)");
                    var d = Number(a[1], $"{ap}[1] (d_a)");
                    var o = Number(a[2], $"{ap}[2] (o_a)");
                    if (t > tau) throw new ReputationInputException($"{ap}[0] (t_a)", $"audit time {Fmt(t)} is after tau {Fmt(tau)}; a scenario is the state at tau, so every audit must be at or before it");
                    if (!(d is > 0 and <= 1)) throw new ReputationInputException($"{ap}[1] (d_a)", $"expected a difficulty in (0, 1], found {Fmt(d)}");
                    if (o is < 0 or > 1) throw new ReputationInputException($"{ap}[2] (o_a)", $"expected an outcome in [0, 1], found {Fmt(o)}");
                    audits.Add(new Audit(t, d, o));
                    k++;
                }
                nodes.Add(new NodeEvidence(name, s, stake, audits));
            }
            return new ReputationScenario(tau, knobs, nodes);
        }
    }

    /// <summary>The exact output: <c>{"theta": number|null, "nodes": {"NAME": {"N", "C", "C_hat", "R", "weight"}}}</c>, one line.</summary>
    public static string ToJson(ReputationTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (table.Theta is { } th) w.WriteNumber("theta", th);
            else w.WriteNull("theta");
            w.WriteStartObject("nodes");
            foreach (var n in table.Nodes)
            {
                w.WriteStartObject(n.Name);
                w.WriteNumber("N", n.N);
                w.WriteNumber("C", n.C);
                w.WriteNumber("C_hat", n.CHat);
                w.WriteNumber("R", n.R);
                w.WriteNumber("weight", n.Weight);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A fixed-width table for people: one row per node, then θ.</summary>
    public static string ToText(ReputationTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var width = Math.Max(4, table.Nodes.Count == 0 ? 0 : table.Nodes.Max(n => n.Name.Length));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{"node".PadRight(width)}  {"N",12}  {"C",8}  {"C_hat",8}  {"R",12}  {"weight",8}\n");
        foreach (var n in table.Nodes)
            sb.Append(CultureInfo.InvariantCulture, $"{n.Name.PadRight(width)}  {n.N,12:0.######}  {n.C,8:0.####}  {n.CHat,8:0.####}  {n.R,12:0.######}  {n.Weight,8:0.####}\n");
        sb.Append(CultureInfo.InvariantCulture, $"theta: {(table.Theta is { } t ? t.ToString("0.######", CultureInfo.InvariantCulture) : "none (no node clipped)")}\n");
        return sb.ToString();
    }

    private static Dictionary<string, JsonElement> Object(JsonElement el, string path, string[] keys)
    {
        if (el.ValueKind != JsonValueKind.Object)
            throw new ReputationInputException(path, $"expected an object with keys {string.Join(", ", keys)}, found {Kind(el)}");
        var found = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in el.EnumerateObject())
        {
            var fp = path == "(document)" ? p.Name : $"{path}.{p.Name}";
            if (Array.IndexOf(keys, p.Name) < 0) throw new ReputationInputException(fp, $"unknown key; expected only {string.Join(", ", keys)}");
            if (!found.TryAdd(p.Name, p.Value)) throw new ReputationInputException(fp, "this key appears twice");
        }
        foreach (var k in keys)
            if (!found.ContainsKey(k)) throw new ReputationInputException(path == "(document)" ? k : $"{path}.{k}", "missing required key");
        return found;
    }

    private static double Number(JsonElement el, string path)
    {
        if (el.ValueKind != JsonValueKind.Number) throw new ReputationInputException(path, $"expected a number, found {Kind(el)}");
        if (!el.TryGetDouble(out var v) || !double.IsFinite(v)) throw new ReputationInputException(path, $"expected a finite number, found {el.GetRawText()}");
        return v;
    }

    private static string Kind(JsonElement el) => el.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string {el.GetRawText()}",
        JsonValueKind.Number => $"the number {el.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {el.GetRawText()}",
        _ => "null",
    };

    private static string Fmt(double d) => ReputationKnobs.Fmt(d);
}
