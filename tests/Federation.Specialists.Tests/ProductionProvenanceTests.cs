using Federation.Registry;
using Federation.Registry.Catalog;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using Federation.Specialists.Models;
using Federation.Specialists.Production.Data;
using Federation.Specialists.Production.Provenance;
using Xunit;

namespace Federation.Specialists.Tests;

public sealed class ProductionProvenanceTests
{
    private static ProvenanceManifest Manifest(string gguf, Cid cid) => new("base", "base-a", cid,
        new BaseLineage("own-a", null, 42, [(MathData.Generate(20, 2).Cid, 0.5), (ElementsData.Generate(firstElements: 5).Cid, 0.5)]),
        [MathData.Generate(20, 2).Cid], ProvenanceManifest.ArchitectureOf(gguf), new OperatorInfo("demo-operator", "EU"),
        new Methodology(Cid.Of("recipe"u8), "LlamaOpt", new JsonObject { ["epochs"] = 2, ["seed"] = 1 }));

    [Fact]
    public void A_signed_manifest_verifies_and_reads_back_all_five_axes()
    {
        using var dir = new TempDir();
        using var key = NodeKey.FromSeed(new byte[32]);
        var gguf = dir.File("base.gguf");
        TinyModelFactory.Create("tiny", 1, gguf);
        var cid = FileCid.Compute(gguf);
        var m = Manifest(gguf, cid);
        m.SignAndWrite(key, gguf);
        var check = ManifestVerifier.Verify(gguf, cid, [key.NodeId]);
        Assert.True(check.IsValid, check.Message);
        var back = check.Manifest!;
        Assert.Equal("own-a", back.Lineage.Lineage);
        Assert.Equal(42UL, back.Lineage.Seed);
        Assert.Equal(m.Lineage.CorpusMix, back.Lineage.CorpusMix);
        Assert.Equal(m.TrainingData, back.TrainingData);
        Assert.Equal("llama", back.Architecture["arch"].AsString());
        Assert.Equal("EU", back.Operator.Jurisdiction);
        Assert.Equal(m.Methodology.RecipeCid, back.Methodology.RecipeCid);
    }

    [Fact]
    public void A_tampered_missing_swapped_or_foreign_manifest_is_refused()
    {
        using var dir = new TempDir();
        using var key = NodeKey.FromSeed(new byte[32]);
        using var other = NodeKey.FromSeed(Enumerable.Repeat((byte)7, 32).ToArray());
        var gguf = dir.File("base.gguf");
        TinyModelFactory.Create("tiny", 1, gguf);
        var cid = FileCid.Compute(gguf);

        Assert.Equal(ManifestFailure.Missing, ManifestVerifier.Verify(gguf, cid).Failure);
        Assert.Throws<ManifestRefusedException>(() => ManifestVerifier.Require(gguf, cid));

        Manifest(gguf, cid).SignAndWrite(key, gguf);
        var path = ProvenanceManifest.PathFor(gguf);
        var text = File.ReadAllText(path);
        File.WriteAllText(path, text.Replace("\"EU\"", "\"US\"", StringComparison.Ordinal));
        var tampered = ManifestVerifier.Verify(gguf, cid);
        Assert.Equal(ManifestFailure.SignatureInvalid, tampered.Failure);
        Assert.Contains("altered", tampered.Message, StringComparison.Ordinal);

        File.WriteAllText(path, text);
        Assert.Equal(ManifestFailure.SubjectMismatch, ManifestVerifier.Verify(gguf, Cid.Of("another file"u8)).Failure);
        Assert.Equal(ManifestFailure.UntrustedSigner, ManifestVerifier.Verify(gguf, cid, [other.NodeId]).Failure);
        File.WriteAllText(path, "{not json");
        Assert.Equal(ManifestFailure.Malformed, ManifestVerifier.Verify(gguf, cid).Failure);
    }

    [Fact]
    public async Task Catalog_records_are_signed_ledgered_and_read_back_verified()
    {
        using var dir = new TempDir();
        using var key = NodeKey.FromSeed(new byte[32]);
        await using var ledger = SqliteLedger.Open(dir.File("ledger.db"), key);
        var baseRec = new CatalogRecord(CatalogKind.Base, "base-a", Cid.Of("gguf"u8), null, null, Cid.Of("recipe"u8), Cid.Of("manifest"u8), null);
        var adapterRec = new CatalogRecord(CatalogKind.Adapter, "math-a", Cid.Of("lora"u8), Cid.Of("gguf"u8), "math", Cid.Of("recipe2"u8), Cid.Of("manifest2"u8),
            new JsonObject { ["admitted"] = true });
        await CatalogIndex.AppendAsync(ledger, baseRec.Sign(key));
        await ledger.AppendAsync("other.entry", new JsonObject { ["x"] = 1 });
        await CatalogIndex.AppendAsync(ledger, adapterRec.Sign(key));
        // A forged record (payload changed after signing) is appended too: it must not be listed.
        var forged = adapterRec.Sign(key).ToJson();
        forged["payload"].AsObject()["name"] = "evil";
        await ledger.AppendAsync(CatalogRecord.AdapterType, forged);

        var errors = new List<string>();
        var entries = CatalogIndex.Read(ledger, errors);
        Assert.Equal(2, entries.Count);
        Assert.Equal(baseRec, entries[0].Record);
        Assert.Equal(0, entries[0].LedgerIndex);
        Assert.Equal("math-a", entries[1].Record.Name);
        Assert.Equal(adapterRec.BaseCid, entries[1].Record.BaseCid);
        Assert.Equal(key.NodeId, entries[1].Envelope.Signer);
        var error = Assert.Single(errors);
        Assert.Contains("ledger entry 3", error, StringComparison.Ordinal);
        Assert.Contains("does not verify", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_adapter_record_without_its_base_cannot_be_signed()
    {
        using var key = NodeKey.FromSeed(new byte[32]);
        var rec = new CatalogRecord(CatalogKind.Adapter, "x", Cid.Of("a"u8), null, "math", Cid.Of("r"u8), Cid.Of("m"u8), null);
        Assert.Throws<ArgumentException>(() => rec.Sign(key));
        var env = SignedEnvelope.Seal(CatalogRecord.BaseType, (rec with { Kind = CatalogKind.Adapter }).ToPayload(), key);
        Assert.False(CatalogRecord.TryOpen(env, out _, out var err));
        Assert.Contains("does not match the envelope type", err, StringComparison.Ordinal);
    }
}
