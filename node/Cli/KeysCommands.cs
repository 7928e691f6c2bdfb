using System.CommandLine;
using Federation.Node.Auth;

namespace Federation.Node.Cli;

/// <summary><c>fed keys create|list|revoke</c>: API keys for clients and T3 reviewers.</summary>
internal static class KeysCommands
{
    public static Command Create()
    {
        var keys = new Command("keys", "Manage API keys (stored as SHA-256 hashes in the node database).");

        var name = new Option<string>("--name") { Description = "A unique name for the key (who or what uses it).", Required = true };
        var role = new Option<string>("--role") { Description = "client (calls /v1), reviewer (also approves T3 answers) or operator (also drives DIIP: gauntlet, activation, rollback).", DefaultValueFactory = _ => "client" };
        role.AcceptOnlyFromAmong([.. ApiKeyStore.Roles]);
        var create = new Command("create", "Create a key and print it once; it cannot be shown again.") { name, role };
        create.SetAction(p =>
        {
            var store = Open(p);
            var (info, secret) = Wrap(() => store.Create(p.GetValue(name)!, p.GetValue(role)!));
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { id = info.Id, name = info.Name, role = info.Role, key = secret });
            else
            {
                CliCommon.WriteLine(p, secret);
                CliCommon.WriteError(p, $"created {info.Role} key '{info.Name}' ({info.Id}). Store it now: only its hash is kept.");
            }
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List keys (names, roles, ids; never the secrets).");
        list.SetAction(p =>
        {
            var all = Open(p).List();
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, all.Select(k => new { id = k.Id, name = k.Name, role = k.Role, created_at = k.CreatedAt.ToUnixTimeSeconds(), revoked = k.Revoked }));
            else
                foreach (var k in all)
                    CliCommon.WriteLine(p, $"{k.Id}  {k.Name,-20} {k.Role,-9} {k.CreatedAt:u}{(k.Revoked ? "  revoked" : "")}");
            return ExitCodes.Ok;
        });

        var which = new Argument<string>("name-or-id") { Description = "The key's name or id." };
        var revoke = new Command("revoke", "Revoke a key; requests with it get 401 from then on.") { which };
        revoke.SetAction(p =>
        {
            var k = p.GetValue(which)!;
            if (!Open(p).Revoke(k)) throw new CliException($"no active key named or with id '{k}'; see 'fed keys list'");
            CliCommon.WriteLine(p, $"revoked {k}");
            return ExitCodes.Ok;
        });

        keys.Subcommands.Add(create);
        keys.Subcommands.Add(list);
        keys.Subcommands.Add(revoke);
        return keys;
    }

    private static T Wrap<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (ArgumentException e)
        {
            throw new CliException(e.Message, ExitCodes.Usage);
        }
    }

    private static ApiKeyStore Open(ParseResult p)
    {
        var dir = CliCommon.ResolveDataDir(p);
        Directory.CreateDirectory(dir);
        return new ApiKeyStore(new Hosting.DataDirLayout(dir).NodeDb);
    }
}
