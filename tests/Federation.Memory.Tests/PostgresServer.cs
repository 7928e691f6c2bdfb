using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Federation.Memory.Tests;

/// <summary>
/// A real PostgreSQL server for the tests: its own cluster in a temp dir (initdb), started with pg_ctl on a free loopback
/// port and stopped (and deleted) after. Runs the server as the <c>postgres</c> OS user when the tests run as root
/// (initdb refuses root). Binaries from <c>pg_config --bindir</c> or /usr/lib/postgresql/*/bin (Debian's
/// <c>postgresql</c> package; its own default cluster need not run). No server binaries = a failure that says so.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _dir;
    private readonly string _bin;
    private readonly bool _asPostgres;
    private int _databases;

    public PostgresServer()
    {
        _bin = FindBinDir() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found via 'pg_config --bindir' or /usr/lib/postgresql/*/bin. "
            + "Install Debian's 'postgresql' package (scripts/test.sh passes it to scripts/setup.sh), then run the tests again.");
        _asPostgres = Environment.UserName == "root";
        // as root the cluster belongs to postgres, which must reach the dir: /tmp, not a private TMPDIR
        _dir = Path.Combine(_asPostgres ? "/tmp" : Path.GetTempPath(), "fed-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        if (_asPostgres) Run("chown", ["postgres:postgres", _dir], asPostgres: false);
        var data = Path.Combine(_dir, "data");
        Run(Path.Combine(_bin, "initdb"), ["-D", data, "-U", "fed", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
        Port = FreePort();
        // Unix sockets in the cluster dir (not /var/run/postgresql, which may not exist); fsync off: test data only.
        Run(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "-o",
            $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"]);
        ConnectionString = $"Host=127.0.0.1;Port={Port};Username=fed;Database=postgres;Pooling=true;Timeout=30;Command Timeout=120";
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A connection string to the maintenance database.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public string NewDatabase()
    {
        var name = $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        using (var c = new NpgsqlConnection(ConnectionString))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    private static string? FindBinDir()
    {
        try
        {
            var psi = new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var dir = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            if (p.ExitCode == 0 && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"))) return dir;
        }
        catch (System.ComponentModel.Win32Exception) { /* no pg_config on PATH: look in Debian's place */ }
        if (!Directory.Exists("/usr/lib/postgresql")) return null;
        return Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => Path.Combine(d, "bin"))
            .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
            .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private void Run(string file, string[] args, bool? asPostgres = null)
    {
        var psi = (asPostgres ?? _asPostgres) ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. args]) : new ProcessStartInfo(file, args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.WorkingDirectory = _dir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new InvalidOperationException($"{file} did not finish in 120 s."); }
        if (p.ExitCode != 0)
        {
            var log = Path.Combine(_dir, "server.log");
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}"
                + (File.Exists(log) ? "\nserver log:\n" + File.ReadAllText(log) : ""));
        }
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        try { Run(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"]); }
        catch (InvalidOperationException) { /* already gone */ }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;
