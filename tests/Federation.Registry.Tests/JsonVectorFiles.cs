using System.Text.Json;

namespace Federation.Registry.Tests;

/// <summary>Finds and reads the shared vectors under tests/vectors/ (walks up from the test binaries to the repository).</summary>
internal static class JsonVectorFiles
{
    public static string Directory(string area)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "vectors", area);
            if (System.IO.Directory.Exists(candidate)) return candidate;
            dir = dir.Parent;
        }
        throw new DirectoryNotFoundException($"tests/vectors/{area} not found above {AppContext.BaseDirectory}; run the tests from inside the repository.");
    }

    /// <summary>One vector file of an area as a whole document (read with System.Text.Json).</summary>
    public static JsonElement Document(string area, string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory(area), file)));
        return doc.RootElement.Clone();
    }

    /// <summary>Every case of every *.json file of an area, with its file name (read with System.Text.Json, independent of the code under test).</summary>
    public static IEnumerable<(string File, JsonElement Case)> Cases(string area)
    {
        foreach (var path in System.IO.Directory.GetFiles(Directory(area), "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("cases", out _)) continue; // a whole-document file (e.g. ledger/frozen.json)
            foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
                yield return (Path.GetFileName(path), c.Clone());
        }
    }
}
