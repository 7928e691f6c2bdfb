using Federation.Specialists.Models;
using Federation.Specialists.Training;

namespace Federation.Specialists.Production.Data;

/// <summary>
/// The general corpus a base is pre-trained on: the training splits of several datasets, interleaved by weight with a
/// seeded draw. Different bases get different mixes and seeds, which is part of their different lineage (issue 9
/// §Several bases). Held-out examples never enter a base corpus.
/// </summary>
public static class CorpusMix
{
    /// <summary>
    /// <paramref name="count"/> training examples drawn from <paramref name="parts"/> with probability proportional to
    /// each weight, each dataset's training examples taken in a seeded cyclic order.
    /// </summary>
    public static IReadOnlyList<TrainingExample> Build(IReadOnlyList<(Dataset Data, double Weight)> parts, int count, ulong seed)
    {
        if (parts.Count == 0) throw new ArgumentException("a corpus mix needs at least one dataset.", nameof(parts));
        foreach (var (d, w) in parts)
        {
            if (!(w > 0)) throw new ArgumentException($"weight of dataset '{d.Name}' must be positive (got {w}).", nameof(parts));
            if (!d.Train.Any()) throw new ArgumentException($"dataset '{d.Name}' has no training examples.", nameof(parts));
        }
        var rng = new SplitMix64(seed);
        var pools = parts.Select(p => p.Data.Train.Select(e => e.ToTrainingExample()).ToArray()).ToArray();
        var next = new int[pools.Length];
        var total = parts.Sum(p => p.Weight);
        var list = new List<TrainingExample>(count);
        for (var i = 0; i < count; i++)
        {
            var x = rng.NextFloat() * total;
            var k = 0;
            for (; k < parts.Count - 1; k++)
            {
                x -= parts[k].Weight;
                if (x < 0) break;
            }
            list.Add(pools[k][next[k]++ % pools[k].Length]);
        }
        return list;
    }
}
