using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Provenance;

namespace Federation.Specialists.Production.Demo;

/// <summary>A shipped demo build that does not verify (tampered, incomplete, for another recipe, or signed by someone else).</summary>
public sealed class DemoShippingException(string message) : InvalidOperationException(message);

/// <summary>
/// Shipped demo weights (issue 9: "the built weights may also be shipped in the repository with their recipes"). A
/// shipped directory (<c>demo/shipped/&lt;profile&gt;/</c> in the repository) is exactly what <c>fed demo build</c>
/// writes under <c>&lt;data-dir&gt;/demo/&lt;recipe CID&gt;/</c> (demo.json, datasets/, bases/, adapters/ with their
/// signed manifests and loss curves) plus two files: <see cref="ProducerFile"/>, the producer's PUBLIC key (the trust
/// root: it ships with the code), and <see cref="IndexFile"/>, an envelope signed by that key listing every other
/// file's relative path and CID. Installing checks the index signature, every file's CID, that nothing is missing or
/// extra, that the build is for the recipe in the repository, and every manifest signature, in a temp directory next
/// to the target before one move; so a tampered file is refused and nothing half-installed remains.
/// </summary>
public static class DemoShipping
{
    /// <summary>The producer's public key: 64 lowercase hex characters (a node id), one line.</summary>
    public const string ProducerFile = "producer_id";

    /// <summary>The signed file index (envelope of type <see cref="IndexType"/>).</summary>
    public const string IndexFile = "files.json";

    public const string IndexType = "demo.shipped_files";

    /// <summary>True when <paramref name="dir"/> holds a shipped build (its index and producer key).</summary>
    public static bool IsShipped(string? dir) =>
        dir is not null && File.Exists(Path.Combine(dir, IndexFile)) && File.Exists(Path.Combine(dir, ProducerFile));

    /// <summary>The producer key shipped in <paramref name="shippedDir"/>.</summary>
    public static NodeId ReadProducer(string shippedDir)
    {
        var path = Path.Combine(shippedDir, ProducerFile);
        if (!File.Exists(path)) throw new DemoShippingException($"'{path}' is missing: a shipped demo build needs its producer's public key.");
        var text = File.ReadAllText(path).Trim();
        return NodeId.TryParse(text, out var id, out var err) ? id
            : throw new DemoShippingException($"'{path}' is not a producer public key (64 hex characters): {err}");
    }

