using System.Text;
using System.Text.Json;
using Federation.Registry.Merkle;

namespace Federation.Registry.Tests.Merkle;

/// <summary>Walks tests/vectors/merkle/*.json (written by generate.py, an independent hashlib reference) and reports every failure.</summary>
public class MerkleVectorTests
{
    internal static string VectorDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "tests", "vectors", "merkle");
            if (Directory.Exists(p)) return p;
        }
        throw new DirectoryNotFoundException($"tests/vectors/merkle not found above {AppContext.BaseDirectory}.");
    }

    private static JsonElement Load(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(VectorDir(), name))).RootElement;

    private static byte[][] LeavesOf(JsonElement doc) => [.. doc.GetProperty("leaves").EnumerateArray().Select(x => Convert.FromHexString(x.GetString()!))];

    private static MerkleTree Tree(byte[][] leaves)
    {
        var t = new MerkleTree(new InMemoryMerkleNodeStore());
        foreach (var l in leaves) t.Append(l);
        return t;
    }

    private static List<byte[]> PathOf(JsonElement c) => [.. c.GetProperty("path").EnumerateArray().Select(x => Convert.FromHexString(x.GetString()!))];

    [Fact]
    public void Rfc6962_test_leaves_give_the_published_roots()
    {
        var doc = Load("rfc6962.json");
        var leaves = doc.GetProperty("leaves").EnumerateArray().Select(x => Convert.FromHexString(x.GetString()!)).ToArray();
        var tree = Tree(leaves);
        foreach (var r in doc.GetProperty("roots").EnumerateArray())
            Assert.Equal(r.GetProperty("root").GetString(), Convert.ToHexStringLower(tree.Root(r.GetProperty("tree_size").GetInt64())));
        // Pasted from an independent python3 hashlib computation (tests/vectors/merkle/generate.py output).
        Assert.Equal("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328", Convert.ToHexStringLower(tree.Root(8)));
        Assert.Equal("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c", Convert.ToHexStringLower(tree.Root(7)));
        Assert.Equal("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", Convert.ToHexStringLower(tree.Root(3)));
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Convert.ToHexStringLower(tree.Root(1)));
    }

    [Fact]
    public void Root_vectors_all_hold()
    {
        var doc = Load("roots.json");
        var tree = Tree(LeavesOf(doc));
        var failures = new StringBuilder();
        foreach (var r in doc.GetProperty("roots").EnumerateArray())
        {
            long n = r.GetProperty("tree_size").GetInt64();
            var got = Convert.ToHexStringLower(tree.Root(n));
            if (got != r.GetProperty("root").GetString()) failures.AppendLine($"size {n}: got {got}, want {r.GetProperty("root").GetString()}");
        }
        Assert.True(failures.Length == 0, failures.ToString());
    }

    [Fact]
    public void Inclusion_vectors_valid_and_tampered_all_give_the_expected_verdict()
    {
        var doc = Load("inclusion.json");
        var tree = Tree(LeavesOf(doc));
        var failures = new StringBuilder();
        int count = 0, errors = 0;
        foreach (var c in doc.GetProperty("cases").EnumerateArray())
        {
            count++;
            long i = c.GetProperty("leaf_index").GetInt64(), n = c.GetProperty("tree_size").GetInt64();
            bool wantError = c.GetProperty("want_error").GetBoolean();
            var path = PathOf(c);
            var check = MerkleVerifier.VerifyInclusion(i, n, Convert.FromHexString(c.GetProperty("leaf_hash").GetString()!), path,
                Convert.FromHexString(c.GetProperty("root").GetString()!));
            if (wantError) errors++;
            if (check.IsValid == wantError)
                failures.AppendLine($"{c.GetProperty("desc").GetString()} (i={i}, n={n}): want_error={wantError}, got {check}");
            if (!wantError)
            {
                var proof = tree.ProveInclusion(i, n);
                if (!proof.Path.Select(Convert.ToHexStringLower).SequenceEqual(path.Select(Convert.ToHexStringLower)))
                    failures.AppendLine($"generated inclusion proof (i={i}, n={n}) differs from the vector");
            }
        }
        Assert.True(failures.Length == 0, failures.ToString());
        Assert.True(count > 500 && errors > 100, $"expected a full vector file; read {count} cases, {errors} tampered");
    }

    [Fact]
    public void Consistency_vectors_valid_and_tampered_all_give_the_expected_verdict()
    {
        var doc = Load("consistency.json");
        var tree = Tree(LeavesOf(doc));
        var failures = new StringBuilder();
        int count = 0, errors = 0;
        foreach (var c in doc.GetProperty("cases").EnumerateArray())
        {
            count++;
            long m = c.GetProperty("size1").GetInt64(), n = c.GetProperty("size2").GetInt64();
            bool wantError = c.GetProperty("want_error").GetBoolean();
            var path = PathOf(c);
            var check = MerkleVerifier.VerifyConsistency(m, n, path, Convert.FromHexString(c.GetProperty("root1").GetString()!),
                Convert.FromHexString(c.GetProperty("root2").GetString()!));
            if (wantError) errors++;
            if (check.IsValid == wantError)
                failures.AppendLine($"{c.GetProperty("desc").GetString()} (m={m}, n={n}): want_error={wantError}, got {check}");
            if (!wantError)
            {
                var proof = tree.ProveConsistency(m, n);
                if (!proof.Path.Select(Convert.ToHexStringLower).SequenceEqual(path.Select(Convert.ToHexStringLower)))
                    failures.AppendLine($"generated consistency proof (m={m}, n={n}) differs from the vector");
            }
        }
        Assert.True(failures.Length == 0, failures.ToString());
        Assert.True(count > 500 && errors > 80, $"expected a full vector file; read {count} cases, {errors} tampered");
    }
}
