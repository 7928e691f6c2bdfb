using System.CommandLine;
using System.Globalization;
using Federation.Specialists.Engine;
using Federation.Specialists.Interop;

namespace Federation.Node.Cli;

/// <summary><c>fed generate</c>: run one prompt on a base model with optional LoRA adapters (scales), print the text.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "Base model (GGUF).", Required = true };
        var adapter = new Option<string[]>("--adapter")
        {
            Description = "LoRA adapter FILE[:SCALE] (repeatable; scale default 1). Several adapters form a weighted mix.",
            AllowMultipleArgumentsPerToken = false,
        };
        var prompt = new Option<string>("--prompt") { Description = "Prompt text.", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 64 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy (reproducible).", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling (temperature > 0).", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Top-k sampling (temperature > 0; 0 = off).", DefaultValueFactory = _ => 0 };
        var seed = new Option<uint?>("--seed") { Description = "Sampling seed (temperature > 0)." };
        var stop = new Option<string[]>("--stop") { Description = "Stop sequence (repeatable)." };
        var threads = new Option<int>("--threads") { Description = "Generation threads.", DefaultValueFactory = _ => 1 };
        var gpuLayers = new Option<int>("--gpu-layers") { Description = "Layers to offload (CUDA build only).", DefaultValueFactory = _ => 0 };
        var libDir = new Option<DirectoryInfo?>("--llama-lib-dir") { Description = $"Folder of a self-built libllama (default: ${LlamaLibrary.LibDirVariable}, then the LLamaSharp backend package)." };

        var cmd = new Command("generate", "Generate text with a base model and optional LoRA adapters.");
        foreach (var o in new Option[] { model, adapter, prompt, maxTokens, temperature, topP, topK, seed, stop, threads, gpuLayers, libDir })
            cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            var selections = new List<(string Path, float Scale)>();
            foreach (var spec in p.GetValue(adapter) ?? [])
                selections.Add(ParseAdapter(spec));
            try
            {
                using var engine = SpecialistEngine.Open(new EngineOptions
                {
                    BaseModelPath = p.GetValue(model)!.FullName,
                    NativeLibraryDirectory = p.GetValue(libDir)?.FullName,
                    Contexts = 1,
                    SequencesPerContext = 1,
                    ContextSize = Math.Max(512, p.GetValue(maxTokens) + 64 + p.GetValue(prompt)!.Length * 2),
                    Threads = p.GetValue(threads),
                    BatchThreads = p.GetValue(threads),
                    GpuLayers = p.GetValue(gpuLayers),
                    MaxResidentAdapters = Math.Max(1, selections.Count),
                });
                var set = new List<AdapterSelection>();
                for (var i = 0; i < selections.Count; i++)
                {
                    var id = $"adapter{i}";
                    engine.RegisterAdapter(id, selections[i].Path);
                    set.Add(new AdapterSelection(id, selections[i].Scale));
                }
                var result = engine.GenerateAsync(new GenerationRequest
                {
                    Prompt = p.GetValue(prompt),
                    MaxTokens = p.GetValue(maxTokens),
                    Temperature = p.GetValue(temperature),
                    TopP = p.GetValue(topP),
                    TopK = p.GetValue(topK),
                    Seed = p.GetValue(seed),
                    Stop = p.GetValue(stop) ?? [],
                    Adapters = set,
                }).GetAwaiter().GetResult();
                var finish = result.FinishReason.ToString().ToLowerInvariant();
                if (CliCommon.IsJson(p))
                {
                    CliCommon.WriteJson(p, new
                    {
                        text = result.Text,
                        token_ids = result.TokenIds,
                        usage = new { prompt_tokens = result.PromptTokens, completion_tokens = result.CompletionTokens, total_tokens = result.PromptTokens + result.CompletionTokens },
                        finish_reason = finish,
                        seed = result.Seed,
                        base_cid = engine.BaseCid,
                    });
                }
                else
                {
                    CliCommon.WriteLine(p, result.Text);
                    CliCommon.WriteError(p, $"({result.PromptTokens} prompt + {result.CompletionTokens} completion tokens, finish: {finish})");
                }
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is EngineException or LlamaException)
            {
                throw new CliException(e.Message);
            }
        });
        return cmd;
    }

    /// <summary>Splits <c>FILE[:SCALE]</c>; a suffix that is not a number is part of the file name.</summary>
    internal static (string Path, float Scale) ParseAdapter(string spec)
    {
        var colon = spec.LastIndexOf(':');
        if (colon > 0 && float.TryParse(spec.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var scale))
        {
            if (!float.IsFinite(scale)) throw new CliException($"adapter scale in '{spec}' must be a finite number.", ExitCodes.Usage);
            return (spec[..colon], scale);
        }
        return (spec, 1f);
    }
}
