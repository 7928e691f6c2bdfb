using System.CommandLine;
using System.Text;
using Federation.Memory;
using Federation.Memory.Policy;
using Federation.Memory.Storage;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed memory put|import|search|root|prove|verify|export|delete|erase</c> (issue 10) over
/// <c>&lt;data-dir&gt;/memory.db</c>. Writes are signed by the node key (or <c>--key FILE</c>) and checked against
/// <c>policies/memory.yaml</c> as the operator (or as API user <c>--as ID</c>). <c>verify</c> needs no database.
/// </summary>
internal static class MemoryCommands
{
    private const int ImportBatch = 1000;

    private static readonly Option<FileInfo?> PolicyOption = new("--policy")
    {
        Description = "Memory policy YAML (default: policies/memory.yaml above the current directory or next to fed; else the built-in default).",
        Recursive = true,
    };

    private static readonly Option<string?> AsUser = new("--as")
    {
        Description = "Act as this API-key user id instead of the operator (the policy decides what it may do).",
        Recursive = true,
    };

    public static Command Create()
    {
        var cmd = new Command("memory", "Plane H: signed, content-hashed knowledge fragments under one Merkle root.");
        cmd.Options.Add(PolicyOption);
        cmd.Options.Add(AsUser);
        cmd.Subcommands.Add(Put());
        cmd.Subcommands.Add(Import());
        cmd.Subcommands.Add(Search());
        cmd.Subcommands.Add(Root());
        cmd.Subcommands.Add(Prove());
        cmd.Subcommands.Add(Verify());
        cmd.Subcommands.Add(Export());
        cmd.Subcommands.Add(Delete());
        cmd.Subcommands.Add(Erase());
        return cmd;
    }

    private static Option<string> NamespaceOption(bool required) => new("--namespace", "-n")
    {
        Description = "Namespace: user:<id>, topic:<id> or public.",
        Required = required,
    };

    private static Option<FileInfo?> KeyOption() => new("--key")
    {
        Description = "Sign with this Ed25519 seed file (64 hex characters, the node.key format) instead of the node key.",
    };

