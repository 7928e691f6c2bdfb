using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>Settings of a <see cref="SporeNode"/>.</summary>
public sealed record SporeNodeOptions
{
    /// <summary>Where to listen (null: do not listen). Default port of the reference: 7470.</summary>
    public IPEndPoint? Listen { get; init; }
    /// <summary>Configured peers, <c>host:port</c>.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [];
    /// <summary>Allow dialling addresses that are not loopback (off by default: loopback only).</summary>
    public bool AllowNonLoopback { get; init; }
    /// <summary>Where the store lives (null: memory only).</summary>
    public string? DataDir { get; init; }
    /// <summary>How long to wait for a sync completion marker (reference: 30 s).</summary>
    public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Periodic re-dial and re-sync (reference: 120 s); <see cref="Timeout.InfiniteTimeSpan"/> turns it off.</summary>
    public TimeSpan ResyncInterval { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Per code_request (reference: 10 s).</summary>
    public TimeSpan CodeRequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Total per artifact across peers (reference: 60 s).</summary>
    public TimeSpan CodeFetchTotal { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Caps (docs/spore.md, "Bounded memory").</summary>
    public SporeLimits Limits { get; init; } = new();
    /// <summary>Clock for defaults of omitted timestamps.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Own signed profile, announced to each new connection.</summary>
    public NodeProfile? Profile { get; init; }
}

/// <summary>One TCP connection to a peer: an ordered reader and a bounded writer queue (notes §6.2).</summary>
public sealed class SporeConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly Channel<byte[]> _out;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _markers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cts = new();

    internal SporeConnection(TcpClient client, string address, bool outbound, int queueCapacity)
    {
        _client = client;
        _stream = client.GetStream();
        Address = address;
        Outbound = outbound;
        _out = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(queueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary><c>host:port</c> (for inbound connections, the remote ephemeral port).</summary>
    public string Address { get; }
    /// <summary>Whether this node dialled it.</summary>
    public bool Outbound { get; }
    /// <summary>Completed when the connection is closed.</summary>
    public Task Closed => _closed.Task;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CancellationToken Token => _cts.Token;
    internal NetworkStream Stream => _stream;

    /// <summary>Queues a message, waiting for room (replies and own requests).</summary>
    public async Task SendAsync(SporeMessage m, CancellationToken ct = default)
    {
        try
        {
            await _out.Writer.WriteAsync(m.ToFrame(), ct);
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>Queues a message if there is room (gossip); false when dropped.</summary>
    public bool TrySend(SporeMessage m) => _out.Writer.TryWrite(m.ToFrame());

    /// <summary>Sends <paramref name="request"/> and waits for the completion marker <paramref name="markerType"/> (null on timeout).</summary>
    public async Task<JsonObject?> RequestAsync(SporeMessage request, string markerType, TimeSpan timeout, CancellationToken ct = default)
    {
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _markers[markerType] = tcs;
        await SendAsync(request, ct);
        try
        {
            return await tcs.Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _markers.TryRemove(new KeyValuePair<string, TaskCompletionSource<JsonObject>>(markerType, tcs));
        }
    }

    internal void CompleteMarker(string type, JsonObject payload)
    {
        if (_markers.TryGetValue(type, out var t)) t.TrySetResult(payload);
    }

    internal async Task WriterLoopAsync()
    {
        try
        {
            await foreach (var frame in _out.Reader.ReadAllAsync(_cts.Token))
                await _stream.WriteAsync(frame, _cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        Close();
    }

    /// <summary>Closes the connection.</summary>
    public void Dispose() => Close();

    /// <summary>Closes the connection.</summary>
    public void Close()
    {
        if (_closed.Task.IsCompleted) return;
        _out.Writer.TryComplete();
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
        _client.Dispose();
        foreach (var m in _markers.Values) m.TrySetCanceled();
        _closed.TrySetResult();
    }
}

/// <summary>
/// A Spore-compatible peer (notes §6): TCP on loopback by default, gossip, the three syncs with completion markers, PEX,
/// artifact requests, and the receive rules of <see cref="SporeGraph"/>. Nothing a peer sends can crash it: frame and
/// schema errors close that connection only; caps bound memory.
/// </summary>
public sealed class SporeNode : IAsyncDisposable
{
    private readonly SporeNodeOptions _o;
    private readonly SporeGraph _graph;
    private readonly object _gate = new();
    private readonly SporeStore? _store;
    private readonly ConcurrentDictionary<SporeConnection, byte> _conns = new();
    private readonly ConcurrentDictionary<string, byte> _dialled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<byte[]?>> _fetching = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<byte[]>> _codeWaiters = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Peer, SporeRejection Rejection)> _rejections = new();
    private readonly CancellationTokenSource _cts = new();
    private TcpListener? _listener;
    private Task? _acceptLoop;
    private Task? _periodic;

    /// <summary>A node with <paramref name="options"/>; call <see cref="StartAsync"/>.</summary>
    public SporeNode(SporeNodeOptions options)
    {
        _o = options;
        _graph = new SporeGraph(options.Limits, options.Time);
        if (options.DataDir is not null)
        {
            _store = new SporeStore(options.DataDir);
            _store.LoadInto(_graph);
            var kp = Path.Combine(options.DataDir, "known_peers.txt");
            if (File.Exists(kp))
                foreach (var l in File.ReadLines(kp).Take(options.Limits.MaxKnownPeers))
                    if (l.Length > 0) _known[l.Trim()] = 0;
        }
    }

    /// <summary>Diagnostics (one line per event).</summary>
    public event Action<string>? Log;

    /// <summary>The bound listen endpoint (port 0 resolved).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndpoint as IPEndPoint;

    /// <summary>Open connections.</summary>
    public IReadOnlyCollection<SporeConnection> Connections => [.. _conns.Keys];

    /// <summary>The most recent refusals (up to 256), with the peer that sent them.</summary>
    public IReadOnlyList<(string Peer, SporeRejection Rejection)> Rejections => [.. _rejections];

    /// <summary>Runs <paramref name="f"/> on the graph under the node's lock.</summary>
    public T Read<T>(Func<SporeGraph, T> f)
    {
        lock (_gate) return f(_graph);
    }

    /// <summary>Starts listening (if configured), dials configured then known peers, and starts the periodic loop.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (_o.Listen is not null)
        {
            _listener = new TcpListener(_o.Listen);
            _listener.Start();
            _acceptLoop = AcceptLoopAsync();
        }
        foreach (var p in _o.Peers.Concat(_known.Keys).Distinct(StringComparer.Ordinal).ToList())
        {
            try
            {
                await ConnectAsync(p, ct);
            }
            catch (Exception e) when (e is SocketException or IOException or ArgumentException or TimeoutException)
            {
                Log?.Invoke($"spore: could not dial {p}: {e.Message}");
            }
        }
        if (_o.ResyncInterval != Timeout.InfiniteTimeSpan) _periodic = PeriodicAsync();
    }

    /// <summary>Parses <c>host:port</c> and resolves it, refusing non-loopback addresses unless allowed.</summary>
    public IPEndPoint Resolve(string hostPort)
    {
        var i = hostPort.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(hostPort.AsSpan(i + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"peer address \"{hostPort}\" must be host:port (e.g. 127.0.0.1:7470)");
        var host = hostPort[..i];
        IPAddress ip;
        if (host == "localhost") ip = IPAddress.Loopback;
        else if (!IPAddress.TryParse(host, out ip!))
        {
            if (!_o.AllowNonLoopback)
                throw new ArgumentException($"peer \"{hostPort}\" is a host name; only loopback addresses are dialled unless non-loopback peers are allowed (--allow-remote)");
            ip = Dns.GetHostAddresses(host).First();
        }
        if (!IPAddress.IsLoopback(ip) && !_o.AllowNonLoopback)
            throw new ArgumentException($"peer \"{hostPort}\" is not a loopback address; allow non-loopback peers explicitly (--allow-remote) to dial it");
        return new IPEndPoint(ip, port);
    }

    /// <summary>Dials <paramref name="hostPort"/> and runs the start-up exchange of §6.4 (pex, the three syncs, announce).</summary>
    public async Task<SporeConnection> ConnectAsync(string hostPort, CancellationToken ct = default)
    {
        var c = await ConnectRawAsync(hostPort, ct);
        await c.SendAsync(Messages.PexRequest(), ct);
        await SyncAsync(c, 0, ct);
        foreach (var t in Read(g => g.TasksSince(long.MinValue).ToList())) await c.SendAsync(Messages.Task(t), ct);
        if (_o.Profile is not null) await c.SendAsync(Messages.Profile(_o.Profile), ct);
        return c;
    }

    /// <summary>Dials <paramref name="hostPort"/> (loopback rule applies) with no start-up exchange (used by <c>fed spore send</c>).</summary>
    public async Task<SporeConnection> ConnectRawAsync(string hostPort, CancellationToken ct = default)
    {
        var ep = Resolve(hostPort);
        if (_conns.Count >= _o.Limits.MaxConnections) throw new IOException($"connection cap ({_o.Limits.MaxConnections}) reached");
        var client = new TcpClient(ep.AddressFamily);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await client.ConnectAsync(ep, timeout.Token);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        _dialled[hostPort] = 0;
        return Attach(client, hostPort, outbound: true);
    }

    /// <summary>Runs the three syncs on <paramref name="c"/> in order, each waiting for its marker.</summary>
    public async Task SyncAsync(SporeConnection c, long recordsSince, CancellationToken ct = default)
    {
        await c.RequestAsync(Messages.SinceRequest(MessageTypes.SyncRequest, recordsSince), MessageTypes.SyncResponse, _o.SyncTimeout, ct);
        await c.RequestAsync(Messages.SinceRequest(MessageTypes.ControlSyncRequest, Read(g => g.NewestControlTimestamp)), MessageTypes.ControlSyncResponse, _o.SyncTimeout, ct);
        await c.RequestAsync(Messages.SinceRequest(MessageTypes.TaskSyncRequest, Read(g => g.NewestTaskTimestamp)), MessageTypes.TaskSyncResponse, _o.SyncTimeout, ct);
    }

    private SporeConnection Attach(TcpClient client, string address, bool outbound)
    {
        client.NoDelay = true;
        var c = new SporeConnection(client, address, outbound, _o.Limits.SendQueueCapacity);
        _conns[c] = 0;
        _ = c.WriterLoopAsync();
        _ = ReaderLoopAsync(c);
        return c;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener!.AcceptTcpClientAsync(_cts.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (_conns.Count >= _o.Limits.MaxConnections)
            {
                client.Dispose();
                continue;
            }
            var remote = (IPEndPoint)client.Client.RemoteEndPoint!;
            Attach(client, $"{remote.Address}:{remote.Port}", outbound: false);
        }
    }

    private async Task ReaderLoopAsync(SporeConnection c)
    {
        try
        {
            while (true)
            {
                var m = await SporeFrame.ReadAsync(c.Stream, c.Token);
                if (m is null) break;
                await HandleAsync(c, m);
            }
        }
        catch (SporeFrameException e)
        {
            Reject(c, new SporeRejection(SporeReason.NotObject, $"frame error ({e.Error}): {e.Message}", true));
        }
        catch (SporeFormatException e)
        {
            Reject(c, e.Rejection);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        catch (Exception e)
        {
            Log?.Invoke($"spore: closing {c.Address} after an unexpected error: {e.GetType().Name}: {e.Message}");
        }
        c.Close();
        _conns.TryRemove(c, out _);
    }

    private void Reject(SporeConnection c, SporeRejection r)
    {
        _rejections.Enqueue((c.Address, r));
        while (_rejections.Count > 256) _rejections.TryDequeue(out _);
        Log?.Invoke($"spore: {c.Address}: {r}{(r.ClosesConnection ? " (connection closed)" : "")}");
    }

    private async Task HandleAsync(SporeConnection c, SporeMessage m)
    {
        switch (m.Type)
        {
            case MessageTypes.Experiment:
            case MessageTypes.Task:
            case MessageTypes.Profile:
            case ControlTypes.Verification:
            case ControlTypes.Challenge:
            case ControlTypes.ChallengeResponse:
            case ControlTypes.Dispute:
                Receive(c, m);
                break;
            case MessageTypes.SyncRequest:
            {
                if (m.GetInt("since") is not { } since) { Reject(c, BadSince(m)); break; }
                var list = Read(g => g.RecordsSince(since).ToList());
                foreach (var r in list) await c.SendAsync(Messages.Experiment(r), c.Token);
                await c.SendAsync(Messages.Marker(MessageTypes.SyncResponse, since, list.Count), c.Token);
                break;
            }
            case MessageTypes.ControlSyncRequest:
            {
                if (m.GetInt("since") is not { } since) { Reject(c, BadSince(m)); break; }
                var list = Read(g => g.ControlSince(since).ToList());
                foreach (var e in list) await c.SendAsync(Messages.Control(e), c.Token);
                await c.SendAsync(Messages.Marker(MessageTypes.ControlSyncResponse, since, list.Count), c.Token);
                break;
            }
            case MessageTypes.TaskSyncRequest:
            {
                if (m.GetInt("since") is not { } since) { Reject(c, BadSince(m)); break; }
                var list = Read(g => g.TasksSince(since).ToList());
                foreach (var t in list) await c.SendAsync(Messages.Task(t), c.Token);
                await c.SendAsync(Messages.Marker(MessageTypes.TaskSyncResponse, since, list.Count), c.Token);
                break;
            }
            case MessageTypes.SyncResponse:
            case MessageTypes.ControlSyncResponse:
            case MessageTypes.TaskSyncResponse:
                c.CompleteMarker(m.Type, m.Payload);
                break;
            case MessageTypes.PexRequest:
                await c.SendAsync(Messages.PexResponse(_dialled.Keys.Where(a => a != c.Address)), c.Token);
                break;
            case MessageTypes.PexResponse:
                if (m.Payload.TryGetValue("peer", out var peers) && peers is JsonArray arr)
                    foreach (var p in arr.OfType<JsonString>().Select(s => s.Value).Take(_o.Limits.MaxPexAddresses))
                        _ = DialLearnedAsync(p);
                break;
            case MessageTypes.CodeRequest:
                if (m.Payload.TryGetValue("code_cid", out var cidv) && cidv is JsonString cid && Read(g => g.GetArtifact(cid.Value)) is { } code)
                    await c.SendAsync(Messages.CodeResponse(cid.Value, code), c.Token);
                break; // not held: no reply at all (§6.3)
            case MessageTypes.CodeResponse:
                HandleCode(m);
                break;
            case MessageTypes.Ping:
                await c.SendAsync(Messages.Pong(), c.Token);
                break;
            case MessageTypes.Pong:
                c.CompleteMarker(MessageTypes.Pong, m.Payload); // ignored unless our own PingAsync waits for it
                break;
            default:
                break; // pong and unknown types are ignored; the connection stays open
        }
    }

    private static SporeRejection BadSince(SporeMessage m) =>
        new(SporeReason.WrongType, $"{m.Type}.since must be an integer timestamp; the request is ignored");

    private void HandleCode(SporeMessage m)
    {
        if (m.Payload.TryGetValue("code_cid", out var cv) && cv is JsonString cid && m.Payload.TryGetValue("code", out var bv) && bv is JsonString b64)
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(b64.Value);
            }
            catch (FormatException)
            {
                return;
            }
            bool ok;
            lock (_gate) ok = _graph.AddArtifact(cid.Value, bytes);
            if (!ok) return; // hash mismatch or cap: not kept
            _store?.SaveArtifact(cid.Value, bytes);
            if (_codeWaiters.TryGetValue(cid.Value, out var w)) w.TrySetResult(bytes);
        }
    }

    private void Receive(SporeConnection? from, SporeMessage m)
    {
        ReceiveOutcome o;
        lock (_gate)
        {
            o = m.Type switch
            {
                MessageTypes.Experiment => _graph.ReceiveExperiment(m.Payload),
                MessageTypes.Task => _graph.ReceiveTask(m.Payload),
                MessageTypes.Profile => _graph.ReceiveProfile(m.Payload),
                _ => _graph.ReceiveControl(m.Type!, m.Payload),
            };
        }
        if (o.Rejection is { Reason: not SporeReason.Duplicate } r && from is not null) Reject(from, r);
        if (o.Stored)
        {
            _store?.Append(m);
            if (m.Type == MessageTypes.Experiment && from is not null)
            {
                var cid = m.Payload["code_cid"].AsString();
                if (cid.Length == 64 && !Read(g => g.HasArtifact(cid))) _ = FetchArtifactAsync(cid, from);
            }
        }
        if (o.Regossip) Gossip(m, from);
    }

    private void Gossip(SporeMessage m, SporeConnection? except)
    {
        foreach (var c in _conns.Keys)
            if (c != except && !c.TrySend(m)) Log?.Invoke($"spore: send queue of {c.Address} is full; gossip dropped");
    }

    private async Task DialLearnedAsync(string hostPort)
    {
        if (_conns.Keys.Any(c => c.Address == hostPort)) return;
        if (LocalEndPoint is { } me && hostPort == $"{me.Address}:{me.Port}") return;
        try
        {
            await ConnectAsync(hostPort, _cts.Token);
            if (_known.Count < _o.Limits.MaxKnownPeers && _known.TryAdd(hostPort, 0)) SaveKnown();
        }
        catch (Exception e) when (e is SocketException or IOException or ArgumentException or OperationCanceledException)
        {
            Log?.Invoke($"spore: learned peer {hostPort} not dialled: {e.Message}");
        }
    }

    private void SaveKnown()
    {
        if (_o.DataDir is null) return;
        File.WriteAllLines(Path.Combine(_o.DataDir, "known_peers.txt"), _known.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Gets an artifact: held, or asked of <paramref name="first"/> then the other peers, one at a time (§6.6).</summary>
    public Task<byte[]?> FetchArtifactAsync(string cid, SporeConnection? first = null)
    {
        if (Read(g => g.GetArtifact(cid)) is { } held) return Task.FromResult<byte[]?>(held);
        return _fetching.GetOrAdd(cid, _ => FetchCoreAsync(cid, first));
    }

    private async Task<byte[]?> FetchCoreAsync(string cid, SporeConnection? first)
    {
        try
        {
            var deadline = DateTime.UtcNow + _o.CodeFetchTotal;
            var order = (first is null ? [] : new[] { first }).Concat(_conns.Keys.Where(c => c != first)).ToList();
            foreach (var c in order)
            {
                if (DateTime.UtcNow >= deadline) break;
                var tcs = _codeWaiters.GetOrAdd(cid, _ => new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously));
                await c.SendAsync(Messages.CodeRequest(cid), _cts.Token);
                try
                {
                    return await tcs.Task.WaitAsync(_o.CodeRequestTimeout, _cts.Token);
                }
                catch (TimeoutException)
                {
                }
            }
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            _codeWaiters.TryRemove(cid, out _);
            _fetching.TryRemove(cid, out _);
        }
    }

    /// <summary>Publishes an own item: applies the receive rules locally (refusal returned), stores it and gossips it.</summary>
    public SporeRejection? Publish(SporeMessage m)
    {
        ReceiveOutcome o;
        lock (_gate)
        {
            o = m.Type switch
            {
                MessageTypes.Experiment => _graph.ReceiveExperiment(m.Payload),
                MessageTypes.Task => _graph.ReceiveTask(m.Payload),
                MessageTypes.Profile => _graph.ReceiveProfile(m.Payload),
                _ => _graph.ReceiveControl(m.Type!, m.Payload),
            };
        }
        if (o.Stored) _store?.Append(m);
        if (o.Regossip) Gossip(m, null);
        return o.Rejection;
    }

    /// <summary>Holds an artifact (returns its SHA-256 CID) so peers can fetch it.</summary>
    public string AddArtifact(byte[] bytes)
    {
        var cid = SporeJson.Sha256Hex(bytes);
        lock (_gate)
        {
            if (!_graph.AddArtifact(cid, bytes)) throw new InvalidOperationException("artifact cap reached; raise SporeLimits.MaxArtifactBytes");
        }
        _store?.SaveArtifact(cid, bytes);
        return cid;
    }

    private async Task PeriodicAsync()
    {
        using var timer = new PeriodicTimer(_o.ResyncInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_cts.Token))
            {
                foreach (var p in _o.Peers.Concat(_known.Keys).Distinct(StringComparer.Ordinal).ToList())
                    if (!_conns.Keys.Any(c => c.Address == p)) _ = DialLearnedAsync(p);
                var since = Read(g => g.NewestRecordTimestamp);
                await Task.WhenAll(_conns.Keys.Select(async c =>
                {
                    try
                    {
                        await c.SendAsync(Messages.PexRequest(), _cts.Token);
                        await SyncAsync(c, since, _cts.Token);
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
                    {
                        c.Close();
                    }
                }));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sends ping and waits for pong on <paramref name="c"/>: everything sent before has then been handled (§6.2).</summary>
    public static async Task PingAsync(SporeConnection c, TimeSpan timeout, CancellationToken ct = default)
    {
        // A pong is not a marker in the reference, but waiting for it is how a sender knows its frames were handled.
        await c.RequestAsync(Messages.Ping(), MessageTypes.Pong, timeout, ct);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener?.Stop();
        foreach (var c in _conns.Keys) c.Close();
        if (_acceptLoop is not null) await _acceptLoop;
        if (_periodic is not null) await _periodic;
        _cts.Dispose();
    }
}
