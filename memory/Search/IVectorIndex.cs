using Federation.Registry;

namespace Federation.Memory.Search;

/// <summary>
/// The vector-index contract behind the stores (docs/memory.md §Search): unit vectors keyed by the store's fragment id,
/// in a namespace (the store's namespace id), with the fragment's CID. <see cref="VectorIndex"/> is the embedded exact
/// default; <see cref="QdrantVectorIndex"/> keeps them in a Qdrant collection. Both rank by dot product (= cosine of unit
/// vectors), score descending, CID ascending.
/// </summary>
public interface IVectorIndex : IDisposable
{
    /// <summary>The vector length.</summary>
    int Dimensions { get; }

    /// <summary>Adds (or keeps) the row <paramref name="id"/>; adding an id twice changes nothing.</summary>
    void Add(long id, int nsId, Cid cid, ReadOnlySpan<float> unit);

    /// <summary>Removes row <paramref name="id"/> (deleted or erased fragment); unknown ids are ignored.</summary>
    void Remove(long id);

    /// <summary>The best <paramref name="n"/> rows in namespaces <paramref name="nsIds"/>: (id, cid, score), score descending, CID ascending.</summary>
    List<(long Id, Cid Cid, float Score)> Search(ReadOnlySpan<float> unitQuery, IReadOnlySet<int> nsIds, int n);
}