    private static Command Put()
    {
        var ns = NamespaceOption(true);
        var text = new Option<string?>("--text") { Description = "The fragment's content." };
        var file = new Option<FileInfo?>("--file") { Description = "Read the content from this UTF-8 file ('-' is not accepted; use --text)." };
        var meta = new Option<string?>("--metadata") { Description = "Metadata as a JSON object, e.g. '{\"source\":\"handbook\"}'." };
        var key = KeyOption();
        var cmd = new Command("put", "Sign one fragment with your key and append it to its namespace log.") { ns, text, file, meta, key };
        cmd.SetAction(p => Guard(p, () =>
        {
            if ((p.GetValue(text) is null) == (p.GetValue(file) is null))
                throw new CliException("give exactly one of --text T or --file F.", ExitCodes.Usage);
            string content;
            if (p.GetValue(file) is { } f)
            {
                if (!f.Exists) throw new CliException($"file '{f.FullName}' does not exist.", ExitCodes.Usage);
                content = File.ReadAllText(f.FullName, Encoding.UTF8);
            }
            else content = p.GetValue(text)!;
            var metadata = ParseMetadata(p.GetValue(meta));
            var space = ParseNamespace(p.GetValue(ns)!);
            using var ctx = Open(p, withKey: true);
            using var signer = SignerKey(p, key, ctx);
            var env = SignedFragment.Seal(new Fragment(space, content, metadata, signer.NodeId, Now()), signer).Envelope;
            var r = Run(() => ctx.Service.PutAsync(ctx.Who, [env]))[0];
            WriteReceipt(p, r);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Import()
    {
        var ns = NamespaceOption(true);
        var file = new Argument<FileInfo>("file") { Description = "JSON Lines: {\"content\", \"metadata\"?, \"created_at_ms\"?} per line, or a signed fragment envelope." };
        var key = KeyOption();
        var cmd = new Command("import", "Sign and append every line of a JSON Lines file (progress on stderr).") { ns, file, key };
        cmd.SetAction(p => Guard(p, () =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists) throw new CliException($"file '{path.FullName}' does not exist.", ExitCodes.Usage);
            var space = ParseNamespace(p.GetValue(ns)!);
            using var ctx = Open(p, withKey: true);
            using var signer = SignerKey(p, key, ctx);
            long total = 0, appended = 0, duplicates = 0, lineNo = 0;
            long bytes = path.Length, read = 0;
            var batch = new List<SignedEnvelope>(ImportBatch);
            var err = p.InvocationConfiguration.Error;
            void Flush()
            {
                if (batch.Count == 0) return;
                foreach (var r in Run(() => ctx.Service.PutAsync(ctx.Who, batch)))
                    if (r.Duplicate) duplicates++; else appended++;
                total += batch.Count;
                batch.Clear();
                if (!CliCommon.IsJson(p))
                {
                    int pct = bytes == 0 ? 100 : (int)(100 * read / bytes);
                    err.Write($"\r[{new string('#', pct / 5),-20}] {pct,3}%  {total} fragments");
                }
            }
            foreach (var line in File.ReadLines(path.FullName, Encoding.UTF8))
            {
                lineNo++;
                read += Encoding.UTF8.GetByteCount(line) + 1;
                if (string.IsNullOrWhiteSpace(line)) continue;
                batch.Add(ImportLine(line, lineNo, path.Name, space, signer));
                if (batch.Count == Math.Min(ImportBatch, ctx.Service.Policy.Limits.MaxBatch)) Flush();
            }
            Flush();
            if (!CliCommon.IsJson(p)) err.WriteLine();
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject { ["namespace"] = space.Name, ["lines"] = total, ["appended"] = appended, ["duplicates"] = duplicates }));
            else CliCommon.WriteLine(p, $"imported {appended} fragments into {space.Name} ({duplicates} already present)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static SignedEnvelope ImportLine(string line, long lineNo, string file, MemoryNamespace space, NodeKey signer)
    {
        JsonValue v;
        try { v = CanonicalJson.Parse(line); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new CliException($"{file}:{lineNo}: not JSON: {e.Message}", ExitCodes.Usage);
        }
        if (v is not JsonObject o) throw new CliException($"{file}:{lineNo}: expected a JSON object per line.", ExitCodes.Usage);
        if (o.ContainsKey("signature"))
        {
            if (!SignedEnvelope.TryFromJson(o, out var env, out var error)) throw new CliException($"{file}:{lineNo}: {error}", ExitCodes.Usage);
            if (env.Payload is JsonObject po && po.TryGetValue("namespace", out var n) && n is JsonString s && s.Value != space.Name)
                throw new CliException($"{file}:{lineNo}: the signed fragment is for namespace {s.Value}, not {space.Name}.", ExitCodes.Usage);
            return env;
        }
        foreach (var k in o.Keys)
            if (k is not ("content" or "metadata" or "created_at_ms"))
                throw new CliException($"{file}:{lineNo}: unexpected member \"{k}\"; a line is {{\"content\", \"metadata\"?, \"created_at_ms\"?}} or a signed envelope.", ExitCodes.Usage);
        if (!o.TryGetValue("content", out var c) || c is not JsonString content)
            throw new CliException($"{file}:{lineNo}: \"content\" must be a string.", ExitCodes.Usage);
        var meta = o.TryGetValue("metadata", out var m) ? m as JsonObject ?? throw new CliException($"{file}:{lineNo}: \"metadata\" must be an object.", ExitCodes.Usage) : new JsonObject();
        long t = Now();
        if (o.TryGetValue("created_at_ms", out var tv) && (tv is not JsonInt ti || !ti.TryGetInt64(out t) || t < 0))
            throw new CliException($"{file}:{lineNo}: \"created_at_ms\" must be a non-negative integer.", ExitCodes.Usage);
        return SignedFragment.Seal(new Fragment(space, content.Value, meta, signer.NodeId, t), signer).Envelope;
    }

    private static Command Search()
    {
        var query = new Argument<string>("query") { Description = "Free text." };
        var ns = new Option<string[]>("--namespace", "-n") { Description = "Namespace(s) to search (default: every namespace you may read).", AllowMultipleArgumentsPerToken = false };
        var k = new Option<int>("-k", "--top") { Description = "How many results.", DefaultValueFactory = _ => 10 };
        var cmd = new Command("search", "BM25 search (fused with vector similarity when the node has an embedder); ties broken by CID.") { query, ns, k };
        cmd.SetAction(p => Guard(p, () =>
        {
            using var ctx = Open(p, withKey: false);
            var hits = Run(() => ctx.Service.SearchAsync(ctx.Who, p.GetValue(query)!, p.GetValue(ns) ?? [], p.GetValue(k)));
            if (CliCommon.IsJson(p))
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject { ["query"] = p.GetValue(query)!, ["hits"] = new JsonArray(hits.Select(h => (JsonValue)h.ToJson())) }));
            else
                foreach (var h in hits)
                    CliCommon.WriteLine(p, $"{h.Cid}  {h.Namespace,-24} {h.Score:F5}  {OneLine(h.Content)}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Root()
    {
        var cmd = new Command("root", "Print the signed memory root statement (signing a new one when the memory changed).");
        cmd.SetAction(p => Guard(p, () =>
        {
            using var ctx = Open(p, withKey: true);
            var st = ctx.Store.CurrentStatement();
            var heads = ctx.Store.Heads();
            if (CliCommon.IsJson(p))
            {
                var o = st.ToJson();
                o["heads"] = new JsonArray(heads.Select(h => (JsonValue)new JsonObject { ["namespace"] = h.Namespace, ["root"] = Convert.ToHexStringLower(h.Root), ["size"] = h.Size }));
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(o));
            }
            else
            {
                CliCommon.WriteLine(p, $"global_root {Convert.ToHexStringLower(st.GlobalRoot)}");
                CliCommon.WriteLine(p, $"namespaces  {st.Namespaces}");
                CliCommon.WriteLine(p, $"time        {DateTimeOffset.FromUnixTimeMilliseconds(st.TimeMs):O} ({st.TimeMs})");
                CliCommon.WriteLine(p, $"signer      {st.Envelope.Signer}");
                foreach (var h in heads) CliCommon.WriteLine(p, $"  {h.Namespace,-32} size {h.Size,-8} root {Convert.ToHexStringLower(h.Root)}");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Prove()
    {
        var cid = new Argument<string>("cid") { Description = "The fragment's CID (64 lowercase hex)." };
        var cmd = new Command("prove", "Print the fragment's proof (docs/formats.md, Memory proofs); 'fed memory verify' checks it offline.") { cid };
        cmd.SetAction(p => Guard(p, () =>
        {
            var c = ParseCid(p.GetValue(cid)!);
            using var ctx = Open(p, withKey: true);
            // The proof is a JSON document in both output modes.
            CliCommon.WriteLine(p, CanonicalJson.SerializeToString(ctx.Service.Prove(ctx.Who, c)));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Verify()
    {
        var proof = new Option<string>("--proof") { Description = "The proof file ('-' for standard input).", Required = true };
        var signer = new Option<string?>("--signer") { Description = "Require the root statement to be signed by this node id (hex public key)." };
        var cmd = new Command("verify", "Check a memory proof offline (no database): exit 0 when it holds, 3 with the reason when it does not.") { proof, signer };
        cmd.SetAction(p =>
        {
            var text = CliCommon.ReadTextArg(p, p.GetValue(proof)!);
            NodeId? want = null;
            if (p.GetValue(signer) is { } s)
            {
                if (!NodeId.TryParse(s, out var id, out var error)) throw new CliException($"--signer: {error}", ExitCodes.Usage);
                want = id;
            }
            var check = new MemoryProofVerifier(want).Verify(text);
            if (CliCommon.IsJson(p))
            {
                var o = new JsonObject
                {
                    ["holds"] = check.IsValid,
                    ["reason"] = check.Reason,
                    ["message"] = check.Message,
                    ["erased"] = check.Erased,
                    ["fragment_cid"] = check.FragmentCid?.ToString(),
                    ["namespace"] = check.Namespace,
                    ["statement_signer"] = check.StatementSigner?.ToString(),
                };
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(o));
            }
            else if (check.IsValid) CliCommon.WriteLine(p, $"holds: {check.FragmentCid} in {check.Namespace}{(check.Erased ? " (content erased)" : "")}, statement by {check.StatementSigner}");
            else CliCommon.WriteError(p, $"fed: proof does not hold: {check.Reason}: {check.Message}");
            return check.IsValid ? ExitCodes.Ok : ExitCodes.VerificationFailed;
        });
        return cmd;
    }

    private static Command Export()
    {
        var ns = NamespaceOption(false);
        var cmd = new Command("export", "Write every fragment (log order, with status; erased ones without content) as JSON Lines.") { ns };
        cmd.SetAction(p => Guard(p, () =>
        {
            using var ctx = Open(p, withKey: false);
            string? only = p.GetValue(ns) is { } n ? ParseNamespace(n).Name : null;
            foreach (var f in ctx.Store.Export(only))
            {
                if (ctx.Service.Policy.CheckRead(ctx.Who, MemoryNamespace.Parse(f.Namespace)) is not null) continue;
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(f.ToJson()));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Delete()
    {
        var cid = new Argument<string>("cid") { Description = "The fragment to delete." };
        var key = KeyOption();
        var cmd = new Command("delete", "Append a tombstone signed by your key: the fragment stays provable but is never returned by search.") { cid, key };
        cmd.SetAction(p => Guard(p, () =>
        {
            var c = ParseCid(p.GetValue(cid)!);
            using var ctx = Open(p, withKey: true);
            using var signer = SignerKey(p, key, ctx);
            WriteReceipt(p, Run(() => ctx.Service.DeleteAsync(ctx.Who, c, key: signer)));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Erase()
    {
        var cid = new Argument<string>("cid") { Description = "The fragment whose content to erase." };
        var cmd = new Command("erase", "Remove a fragment's content bytes (privacy); its leaf stays and its proof says erased.") { cid };
        cmd.SetAction(p => Guard(p, () =>
        {
            var c = ParseCid(p.GetValue(cid)!);
            using var ctx = Open(p, withKey: false);
            bool erased = ctx.Service.Erase(ctx.Who, c);
            if (CliCommon.IsJson(p)) CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject { ["fragment_cid"] = c.ToString(), ["erased"] = true, ["already_erased"] = !erased }));
            else CliCommon.WriteLine(p, erased ? $"erased {c}" : $"{c} was already erased");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    // ---------------------------------------------------------------- helpers

    private sealed class Context(IMemoryStore store, MemoryService service, MemoryPrincipal who, NodeKey? nodeKey) : IDisposable
    {
        public IMemoryStore Store { get; } = store;
        public MemoryService Service { get; } = service;
        public MemoryPrincipal Who { get; } = who;
        public NodeKey? NodeKey { get; } = nodeKey;

        public void Dispose()
        {
            Store.Dispose();
            NodeKey?.Dispose();
        }
    }

    private static Context Open(ParseResult p, bool withKey)
    {
        var dataDir = CliCommon.ResolveDataDir(p);
        var policy = LoadPolicy(p);
        NodeKey? key = null;
        var ks = new NodeKeyStore(dataDir);
        if (ks.Exists)
        {
            try { key = ks.Load(); }
            catch (NodeKeyStoreException e) { throw new CliException(e.Message); }
        }
        else if (withKey)
            throw new CliException($"no node key at {ks.KeyPath}; run 'fed init' (with the same --data-dir) to create the node identity first.");
        IMemoryStore store;
        try { store = MemoryStores.Open(dataDir, key); } // <data-dir>/memory.db, or PostgreSQL when configured
        catch (InvalidDataException e) { throw new CliException(e.Message); }
        var who = p.GetValue(AsUser) is { } u
            ? MemoryNamespace.ValidId(u) ? MemoryPrincipal.User(u) : throw new CliException($"--as '{u}' is not a user id (A-Z a-z 0-9 . _ @ -).", ExitCodes.Usage)
            : MemoryPrincipal.Operator;
        return new Context(store, new MemoryService(store, policy, key is null ? null : new CustodialKeyring(key)), who, key);
    }

    private static MemoryPolicy LoadPolicy(ParseResult p)
    {
        string? path = p.GetValue(PolicyOption)?.FullName;
        if (path is null)
            foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            {
                for (var d = new DirectoryInfo(start); d is not null && path is null; d = d.Parent)
                {
                    var candidate = Path.Combine(d.FullName, "policies", "memory.yaml");
                    if (File.Exists(candidate)) path = candidate;
                }
                if (path is not null) break;
            }
        if (path is null) return MemoryPolicy.Default;
        if (!File.Exists(path)) throw new CliException($"--policy: file '{path}' does not exist.", ExitCodes.Usage);
        try { return MemoryPolicyLoader.Load(path); }
        catch (MemoryPolicyException e) { throw new CliException(e.Message, ExitCodes.Usage); }
    }

    private static NodeKey SignerKey(ParseResult p, Option<FileInfo?> keyOption, Context ctx)
    {
        if (p.GetValue(keyOption) is not { } f)
            return NodeKey.FromSeedHex(ctx.NodeKey!.ExportSeedHex()); // a copy: the context disposes its own
        if (!f.Exists) throw new CliException($"--key: file '{f.FullName}' does not exist.", ExitCodes.Usage);
        try { return NodeKey.FromSeedHex(File.ReadAllText(f.FullName, Encoding.ASCII).Trim()); }
        catch (FormatException e) { throw new CliException($"--key {f.FullName}: {e.Message}", ExitCodes.Usage); }
    }

    private static MemoryNamespace ParseNamespace(string s) =>
        MemoryNamespace.TryParse(s, out var ns, out var error) ? ns : throw new CliException("--namespace: " + error, ExitCodes.Usage);

    private static Cid ParseCid(string s) =>
        Cid.TryParse(s, out var c, out var error) ? c : throw new CliException("cid: " + error, ExitCodes.Usage);

    private static JsonObject ParseMetadata(string? text)
    {
        if (text is null) return [];
        try { return CanonicalJson.Parse(text) as JsonObject ?? throw new CliException("--metadata must be a JSON object.", ExitCodes.Usage); }
        catch (FormatException e) { throw new CliException($"--metadata is not JSON: {e.Message}", ExitCodes.Usage); }
    }

    private static void WriteReceipt(ParseResult p, AppendReceipt r)
    {
        if (CliCommon.IsJson(p))
            CliCommon.WriteLine(p, CanonicalJson.SerializeToString(new JsonObject
            {
                ["fragment_cid"] = r.Cid.ToString(), ["namespace"] = r.Namespace, ["leaf_index"] = r.LeafIndex, ["duplicate"] = r.Duplicate,
            }));
        else CliCommon.WriteLine(p, r.Duplicate ? $"{r.Cid} already in {r.Namespace} at leaf {r.LeafIndex}" : $"appended {r.Cid} to {r.Namespace} at leaf {r.LeafIndex}");
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static string OneLine(string s)
    {
        var one = s.ReplaceLineEndings(" ");
        return one.Length > 80 ? one[..77] + "..." : one;
    }

    private static T Run<T>(Func<Task<T>> f) => Task.Run(f).GetAwaiter().GetResult();

    private static int Guard(ParseResult p, Func<int> body)
    {
        _ = p;
        try { return body(); }
        catch (MemoryPolicyRefusedException e) { throw new CliException($"refused by policy rule {e.Refusal.Rule}: {e.Refusal.Message}"); }
        catch (MemoryWriteInvalidException e) { throw new CliException($"invalid signed fragment ({e.Failure}): {e.Message}"); }
        catch (MemoryStoreException e) { throw new CliException($"{e.Code}: {e.Message}"); }
        catch (FormatException e) { throw new CliException(e.Message, ExitCodes.Usage); }
        catch (ArgumentOutOfRangeException e) { throw new CliException(e.Message.Split(" (Parameter", 2)[0], ExitCodes.Usage); }
    }
}
