using System.CommandLine;
using System.Reflection;

namespace Federation.Node.Cli;

internal static class VersionCommand
{
    public static Command Create()
    {
        var cmd = new Command("about", "Print the build's version and runtime.");
        cmd.SetAction(p =>
        {
            var v = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { version = v, runtime = Environment.Version.ToString() });
            else CliCommon.WriteLine(p, $"fed {v} (.NET {Environment.Version})");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
