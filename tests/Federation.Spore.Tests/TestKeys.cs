using Federation.Canaries.Spore;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Spore.Tests;

internal static class TestKeys
{
    /// <summary>RFC 8032 §7.1 test key 1, the key of the notes' worked examples.</summary>
    public const string Rfc8032Seed1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    public static NodeKey Key1() => NodeKey.FromSeedHex(Rfc8032Seed1);

    public static NodeKey Seeded(byte b)
    {
        var seed = new byte[32];
        Array.Fill(seed, b);
        return NodeKey.FromSeed(seed);
    }

    /// <summary>The §4.3 task.</summary>
    public static TaskManifest ExampleTask() => TaskManifest.Create("doc-example", "Worked example \u2014 not a test vector", "ml_train",
        "python_train_script", "val_bpb", "minimize", "", "", "", 300, 1700000000, Key1());

    /// <summary>The §3.3 record.</summary>
    public static ExperimentRecord ExampleRecord() => ExperimentRecord.Create(new RecordFields
    {
        Parent = null, Depth = 0, CodeCid = "caf026f25d7140209f98072605307a438914b9ce6f3c14b23d15d9667241de52",
        Description = "caf\u00e9", ValBpb = 1.0, PeakVramMb = 0.5, NumSteps = 10, NumParams = 1000, Status = "keep",
        TaskId = "92a44074a30e994cb58a6d4d7b2e340ab27872237156d48209e35c073c8dbf0a", Timestamp = 1700000060, TimeBudget = 300,
    }, Key1());

    public static JsonObject Clone(JsonObject o) => JsonReader.Parse(SporeJson.ToWireString(o)).AsObject();
}
