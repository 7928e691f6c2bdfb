using System.Text;
using Federation.Registry.Envelopes;

namespace Federation.Governance.Diip;

/// <summary>
/// Append-only store of accepted DIIP events: one signed envelope per line, canonical JSON (<c>&lt;data-dir&gt;/diip/events.jsonl</c>).
/// The state is never stored: it is <see cref="DiipBook.Replay"/> of these lines. A final line without its newline is a
/// torn write (crash mid-append): it is ignored on load and cut off before the next append; any other unreadable line is corruption.
/// </summary>
public sealed class DiipEventLog(string path)
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <summary>The log's path inside a node data dir.</summary>
    public static DiipEventLog InDataDir(string dataDir) => new(System.IO.Path.Combine(dataDir, "diip", "events.jsonl"));

    /// <summary>True when the last load dropped a torn final line.</summary>
    public bool DroppedTornTail { get; private set; }

    /// <summary>Reads every complete line as an envelope (not yet verified: replay verifies).</summary>
    /// <exception cref="DiipException">diip.log_corrupt naming the line.</exception>
    public IReadOnlyList<SignedEnvelope> Load()
    {
        DroppedTornTail = false;
        if (!File.Exists(Path)) return [];
        var text = File.ReadAllText(Path, Encoding.UTF8);
        var lines = text.Split('\n');
        var result = new List<SignedEnvelope>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (i == lines.Length - 1)
            {
                // After the last '\n' there is either nothing or a torn, unterminated append.
                if (line.Length > 0) DroppedTornTail = true;
                break;
            }
            if (line.Length == 0) throw new DiipException(DiipErrors.LogCorrupt, $"{Path}:{i + 1}: empty line in the event log");
            try { result.Add(SignedEnvelope.Parse(line)); }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new DiipException(DiipErrors.LogCorrupt, $"{Path}:{i + 1}: not a signed envelope ({e.Message}); restore the log from a backup or the ledger");
            }
        }
        return result;
    }

    /// <summary>Appends one accepted event and flushes it to disk.</summary>
    public void Append(SignedEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        CutTornTail();
        using var f = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = envelope.ToCanonicalBytes();
        f.Write(bytes);
        f.WriteByte((byte)'\n');
        f.Flush(flushToDisk: true);
    }

    private void CutTornTail()
    {
        // A torn append (crash before its '\n') is cut off before the next append, so it never glues onto a new line.
        if (!File.Exists(Path)) return;
        var bytes = File.ReadAllBytes(Path);
        if (bytes.Length == 0 || bytes[^1] == (byte)'\n') return;
        var keep = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        using var f = new FileStream(Path, FileMode.Open, FileAccess.Write);
        f.SetLength(keep);
    }
}
