using System.Text.Json;
using System.Text.Json.Serialization;
using Federation.Registry;
using Federation.Registry.Json;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Acceptance;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Training;

namespace Federation.Specialists.Production.Demo;

/// <summary>A dataset of the recipe: which generator, with which parameters (docs/production-line.md lists them).</summary>
public sealed record DatasetRecipe
{
    public required string Name { get; init; }
    /// <summary><c>math</c>, <c>elements</c>, <c>code</c>, <c>legal</c> or <c>strategy</c>.</summary>
    public required string Generator { get; init; }
    public int Train { get; init; } = 400;
    public int HeldOut { get; init; } = 40;
    public int MaxOperand { get; init; } = 999;
    public int? FirstElements { get; init; }
    public int Count { get; init; } = 200;
    public ulong Seed { get; init; } = 1;
    /// <summary>math: how training answers are written, <c>answer</c> (default) or <c>steps</c> (<see cref="MathData.Steps"/>).</summary>
    public string Format { get; init; } = "answer";
    /// <summary>math: <c>uniform</c> operands (default) or <c>mixed</c> digit counts (<see cref="MathData"/>'s <c>Operand</c>: half the draws pick the digit count first).</summary>
    public string Operands { get; init; } = "uniform";
    /// <summary>elements: also train the extra phrasings (<see cref="ElementsData.ParaphraseForms"/>).</summary>
    public bool Paraphrases { get; init; }

    public Dataset Generate() => Generator switch
    {
        "math" => MathData.Generate(Train, HeldOut, MaxOperand, Seed, Name, Format switch
        {
            "answer" => MathFormat.Answer,
            "steps" => MathFormat.Steps,
            _ => throw new FormatException($"dataset '{Name}': unknown math format '{Format}'; expected answer or steps."),
        }, Operands switch
        {
            "uniform" => false,
            "mixed" => true,
            _ => throw new FormatException($"dataset '{Name}': unknown operands '{Operands}'; expected uniform or mixed."),
        }),
        "elements" => ElementsData.Generate(Name, FirstElements, Paraphrases),
        "code" => CodeData.Generate(Count, Seed, Name),
        "legal" => GlossaryData.GenerateLegal(Name),
        "strategy" => GlossaryData.GenerateStrategy(Name),
        _ => throw new FormatException($"dataset '{Name}': unknown generator '{Generator}'; expected math, elements, code, legal or strategy."),
    };
}

/// <summary>One part of a base's corpus mix.</summary>
public sealed record MixPart(string Dataset, double Weight);

/// <summary>A base's pre-training corpus: <see cref="Examples"/> examples drawn from the mix with <see cref="Seed"/>.</summary>
public sealed record CorpusRecipe
{
    public required IReadOnlyList<MixPart> Mix { get; init; }
    public int Examples { get; init; } = 400;
    public ulong Seed { get; init; } = 1;
}

/// <summary>Training settings of one run (mapped onto <see cref="TrainingOptions"/>).</summary>
public sealed record TrainingRecipe
{
    public int Epochs { get; init; } = 2;
    public float LearningRate { get; init; } = 1e-3f;
    public int Warmup { get; init; } = 4;
    public ulong Seed { get; init; }
    public double ValidationSplit { get; init; } = 0.2;
    public int Context { get; init; } = 256;
    public int Patience { get; init; } = 2;
    /// <summary>Sequences per optimiser step (the trainer's default 8 when absent).</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Adapters: the weights LoRA trains (null = the trainer's defaults; add <c>output</c> for the final projection).</summary>
    public IReadOnlyList<string>? LoraTargets { get; init; }

    public TrainingOptions ToOptions(int threads) => new()
    {
        Epochs = Epochs, LearningRate = LearningRate, WarmupSteps = Warmup, Seed = Seed, ValidationSplit = ValidationSplit,
        Context = Context, Patience = Patience, Threads = threads, BatchSize = BatchSize,
        LoraTargets = LoraTargets,
    };
}

/// <summary>A model shape: a named preset, or explicit sizes (a second shape for a second lineage).</summary>
public sealed record ShapeRecipe
{
    public string? Preset { get; init; }
    public int Embedding { get; init; }
    public int Blocks { get; init; }
    public int Heads { get; init; }
    public int FeedForward { get; init; }

    public ModelPreset ToPreset(string name) => Preset is not null
        ? ModelPreset.Named(Preset)
        : new ModelPreset(name, Embedding, Blocks, Heads, Heads, FeedForward);
}

/// <summary>An adapter of a base: its topic, training data and rank.</summary>
public sealed record AdapterRecipe
{
    public required string Name { get; init; }
    public required string Topic { get; init; }
    public required string Dataset { get; init; }
    public int Rank { get; init; } = 8;
    /// <summary>Training examples are repeated this many times (small glossaries need it to fill the training windows).</summary>
    public int Repeat { get; init; } = 1;
    public TrainingRecipe Training { get; init; } = new();
}

