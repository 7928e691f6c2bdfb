using Federation.Canaries.Spore;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

/// <summary>Walks tests/vectors/spore/records.json (happy path + mutations) and reports every failure at once.</summary>
public class VectorTests
{
    private static string VectorFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var f = Path.Combine(dir.FullName, "tests", "vectors", "spore", "records.json");
            if (File.Exists(f)) return f;
        }
        throw new FileNotFoundException($"tests/vectors/spore/records.json not found above {AppContext.BaseDirectory}; run the tests inside the repository.");
    }

    [Fact]
    public void Record_and_task_vectors_give_the_expected_refusals()
    {
        var doc = JsonReader.Parse(File.ReadAllText(VectorFile())).AsObject();
        var failures = new List<string>();
        var count = 0;
        foreach (var kind in new[] { "record", "task" })
        {
            var section = doc[kind].AsObject();
            foreach (var c in section["cases"].AsArray().Select(x => x.AsObject()))
            {
                count++;
                var o = TestKeys.Clone(section["base"].AsObject());
                if (c.TryGetValue("set", out var set))
                    foreach (var (k, v) in set.AsObject()) o[k] = v;
                if (c.TryGetValue("remove", out var rm))
                    foreach (var k in rm.AsArray()) o.Remove(k.AsString());
                var want = c["want_error"] is JsonString w ? w.Value : null;
                var wantCloses = c.TryGetValue("closes", out var cl) && cl.AsBool();
                SporeRejection? got;
                try
                {
                    got = kind == "record" ? ExperimentRecord.Parse(o).Verify() : TaskManifest.Parse(o).Verify();
                }
                catch (SporeFormatException e)
                {
                    got = e.Rejection;
                }
                if (got?.Code != want || (got?.ClosesConnection ?? false) != wantCloses)
                    failures.Add($"{kind}: {c["desc"].AsString()}: want {want ?? "accepted"} (closes={wantCloses}), got {(got is null ? "accepted" : $"{got.Code} (closes={got.ClosesConnection})")}");
            }
        }
        Assert.True(count >= 25, $"only {count} vectors found");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} vectors failed:\n" + string.Join("\n", failures));
    }
}
