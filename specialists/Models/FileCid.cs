using System.Security.Cryptography;

namespace Federation.Specialists.Models;

/// <summary>Content identifier of a model or adapter file: lowercase hex SHA-256 of the file's bytes, hashed streaming.</summary>
public static class FileCid
{
    /// <summary>SHA-256 of the file at <paramref name="path"/> as 64 lowercase hex characters.</summary>
    public static string Compute(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }
}
