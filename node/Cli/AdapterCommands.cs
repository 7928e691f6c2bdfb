using System.CommandLine;
using Federation.Specialists.Gguf;
using Federation.Specialists.Models;

namespace Federation.Node.Cli;

/// <summary><c>fed adapter create|inspect</c>: random LoRA adapters for a base model, and adapter inspection/validation.</summary>
internal static class AdapterCommands
{
    private const int MaxIssuesShown = 10;

    public static Command Create()
    {
        var cmd = new Command("adapter", "Create, inspect and validate LoRA adapter GGUF files.");
        cmd.Subcommands.Add(CreateCommand());
        cmd.Subcommands.Add(InspectCommand());
        return cmd;
    }

    private static Command CreateCommand()
    {
        var baseOpt = new Option<string>("--base") { Description = "The base model GGUF the adapter is for.", Required = true };
        var rank = new Option<int>("--rank") { Description = "LoRA rank r (>= 1).", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random A and B matrices.", DefaultValueFactory = _ => 0 };
        var alpha = new Option<float?>("--alpha") { Description = "adapter.lora.alpha (default: the rank, so scale alpha/r = 1)." };
        var targets = new Option<string?>("--targets")
        {
            Description = "Comma-separated weights to adapt (default: " + string.Join(",", LoraAdapterFactory.DefaultTargets) +
                "; also allowed: output).",
        };
        var force = new Option<bool>("--force") { Description = "Overwrite OUT if it exists." };
        var output = new Argument<string>("OUT") { Description = "Path of the adapter .gguf file to write." };
        var cmd = new Command("create", "Write a random (non-zero) LoRA adapter for a base model.");
        foreach (var o in new Option[] { baseOpt, rank, seed, alpha, targets, force }) cmd.Options.Add(o);
        cmd.Arguments.Add(output);
        cmd.SetAction(p =>
        {
            var outPath = p.GetValue(output)!;
            ModelCommands.RefuseOverwrite(outPath, p.GetValue(force));
            var r = p.GetValue(rank);
            if (r < 1) throw new CliException($"--rank must be at least 1, got {r}.", ExitCodes.Usage);
            var t = p.GetValue(targets)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var made = ModelCommands.Guard(() =>
                LoraAdapterFactory.Create(p.GetValue(baseOpt)!, outPath, r, p.GetValue(seed), p.GetValue(alpha), t));
            ModelCommands.WriteGenerated(p, made, "adapter");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command InspectCommand()
    {
        var file = new Argument<string>("FILE") { Description = "A LoRA adapter GGUF file." };
        var baseOpt = new Option<string?>("--base") { Description = "Also check that the adapter fits this base model (exit 3 if not)." };
        var cmd = new Command("inspect", "Print an adapter's metadata, tensors, rank, alpha and CID; with --base, validate it.");
        cmd.Arguments.Add(file);
        cmd.Options.Add(baseOpt);
        cmd.SetAction(p =>
        {
            var info = ModelCommands.ReadInfo(p.GetValue(file)!);
            AdapterValidationResult? validation = null;
            var basePath = p.GetValue(baseOpt);
            if (basePath is not null)
                validation = ModelCommands.Guard(() => AdapterValidator.Validate(GgufFile.Read(basePath), GgufFile.Read(info.Path)));

            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteJson(p, new
                {
                    adapter = ModelCommands.ToJson(info),
                    validation = validation is null ? null : new
                    {
                        base_path = Path.GetFullPath(basePath!),
                        valid = validation.IsValid,
                        rank = validation.Rank,
                        alpha = validation.Alpha,
                        targets = validation.TargetTensors.Count,
                        issues = validation.Issues.Select(i => new { code = i.Code, tensor = i.Tensor, message = i.Message }),
                    },
                });
            }
            else
            {
                CliCommon.WriteLine(p, ModelCommands.Render(info));
                if (validation is { IsValid: true })
                    CliCommon.WriteLine(p, $"\nvalid for base {Path.GetFullPath(basePath!)}: {validation.TargetTensors.Count} weights, rank {validation.Rank}");
            }
            if (validation is { IsValid: false })
                throw new CliException(
                    $"adapter {info.Path} does not fit base {Path.GetFullPath(basePath!)} ({validation.Issues.Count} problem(s)):" +
                    Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", validation.Issues.Take(MaxIssuesShown).Select(i => i.Message)) +
                    (validation.Issues.Count > MaxIssuesShown
                        ? $"{Environment.NewLine}  … and {validation.Issues.Count - MaxIssuesShown} more (use --output json for all)"
                        : ""),
                    ExitCodes.VerificationFailed);
            if (basePath is null && info.Kind != "adapter")
                CliCommon.WriteError(p, $"note: {info.Path} has general.type={info.Kind}, not adapter.");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
