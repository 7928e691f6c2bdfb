using System.Buffers.Binary;
using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>The message types of the catalogue (notes §6.3).</summary>
public static class MessageTypes
{
    /// <summary>An experiment record.</summary>
    public const string Experiment = "experiment";
    /// <summary>A task manifest.</summary>
    public const string Task = "task";
    /// <summary>Records with timestamp &gt;= since.</summary>
    public const string SyncRequest = "sync_request";
    /// <summary>Completion marker of a record sync.</summary>
    public const string SyncResponse = "sync_response";
    /// <summary>Control events with timestamp &gt; since.</summary>
    public const string ControlSyncRequest = "control_sync_request";
    /// <summary>Completion marker of a control sync.</summary>
    public const string ControlSyncResponse = "control_sync_response";
    /// <summary>Manifests with timestamp &gt; since.</summary>
    public const string TaskSyncRequest = "task_sync_request";
    /// <summary>Completion marker of a task sync.</summary>
    public const string TaskSyncResponse = "task_sync_response";
    /// <summary>Asks for dialled addresses.</summary>
    public const string PexRequest = "pex_request";
    /// <summary>Sorted host:port list.</summary>
    public const string PexResponse = "pex_response";
    /// <summary>Asks for an artifact.</summary>
    public const string CodeRequest = "code_request";
    /// <summary>An artifact, base64.</summary>
    public const string CodeResponse = "code_response";
    /// <summary>Ping.</summary>
    public const string Ping = "ping";
    /// <summary>Pong.</summary>
    public const string Pong = "pong";
    /// <summary>A signed profile.</summary>
    public const string Profile = "profile";

    /// <summary>Every type of the catalogue (the four control event types included).</summary>
    public static readonly string[] All =
    [
        Experiment, Task, SyncRequest, SyncResponse, ControlSyncRequest, ControlSyncResponse, TaskSyncRequest, TaskSyncResponse,
        PexRequest, PexResponse, CodeRequest, CodeResponse, Ping, Pong, Profile,
        ControlTypes.Verification, ControlTypes.Challenge, ControlTypes.ChallengeResponse, ControlTypes.Dispute,
    ];
}

/// <summary>One decoded message: its type (null when the envelope's type is missing or not a string) and payload object.</summary>
public sealed record SporeMessage(string? Type, JsonObject Payload)
{
    /// <summary>The frame bytes (length prefix + compact ensure_ascii JSON, keys type then payload).</summary>
    public byte[] ToFrame() => SporeFrame.Encode(Type ?? "", Payload);

    /// <summary>An int field of a request (<c>since</c>), the default when missing; null when present but not a 64-bit integer.</summary>
    public long? GetInt(string key, long fallback = 0) =>
        !Payload.TryGetValue(key, out var v) ? fallback : v is JsonInt i && i.TryGetInt64(out var l) ? l : null;
}

/// <summary>Why a frame could not be read. Every frame error closes the connection (notes §6.2).</summary>
public enum SporeFrameError
{
    /// <summary>The length prefix exceeds the cap (10 MiB); the body is not read.</summary>
    TooLarge,
    /// <summary>The stream ended inside a frame.</summary>
    Truncated,
    /// <summary>The body is not JSON (or not UTF-8).</summary>
    BadJson,
    /// <summary>The envelope or its payload is not a JSON object.</summary>
    NotObject,
}

/// <summary>A frame that cannot be read; the connection must be closed.</summary>
public sealed class SporeFrameException(SporeFrameError error, string message) : IOException(message)
{
    /// <summary>The typed error.</summary>
    public SporeFrameError Error { get; } = error;
}

/// <summary>The frame codec (notes §6.1): 4-byte big-endian length, then that many bytes of UTF-8 JSON.</summary>
public static class SporeFrame
{
    /// <summary>The reference's cap: 10 MiB.</summary>
    public const int MaxBodyBytes = 10 * 1024 * 1024;

