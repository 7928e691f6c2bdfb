namespace Federation.Node.Tests;

/// <summary>Runs <c>fed</c> in-process through <see cref="FedCli.Run"/>, capturing stdout and stderr.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Fed(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = FedCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
