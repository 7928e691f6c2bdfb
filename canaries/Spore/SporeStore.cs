using System.Text;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>
/// Durable store: an append-only JSON-lines log of accepted messages (<c>spore/log.jsonl</c>) plus artifacts as files
/// (<c>spore/artifacts/&lt;sha256&gt;</c>). Loading replays the log through the same receive rules, so the reputation
/// table is recomputed exactly; a torn last line (a crash mid-write) is skipped.
/// </summary>
public sealed class SporeStore
{
    private readonly string _log;
    private readonly string _artifacts;
    private readonly object _gate = new();

    /// <summary>A store under <paramref name="dir"/> (created if missing).</summary>
    public SporeStore(string dir)
    {
        Directory.CreateDirectory(dir);
        Dir = dir;
        _log = Path.Combine(dir, "log.jsonl");
        _artifacts = Path.Combine(dir, "artifacts");
        Directory.CreateDirectory(_artifacts);
    }

    /// <summary>The directory.</summary>
    public string Dir { get; }

    /// <summary>Appends one accepted message.</summary>
    public void Append(SporeMessage m)
    {
        var line = SporeJson.ToWireString(new JsonObject { ["type"] = m.Type ?? "", ["payload"] = m.Payload }) + "\n";
        lock (_gate)
        {
            using var f = new FileStream(_log, FileMode.Append, FileAccess.Write, FileShare.Read);
            var b = Encoding.ASCII.GetBytes(line);
            f.Write(b);
            f.Flush(true);
        }
    }

    /// <summary>Writes an artifact file (its name is its SHA-256, already checked by the caller).</summary>
    public void SaveArtifact(string cid, byte[] bytes)
    {
        var path = Path.Combine(_artifacts, cid);
        if (File.Exists(path)) return;
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Replays the log and artifacts into <paramref name="graph"/>; returns the number of lines applied.</summary>
    public int LoadInto(SporeGraph graph)
    {
        foreach (var f in Directory.EnumerateFiles(_artifacts))
        {
            var name = Path.GetFileName(f);
            if (name.Length == 64) graph.AddArtifact(name, File.ReadAllBytes(f));
        }
        if (!File.Exists(_log)) return 0;
        var n = 0;
        foreach (var line in File.ReadLines(_log))
        {
            if (line.Length == 0) continue;
            SporeMessage m;
            try
            {
                var v = JsonReader.Parse(line).AsObject();
                m = new SporeMessage(v["type"].AsString(), v["payload"].AsObject());
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException)
            {
                continue; // a torn tail: skipped
            }
            try
            {
                var o = m.Type switch
                {
                    MessageTypes.Experiment => graph.ReceiveExperiment(m.Payload),
                    MessageTypes.Task => graph.ReceiveTask(m.Payload),
                    MessageTypes.Profile => graph.ReceiveProfile(m.Payload),
                    _ => graph.ReceiveControl(m.Type!, m.Payload),
                };
                if (o.Stored) n++;
            }
            catch (SporeFormatException)
            {
                // a line this version refuses is skipped, not fatal
            }
        }
        return n;
    }
}
