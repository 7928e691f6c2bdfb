using System.Text;

namespace Federation.Registry.Crypto;

/// <summary>A node key file that cannot be used: unreadable, malformed, too widely readable, or inconsistent with <c>node_id</c>.</summary>
public sealed class NodeKeyStoreException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Keeps the node's identity under <c>&lt;dataDir&gt;/identity/</c>: <c>node.key</c> holds the 32-byte seed as 64 lowercase
/// hex characters (mode 0600, directory 0700) and <c>node_id</c> the public key in hex (Spore §1 layout, with our file name).
/// </summary>
/// <remarks>
/// Invariants: a key file is never overwritten; creation is atomic (temporary file, then a rename that fails if another
/// process won the race, in which case that key is used); on Unix a key file readable or writable by group or others is
/// refused rather than silently fixed, so the operator notices the exposure.
/// </remarks>
public sealed class NodeKeyStore
{
    private const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode IdentityDirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>A store rooted at <paramref name="dataDir"/> (nothing is touched until a method is called).</summary>
    public NodeKeyStore(string dataDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        DataDir = Path.GetFullPath(dataDir);
        IdentityDir = Path.Combine(DataDir, "identity");
        KeyPath = Path.Combine(IdentityDir, "node.key");
        NodeIdPath = Path.Combine(IdentityDir, "node_id");
    }

    /// <summary>The data directory.</summary>
    public string DataDir { get; }

    /// <summary><c>&lt;dataDir&gt;/identity</c>.</summary>
    public string IdentityDir { get; }

    /// <summary><c>&lt;dataDir&gt;/identity/node.key</c>: the hex seed.</summary>
    public string KeyPath { get; }

    /// <summary><c>&lt;dataDir&gt;/identity/node_id</c>: the hex public key.</summary>
    public string NodeIdPath { get; }

    /// <summary>Whether a key file exists.</summary>
    public bool Exists => File.Exists(KeyPath);

    /// <summary>Loads the existing key.</summary>
    /// <exception cref="NodeKeyStoreException">Missing, too widely readable, malformed, or inconsistent with <c>node_id</c>.</exception>
    public NodeKey Load()
    {
        if (!File.Exists(KeyPath))
            throw new NodeKeyStoreException($"no node key at {KeyPath}; run 'fed init --data-dir {DataDir}' to create one.");
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(KeyPath);
            if ((mode & GroupOrOther) != 0)
                throw new NodeKeyStoreException(
                    $"node key {KeyPath} has mode {ToOctal(mode)}, readable or writable by group/others; expected 600. " +
                    $"If the key may have leaked, create a new identity; otherwise run 'chmod 600 {KeyPath}'.");
        }
        string text;
        try
        {
            text = File.ReadAllText(KeyPath, Encoding.ASCII);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NodeKeyStoreException($"cannot read node key {KeyPath}: {e.Message}", e);
        }
        NodeKey key;
        try
        {
            key = NodeKey.FromSeedHex(text.Trim());
        }
        catch (FormatException e)
        {
            throw new NodeKeyStoreException($"node key {KeyPath} is malformed: {e.Message} Restore it from a backup.", e);
        }
        if (File.Exists(NodeIdPath))
        {
            var recorded = File.ReadAllText(NodeIdPath, Encoding.ASCII).Trim();
            if (recorded != key.NodeId.ToString())
            {
                key.Dispose();
                throw new NodeKeyStoreException(
                    $"{NodeIdPath} says {recorded} but {KeyPath} derives {key.NodeId}; one of them was replaced. " +
                    "Restore the right key, or delete node_id to have it rewritten from the key.");
            }
        }
        else
        {
            WriteAtomically(NodeIdPath, key.NodeId + "\n", null, overwrite: true);
        }
        return key;
    }

    /// <summary>Creates a new key (from the OS generator unless <paramref name="key"/> is given) and writes both files.</summary>
    /// <exception cref="NodeKeyStoreException">A key file already exists (it is never overwritten).</exception>
    public NodeKey Create(NodeKey? key = null)
    {
        var (k, created) = LoadOrCreateCore(key);
        if (!created)
        {
            k.Dispose();
            throw new NodeKeyStoreException($"a node key already exists at {KeyPath}; it is never overwritten. Use it, or choose another data dir.");
        }
        return k;
    }

    /// <summary>Loads the key, or creates one when none exists. <c>Created</c> says which happened.</summary>
    public (NodeKey Key, bool Created) LoadOrCreate() => LoadOrCreateCore(null);

    private (NodeKey Key, bool Created) LoadOrCreateCore(NodeKey? given)
    {
        if (File.Exists(KeyPath)) return (Load(), false);
        CreateIdentityDir();
        var key = given ?? NodeKey.Generate();
        if (!WriteAtomically(KeyPath, key.ExportSeedHex() + "\n", KeyFileMode, overwrite: false))
        {
            // Another process created the key between our check and our rename: theirs wins.
            if (given is null) key.Dispose();
            return (Load(), false);
        }
        WriteAtomically(NodeIdPath, key.NodeId + "\n", null, overwrite: true);
        return (key, true);
    }

    private void CreateIdentityDir()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(IdentityDir);
            return;
        }
        Directory.CreateDirectory(DataDir);
        var existed = Directory.Exists(IdentityDir);
        Directory.CreateDirectory(IdentityDir, IdentityDirMode);
        if (!existed) File.SetUnixFileMode(IdentityDir, IdentityDirMode); // umask may have narrowed it; set exactly 0700
    }

    /// <summary>Writes via a temporary file in the same directory and a rename; false if <paramref name="overwrite"/> is off and the target exists.</summary>
    private static bool WriteAtomically(string path, string content, UnixFileMode? mode, bool overwrite)
    {
        var tmp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (mode is { } m && !OperatingSystem.IsWindows()) options.UnixCreateMode = m;
        try
        {
            using (var fs = new FileStream(tmp, options))
            {
                fs.Write(Encoding.ASCII.GetBytes(content));
                fs.Flush(flushToDisk: true);
            }
            if (mode is { } m2 && !OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, m2); // exact mode regardless of umask
            try
            {
                File.Move(tmp, path, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(path))
            {
                return false;
            }
            return true;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static string ToOctal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1FF, 8).PadLeft(3, '0');
}
