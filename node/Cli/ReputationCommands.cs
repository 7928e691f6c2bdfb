using System.CommandLine;
using Federation.Governance;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed reputation compute --scenario FILE</c> (the §9.9 table of a scenario, for auditors and tests) and
/// <c>fed sim reputation</c> (the documented scenario of docs/reputation.md). The math lives in governance/.
/// </summary>
internal static class ReputationCommands
{
    /// <summary>The <c>reputation</c> noun.</summary>
    public static Command Create()
    {
        var scenario = new Option<string>("--scenario")
        {
            Description = "Scenario JSON: {\"tau\", \"half_life\", \"kappa\", \"C0\", \"gamma\", \"beta\", \"stake0\", \"g_max\", \"w_max\", \"nodes\": {NAME: {\"S\", \"stake\", \"audits\": [[t_a, d_a, o_a], …]}}} ('-' for standard input).",
            Required = true,
        };
        var compute = new Command("compute", "Compute the reputation table (N, C, C_hat, R, weight per node, and the clip theta) of a scenario at its tau.");
        compute.Options.Add(scenario);
        compute.SetAction(p =>
        {
            var path = p.GetValue(scenario)!;
            var text = CliCommon.ReadTextArg(p, path);
            ReputationTable table;
            try
            {
                table = ReputationScenario.Parse(text).Compute();
            }
            catch (ReputationInputException e)
            {
                throw new CliException($"scenario '{path}': {e.Message}. See docs/reputation.md for the scenario format and ranges.", ExitCodes.Usage);
            }
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, ReputationScenario.ToJson(table));
            else p.InvocationConfiguration.Output.Write(ReputationScenario.ToText(table));
            return ExitCodes.Ok;
        });

        var cmd = new Command("reputation", "Per-topic reputation (seed §9.9): decaying evidence, shrunk competence, clipped vote weights.");
        cmd.Subcommands.Add(compute);
        ReputationShowCommands.AddTo(cmd);
        return cmd;
    }

    /// <summary>The <c>sim</c> noun: <c>fed sim reputation</c>.</summary>
    public static Command CreateSim()
    {
        var svg = new Option<string?>("--svg") { Description = "Also write the weight-over-time chart as SVG to this file." };
        var policy = new Option<string?>("--policy") { Description = "Take the knobs from this reputation policy (default: the built-in values, equal to policies/reputation.yaml defaults)." };
        var topic = new Option<string?>("--topic") { Description = "With --policy: the topic whose knobs to use (default: the policy's defaults)." };
        var rep = new Command("reputation", "Run the documented scenario (honest, lazy, a cartel, a newcomer) and print N, C_hat, R and weight per step and node.");
        rep.Options.Add(svg);
        rep.Options.Add(policy);
        rep.Options.Add(topic);
        rep.SetAction(p =>
        {
            var knobs = ReputationSimulation.DefaultKnobs;
            if (p.GetValue(policy) is { } file)
            {
                if (!File.Exists(file)) throw new CliException($"policy file '{file}' does not exist; pass --policy with a readable reputation policy (e.g. policies/reputation.yaml).", ExitCodes.Usage);
                try
                {
                    var parsed = ReputationPolicyLoader.Parse(File.ReadAllBytes(file), file);
                    knobs = p.GetValue(topic) is { } t ? parsed.For(t) : parsed.Defaults;
                }
                catch (ReputationPolicyException e)
                {
                    foreach (var err in e.Errors) CliCommon.WriteError(p, err.ToString());
                    throw new CliException($"reputation policy '{file}' is invalid ({e.Errors.Count} error(s) above); fix them and retry.");
                }
            }
            else if (p.GetValue(topic) is not null)
            {
                throw new CliException("--topic needs --policy FILE (the topic's knobs come from a reputation policy).", ExitCodes.Usage);
            }
            SimResult result;
            try
            {
                result = ReputationSimulation.Run(knobs);
            }
            catch (ReputationInputException e)
            {
                throw new CliException($"the scenario cannot run with these knobs: {e.Message}");
            }
            if (p.GetValue(svg) is { } svgPath) File.WriteAllText(svgPath, ReputationSimulation.ToSvg(result));
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, ReputationSimulation.ToJson(result));
            else p.InvocationConfiguration.Output.Write(ReputationSimulation.ToText(result));
            return ExitCodes.Ok;
        });
        var cmd = new Command("sim", "Deterministic simulations of the federation's mechanisms.");
        cmd.Subcommands.Add(rep);
        return cmd;
    }
}
