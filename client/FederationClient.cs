using System.Net.Http.Headers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;
using Microsoft.Extensions.AI;

namespace Federation.Client;

/// <summary>
/// A Federation node as a Microsoft.Extensions.AI <see cref="IChatClient"/> and
/// <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/>, over the node's OpenAI-compatible HTTP API (docs/api.md),
/// plus local verification of the ledger receipt of every answer (docs/client.md).
/// </summary>
/// <remarks>
/// Every <see cref="ChatResponse"/> (and the stream update with the finish reason) carries the node's <c>federation</c>
/// object as a <see cref="FederationInfo"/> in <c>AdditionalProperties["federation"]</c>; read it with
/// <see cref="FederationExtensions.GetFederation(ChatResponse)"/>. Thread-safe; one instance per node.
/// </remarks>
public sealed class FederationClient : IChatClient, IEmbeddingGenerator<string, Embedding<float>>
{
    private const string ProviderName = "federation";
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _base;
    private readonly FederationClientOptions _options;
    private readonly NodeId? _pinned;
    private NodeId? _fetchedKey;

    /// <summary>A client for the node at <see cref="FederationClientOptions.Endpoint"/>.</summary>
    /// <param name="options">Endpoint, API key, default model and trusted node key.</param>
    /// <param name="httpClient">The HTTP client to use (not disposed by this client); null for a private one.</param>
    /// <exception cref="ArgumentException"><see cref="FederationClientOptions.NodeKey"/> is not a node id.</exception>
    public FederationClient(FederationClientOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Endpoint);
        _options = options;
        var root = options.Endpoint.AbsoluteUri.TrimEnd('/');
        if (root.EndsWith("/v1", StringComparison.Ordinal)) root = root[..^3];
        _base = new Uri(root + "/");
        if (options.NodeKey is not null)
        {
            if (!NodeId.TryParse(options.NodeKey, out var id, out var error))
                throw new ArgumentException($"FederationClientOptions.NodeKey must be the node id (64 lowercase hex characters, see <data-dir>/identity/node_id): {error}", nameof(options));
            _pinned = id;
        }
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient();
        Metadata = new ChatClientMetadata(ProviderName, _base, options.Model);
        EmbeddingMetadata = new EmbeddingGeneratorMetadata(ProviderName, _base, options.Model);
    }

    /// <summary>Describes this client (provider <c>federation</c>, the node address, the default model).</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>Describes the embedding side of this client.</summary>
    public EmbeddingGeneratorMetadata EmbeddingMetadata { get; }

    // ---------------------------------------------------------------- chat

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var request = Post("v1/chat/completions", ChatRequestBody(messages, options, stream: false));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw Error(response, body);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var choice = root.GetProperty("choices")[0];
        var message = choice.GetProperty("message");
        var contents = new List<AIContent>();
        if (message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
            contents.Add(new TextContent(c.GetString()));
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            foreach (var call in calls.EnumerateArray()) contents.Add(FunctionCall(call));
        var chatMessage = new ChatMessage(ChatRole.Assistant, contents);
        var result = new ChatResponse(chatMessage)
        {
            ResponseId = Str(root, "id"),
            ModelId = Str(root, "model"),
            CreatedAt = root.TryGetProperty("created", out var cr) && cr.TryGetInt64(out var secs) ? DateTimeOffset.FromUnixTimeSeconds(secs) : null,
            FinishReason = Finish(Str(choice, "finish_reason")),
            Usage = root.TryGetProperty("usage", out var u) ? Usage(u) : null,
            RawRepresentation = body,
        };
        if (root.TryGetProperty(FederationInfo.PropertyName, out var f) && f.ValueKind == JsonValueKind.Object)
            (result.AdditionalProperties ??= [])[FederationInfo.PropertyName] = FederationInfo.FromJson(f);
        return result;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = Post("v1/chat/completions", ChatRequestBody(messages, options, stream: true));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw Error(response, await response.Content.ReadAsStringAsync(cancellationToken));
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var data = new StringBuilder();
        var calls = new SortedDictionary<int, PendingCall>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            // SSE: "data:" lines accumulate until a blank line ends the event (docs/api.md "Streaming").
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length > 0) data.Append('\n');
                data.Append(line.AsSpan(5).TrimStart(' '));
                continue;
            }
            if (line.Length != 0 || data.Length == 0) continue;
            var payload = data.ToString();
            data.Clear();
            if (payload == "[DONE]") yield break;
            yield return Update(payload, calls);
        }
    }

    /// <summary>A streamed tool call being assembled: id and name from its first delta, then argument fragments.</summary>
    private sealed class PendingCall
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public StringBuilder Arguments { get; } = new();
    }

    /// <summary>One chunk as an update; tool-call deltas are assembled and the whole calls ride on the chunk with the finish reason.</summary>
    private static ChatResponseUpdate Update(string payload, SortedDictionary<int, PendingCall> calls)
    {
        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var err))
            throw new FederationApiException(200, Str(err, "code"), Str(err, "type"), Str(err, "param"), Str(err, "message") ?? payload);
        var update = new ChatResponseUpdate
        {
            ResponseId = Str(root, "id"),
            MessageId = Str(root, "id"),
            ModelId = Str(root, "model"),
            CreatedAt = root.TryGetProperty("created", out var cr) && cr.TryGetInt64(out var secs) ? DateTimeOffset.FromUnixTimeSeconds(secs) : null,
            RawRepresentation = payload,
        };
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (Str(delta, "role") is { } role) update.Role = new ChatRole(role);
                if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    update.Contents.Add(new TextContent(c.GetString()));
                if (delta.TryGetProperty("tool_calls", out var deltas) && deltas.ValueKind == JsonValueKind.Array)
                    foreach (var d in deltas.EnumerateArray())
                    {
                        var index = d.TryGetProperty("index", out var ix) && ix.TryGetInt32(out var i) ? i : 0;
                        if (!calls.TryGetValue(index, out var pending)) calls[index] = pending = new PendingCall();
                        if (Str(d, "id") is { } id) pending.Id = id;
                        if (d.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.Object)
                        {
                            if (Str(fn, "name") is { } name) pending.Name = name;
                            pending.Arguments.Append(Str(fn, "arguments"));
                        }
                    }
            }
            update.FinishReason = Finish(Str(choice, "finish_reason"));
            if (update.FinishReason is not null && calls.Count > 0)
            {
                foreach (var c in calls.Values) update.Contents.Add(Call(c.Id, c.Name, c.Arguments.ToString()));
                calls.Clear();
            }
        }
        if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            update.Contents.Add(new UsageContent(Usage(u)));
        if (root.TryGetProperty(FederationInfo.PropertyName, out var f) && f.ValueKind == JsonValueKind.Object)
            (update.AdditionalProperties ??= [])[FederationInfo.PropertyName] = FederationInfo.FromJson(f);
        return update;
    }

    private byte[] ChatRequestBody(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        ArgumentNullException.ThrowIfNull(messages);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("model", options?.ModelId ?? _options.Model);
            w.WriteStartArray("messages");
            foreach (var m in messages) WriteMessage(w, m);
            w.WriteEndArray();
            if (options?.MaxOutputTokens is { } max) w.WriteNumber("max_tokens", max);
            if (options?.Temperature is { } t) w.WriteNumber("temperature", t);
            if (options?.TopP is { } p) w.WriteNumber("top_p", p);
            if (options?.TopK is { } k) w.WriteNumber("top_k", k);
            if (options?.Seed is { } seed) w.WriteNumber("seed", seed);
            if (options?.StopSequences is { Count: > 0 } stops)
            {
                w.WriteStartArray("stop");
                foreach (var s in stops) w.WriteStringValue(s);
                w.WriteEndArray();
            }
            WriteTools(w, options);
            WriteResponseFormat(w, options?.ResponseFormat);
            if (options?.AdditionalProperties?.TryGetValue(FederationInfo.PropertyName, out var fed) == true && fed is not null)
            {
                // the request-side federation object (specialists, required_provenance, panel_size), passed through as given
                w.WritePropertyName(FederationInfo.PropertyName);
                JsonSerializer.Serialize(w, fed as JsonElement? ?? JsonSerializer.SerializeToElement(fed, fed.GetType(), AIJsonUtilities.DefaultOptions), AIJsonUtilities.DefaultOptions);
            }
            if (stream)
            {
                w.WriteBoolean("stream", true);
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter w, ChatMessage m)
    {
        var results = m.Contents.OfType<FunctionResultContent>().ToList();
        if (results.Count > 0)
        {
            // one OpenAI "tool" message per function result
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("role", "tool");
                w.WriteString("tool_call_id", r.CallId);
                w.WriteString("content", r.Result is string s ? s : JsonSerializer.Serialize(r.Result, AIJsonUtilities.DefaultOptions));
                w.WriteEndObject();
            }
            return;
        }
        w.WriteStartObject();
        w.WriteString("role", m.Role.Value);
        w.WriteString("content", m.Text);
        var calls = m.Contents.OfType<FunctionCallContent>().ToList();
        if (calls.Count > 0)
        {
            w.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                w.WriteStartObject();
                w.WriteString("id", call.CallId);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", call.Name);
                w.WriteString("arguments", JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter w, ChatOptions? options)
    {
        var functions = options?.Tools?.OfType<AIFunctionDeclaration>().ToList();
        if (functions is not { Count: > 0 } || options!.ToolMode is NoneChatToolMode) return;
        w.WriteStartArray("tools");
        foreach (var f in functions)
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", f.Name);
            if (!string.IsNullOrEmpty(f.Description)) w.WriteString("description", f.Description);
            w.WritePropertyName("parameters");
            f.JsonSchema.WriteTo(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        switch (options.ToolMode)
        {
            case RequiredChatToolMode { RequiredFunctionName: { } name }:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", name);
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            case RequiredChatToolMode:
                w.WriteString("tool_choice", "required");
                break;
            case AutoChatToolMode:
                w.WriteString("tool_choice", "auto");
                break;
        }
    }

    private static void WriteResponseFormat(Utf8JsonWriter w, ChatResponseFormat? format)
    {
        if (format is not ChatResponseFormatJson json) return;
        w.WriteStartObject("response_format");
        if (json.Schema is { } schema)
        {
            w.WriteString("type", "json_schema");
            w.WriteStartObject("json_schema");
            w.WriteString("name", json.SchemaName ?? "response");
            if (json.SchemaDescription is { } d) w.WriteString("description", d);
            w.WritePropertyName("schema");
            schema.WriteTo(w);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("type", "json_object");
        }
        w.WriteEndObject();
    }

    private static FunctionCallContent FunctionCall(JsonElement call)
    {
        var fn = call.GetProperty("function");
        return Call(Str(call, "id") ?? "", Str(fn, "name") ?? "", Str(fn, "arguments"));
    }

    /// <summary>A call with its parsed arguments; <see cref="AIContent.RawRepresentation"/> keeps the arguments string as received (the receipt covers it).</summary>
    private static FunctionCallContent Call(string id, string name, string? arguments) =>
        new(id, name, ParseArguments(arguments)) { RawRepresentation = arguments ?? "" };

    /// <summary>
    /// The text a response's receipt covers (<c>answer_sha256</c>): the message text, or for a tool call the call as the
    /// model wrote it, <c>{"name":"f","arguments":{…}}</c> with the arguments string exactly as received (docs/api.md).
    /// </summary>
    public static string AnswerTextOf(ChatResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().FirstOrDefault();
        if (call is null) return response.Text;
        return $"{{\"name\":{JsonSerializer.Serialize(call.Name)},\"arguments\":{call.RawRepresentation as string ?? JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions)}}}";
    }

    private static Dictionary<string, object?>? ParseArguments(string? args) =>
        string.IsNullOrEmpty(args) ? null : JsonSerializer.Deserialize<Dictionary<string, object?>>(args, AIJsonUtilities.DefaultOptions);

    private static ChatFinishReason? Finish(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    private static UsageDetails Usage(JsonElement u) => new()
    {
        InputTokenCount = u.TryGetProperty("prompt_tokens", out var p) && p.TryGetInt64(out var pv) ? pv : null,
        OutputTokenCount = u.TryGetProperty("completion_tokens", out var c) && c.TryGetInt64(out var cv) ? cv : null,
        TotalTokenCount = u.TryGetProperty("total_tokens", out var t) && t.TryGetInt64(out var tv) ? tv : null,
    };

    // ---------------------------------------------------------------- embeddings

    /// <inheritdoc/>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var model = options?.ModelId ?? _options.Model;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteStartArray("input");
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
            w.WriteString("encoding_format", "float");
            w.WriteEndObject();
        }
        using var request = Post("v1/embeddings", ms.ToArray());
        using var response = await _http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw Error(response, body);
        using var doc = JsonDocument.Parse(body);
        var items = doc.RootElement.GetProperty("data").EnumerateArray()
            .OrderBy(d => d.GetProperty("index").GetInt32())
            .Select(d => new Embedding<float>(d.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray())
            {
                ModelId = Str(doc.RootElement, "model"),
            })
            .ToList();
        var result = new GeneratedEmbeddings<Embedding<float>>(items);
        if (doc.RootElement.TryGetProperty("usage", out var u)) result.Usage = Usage(u);
        return result;
    }

    // ---------------------------------------------------------------- receipts

    /// <summary>
    /// Verifies the ledger receipt of <paramref name="response"/>: fetches the node's signed tree head and the answer's
    /// inclusion proof, checks the head's signature against the trusted node key, that the head extends the last head
    /// this client verified for the node, the entry's signature, the proof up to the signed root, and that the entry's
    /// <c>answer_sha256</c> is the SHA-256 of the text received (docs/client.md).
    /// </summary>
    /// <returns>Valid, or the first failed check with its reason. Network errors throw.</returns>
    public Task<ReceiptVerification> VerifyReceiptAsync(ChatResponse response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        return VerifyReceiptAsync(response.GetFederation(), AnswerTextOf(response), null, cancellationToken);
    }

    /// <summary>
    /// As <see cref="VerifyReceiptAsync(ChatResponse, CancellationToken)"/>, and also checks that the entry's
    /// <c>query_sha256</c> is the hash of the conversation sent: every message as a <c>role: text</c> line
    /// (<see cref="QueryTextOf"/>, what the node ledgers, docs/api.md), so the answer is proven to be for it.
    /// </summary>
    public Task<ReceiptVerification> VerifyReceiptAsync(ChatResponse response, IEnumerable<ChatMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        var question = QueryTextOf(list.Select(m => (m.Role.Value, m.Text)));
        return VerifyReceiptAsync(response.GetFederation(), AnswerTextOf(response), question, cancellationToken);
    }

    /// <summary>
    /// The text whose SHA-256 the node ledgers as <c>query_sha256</c> for a chat request: one <c>role: text</c> line per
    /// message (a message's text parts joined with nothing between them), lines joined by <c>\n</c>. For a text
    /// completion it is the prompt itself.
    /// </summary>
    public static string QueryTextOf(IEnumerable<(string Role, string Text)> messages) =>
        string.Join("\n", messages.Select(m => $"{m.Role}: {m.Text}"));

    /// <summary>
    /// Verifies a receipt from its <see cref="FederationInfo"/> and the answer text received (e.g. from another SDK);
    /// with <paramref name="queryText"/> (<see cref="QueryTextOf"/> of the messages sent, or the prompt) also the entry's <c>query_sha256</c>.
    /// </summary>
    public async Task<ReceiptVerification> VerifyReceiptAsync(FederationInfo? federation, string answerText, string? queryText = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(answerText);
        var trust = _pinned is null ? NodeKeyTrust.FetchedFromNode : NodeKeyTrust.Pinned;
        if (federation?.Ledger is not { } ledger)
            return new(ReceiptFailure.NoReceipt, "the response has no federation.ledger reference; it is not a ledgered Federation answer.", null, null, trust);
        var index = ledger.Index;

        var key = _pinned ?? await FetchNodeKeyAsync(cancellationToken);
        if (key is null)
            return new(ReceiptFailure.NodeKeyUnavailable, "no node key is pinned and the node's /health gave no node_id; pin FederationClientOptions.NodeKey.", index, null, trust);

        TreeHead head;
        try { head = await GetTreeHeadAsync(cancellationToken); }
        catch (FormatException e) { return new(ReceiptFailure.ProofUnavailable, "the node's tree head is malformed: " + e.Message, index, null, trust); }
        if (head.Verify(key.Value) is { } sthError)
            return new(ReceiptFailure.TreeHeadSignatureInvalid, sthError, index, head, trust);
        if (head.TreeSize <= index)
            return new(ReceiptFailure.ProofUnavailable, $"the node's signed tree head covers {head.TreeSize} entries, which does not include entry {index}.", index, head, trust);

        var nodeId = key.Value.ToString();
        if (_options.TreeHeads.Get(nodeId) is { } known)
        {
            var consistency = await CheckConsistencyAsync(known, head, cancellationToken);
            if (!consistency.IsConsistent)
                return new(ReceiptFailure.ConsistencyFailed, consistency.Reason, index, head, trust);
        }
        _options.TreeHeads.Set(nodeId, head);

        InclusionResponse proof;
        try { proof = await GetInclusionAsync(index, head.TreeSize, cancellationToken); }
        catch (FormatException e) { return new(ReceiptFailure.ProofUnavailable, $"the inclusion proof of entry {index} is malformed: {e.Message}", index, head, trust); }
        if (proof.LeafIndex != index || proof.TreeSize != head.TreeSize)
            return new(ReceiptFailure.InclusionProofInvalid,
                $"asked for the proof of entry {index} in a tree of {head.TreeSize}; the node sent leaf {proof.LeafIndex} in a tree of {proof.TreeSize}.", index, head, trust);

        var envelope = proof.Entry;
        var envCheck = envelope.Verify();
        if (!envCheck.IsValid)
            return new(ReceiptFailure.EntryInvalid, $"ledger entry {index} does not verify: {envCheck}", index, head, trust);
        if (envelope.Signer != key.Value)
            return new(ReceiptFailure.EntryInvalid, $"ledger entry {index} is signed by {envelope.Signer}, not by the node key {key.Value}.", index, head, trust);
        if (envelope.Id.ToString() != ledger.EntryId)
            return new(ReceiptFailure.EntryInvalid, $"the answer names entry id {ledger.EntryId}, but entry {index} has id {envelope.Id}.", index, head, trust);

        // The leaf is SHA-256(0x00 ‖ canonical envelope JSON) (docs/ledger.md): computed here, never taken from the node.
        var leafHash = MerkleHasher.HashLeaf(envelope.ToCanonicalBytes());
        var inclusion = MerkleVerifier.VerifyInclusion(index, head.TreeSize, leafHash, proof.Path, head.RootBytes());
        if (!inclusion.IsValid)
            return new(ReceiptFailure.InclusionProofInvalid, $"entry {index} is not proven in the signed tree of {head.TreeSize}: {inclusion}", index, head, trust);

        if (envelope.Type != "answer" || envelope.Payload is not Registry.Json.JsonObject payload)
            return new(ReceiptFailure.EntryInvalid, $"ledger entry {index} is a '{envelope.Type}' entry, not an answer.", index, head, trust);
        if (!payload.TryGetValue("answer_sha256", out var recorded) || recorded is not JsonString recordedHash)
            return new(ReceiptFailure.AnswerNotRecorded, $"ledger entry {index} records no answer_sha256 (a withheld answer); nothing ties it to the text.", index, head, trust);
        var actual = Sha256Hex(answerText);
        if (!string.Equals(actual, recordedHash.Value, StringComparison.Ordinal))
            return new(ReceiptFailure.AnswerHashMismatch,
                $"the text received hashes to {actual}, but ledger entry {index} records answer_sha256 {recordedHash.Value}: the answer was changed.", index, head, trust);

        if (queryText is not null)
        {
            var query = Sha256Hex(queryText);
            if (!payload.TryGetValue("query_sha256", out var q) || q is not JsonString qs || !string.Equals(qs.Value, query, StringComparison.Ordinal))
                return new(ReceiptFailure.QueryHashMismatch,
                    $"the question asked hashes to {query}, but ledger entry {index} records query_sha256 {(q as JsonString)?.Value ?? "nothing"}: the answer is for another query.", index, head, trust);
        }

        return new(ReceiptFailure.None,
            $"entry {index} ({envelope.Id}) is in the tree of {head.TreeSize} signed by {key.Value} ({(trust == NodeKeyTrust.Pinned ? "pinned key" : "key fetched from the node")}), and its answer_sha256 matches the text{(queryText is null ? "" : " and its query_sha256 the question")}.",
            index, head, trust);
    }

    private static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Fetches the node's current signed tree head (<c>GET /v1/federation/ledger/sth</c>), unverified.</summary>
    public async Task<TreeHead> GetTreeHeadAsync(CancellationToken cancellationToken = default) =>
        TreeHead.Parse(await GetStringAsync("v1/federation/ledger/sth", cancellationToken));

    /// <summary>
    /// Checks that <paramref name="newer"/> extends <paramref name="older"/> (both already signature-checked): the RFC 9162
    /// consistency proof between them is derived from the inclusion proof of the older head's last leaf in the newer
    /// tree (the node serves no consistency endpoint; see docs/client.md) and verified with the registry's
    /// <see cref="MerkleVerifier.VerifyConsistency(long, long, IReadOnlyList{byte[]}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>.
    /// </summary>
    public async Task<ConsistencyCheck> CheckConsistencyAsync(TreeHead older, TreeHead newer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(older);
        ArgumentNullException.ThrowIfNull(newer);
        if (newer.TreeSize < older.TreeSize)
            return new(false, $"the node's ledger shrank: a head of {older.TreeSize} entries was verified before, now it signs {newer.TreeSize}.");
        if (newer.TreeSize == older.TreeSize || older.TreeSize == 0)
        {
            var same = MerkleVerifier.VerifyConsistency(older.TreeSize, newer.TreeSize, [], older.RootBytes(), newer.RootBytes());
            return same.IsValid ? new(true, "same tree") : new(false, $"two signed heads of {older.TreeSize} entries have different roots: {same}");
        }
        InclusionResponse last;
        try { last = await GetInclusionAsync(older.TreeSize - 1, newer.TreeSize, cancellationToken); }
        catch (FormatException e) { return new(false, $"the node sent a malformed proof for entry {older.TreeSize - 1}: {e.Message}"); }
        var path = ConsistencyPathFromInclusion(older.TreeSize, last.LeafHash, last.Path);
        if (path is null)
            return new(false, $"the proof of entry {older.TreeSize - 1} in the tree of {newer.TreeSize} is too short to link the two heads.");
        var check = MerkleVerifier.VerifyConsistency(older.TreeSize, newer.TreeSize, path, older.RootBytes(), newer.RootBytes());
        return check.IsValid
            ? new(true, $"the tree of {newer.TreeSize} extends the tree of {older.TreeSize}")
            : new(false, $"the tree of {newer.TreeSize} signed now does not extend the tree of {older.TreeSize} signed before (history rewritten): {check}");
    }

    /// <summary>
    /// RFC 9162 §2.1.4: the consistency proof from <paramref name="size1"/> to the tree of an inclusion path for leaf
    /// <c>size1 - 1</c>. The lowest <c>t</c> = trailing zeros of <paramref name="size1"/> path hashes are left siblings
    /// that, folded with the leaf, give the subtree node the consistency proof starts with (omitted when
    /// <paramref name="size1"/> is a power of two, where that node is the old root); the rest of the path is the same.
    /// </summary>
    internal static List<byte[]>? ConsistencyPathFromInclusion(long size1, byte[] leafHash, IReadOnlyList<byte[]> inclusionPath)
    {
        var t = BitOperations.TrailingZeroCount(size1);
        if (inclusionPath.Count < t || leafHash.Length != MerkleHasher.HashSize) return null;
        var node = leafHash;
        for (var i = 0; i < t; i++)
        {
            if (inclusionPath[i].Length != MerkleHasher.HashSize) return null;
            node = MerkleHasher.HashChildren(inclusionPath[i], node);
        }
        var path = new List<byte[]>();
        if ((size1 & (size1 - 1)) != 0) path.Add(node);
        for (var i = t; i < inclusionPath.Count; i++) path.Add(inclusionPath[i]);
        return path;
    }

    internal sealed record InclusionResponse(long LeafIndex, long TreeSize, byte[] LeafHash, IReadOnlyList<byte[]> Path, SignedEnvelope Entry);

    private async Task<InclusionResponse> GetInclusionAsync(long index, long size, CancellationToken ct)
    {
        var text = await GetStringAsync($"v1/federation/ledger/{index}/proof?size={size}", ct);
        using var doc = JsonDocument.Parse(text);
        var r = doc.RootElement;
        long Long(string n) => r.TryGetProperty(n, out var v) && v.TryGetInt64(out var x) ? x : throw new FormatException($"'{n}' must be an integer.");
        byte[] Hex(JsonElement v, string what)
        {
            try { return v.ValueKind == JsonValueKind.String ? Convert.FromHexString(v.GetString()!) : throw new FormatException($"{what} must be a hex string."); }
            catch (FormatException) { throw new FormatException($"{what} must be a hex string."); }
        }
        if (!r.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.Array) throw new FormatException("'path' must be an array of hex hashes.");
        var path = p.EnumerateArray().Select((h, i) => Hex(h, $"path[{i}]")).ToList();
        if (!r.TryGetProperty("leaf_hash", out var lh)) throw new FormatException("'leaf_hash' is missing.");
        if (!r.TryGetProperty("entry", out var entry)) throw new FormatException("'entry' (the signed envelope) is missing.");
        if (!SignedEnvelope.TryFromJson(CanonicalJson.FromElement(entry), out var env, out var error))
            throw new FormatException("'entry' is not a signed envelope: " + error);
        return new InclusionResponse(Long("leaf_index"), Long("tree_size"), Hex(lh, "leaf_hash"), path, env);
    }

    private async Task<NodeId?> FetchNodeKeyAsync(CancellationToken ct)
    {
        if (_fetchedKey is { } k) return k;
        var text = await GetStringAsync("health", ct);
        using var doc = JsonDocument.Parse(text);
        if (Str(doc.RootElement, "node_id") is { } id && NodeId.TryParse(id, out var key))
            return _fetchedKey = key;
        return null;
    }

    // ---------------------------------------------------------------- plumbing

    private HttpRequestMessage Post(string path, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, path)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Authorize(request);
        return request;
    }

    private async Task<string> GetStringAsync(string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, path));
        Authorize(request);
        using var response = await _http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw Error(response, body);
        return body;
    }

    private void Authorize(HttpRequestMessage request)
    {
        if (_options.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    private static FederationApiException Error(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
                return new FederationApiException(status, Str(e, "code"), Str(e, "type"), Str(e, "param"), Str(e, "message") ?? body);
        }
        catch (JsonException)
        {
            // not an OpenAI-style error body: report it as text below
        }
        return new FederationApiException(status, null, null, null, body.Length > 500 ? body[..500] + "…" : body);
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return Metadata;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return EmbeddingMetadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
