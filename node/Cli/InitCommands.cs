using System.CommandLine;
using Federation.Registry.Crypto;

namespace Federation.Node.Cli;

/// <summary><c>fed init</c>: creates the data directory and the node's Ed25519 identity (idempotent).</summary>
internal static class InitCommands
{
    public static Command Create()
    {
        var cmd = new Command("init",
            "Create the data directory and this node's identity key (identity/node.key, mode 0600). " +
            "An existing key is kept and reported, never replaced.");
        cmd.SetAction(p =>
        {
            var dataDir = CliCommon.ResolveDataDir(p);
            NodeKey key;
            bool created;
            try
            {
                Directory.CreateDirectory(dataDir);
                (key, created) = new NodeKeyStore(dataDir).LoadOrCreate();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot initialise {dataDir}: {e.Message}");
            }
            using (key)
            {
                if (CliCommon.IsJson(p))
                {
                    CliCommon.WriteJson(p, new Dictionary<string, object>
                    {
                        ["node_id"] = key.NodeId.ToString(),
                        ["data_dir"] = dataDir,
                        ["created"] = created,
                    });
                }
                else
                {
                    CliCommon.WriteLine(p, key.NodeId.ToString());
                    CliCommon.WriteError(p, created
                        ? $"created a new node identity in {dataDir}"
                        : $"kept the existing node identity in {dataDir}");
                }
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
