using Federation.Registry.Envelopes;
using Federation.Registry.Ledger;

namespace Federation.Registry.Catalog;

/// <summary>A verified catalog record, where it sits in the ledger, and who produced it.</summary>
public sealed record CatalogEntry(long LedgerIndex, CatalogRecord Record, SignedEnvelope Envelope);

/// <summary>
/// The catalog as the ledger holds it: every <c>catalog.base</c> / <c>catalog.adapter</c> entry whose producer-signed
/// envelope verifies, in ledger order. An entry that does not verify is reported, never listed.
/// </summary>
public static class CatalogIndex
{
    /// <summary>The ledger entry type that records a genesis champion (issue 9: the demo's first champions).</summary>
    public const string GenesisType = "catalog.genesis";

    /// <summary>Appends a signed record to the ledger (entry type = the record's type; payload = the envelope JSON).</summary>
    public static Task<LedgerReceipt> AppendAsync(SqliteLedger ledger, SignedEnvelope record, CancellationToken ct = default) =>
        ledger.AppendAsync(record.Type, record.ToJson(), ct);

    /// <summary>Reads all catalog records from <paramref name="ledger"/>; <paramref name="errors"/> gets each entry that failed verification.</summary>
    public static IReadOnlyList<CatalogEntry> Read(SqliteLedger ledger, List<string>? errors = null)
    {
        var list = new List<CatalogEntry>();
        for (long i = 0; i < ledger.Size; i++)
        {
            var e = ledger.GetEntry(i);
            if (e.Envelope.Type is not (CatalogRecord.BaseType or CatalogRecord.AdapterType)) continue;
            if (!SignedEnvelope.TryFromJson(e.Envelope.Payload, out var env, out var err))
            {
                errors?.Add($"ledger entry {i}: {err}");
                continue;
            }
            if (CatalogRecord.TryOpen(env, out var rec, out err)) list.Add(new CatalogEntry(i, rec, env));
            else errors?.Add($"ledger entry {i}: {err}");
        }
        return list;
    }
}
