using System.CommandLine;
using System.Globalization;
using System.Text;
using Federation.Specialists.Gguf;
using Federation.Specialists.Models;

namespace Federation.Node.Cli;

/// <summary><c>fed model create|inspect</c>: generate the project's tiny GGUF models and describe any GGUF file.</summary>
internal static class ModelCommands
{
    public static Command Create()
    {
        var cmd = new Command("model", "Create and inspect GGUF model files.");
        cmd.Subcommands.Add(CreateCommand());
        cmd.Subcommands.Add(InspectCommand());
        return cmd;
    }

    private static Command CreateCommand()
    {
        var preset = new Option<string>("--preset")
        {
            Description = "Model size: tiny (0.87M params) or small (10.8M params).",
            DefaultValueFactory = _ => "tiny",
        };
        preset.AcceptOnlyFromAmong([.. ModelPreset.All.Select(p => p.Name)]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights; same seed, same file.", DefaultValueFactory = _ => 0 };
        var force = new Option<bool>("--force") { Description = "Overwrite OUT if it exists." };
        var output = new Argument<string>("OUT") { Description = "Path of the .gguf file to write." };
        var cmd = new Command("create", "Write a random-initialised llama-architecture model with a byte vocabulary.");
        cmd.Options.Add(preset);
        cmd.Options.Add(seed);
        cmd.Options.Add(force);
        cmd.Arguments.Add(output);
        cmd.SetAction(p =>
        {
            var outPath = p.GetValue(output)!;
            RefuseOverwrite(outPath, p.GetValue(force));
            var made = TinyModelFactory.Create(p.GetValue(preset)!, p.GetValue(seed), outPath);
            WriteGenerated(p, made, "model");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command InspectCommand()
    {
        var file = new Argument<string>("FILE") { Description = "A GGUF file." };
        var all = new Option<bool>("--full-arrays") { Description = "Print arrays in full instead of their first items." };
        var cmd = new Command("inspect", "Print a GGUF file's metadata, tensors, parameter count and CID.");
        cmd.Arguments.Add(file);
        cmd.Options.Add(all);
        cmd.SetAction(p =>
        {
            var info = ReadInfo(p.GetValue(file)!);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, ToJson(info));
            else CliCommon.WriteLine(p, Render(info));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    internal static void RefuseOverwrite(string path, bool force)
    {
        if (File.Exists(path) && !force)
            throw new CliException($"'{path}' already exists; choose another path or pass --force to overwrite it.", ExitCodes.Failure);
    }

    internal static void WriteGenerated(ParseResult p, GeneratedFile made, string what)
    {
        if (CliCommon.IsJson(p))
            CliCommon.WriteJson(p, new { path = made.Path, cid = made.Cid, bytes = made.FileBytes, parameters = made.ParameterCount });
        else
            CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture,
                $"wrote {what} {made.Path}\n  cid        {made.Cid}\n  bytes      {made.FileBytes}\n  parameters {made.ParameterCount}"));
    }

    /// <summary>Reads a file's description, turning format and I/O problems into one-line CLI errors (exit 1).</summary>
    internal static ModelInfo ReadInfo(string path) => Guard(() => ModelInfo.Inspect(path));

    internal static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (GgufFormatException e)
        {
            throw new CliException(e.Message);
        }
        catch (FileNotFoundException e)
        {
            throw new CliException($"{e.Message}; give the path of an existing .gguf file.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CliException(e.Message);
        }
    }

    internal static object ToJson(ModelInfo i) => new
    {
        path = i.Path,
        cid = i.Cid,
        bytes = i.FileBytes,
        version = i.Version,
        alignment = i.Alignment,
        architecture = i.Architecture,
        name = i.Name,
        kind = i.Kind,
        parameters = i.ParameterCount,
        lora_rank = i.LoraRank,
        lora_alpha = i.LoraAlpha,
        metadata = i.Metadata.Select(m => new { key = m.Key, type = m.Type, value = m.Value }),
        tensors = i.Tensors.Select(t => new { name = t.Name, type = t.Type, shape = t.Shape, elements = t.Elements, bytes = t.Bytes }),
    };

    internal static string Render(ModelInfo i)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"file         {i.Path}");
        sb.AppendLine(inv, $"cid          {i.Cid}");
        sb.AppendLine(inv, $"bytes        {i.FileBytes}");
        sb.AppendLine(inv, $"gguf         v{i.Version}, alignment {i.Alignment}");
        sb.AppendLine(inv, $"kind         {i.Kind}");
        sb.AppendLine(inv, $"architecture {i.Architecture ?? "(none)"}");
        sb.AppendLine(inv, $"parameters   {i.ParameterCount}");
        if (i.Kind == "adapter")
        {
            sb.AppendLine(inv, $"lora rank    {(i.LoraRank is { } r ? r.ToString(inv) : "(inconsistent or none)")}");
            sb.AppendLine(inv, $"lora alpha   {(i.LoraAlpha is { } a ? a.ToString("R", inv) : "(absent)")}");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"metadata ({i.Metadata.Count})");
        var kw = i.Metadata.Count == 0 ? 0 : i.Metadata.Max(m => m.Key.Length);
        var tw = i.Metadata.Count == 0 ? 0 : i.Metadata.Max(m => m.Type.Length);
        foreach (var m in i.Metadata)
            sb.AppendLine(inv, $"  {m.Key.PadRight(kw)}  {m.Type.PadRight(tw)}  {m.Value}");
        sb.AppendLine();
        sb.AppendLine(inv, $"tensors ({i.Tensors.Count})");
        var nw = Math.Max(4, i.Tensors.Count == 0 ? 0 : i.Tensors.Max(t => t.Name.Length));
        var shapes = i.Tensors.Select(t => GgufTensorInfo.FormatShape(t.Shape)).ToList();
        var sw = Math.Max(5, shapes.Count == 0 ? 0 : shapes.Max(s => s.Length));
        sb.AppendLine(inv, $"  {"name".PadRight(nw)}  {"type",-7}  {"shape".PadRight(sw)}  {"elements",10}  {"bytes",10}");
        for (var k = 0; k < i.Tensors.Count; k++)
        {
            var t = i.Tensors[k];
            sb.AppendLine(inv, $"  {t.Name.PadRight(nw)}  {t.Type,-7}  {shapes[k].PadRight(sw)}  {t.Elements,10}  {t.Bytes,10}");
        }
        return sb.ToString().TrimEnd();
    }
}