    /// <summary>Encodes <c>{"type":…,"payload":…}</c> compactly with ensure_ascii; payload keys keep their insertion order.</summary>
    public static byte[] Encode(string type, JsonObject payload)
    {
        var env = new JsonObject { ["type"] = type, ["payload"] = payload };
        var body = SporeJson.ToWireBytes(env);
        if (body.Length > MaxBodyBytes)
            throw new InvalidOperationException($"a {type} message of {body.Length} bytes exceeds the {MaxBodyBytes}-byte frame cap; send less per message.");
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>Decodes one body into a message (envelope and payload must be objects; a missing payload is <c>{}</c>).</summary>
    public static SporeMessage DecodeBody(ReadOnlySpan<byte> body)
    {
        JsonValue v;
        try
        {
            v = JsonReader.Parse(body);
        }
        catch (Exception e) when (e is JsonParseException or FormatException or OverflowException or InvalidOperationException)
        {
            throw new SporeFrameException(SporeFrameError.BadJson, $"frame body is not valid JSON: {e.Message}");
        }
        if (v is not JsonObject env)
            throw new SporeFrameException(SporeFrameError.NotObject, $"frame envelope must be a JSON object, found a {v.Kind.ToString().ToLowerInvariant()}");
        var type = env.TryGetValue("type", out var t) && t is JsonString ts ? ts.Value : null;
        JsonObject payload;
        if (!env.TryGetValue("payload", out var p)) payload = [];
        else payload = p as JsonObject ?? throw new SporeFrameException(SporeFrameError.NotObject,
            $"frame payload must be a JSON object, found a {p.Kind.ToString().ToLowerInvariant()}");
        return new SporeMessage(type, payload);
    }

    /// <summary>
    /// Tries to decode one frame from the start of <paramref name="buffer"/>: false when more bytes are needed. Throws only
    /// <see cref="SporeFrameException"/>; never allocates more than the (capped) body length.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> buffer, out SporeMessage? message, out int consumed, int maxBodyBytes = MaxBodyBytes)
    {
        message = null;
        consumed = 0;
        if (buffer.Length < 4) return false;
        var n = BinaryPrimitives.ReadUInt32BigEndian(buffer);
        if (n > (uint)maxBodyBytes)
            throw new SporeFrameException(SporeFrameError.TooLarge, $"frame of {n} bytes exceeds the {maxBodyBytes}-byte cap");
        if (buffer.Length - 4 < n) return false;
        message = DecodeBody(buffer.Slice(4, (int)n));
        consumed = 4 + (int)n;
        return true;
    }

    /// <summary>
    /// Reads one frame from <paramref name="stream"/>: null on a clean end of stream before a frame starts. Throws
    /// <see cref="SporeFrameException"/> for oversized, truncated or malformed frames (the caller closes the connection).
    /// </summary>
    public static async Task<SporeMessage?> ReadAsync(Stream stream, CancellationToken ct, int maxBodyBytes = MaxBodyBytes)
    {
        var head = new byte[4];
        var got = await ReadFullyAsync(stream, head, ct);
        if (got == 0) return null;
        if (got < 4) throw new SporeFrameException(SporeFrameError.Truncated, $"stream ended inside a length prefix ({got} of 4 bytes)");
        var n = BinaryPrimitives.ReadUInt32BigEndian(head);
        if (n > (uint)maxBodyBytes)
            throw new SporeFrameException(SporeFrameError.TooLarge, $"frame of {n} bytes exceeds the {maxBodyBytes}-byte cap");
        var body = new byte[n];
        got = await ReadFullyAsync(stream, body, ct);
        if (got < n) throw new SporeFrameException(SporeFrameError.Truncated, $"stream ended inside a frame body ({got} of {n} bytes)");
        return DecodeBody(body);
    }

    private static async Task<int> ReadFullyAsync(Stream s, Memory<byte> buf, CancellationToken ct)
    {
        var total = 0;
        while (total < buf.Length)
        {
            var r = await s.ReadAsync(buf[total..], ct);
            if (r == 0) break;
            total += r;
        }
        return total;
    }
}

/// <summary>Builders for every non-record message of the catalogue (payload shapes of notes §6.3).</summary>
public static class Messages
{
    /// <summary><c>{"type":"ping","payload":{}}</c>.</summary>
    public static SporeMessage Ping() => new(MessageTypes.Ping, []);
    /// <summary>Pong.</summary>
    public static SporeMessage Pong() => new(MessageTypes.Pong, []);
    /// <summary>A request with <c>since</c>.</summary>
    public static SporeMessage SinceRequest(string type, long since) => new(type, new JsonObject { ["since"] = since });
    /// <summary>A completion marker.</summary>
    public static SporeMessage Marker(string type, long since, long count) => new(type, new JsonObject { ["since"] = since, ["count"] = count });
    /// <summary>PEX request.</summary>
    public static SporeMessage PexRequest() => new(MessageTypes.PexRequest, []);
    /// <summary>PEX response (the list is sorted ordinally, as Python's sorted()).</summary>
    public static SporeMessage PexResponse(IEnumerable<string> peers) =>
        new(MessageTypes.PexResponse, new JsonObject { ["peer"] = new JsonArray(peers.Order(StringComparer.Ordinal).Select(p => (JsonValue)p)) });
    /// <summary>Artifact request.</summary>
    public static SporeMessage CodeRequest(string cid) => new(MessageTypes.CodeRequest, new JsonObject { ["code_cid"] = cid });
    /// <summary>Artifact response: standard base64 with padding.</summary>
    public static SporeMessage CodeResponse(string cid, byte[] code) =>
        new(MessageTypes.CodeResponse, new JsonObject { ["code_cid"] = cid, ["code"] = Convert.ToBase64String(code) });
    /// <summary>A record.</summary>
    public static SporeMessage Experiment(ExperimentRecord r) => new(MessageTypes.Experiment, r.Json);
    /// <summary>A manifest.</summary>
    public static SporeMessage Task(TaskManifest t) => new(MessageTypes.Task, t.Json);
    /// <summary>A control event (message type = event type).</summary>
    public static SporeMessage Control(ControlEvent e) => new(e.Type, e.Json);
    /// <summary>A profile.</summary>
    public static SporeMessage Profile(NodeProfile p) => new(MessageTypes.Profile, p.Json);
}
