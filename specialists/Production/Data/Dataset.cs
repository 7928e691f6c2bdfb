using System.Text;
using Federation.Registry;
using Federation.Registry.Json;
using Federation.Specialists.Engine;
using Federation.Specialists.Training;

namespace Federation.Specialists.Production.Data;

/// <summary>Which part of a dataset an example belongs to: training, or held out for evaluation and acceptance.</summary>
public enum DatasetSplit
{
    Train,
    HeldOut,
}

/// <summary>One question and its reference answer for a topic, in the words a user would type.</summary>
public sealed record TopicExample(string Topic, string Question, string Answer, DatasetSplit Split)
{
    /// <summary>The example as the engine renders it at inference: the plain chat template (user turn) + " " + answer.</summary>
    public TrainingExample ToTrainingExample() =>
        new(ChatTemplate.FormatPlain([new ChatMessage("user", Question)]), " " + Answer);

    /// <summary>Canonical JSON object <c>{"answer","question","split","topic"}</c> (one JSONL line).</summary>
    public JsonObject ToJson() => new()
    {
        ["topic"] = Topic,
        ["question"] = Question,
        ["answer"] = Answer,
        ["split"] = Split == DatasetSplit.Train ? "train" : "heldout",
    };
}

/// <summary>
/// A named, ordered set of examples. Its identity is the CID of its canonical JSONL (one canonical JSON object per
/// line, '\n' after each), so the same examples in the same order give the same CID on every machine.
/// </summary>
public sealed class Dataset
{
    public Dataset(string name, string topic, IReadOnlyList<TopicExample> examples)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Topic = topic;
        Examples = examples;
        Jsonl = BuildJsonl(examples);
        Cid = Cid.Of(Jsonl);
    }

    public string Name { get; }
    public string Topic { get; }
    public IReadOnlyList<TopicExample> Examples { get; }

    /// <summary>The canonical JSONL bytes the <see cref="Cid"/> is taken over.</summary>
    public byte[] Jsonl { get; }

    /// <summary>SHA-256 of <see cref="Jsonl"/>.</summary>
    public Cid Cid { get; }

    public IEnumerable<TopicExample> Train => Examples.Where(e => e.Split == DatasetSplit.Train);
    public IEnumerable<TopicExample> HeldOut => Examples.Where(e => e.Split == DatasetSplit.HeldOut);

    /// <summary>Writes the canonical JSONL to <paramref name="path"/> (temp name, then moved).</summary>
    public void WriteJsonl(string path)
    {
        File.WriteAllBytes(path + ".tmp", Jsonl);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Reads a JSONL file written by <see cref="WriteJsonl"/>; every line must be a well-formed example.</summary>
    /// <exception cref="FormatException">A line is not an example; the message names the line.</exception>
    public static Dataset ReadJsonl(string name, string topic, string path)
    {
        var list = new List<TopicExample>();
        var n = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            n++;
            if (line.Length == 0) continue;
            try
            {
                var o = CanonicalJson.Parse(line).AsObject();
                var split = o["split"].AsString() switch
                {
                    "train" => DatasetSplit.Train,
                    "heldout" => DatasetSplit.HeldOut,
                    var s => throw new FormatException($"split must be \"train\" or \"heldout\", found \"{s}\""),
                };
                list.Add(new TopicExample(o["topic"].AsString(), o["question"].AsString(), o["answer"].AsString(), split));
            }
            catch (Exception e) when (e is FormatException or KeyNotFoundException or InvalidOperationException)
            {
                throw new FormatException($"{path}:{n}: not a dataset example ({{\"answer\",\"question\",\"split\",\"topic\"}}): {e.Message}", e);
            }
        }
        return new Dataset(name, topic, list);
    }

    private static byte[] BuildJsonl(IReadOnlyList<TopicExample> examples)
    {
        using var ms = new MemoryStream();
        foreach (var e in examples)
        {
            ms.Write(CanonicalJson.Serialize(e.ToJson()));
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }
}
