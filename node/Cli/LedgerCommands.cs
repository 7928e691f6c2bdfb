using System.CommandLine;
using System.Text.Json.Nodes;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using JsonArray = System.Text.Json.Nodes.JsonArray;
using JsonObject = System.Text.Json.Nodes.JsonObject;
using JsonValue = Federation.Registry.Json.JsonValue;
using Federation.Registry.Ledger;
using Federation.Registry.Merkle;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed ledger append|sth|show|prove|consistency|verify</c> over <c>&lt;data-dir&gt;/ledger.db</c>, signed with the node
/// key that <c>fed init</c> creates. Proof output uses the same JSON shapes as <c>fed merkle</c>, so
/// <c>fed merkle verify</c> checks it.
/// </summary>
internal static class LedgerCommands
{
    public static Command Create()
    {
        var cmd = new Command("ledger", "The node's append-only, Merkle-backed log of signed entries.");
        cmd.Subcommands.Add(Append());
        cmd.Subcommands.Add(Sth());
        cmd.Subcommands.Add(Show());
        cmd.Subcommands.Add(Prove());
        cmd.Subcommands.Add(Consistency());
        cmd.Subcommands.Add(Verify());
        return cmd;
    }

    private static Command Append()
    {
        var type = new Option<string>("--type") { Description = "Entry type, e.g. 'operator.note'.", Required = true };
        var json = new Option<string>("--json") { Description = "File holding the JSON payload ('-' for standard input).", Required = true };
        var count = new Option<int>("--count")
        {
            Description = "Append the payload this many times through group commit, printing each receipt as it becomes durable (load and crash tests).",
            DefaultValueFactory = _ => 1,
        };
        var cmd = new Command("append", "Sign a JSON payload with the node key and append it; prints the receipt once it is durable.");
        cmd.Options.Add(type);
        cmd.Options.Add(json);
        cmd.Options.Add(count);
        cmd.SetAction(p => Guard(() =>
        {
            JsonValue payload;
            var text = CliCommon.ReadTextArg(p, p.GetValue(json)!);
            try { payload = CanonicalJson.Parse(text); }
            catch (FormatException e) { throw new CliException($"{p.GetValue(json)}: the payload is not valid JSON: {e.Message}", ExitCodes.Usage); }
            int n = p.GetValue(count);
            if (n < 1) throw new CliException($"--count must be at least 1; got {n}.", ExitCodes.Usage);
            using var ledger = OpenLedger(p, write: true);
            var t = p.GetValue(type)!;
            var output = p.InvocationConfiguration.Output;
            var gate = new object();
            // A bounded window of in-flight appends: the writer commits whatever is queued in one transaction.
            const int Window = 512;
            var inflight = new List<Task>(Window);
            // Run off any caller synchronisation context (tests call the CLI in-process).
            Task.Run(async () =>
            {
            for (int i = 0; i < n; i++)
            {
                inflight.Add(ledger.AppendAsync(t, payload).ContinueWith(task =>
                {
                    var r = task.GetAwaiter().GetResult();
                    lock (gate)
                    {
                        if (CliCommon.IsJson(p))
                            output.WriteLine(new JsonObject { ["index"] = r.Index, ["leaf_hash"] = Convert.ToHexStringLower(r.LeafHash), ["id"] = r.EntryId.ToString() }.ToJsonString());
                        else
                            output.WriteLine($"appended index {r.Index} id {r.EntryId} leaf_hash {Convert.ToHexStringLower(r.LeafHash)}");
                        output.Flush();
                    }
                }, TaskScheduler.Default));
                if (inflight.Count == Window)
                {
                    await Task.WhenAll(inflight).ConfigureAwait(false);
                    inflight.Clear();
                }
            }
            await Task.WhenAll(inflight).ConfigureAwait(false);
            }).GetAwaiter().GetResult();
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Sth()
    {
        var cmd = new Command("sth", "Print the latest signed tree head, signing a new one first when the log has grown since.");
        cmd.SetAction(p => Guard(() =>
        {
            SignedTreeHead? sth;
            bool current;
            using (var reader = OpenLedger(p))
            {
                sth = reader.LatestSth();
                current = sth is not null && sth.TreeSize == reader.Size;
            }
            if (!current || sth is null)
            {
                using var writer = OpenLedger(p, write: true);
                sth = writer.SignTreeHead();
            }
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, sth.ToJson());
            else
            {
                CliCommon.WriteLine(p, $"tree_size {sth.TreeSize}");
                CliCommon.WriteLine(p, $"root      {Convert.ToHexStringLower(sth.Root)}");
                CliCommon.WriteLine(p, $"timestamp {DateTimeOffset.FromUnixTimeMilliseconds(sth.TimestampMs):O} ({sth.TimestampMs})");
                CliCommon.WriteLine(p, $"signer    {sth.Signer}");
                CliCommon.WriteLine(p, $"signature {sth.Envelope.Signature}");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Show()
    {
        var index = new Argument<long>("index") { Description = "Entry index (0-based)." };
        var cmd = new Command("show", "Print entry I: its signed envelope and leaf hash.");
        cmd.Arguments.Add(index);
        cmd.SetAction(p => Guard(() =>
        {
            using var ledger = OpenLedger(p);
            var e = ledger.GetEntry(p.GetValue(index));
            var obj = new JsonObject
            {
                ["index"] = e.Index,
                ["leaf_hash"] = Convert.ToHexStringLower(e.LeafHash),
                ["envelope"] = JsonNode.Parse(e.LeafData),
            };
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, obj);
            else CliCommon.WriteLine(p, obj.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Prove()
    {
        var index = new Argument<long>("index") { Description = "Entry index (0-based)." };
        var size = new Option<long?>("--size") { Description = "Tree size to prove against (default: the whole log)." };
        var cmd = new Command("prove", "Print the inclusion proof of entry I (JSON shape of 'fed merkle prove').");
        cmd.Arguments.Add(index);
        cmd.Options.Add(size);
        cmd.SetAction(p => Guard(() =>
        {
            using var ledger = OpenLedger(p);
            long i = p.GetValue(index), n = p.GetValue(size) ?? ledger.Size;
            var proof = ledger.Prove(i, n);
            MerkleCommands.WriteInclusion(p, proof, ledger.LeafHash(i), ledger.Root(n));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Consistency()
    {
        var m = new Argument<long>("size1") { Description = "Older tree size M." };
        var n = new Argument<long>("size2") { Description = "Newer tree size N (M <= N <= log size)." };
        var cmd = new Command("consistency", "Print the consistency proof between the log's trees of M and N entries.");
        cmd.Arguments.Add(m);
        cmd.Arguments.Add(n);
        cmd.SetAction(p => Guard(() =>
        {
            using var ledger = OpenLedger(p);
            long a = p.GetValue(m), b = p.GetValue(n);
            var proof = ledger.Consistency(a, b);
            MerkleCommands.WriteConsistency(p, proof, ledger.Root(a), ledger.Root(b));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Verify()
    {
        var cmd = new Command("verify", "Re-check every entry's signature, every leaf, the root and the latest STH; exit 3 on any problem.");
        cmd.SetAction(p => Guard(() =>
        {
            using var ledger = OpenLedger(p, write: false, out var nodeId);
            var v = ledger.VerifyAll(nodeId);
            if (CliCommon.IsJson(p))
            {
                var issues = new JsonArray();
                foreach (var i in v.Issues)
                    issues.Add(new JsonObject { ["problem"] = i.Problem.ToString(), ["index"] = i.Index, ["message"] = i.Message });
                CliCommon.WriteJson(p, new JsonObject
                {
                    ["valid"] = v.IsValid,
                    ["tree_size"] = v.TreeSize,
                    ["root"] = Convert.ToHexStringLower(v.Root),
                    ["sth_tree_size"] = v.LatestSth?.TreeSize,
                    ["repaired_on_open"] = ledger.RepairedOnOpen,
                    ["issues"] = issues,
                });
            }
            else if (v.IsValid)
            {
                CliCommon.WriteLine(p, $"ok: {v.TreeSize} entries, root {Convert.ToHexStringLower(v.Root)}, "
                    + (v.LatestSth is { } s ? $"latest STH at size {s.TreeSize} verified" : "no STH signed yet"));
            }
            foreach (var i in v.Issues) CliCommon.WriteError(p, $"fed: {i.Problem}: {i.Message}");
            if (ledger.RepairedOnOpen) CliCommon.WriteError(p, "fed: note: the Merkle nodes disagreed with the entries and were rebuilt from them on open.");
            return v.IsValid ? ExitCodes.Ok : ExitCodes.VerificationFailed;
        }));
        return cmd;
    }

    /// <summary>Loads the node key (failing with the 'fed init' hint) and opens <c>&lt;data-dir&gt;/ledger.db</c>.</summary>
    /// <remarks>Only appending and signing take the single-writer lock; the read verbs open the ledger read-only, so they
    /// also work while <c>fed serve</c> holds it, and still check signatures against this node's key.</remarks>
    private static SqliteLedger OpenLedger(ParseResult p, bool write = false) => OpenLedger(p, write, out _);

    private static SqliteLedger OpenLedger(ParseResult p, bool write, out NodeId nodeId)
    {
        var dataDir = CliCommon.ResolveDataDir(p);
        var store = new NodeKeyStore(dataDir);
        if (!store.Exists)
            throw new CliException($"no node key at {store.KeyPath}; run 'fed init' (with the same --data-dir) to create the node identity first.");
        NodeKey key;
        try { key = store.Load(); }
        catch (NodeKeyStoreException e) { throw new CliException(e.Message); }
        nodeId = key.Id;
        if (!write) key.Dispose();
        try { return SqliteLedger.Open(new Hosting.DataDirLayout(dataDir).LedgerDb, write ? key : null); }
        catch (LedgerLockedException e) { throw new CliException(e.Message); }
    }

    // Range errors are the user's: print the message without the "(Parameter 'x')" tail, as a usage error.
    private static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (ArgumentOutOfRangeException e) { throw new CliException(e.Message.Split(" (Parameter", 2)[0], ExitCodes.Usage); }
        catch (InvalidDataException e) { throw new CliException(e.Message); }
    }
}
