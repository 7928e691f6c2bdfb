using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Memory.Tests;

/// <summary>
/// tests/vectors/memory/proofs.json: a frozen proof (fixed keys and clock) and mutated copies, each with the reason an
/// independent verifier must give (docs/formats.md §"Memory proofs"). Regenerate with FED_REGEN_VECTORS=1 only when
/// the format changes on purpose.
/// </summary>
public sealed class MemoryProofVectorTests
{
    private static string VectorPath([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "vectors", "memory", "proofs.json"));

    private static async Task<JsonObject> BuildAsync()
    {
        using var t = new TempStore(timeMs: 1_767_225_600_000);
        var frags = new List<SignedFragment>
        {
            Keys.Fragment(Keys.Alice, "topic:physics", "Water boils at 100 degrees Celsius at sea level.", 1_767_225_500_000, new JsonObject { ["source"] = "handbook" }),
            Keys.Fragment(Keys.Alice, "topic:physics", "Light travels at 299792458 m/s in vacuum.", 1_767_225_500_001),
            Keys.Fragment(Keys.Bob, "topic:physics", "The speed of sound in air is about 343 m/s.", 1_767_225_500_002),
            Keys.Fragment(Keys.Bob, "public", "Federation memory proofs are verifiable offline.", 1_767_225_500_003),
            Keys.Fragment(Keys.Alice, "user:alice", "Alice prefers answers in metric units.", 1_767_225_500_004),
        };
        await t.Store.AppendAsync(frags);
        var proof = t.Store.Prove(frags[1].Cid);
        var cases = new JsonArray();
        void Case(string desc, string want, Action<JsonObject> mutate)
        {
            var p = (JsonObject)CanonicalJson.Parse(CanonicalJson.SerializeToString(proof));
            mutate(p);
            cases.Add(new JsonObject { ["desc"] = desc, ["want_error"] = want, ["proof"] = p });
        }
        static string Flip(string hex) => (hex[0] == '0' ? "1" : "0") + hex[1..];
        Case("unchanged proof holds", "ok", _ => { });
        Case("one content byte changed", "fragment_cid_mismatch", p => ((JsonObject)((JsonObject)p["fragment"])["payload"])["content"] = "Light travels at 299792459 m/s in vacuum.");
        Case("metadata added", "fragment_cid_mismatch", p => ((JsonObject)((JsonObject)p["fragment"])["payload"])["metadata"] = new JsonObject { ["x"] = 1 });
        Case("fragment_cid of another fragment", "fragment_cid_mismatch", p => p["fragment_cid"] = frags[0].Cid.ToString());
        Case("contributor signature flipped", "contributor_signature_invalid", p => ((JsonObject)p["fragment"])["signature"] = Flip(((JsonString)((JsonObject)p["fragment"])["signature"]).Value));
        Case("envelope id altered", "envelope_id_mismatch", p => ((JsonObject)p["fragment"])["id"] = Flip(((JsonString)((JsonObject)p["fragment"])["id"]).Value));
        Case("re-signed by a key that is not the author", "author_mismatch", p =>
        {
            var env = SignedEnvelope.FromJson(p["fragment"]);
            p["fragment"] = SignedEnvelope.Seal(env.Type, env.Payload, Keys.Bob).ToJson();
        });
        Case("proof claims another namespace", "namespace_mismatch", p => p["namespace"] = "public");
        Case("wrong namespace root", "namespace_path_invalid", p => p["namespace_root"] = Flip(((JsonString)p["namespace_root"]).Value));
        Case("tampered namespace path", "namespace_path_invalid", p => ((JsonArray)p["path"])[0] = Flip(((JsonString)((JsonArray)p["path"])[0]).Value));
        Case("wrong leaf index", "namespace_path_invalid", p => p["leaf_index"] = 0);
        Case("wrong global root", "global_path_invalid", p => p["global_root"] = Flip(((JsonString)p["global_root"]).Value));
        Case("tampered global path", "global_path_invalid", p => ((JsonArray)p["global_path"])[0] = Flip(((JsonString)((JsonArray)p["global_path"])[0]).Value));
        Case("statement signature flipped", "statement_signature_invalid", p => ((JsonObject)p["statement"])["signature"] = Flip(((JsonString)((JsonObject)p["statement"])["signature"]).Value));
        Case("statement for another root", "statement_mismatch", p => p["statement"] = MemoryRootStatement.Create(new byte[32], 3, 1_767_225_600_000, Keys.Node).Envelope.ToJson());
        Case("statement signed by another node", "statement_signer_unexpected", p =>
        {
            var env = SignedEnvelope.FromJson(p["statement"]);
            p["statement"] = SignedEnvelope.Seal(env.Type, env.Payload, Keys.Bob).ToJson();
        });
        Case("member missing", "malformed", p => p.Remove("global_path"));
        Case("extra member", "malformed", p => p["note"] = "x");
        return new JsonObject
        {
            ["desc"] = "Memory proof vectors (docs/formats.md, Memory proofs). Verify each case's proof with expected statement signer 'signer'; want_error is the reason, 'ok' when it holds.",
            ["signer"] = Keys.Node.NodeId.ToString(),
            ["proof"] = proof,
            ["cases"] = cases,
        };
    }

    [Fact]
    public async Task The_proof_format_is_frozen()
    {
        var built = await BuildAsync();
        if (Environment.GetEnvironmentVariable("FED_REGEN_VECTORS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(VectorPath())!);
            File.WriteAllText(VectorPath(), CanonicalJson.SerializeToString(built) + "\n");
        }
        var frozen = (JsonObject)CanonicalJson.Parse(File.ReadAllText(VectorPath()));
        Assert.Equal(CanonicalJson.SerializeToString(frozen["proof"]), CanonicalJson.SerializeToString(built["proof"]));
        Assert.Equal(CanonicalJson.SerializeToString(frozen), CanonicalJson.SerializeToString(built));
    }

    [Fact]
    public void Every_vector_case_gives_its_reason()
    {
        var doc = (JsonObject)CanonicalJson.Parse(File.ReadAllText(VectorPath()));
        var signer = Registry.Crypto.NodeId.Parse(((JsonString)doc["signer"]).Value);
        var failures = new List<string>();
        var cases = (JsonArray)doc["cases"];
        foreach (JsonObject c in cases)
        {
            var got = new MemoryProofVerifier(signer).Verify(c["proof"]);
            var want = ((JsonString)c["want_error"]).Value;
            if (got.Reason != want) failures.Add($"{((JsonString)c["desc"]).Value}: want {want}, got {got}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(cases.Count >= 15);
    }
}