/// <summary>The operator-and-jurisdiction axis declared for a base.</summary>
public sealed record OperatorRecipe(string Name, string Jurisdiction);

/// <summary>A base: lineage, shape, seed, corpus, operator and its adapters.</summary>
public sealed record BaseRecipe
{
    public required string Name { get; init; }
    public required string Lineage { get; init; }
    public required ShapeRecipe Shape { get; init; }
    public ulong Seed { get; init; }
    public required OperatorRecipe Operator { get; init; }
    public required CorpusRecipe Corpus { get; init; }
    public TrainingRecipe Training { get; init; } = new();
    public IReadOnlyList<AdapterRecipe> Adapters { get; init; } = [];
}

/// <summary>The acceptance gate's thresholds, plus whether a refused adapter still enters the demo.</summary>
public sealed record AcceptanceRecipe
{
    public double Margin { get; init; } = 0.05;
    public double Alpha { get; init; } = 0.05;
    public double BiasProbeMinPassRate { get; init; } = 1.0;
    public double RegressionTolerance { get; init; } = 0.05;
    /// <summary>
    /// When false, a refused adapter is still served (its catalog record says <c>"admitted": false</c>, with the
    /// numbers). The test profile sets false: with training route 2 its adapters do not reach the margin.
    /// </summary>
    public bool RequireAdmission { get; init; } = true;
    /// <summary>Known-bias probes: a question and words the answer must not contain.</summary>
    public IReadOnlyList<BiasProbe> BiasProbes { get; init; } = [];

    public AcceptanceOptions ToOptions() => new() { Margin = Margin, Alpha = Alpha, BiasProbeMinPassRate = BiasProbeMinPassRate, RegressionTolerance = RegressionTolerance };
}

/// <summary>A known-bias probe: the answer to <see cref="Question"/> must contain none of <see cref="Forbidden"/> (case-insensitive).</summary>
public sealed record BiasProbe(string Question, IReadOnlyList<string> Forbidden);

/// <summary>
/// The demo federation's recipe (data: <c>policies/demo/recipe-&lt;profile&gt;.json</c>). Its CID (of its canonical
/// JSON) names the build directory and every manifest's methodology, so changing any number makes a new build.
/// </summary>
public sealed record DemoRecipe
{
    public int Version { get; init; } = 1;
    public required string Profile { get; init; }
    public TrainingRoute Route { get; init; } = TrainerSelection.Default;
    public int Threads { get; init; } = 1;
    /// <summary>Most tokens generated per held-out question during evaluation.</summary>
    public int EvalMaxTokens { get; init; } = 16;
    public required IReadOnlyList<DatasetRecipe> Datasets { get; init; }
    public required IReadOnlyList<BaseRecipe> Bases { get; init; }
    public AcceptanceRecipe Acceptance { get; init; } = new();

    /// <summary>CID of the recipe's canonical JSON.</summary>
    [JsonIgnore] public Cid Cid { get; private init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Parses a recipe; errors name the file and what is wrong.</summary>
    public static DemoRecipe Load(string path)
    {
        var text = File.ReadAllText(path);
        DemoRecipe r;
        try
        {
            r = JsonSerializer.Deserialize<DemoRecipe>(text, Json) ?? throw new FormatException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: not a demo recipe: {e.Message}", e);
        }
        if (r.Version != 1) throw new FormatException($"{path}: version must be 1 (found {r.Version}).");
        var names = r.Datasets.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var b in r.Bases)
        {
            foreach (var m in b.Corpus.Mix.Where(m => !names.Contains(m.Dataset)))
                throw new FormatException($"{path}: base '{b.Name}' mixes unknown dataset '{m.Dataset}'; define it under datasets.");
            foreach (var a in b.Adapters.Where(a => !names.Contains(a.Dataset)))
                throw new FormatException($"{path}: adapter '{a.Name}' trains on unknown dataset '{a.Dataset}'; define it under datasets.");
        }
        var all = r.Bases.Select(b => b.Name).Concat(r.Bases.SelectMany(b => b.Adapters.Select(a => a.Name))).ToList();
        var dup = all.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new FormatException($"{path}: the name '{dup.Key}' is used twice; base and adapter names must be unique.");
        // The CID covers meaning, not layout: canonical JSON of the file (comments are not allowed in canonical input, so strip via re-serialise).
        var canonical = CanonicalJson.Canonicalize(JsonSerializer.Serialize(JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }).RootElement));
        return r with { Cid = Cid.Of(canonical) };
    }

    /// <summary>The shipped recipe of <paramref name="profile"/> (<c>full</c> or <c>test</c>) under <paramref name="policiesDir"/>/demo.</summary>
    public static string PathFor(string policiesDir, string profile) => Path.Combine(policiesDir, "demo", $"recipe-{profile}.json");
}
