using System.CommandLine;
using System.Text.Json;

namespace Federation.Node.Cli;

/// <summary>Named exit codes of <c>fed</c> (CONVENTIONS.md: 0 ok, 1 failure, 2 usage, 3 verification failed).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int VerificationFailed = 3;
}

/// <summary>An error the CLI reports as one line on stderr with a chosen exit code (no stack trace).</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Options shared by every command, and helpers for writing text or JSON output.</summary>
public static class CliCommon
{
    public static readonly Option<string> Output = CreateOutput();

    public static readonly Option<DirectoryInfo?> DataDir = new("--data-dir")
    {
        Description = "The node's data directory (default: $FEDERATION_DATA_DIR or ~/.federation).",
        Recursive = true,
    };

    private static Option<string> CreateOutput()
    {
        var o = new Option<string>("--output", "-o")
        {
            Description = "Output format: text for people, json for programs.",
            DefaultValueFactory = _ => "text",
            Recursive = true,
        };
        o.AcceptOnlyFromAmong("text", "json");
        return o;
    }

    public static bool IsJson(ParseResult p) => p.GetValue(Output) == "json";

    /// <summary>The data dir: --data-dir, then FEDERATION_DATA_DIR, then ~/.federation.</summary>
    public static string ResolveDataDir(ParseResult p)
        => Layout(p).Root;

    /// <summary>The data dir's layout (<see cref="Hosting.DataDirLayout"/>): every path a command uses comes from it.</summary>
    public static Hosting.DataDirLayout Layout(ParseResult p) => Hosting.DataDirLayout.Resolve(p.GetValue(DataDir)?.FullName);

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = false };

    /// <summary>Writes <paramref name="value"/> as one line of JSON to the command's stdout.</summary>
    public static void WriteJson(ParseResult p, object value) =>
        p.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(value, Pretty));

    public static void WriteLine(ParseResult p, string text) => p.InvocationConfiguration.Output.WriteLine(text);

    public static void WriteError(ParseResult p, string text) => p.InvocationConfiguration.Error.WriteLine(text);

    /// <summary>Reads a file argument, or stdin for "-"; a missing file is a usage-grade error with a hint.</summary>
    public static string ReadTextArg(ParseResult p, string pathOrDash)
    {
        if (pathOrDash == "-") return Console.In.ReadToEnd();
        if (!File.Exists(pathOrDash))
            throw new CliException($"file '{pathOrDash}' does not exist; give a readable path, or '-' for standard input.", ExitCodes.Usage);
        return File.ReadAllText(pathOrDash);
    }
}
