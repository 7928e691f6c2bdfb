using Federation.Registry;
using Federation.Specialists.Models;

namespace Federation.Node.Diip;

/// <summary>
/// Content-addressed files a DIIP proposal names (candidate weights, bases, training examples):
/// <c>&lt;data-dir&gt;/diip/artifacts/&lt;CID&gt;</c>, plus a candidate's provenance manifest next to it
/// (<c>&lt;CID&gt;.manifest.json</c>). A file is stored under the CID of its bytes, so a name can never point at other bytes.
/// </summary>
public sealed class DiipArtifacts(string dataDir)
{
    /// <summary>The directory.</summary>
    public string Root { get; } = Path.Combine(dataDir, "diip", "artifacts");

    /// <summary>Copies <paramref name="path"/> in (and its provenance manifest, when there is one); returns its CID.</summary>
    public Cid Put(string path)
    {
        Directory.CreateDirectory(Root);
        var cid = FileCid.Compute(path);
        var target = Path.Combine(Root, cid.ToString());
        if (!File.Exists(target))
        {
            File.Copy(path, target + ".tmp", overwrite: true);
            File.Move(target + ".tmp", target, overwrite: true);
        }
        var manifest = Specialists.Production.Provenance.ProvenanceManifest.PathFor(path);
        if (File.Exists(manifest)) File.Copy(manifest, Specialists.Production.Provenance.ProvenanceManifest.PathFor(target), overwrite: true);
        return cid;
    }

    /// <summary>The stored file of <paramref name="cid"/>, or null when it is not here (or its bytes no longer match).</summary>
    public string? Find(string cid)
    {
        if (!Cid.TryParse(cid, out var c)) return null;
        var p = Path.Combine(Root, c.ToString());
        return File.Exists(p) && FileCid.Compute(p) == c ? p : null;
    }
}
