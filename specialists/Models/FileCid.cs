using System.Security.Cryptography;
using Federation.Registry;

namespace Federation.Specialists.Models;

/// <summary>Content identifier of a model or adapter file: the registry's <see cref="Cid"/> (SHA-256) of the file's bytes, hashed streaming.</summary>
public static class FileCid
{
    /// <summary>SHA-256 of the file at <paramref name="path"/> (its text form is 64 lowercase hex characters).</summary>
    public static Cid Compute(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return new Cid(SHA256.HashData(fs));
    }
}
