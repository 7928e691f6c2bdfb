using System.Globalization;
using Federation.Registry;
using Federation.Registry.Json;
using Federation.Specialists.Training;

namespace Federation.Node.Diip;

/// <summary>
/// The <c>recipe</c> of a class-1 adapter proposal, as canonical JSON (docs/diip.md §Reproduction):
/// <c>{"route":"ggml","base":CID,"examples":CID,"rank":8,"options":{"epochs","learning_rate","warmup","seed","threads",
/// "validation_split","context","patience","batch_size"}}</c>. <c>examples</c> is a JSONL file of
/// <c>{"prompt","completion"}</c> lines (what <c>fed adapter train --examples</c> reads); both files are in
/// <see cref="DiipArtifacts"/>. The production line's trainer (<c>TrainerSelection</c>) retrains from exactly this.
/// </summary>
public sealed record DiipAdapterRecipe(TrainingRoute Route, string Base, string Examples, int Rank, TrainingOptions Options)
{
    /// <summary>The recipe as canonical JSON text (what goes into the proposal's <c>recipe</c>).</summary>
    public string ToText() => System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(new JsonObject
    {
        ["route"] = Route == TrainingRoute.Ggml ? "ggml" : "opt",
        ["base"] = Base,
        ["examples"] = Examples,
        ["rank"] = Rank,
        ["options"] = new JsonObject
        {
            ["epochs"] = Options.Epochs,
            // decimal text of the float, so the recipe's CID and the retrained run agree bit for bit
            ["learning_rate"] = Options.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["warmup"] = Options.WarmupSteps,
            ["seed"] = Options.Seed,
            ["threads"] = Options.Threads,
            ["validation_split"] = Options.ValidationSplit.ToString("R", CultureInfo.InvariantCulture),
            ["context"] = Options.Context,
            ["patience"] = Options.Patience,
            ["batch_size"] = Options.BatchSize,
            ["targets"] = Options.LoraTargets is { } t ? new JsonArray(t.Select(x => (JsonValue)x)) : JsonValue.Null,
        },
    }));

    /// <summary>The CID of the recipe text (what a provenance manifest's methodology names).</summary>
    public Cid Cid => Cid.Of(System.Text.Encoding.UTF8.GetBytes(ToText()));

    /// <summary>Reads a recipe; null with <paramref name="error"/> naming what is missing or wrong (incomplete provenance).</summary>
    public static DiipAdapterRecipe? TryParse(string text, out string? error)
    {
        error = null;
        JsonObject o;
        try { o = CanonicalJson.Parse(text) as JsonObject ?? throw new FormatException("not an object"); }
        catch (Exception e)
        {
            error = $"the recipe is not the JSON object docs/diip.md describes ({e.Message}); it must name route, base, examples, rank and options";
            return null;
        }
        string? Str(JsonObject x, string k) => x.TryGetValue(k, out var v) && v is JsonString s ? s.Value : null;
        long? Int(JsonObject x, string k) => x.TryGetValue(k, out var v) && v is JsonInt i && i.TryGetInt64(out var l) ? l : null;
        var missing = new List<string>();
        var route = Str(o, "route");
        var bas = Str(o, "base");
        var ex = Str(o, "examples");
        var rank = Int(o, "rank");
        if (route is not ("ggml" or "opt")) missing.Add("route (ggml or opt)");
        if (bas is null || !Cid.TryParse(bas, out _)) missing.Add("base (the base weights' CID)");
        if (ex is null || !Cid.TryParse(ex, out _)) missing.Add("examples (the training examples' CID)");
        if (rank is not > 0) missing.Add("rank");
        var opt = o.TryGetValue("options", out var ov) ? ov as JsonObject : null;
        if (opt is null) missing.Add("options");
        TrainingOptions? options = null;
        if (opt is not null)
        {
            long Need(string k) { var v = Int(opt, k); if (v is null) missing.Add("options." + k); return v ?? 0; }
            double NeedNum(string k)
            {
                if (Str(opt, k) is { } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
                missing.Add("options." + k + " (decimal text)");
                return 0;
            }
            options = new TrainingOptions
            {
                Epochs = (int)Need("epochs"),
                LearningRate = (float)NeedNum("learning_rate"),
                WarmupSteps = (int)Need("warmup"),
                Seed = (ulong)Need("seed"),
                Threads = (int)Need("threads"),
                ValidationSplit = NeedNum("validation_split"),
                Context = (int)Need("context"),
                Patience = (int)Need("patience"),
                BatchSize = (int)Need("batch_size"),
                // null: the trainer's default targets (attn_q … ffn_down); a list names them, e.g. with "output"
                LoraTargets = opt.TryGetValue("targets", out var tv) && tv is JsonArray ta ? ta.Select(x => x.AsString()).ToList() : null,
            };
        }
        if (missing.Count > 0)
        {
            error = "the recipe is incomplete: missing or invalid " + string.Join(", ", missing);
            return null;
        }
        return new DiipAdapterRecipe(route == "ggml" ? TrainingRoute.Ggml : TrainingRoute.LlamaOpt, bas!, ex!, (int)rank!.Value, options!);
    }
}
