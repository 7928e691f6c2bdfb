using System.CommandLine;
using Federation.Router;

namespace Federation.Node.Cli;

/// <summary><c>fed policy validate FILE</c>: runs the same strict parser as the server.</summary>
internal static class PolicyCommands
{
    public static Command Create()
    {
        var cmd = new Command("policy", "Work with policy files.");
        var file = new Argument<string>("file") { Description = "The routing policy YAML file to check." };
        var validate = new Command("validate", "Check a routing policy; prints every error as file:line:col: message.");
        validate.Arguments.Add(file);
        validate.SetAction(p =>
        {
            var path = p.GetValue(file)!;
            if (!File.Exists(path))
                throw new CliException($"file '{path}' does not exist; give the path of a routing policy YAML file.", ExitCodes.Usage);
            try
            {
                var policy = PolicyLoader.Load(path);
                if (CliCommon.IsJson(p))
                    CliCommon.WriteJson(p, new { valid = true, topics = policy.Topics.Count, specialists = policy.Specialists.Count, cid = policy.Cid });
                else
                    CliCommon.WriteLine(p, $"valid: {policy.Topics.Count} topics, {policy.Specialists.Count} specialists, cid {policy.Cid}");
                return ExitCodes.Ok;
            }
            catch (PolicyException e)
            {
                foreach (var err in e.Errors) CliCommon.WriteError(p, err.ToString());
                if (CliCommon.IsJson(p))
                    CliCommon.WriteJson(p, new { valid = false, errors = e.Errors.Select(x => x.ToString()).ToArray() });
                return ExitCodes.Failure;
            }
        });
        cmd.Subcommands.Add(validate);
        return cmd;
    }
}
