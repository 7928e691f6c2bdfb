using Federation.Memory.Storage.Lexical;
using Federation.Registry.Merkle;

namespace Federation.Memory.Storage;

/// <summary>
/// What a fragment's append needs that does not depend on the database: its CID bytes and leaf hash, the canonical
/// bytes of its envelope, and (unless it is a tombstone) its indexed terms and BM25 length. Both stores compute these
/// for a whole batch before taking their write lock, on all cores for a large batch, so the writer only writes.
/// </summary>
internal readonly record struct PreparedFragment(byte[] CidBytes, byte[] LeafHash, byte[] Envelope, Dictionary<string, int>? Terms, int Length)
{
    /// <summary>Batches of at least this many fragments are prepared in parallel.</summary>
    public const int ParallelFrom = 64;

    public static PreparedFragment[] All(IReadOnlyList<SignedFragment> fragments)
    {
        var prepared = new PreparedFragment[fragments.Count];
        void One(int i)
        {
            var sf = fragments[i];
            var cid = sf.Cid.ToArray();
            Dictionary<string, int>? terms = null;
            int len = 0;
            if (sf.Fragment.TombstoneTarget is null) (terms, len) = SqliteLexicalIndex.Terms(sf.Fragment.Content);
            prepared[i] = new PreparedFragment(cid, MerkleHasher.HashLeaf(cid), sf.Envelope.ToCanonicalBytes(), terms, len);
        }
        if (fragments.Count >= ParallelFrom) Parallel.For(0, fragments.Count, One);
        else for (int i = 0; i < fragments.Count; i++) One(i);
        return prepared;
    }
}
