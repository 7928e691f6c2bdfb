using System.Security.Cryptography;
using System.Text;
using Federation.Memory;
using Federation.Memory.Storage;
using Federation.Registry.Crypto;

// usage: WriterHost sqlite|postgres TARGET NAMESPACE WRITER COUNT BATCH
// Appends COUNT fragments "WRITER fragment i …" to NAMESPACE in batches of BATCH, each batch its own transaction, and
// prints the number appended. Exit 0 when every fragment got a fresh leaf.
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: WriterHost sqlite|postgres TARGET NAMESPACE WRITER COUNT BATCH");
    return 2;
}
var (kind, target, ns, writer) = (args[0], args[1], args[2], args[3]);
int count = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
int batch = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
using var key = NodeKey.FromSeed(SHA256.HashData(Encoding.UTF8.GetBytes(writer)));
using IMemoryStore store = kind == "postgres"
    ? PostgresMemoryStore.Open(target, null)
    : SqliteMemoryStore.Open(target, null, null, new MemoryStoreOptions { Synchronous = "NORMAL" });
int appended = 0;
for (int i = 0; i < count; i += batch)
{
    var frags = Enumerable.Range(i, Math.Min(batch, count - i))
        .Select(j => SignedFragment.Seal(new Fragment(MemoryNamespace.Parse(ns), $"{writer} fragment {j} about shared logs", [], key.NodeId, 1_767_225_600_000 + j), key))
        .ToList();
    var receipts = await store.AppendAsync(frags);
    appended += receipts.Count(r => !r.Duplicate);
}
Console.WriteLine(appended);
return appended == count ? 0 : 1;
