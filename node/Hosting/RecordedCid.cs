namespace Federation.Node.Hosting;

/// <summary>
/// The CID a model or adapter file had when this node first used it, kept beside the file as <c>FILE.cid</c>
/// (64 lowercase hex digits and a newline). Every later load compares the file's CID with it, so a bit flip that still
/// parses as GGUF is refused like a truncated file instead of loading silently under a new CID (issue 8). The signed
/// catalog records of the production line (issue 9) are to replace this local record.
/// </summary>
public static class RecordedCid
{
    /// <summary>
    /// Records <paramref name="cid"/> for <paramref name="path"/> the first time; afterwards throws
    /// <see cref="InvalidDataException"/> when the file's CID differs from the recorded one.
    /// </summary>
    public static void Check(string path, string cid)
    {
        var record = path + ".cid";
        if (!File.Exists(record))
        {
            // Written to a temp name and moved, like the model files, so a crash never leaves a partial record.
            File.WriteAllText(record + ".tmp", cid + "\n");
            File.Move(record + ".tmp", record, overwrite: true);
            return;
        }
        var recorded = File.ReadAllText(record).Trim();
        if (!string.Equals(recorded, cid, StringComparison.Ordinal))
            throw new InvalidDataException(
                $"{path}: the file's CID is {cid}, but {record} records {recorded}: the file changed since this node first " +
                "loaded it (corruption or tampering). Restore the original file, or delete both the file and its .cid record " +
                "to let the node rebuild the embedded default.");
    }
}
