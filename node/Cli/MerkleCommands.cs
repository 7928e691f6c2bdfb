using System.CommandLine;
using System.Text.Json.Nodes;
using Federation.Registry.Merkle;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed merkle root|prove|consistency|verify</c>: RFC 9162 computations over exported leaf files, for auditors.
/// A leaves file holds one leaf per line as hex of the raw leaf data; an empty line is an empty leaf and the newline
/// that ends the last line adds no leaf.
/// </summary>
internal static class MerkleCommands
{
    public static Command Create()
    {
        var cmd = new Command("merkle", "RFC 9162 Merkle roots and proofs over a leaves file (one hex leaf per line), and proof verification.");
        cmd.Subcommands.Add(Root());
        cmd.Subcommands.Add(Prove());
        cmd.Subcommands.Add(Consistency());
        cmd.Subcommands.Add(Verify());
        return cmd;
    }

    private static Option<string> LeavesOption() => new("--leaves")
    {
        Description = "File with one leaf per line as hex of the raw leaf data ('-' for standard input).",
        Required = true,
    };

    private static Command Root()
    {
        var leaves = LeavesOption();
        var size = new Option<long?>("--size") { Description = "Tree size (default: every leaf in the file)." };
        var cmd = new Command("root", "Print the Merkle tree hash of the first N leaves.");
        cmd.Options.Add(leaves);
        cmd.Options.Add(size);
        cmd.SetAction(p =>
        {
            var tree = Load(p, p.GetValue(leaves)!);
            long n = p.GetValue(size) ?? tree.Size;
            CheckSize(n, tree.Size, "--size");
            var root = tree.Root(n);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, MerkleProofJson.Root(n, root));
            else CliCommon.WriteLine(p, Convert.ToHexStringLower(root));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Prove()
    {
        var leaves = LeavesOption();
        var index = new Option<long>("--index") { Description = "Leaf index (0-based).", Required = true };
        var size = new Option<long>("--size") { Description = "Tree size the proof is against.", Required = true };
        var cmd = new Command("prove", "Print the inclusion proof of leaf I in the tree of the first N leaves.");
        cmd.Options.Add(leaves);
        cmd.Options.Add(index);
        cmd.Options.Add(size);
        cmd.SetAction(p =>
        {
            var tree = Load(p, p.GetValue(leaves)!);
            long n = p.GetValue(size), i = p.GetValue(index);
            CheckSize(n, tree.Size, "--size");
            if (i < 0 || i >= n)
                throw new CliException($"--index {i} is outside the tree of {n} leaves; give 0 <= index < size.", ExitCodes.Usage);
            var proof = tree.ProveInclusion(i, n);
            WriteInclusion(p, proof, tree.LeafHash(i), tree.Root(n));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Consistency()
    {
        var leaves = LeavesOption();
        var from = new Option<long>("--from") { Description = "Old tree size M.", Required = true };
        var to = new Option<long>("--to") { Description = "New tree size N (M <= N).", Required = true };
        var cmd = new Command("consistency", "Print the consistency proof between the trees of the first M and first N leaves.");
        cmd.Options.Add(leaves);
        cmd.Options.Add(from);
        cmd.Options.Add(to);
        cmd.SetAction(p =>
        {
            var tree = Load(p, p.GetValue(leaves)!);
            long m = p.GetValue(from), n = p.GetValue(to);
            CheckSize(n, tree.Size, "--to");
            if (m < 0 || m > n)
                throw new CliException($"--from {m} must be between 0 and --to {n}: a consistency proof goes from an older (smaller) tree to a newer one.", ExitCodes.Usage);
            WriteConsistency(p, tree.ProveConsistency(m, n), tree.Root(m), tree.Root(n));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Verify()
    {
        var proofFile = new Option<string>("--proof")
        {
            Description = "Proof JSON (the output of 'prove' or 'consistency' with --output json; '-' for standard input).",
            Required = true,
        };
        var cmd = new Command("verify", "Verify an inclusion or consistency proof; exit 0 when it holds, 3 when it does not.");
        cmd.Options.Add(proofFile);
        cmd.SetAction(p =>
        {
            var text = CliCommon.ReadTextArg(p, p.GetValue(proofFile)!);
            MerkleProofJson.Document doc;
            try { doc = MerkleProofJson.Parse(text); }
            catch (FormatException e) { throw new CliException($"cannot read the proof: {e.Message}", ExitCodes.Usage); }
            return ReportCheck(p, doc.Inclusion is not null ? "inclusion" : "consistency", MerkleProofJson.Verify(doc));
        });
        return cmd;
    }

    /// <summary>Prints a verification verdict; returns 0 or <see cref="ExitCodes.VerificationFailed"/>.</summary>
    internal static int ReportCheck(ParseResult p, string kind, MerkleCheck check)
    {
        if (CliCommon.IsJson(p))
            CliCommon.WriteJson(p, new JsonObject { ["kind"] = kind, ["valid"] = check.IsValid, ["reason"] = check.Failure.ToString(), ["message"] = check.Message });
        else if (check.IsValid)
            CliCommon.WriteLine(p, $"ok: {kind} proof holds");
        if (!check.IsValid)
            CliCommon.WriteError(p, $"fed: {kind} proof does not hold: {check.Failure}: {check.Message}");
        return check.IsValid ? ExitCodes.Ok : ExitCodes.VerificationFailed;
    }

    internal static void WriteInclusion(ParseResult p, InclusionProof proof, byte[] leafHash, byte[] root)
    {
        if (CliCommon.IsJson(p)) { CliCommon.WriteJson(p, MerkleProofJson.Inclusion(proof, leafHash, root)); return; }
        CliCommon.WriteLine(p, $"leaf_index {proof.LeafIndex}");
        CliCommon.WriteLine(p, $"tree_size  {proof.TreeSize}");
        CliCommon.WriteLine(p, $"leaf_hash  {Convert.ToHexStringLower(leafHash)}");
        CliCommon.WriteLine(p, $"root       {Convert.ToHexStringLower(root)}");
        for (int i = 0; i < proof.Path.Count; i++) CliCommon.WriteLine(p, $"path[{i}]    {Convert.ToHexStringLower(proof.Path[i])}");
    }

    internal static void WriteConsistency(ParseResult p, ConsistencyProof proof, byte[] root1, byte[] root2)
    {
        if (CliCommon.IsJson(p)) { CliCommon.WriteJson(p, MerkleProofJson.Consistency(proof, root1, root2)); return; }
        CliCommon.WriteLine(p, $"size1 {proof.Size1}");
        CliCommon.WriteLine(p, $"size2 {proof.Size2}");
        CliCommon.WriteLine(p, $"root1 {Convert.ToHexStringLower(root1)}");
        CliCommon.WriteLine(p, $"root2 {Convert.ToHexStringLower(root2)}");
        for (int i = 0; i < proof.Path.Count; i++) CliCommon.WriteLine(p, $"path[{i}] {Convert.ToHexStringLower(proof.Path[i])}");
    }

    private static void CheckSize(long n, long available, string option)
    {
        if (n < 0 || n > available)
            throw new CliException($"{option} {n} is outside the leaves file, which holds {available} leaves; give 0 <= size <= {available}.", ExitCodes.Usage);
    }

    private static MerkleTree Load(ParseResult p, string file)
    {
        var tree = new MerkleTree(new InMemoryMerkleNodeStore());
        foreach (var leaf in ParseLeaves(CliCommon.ReadTextArg(p, file), file)) tree.Append(leaf);
        return tree;
    }

    /// <summary>Splits a leaves file: one hex leaf per line, an empty line is an empty leaf, the final newline adds none.</summary>
    internal static List<byte[]> ParseLeaves(string text, string file)
    {
        var leaves = new List<byte[]>();
        if (text.Length == 0) return leaves;
        var lines = text.Split('\n');
        int count = text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (int i = 0; i < count; i++)
        {
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            try { leaves.Add(Convert.FromHexString(line)); }
            catch (FormatException)
            {
                throw new CliException($"{file}:{i + 1}: expected hex of the raw leaf data (an even number of 0-9a-f characters), found \"{(line.Length > 40 ? line[..40] + "…" : line)}\".", ExitCodes.Usage);
            }
        }
        return leaves;
    }
}