    /// <summary>
    /// Writes a shipped copy of the build in <paramref name="buildDir"/> to <paramref name="outDir"/> (replaced), with
    /// the public key of <paramref name="producer"/> (the key that signed the build's manifests) and the signed index.
    /// </summary>
    public static void Ship(string buildDir, NodeKey producer, string outDir)
    {
        var fed = DemoFederation.TryLoad(buildDir) ?? throw new DemoShippingException($"'{buildDir}' holds no demo build ({DemoFederation.IndexFile} is missing); run 'fed demo build' first.");
        if (IsShipped(buildDir))
        {
            // an installed shipped build is shipped again as it is, still signed by its original producer
            var original = ReadProducer(buildDir);
            if (Check(buildDir, fed.RecipeCid, original) is { } bad)
                throw new DemoShippingException($"the installed build in '{buildDir}' does not verify ({bad}); it cannot be shipped.");
            CopyTree(buildDir, outDir);
            return;
        }
        if (fed.Verify([producer.NodeId]) is { } problem)
            throw new DemoShippingException($"the build in '{buildDir}' does not verify with this data dir's key ({problem}); ship it with the data dir that built it.");
        var tmp = outDir.TrimEnd('/', '\\') + ".tmp-ship";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        var files = new JsonObject();
        foreach (var rel in ListFiles(buildDir))
        {
            if (rel is IndexFile or ProducerFile) continue;
            var dest = Path.Combine(tmp, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(Path.Combine(buildDir, rel), dest);
            files[rel] = FileCid.Compute(dest).ToString();
        }
        File.WriteAllText(Path.Combine(tmp, ProducerFile), producer.NodeId + "\n");
        var index = SignedEnvelope.Seal(IndexType, new JsonObject { ["recipe"] = fed.RecipeCid.ToString(), ["profile"] = fed.Profile, ["files"] = files }, producer);
        File.WriteAllBytes(Path.Combine(tmp, IndexFile), index.ToCanonicalBytes());
        if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outDir))!);
        Directory.Move(tmp, outDir);
    }

    /// <summary>
    /// Checks a shipped (or installed) directory against the recipe CID and the trusted producer; the first problem,
    /// or null when every file is exactly what the producer signed.
    /// </summary>
    public static string? Check(string dir, Cid recipeCid, NodeId producer)
    {
        var indexPath = Path.Combine(dir, IndexFile);
        if (!File.Exists(indexPath)) return $"'{indexPath}' is missing";
        SignedEnvelope index;
        try { index = SignedEnvelope.Parse(File.ReadAllText(indexPath)); }
        catch (FormatException e) { return $"'{indexPath}' is not a signed envelope: {e.Message}"; }
        if (index.Type != IndexType) return $"'{indexPath}' is a \"{index.Type}\" envelope, expected \"{IndexType}\"";
        var sig = index.Verify();
        if (!sig.IsValid) return $"the file index '{indexPath}' does not verify ({sig}); it was altered after signing";
        if (index.Signer != producer) return $"the file index '{indexPath}' is signed by {index.Signer}, not by the shipped producer {producer}";
        if (index.Payload is not JsonObject p || !p.TryGetValue("files", out var fv) || fv is not JsonObject files || !p.TryGetValue("recipe", out var rv) || rv is not JsonString recipe)
            return $"'{indexPath}' has no files/recipe";
        if (recipe.Value != recipeCid.ToString())
            return $"the shipped build is for recipe {recipe.Value}, but the repository's recipe is {recipeCid} (the recipe changed after the weights were shipped; rebuild and ship again)";
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (rel, cidValue) in files)
        {
            listed.Add(rel);
            if (rel.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(rel)) return $"the file index names '{rel}', outside the build";
            var path = Path.Combine(dir, rel);
            if (!File.Exists(path)) return $"'{path}' is missing";
            var actual = FileCid.Compute(path);
            if (cidValue is not JsonString cs || cs.Value != actual.ToString())
                return $"'{path}' has CID {actual}, but the producer signed {(cidValue as JsonString)?.Value}; the file was altered";
        }
        foreach (var rel in ListFiles(dir))
            if (rel is not (IndexFile or ProducerFile) && !listed.Contains(rel)) return $"'{Path.Combine(dir, rel)}' is not in the signed file index";
        var fed = DemoFederation.TryLoad(dir);
        if (fed is null) return $"'{Path.Combine(dir, DemoFederation.IndexFile)}' is not in the signed file index";
        if (fed.RecipeCid != recipeCid) return $"demo.json names recipe {fed.RecipeCid}, expected {recipeCid}";
        return fed.Verify([producer]);
    }

    /// <summary>
    /// Installs the shipped build in <paramref name="shippedDir"/> as <paramref name="targetDir"/> (which must not
    /// exist): copied to a temp directory next to it, checked there (<see cref="Check"/>), then moved. Throws
    /// <see cref="DemoShippingException"/> with the reason when anything does not verify; then nothing is left behind.
    /// </summary>
    public static DemoFederation Install(string shippedDir, string targetDir, Cid recipeCid)
    {
        var producer = ReadProducer(shippedDir);
        // Checked at the source first (a clear message naming the repository file), then again on the copy (what is used).
        if (Check(shippedDir, recipeCid, producer) is { } bad)
            throw new DemoShippingException($"the shipped demo build in '{shippedDir}' does not verify: {bad}. Nothing was installed; restore the shipped files (git checkout -- {shippedDir}) or delete that directory to build from the recipe.");
        var tmp = targetDir.TrimEnd('/', '\\') + ".tmp-install";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        try
        {
            foreach (var rel in ListFiles(shippedDir))
            {
                var dest = Path.Combine(tmp, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                File.Copy(Path.Combine(shippedDir, rel), dest);
            }
            if (Check(tmp, recipeCid, producer) is { } bad2)
                throw new DemoShippingException($"the copy of the shipped demo build does not verify: {bad2}. Nothing was installed.");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(targetDir))!);
            Directory.Move(tmp, targetDir);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
        return DemoFederation.TryLoad(targetDir)! with { BuildSeconds = 0 };
    }

    /// <summary>Every CID that differs between two builds of the same recipe (datasets, bases, adapters; manifests excluded: they carry the signer's signature).</summary>
    public static List<string> Compare(DemoFederation expected, DemoFederation rebuilt)
    {
        var diffs = new List<string>();
        foreach (var (k, v) in expected.Datasets)
            if (!rebuilt.Datasets.TryGetValue(k, out var w) || w != v) diffs.Add($"datasets/{k}.jsonl: {v} vs rebuilt {w}");
        foreach (var x in expected.Bases)
            if (rebuilt.Bases.FirstOrDefault(y => y.Name == x.Name)?.Cid is var c && c != x.Cid)
                diffs.Add($"{Path.GetRelativePath(expected.Directory, x.Path)}: {x.Cid} vs rebuilt {(c is null ? "(missing)" : c.ToString())}");
        foreach (var x in expected.Adapters)
            if (rebuilt.Adapters.FirstOrDefault(y => y.Name == x.Name)?.Cid is var c && c != x.Cid)
                diffs.Add($"{Path.GetRelativePath(expected.Directory, x.Path)}: {x.Cid} vs rebuilt {(c is null ? "(missing)" : c.ToString())}");
        return diffs;
    }

    private static void CopyTree(string from, string to)
    {
        var tmp = to.TrimEnd('/', '\\') + ".tmp-ship";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        foreach (var rel in ListFiles(from))
        {
            var dest = Path.Combine(tmp, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(Path.Combine(from, rel), dest);
        }
        if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(to))!);
        Directory.Move(tmp, to);
    }

    /// <summary>Relative paths ('/' separated) of every file under <paramref name="dir"/>, in ordinal order.</summary>
    private static List<string> ListFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).ToList();
}
