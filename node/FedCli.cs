using System.CommandLine;
using System.CommandLine.Help;
using Federation.Node.Cli;

namespace Federation.Node;

/// <summary>The <c>fed</c> command line: <c>fed &lt;noun&gt; &lt;verb&gt;</c>. Each noun lives in its own file under <c>Cli/</c>.</summary>
public static class FedCli
{
    /// <summary>Builds the whole command tree (also used by tests to check help and parsing).</summary>
    public static Command Build()
    {
        // A plain Command named "fed" (RootCommand would take the assembly's name for usage lines).
        var root = new Command("fed", "Federation: a multi-LoRA specialist node with a verified inference router.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Options.Add(CliCommon.Output);
        root.Options.Add(CliCommon.DataDir);
        foreach (var noun in CliNouns.All())
            root.Subcommands.Add(noun);
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns one of <see cref="ExitCodes"/>.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var root = Build();
        var parse = root.Parse(args);
        var config = new InvocationConfiguration
        {
            Output = stdout ?? Console.Out,
            Error = stderr ?? Console.Error,
            EnableDefaultExceptionHandler = false,
        };
        if (parse.Errors.Count > 0)
        {
            var err = stderr ?? Console.Error;
            foreach (var e in parse.Errors)
                err.WriteLine($"fed: {e.Message}");
            err.WriteLine("Run 'fed --help' (or 'fed <noun> --help') to see the usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(config);
        }
        catch (CliException e)
        {
            (stderr ?? Console.Error).WriteLine($"fed: {e.Message}");
            return e.ExitCode;
        }
    }
}
