using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Federation.Canaries.Checkers;
using Federation.Canaries.Storage;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Canaries.Audit;

/// <summary>What an audit run is asked to do.</summary>
public sealed record AuditRequest(Uri Target, string Topic, int N, string Model = AuditRunner.DefaultModel, string? ApiKey = null, int? MaxTokens = null);

/// <summary>The result of a run: the seed commitment published first, the signed record, and the auditor's private reveal material.</summary>
public sealed record AuditRun(SignedEnvelope SeedCommitment, SignedEnvelope Record, JsonObject Private);

/// <summary>One canary's answer as received from the target.</summary>
internal sealed record TargetAnswer(string? Answer, IReadOnlyList<string> Specialists, string? Error);

/// <summary>
/// Runs a blind auditor battery (seed §9.3, §"Canary lifecycle"): draw a seed and publish its hash, sample the topic's
/// battery with it, send each canary prompt as a plain chat completion to the target's ordinary OpenAI endpoint (no
/// header, field or wording marks it as an audit), check the answers, and sign the record.
/// </summary>
public sealed class AuditRunner(CanaryStore store, CanaryChecker checker, NodeKey key, HttpClient http, TimeProvider time)
{
    /// <summary>The model asked for when none is given: the node's router (what an ordinary client sends).</summary>
    public const string DefaultModel = "federation";

    /// <summary>Envelope type of the record.</summary>
    public const string RecordType = "audit.record";

    /// <summary>Envelope type of the seed commitment published before sampling.</summary>
    public const string SeedCommitmentType = "audit.seed_commitment";

    /// <summary>Envelope type of the reveal.</summary>
    public const string RevealType = "audit.reveal";

    /// <summary>Runs the battery. <paramref name="onCommitment"/> is called with the seed commitment before anything is sampled or sent.</summary>
    public async Task<AuditRun> RunAsync(AuditRequest request, Action<SignedEnvelope>? onCommitment = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.N < 1) throw new ArgumentOutOfRangeException(nameof(request), request.N, "--n must be at least 1.");
        var battery = store.Battery(request.Topic);
        if (battery.Count == 0)
            throw new CanaryStoreException($"no active canaries for topic '{request.Topic}'; add some with 'fed canary add --topic {request.Topic} …' or 'fed canary import FILE'.");
        var handles = battery.Select(r => r.Handle).ToList();
        var started = time.GetUtcNow();
        var seed = AuditSampling.NewSeed();
        var seedCommitment = AuditSampling.Commitment(seed);
        var target = request.Target.ToString().TrimEnd('/');
        var commitmentEnv = SignedEnvelope.Seal(SeedCommitmentType, new JsonObject
        {
            ["target"] = target,
            ["topic"] = request.Topic,
            ["seed_commitment"] = seedCommitment,
            ["battery_size"] = handles.Count,
            ["time"] = started.ToUnixTimeSeconds(),
        }, key);
        onCommitment?.Invoke(commitmentEnv);

        var byHandle = battery.ToDictionary(r => r.Handle, StringComparer.Ordinal);
        var sample = AuditSampling.Sample(seed, handles, request.N);
        var targetNode = await TryTargetNodeAsync(target, request.ApiKey, cancellationToken);
        var items = new JsonArray();
        var answers = new JsonArray();
        var done = 0;
        foreach (var handle in sample)
        {
            var rec = byHandle[handle];
            var got = await AskAsync(target, request, rec.Canary.Prompt, cancellationToken);
            CheckOutcome outcome = got.Answer is null
                ? new CheckOutcome(0, $"no answer: {got.Error}", CheckStatus.Invalid)
                : await checker.CheckAsync(rec.Canary, got.Answer, cancellationToken);
            var answer = got.Answer ?? "";
            items.Add(new JsonObject
            {
                ["handle"] = handle,
                ["class"] = rec.Canary.Class.ToString(),
                ["difficulty"] = rec.Canary.Difficulty,
                ["visibility"] = rec.Commitment is null ? "public" : "secret", // the Goodhart trigger compares public vs secret pass rates
                ["specialist"] = got.Specialists.Count > 0 ? got.Specialists[0] : null,
                ["specialists"] = new JsonArray(got.Specialists.Select(s => (JsonValue)s)),
                ["o"] = outcome.O,
                ["status"] = got.Answer is null ? "unanswered" : outcome.StatusName,
                ["detail"] = outcome.Detail,
                ["answer_sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(answer))),
                ["time"] = time.GetUtcNow().ToUnixTimeSeconds(),
            });
            answers.Add(answer);
            progress?.Report(++done);
        }
        var record = SignedEnvelope.Seal(RecordType, new JsonObject
        {
            ["v"] = 1,
            ["target"] = target,
            ["target_node"] = targetNode,
            ["topic"] = request.Topic,
            ["model"] = request.Model,
            ["n"] = request.N,
            ["seed_commitment"] = seedCommitment,
            ["seed_commitment_id"] = commitmentEnv.Id.ToString(),
            ["battery"] = new JsonArray(handles.Select(h => (JsonValue)h)),
            ["started"] = started.ToUnixTimeSeconds(),
            ["finished"] = time.GetUtcNow().ToUnixTimeSeconds(),
            ["items"] = items,
        }, key);
        var priv = new JsonObject
        {
            ["record_id"] = record.Id.ToString(),
            ["seed"] = Convert.ToHexStringLower(seed),
            ["answers"] = answers,
        };
        return new AuditRun(commitmentEnv, record, priv);
    }

    private async Task<TargetAnswer> AskAsync(string target, AuditRequest request, string prompt, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = request.Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (request.MaxTokens is { } mt) body["max_tokens"] = mt;
        using var msg = new HttpRequestMessage(HttpMethod.Post, target + "/v1/chat/completions")
        {
            Content = new ByteArrayContent(CanonicalJson.Serialize(body)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (request.ApiKey is { Length: > 0 } k) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", k);
        try
        {
            using var resp = await http.SendAsync(msg, ct);
            var text = await resp.Content.ReadAsStringAsync(ct);
            if (!resp.IsSuccessStatusCode)
                return new TargetAnswer(null, [], $"HTTP {(int)resp.StatusCode}: {CanaryChecker.Clip(text)}");
            var json = CanonicalJson.Parse(text).AsObject();
            var content = json["choices"][0]["message"]["content"];
            var specialists = new List<string>();
            if (json.TryGetValue("federation", out var fed) && fed is JsonObject fo && fo.TryGetValue("specialists", out var sp) && sp is JsonArray spa)
                foreach (var s in spa)
                    if (s is JsonObject so && so.TryGetValue("id", out var id) && id is JsonString ids) specialists.Add(ids.Value);
                    else if (s is JsonString str) specialists.Add(str.Value);
            return new TargetAnswer(content is JsonString cs ? cs.Value : "", specialists, null);
        }
        catch (Exception e) when (e is HttpRequestException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentOutOfRangeException)
        {
            return new TargetAnswer(null, [], $"{e.GetType().Name}: {CanaryChecker.Clip(e.Message)}");
        }
    }

    /// <summary>The target's node id from its signed tree head (GET /v1/federation/ledger/sth, an ordinary public read); null when unavailable.</summary>
    private async Task<string?> TryTargetNodeAsync(string target, string? apiKey, CancellationToken ct)
    {
        try
        {
            using var msg = new HttpRequestMessage(HttpMethod.Get, target + "/v1/federation/ledger/sth");
            if (apiKey is { Length: > 0 } k) msg.Headers.Authorization = new AuthenticationHeaderValue("Bearer", k);
            using var resp = await http.SendAsync(msg, ct);
            if (!resp.IsSuccessStatusCode) return null;
            var o = CanonicalJson.Parse(await resp.Content.ReadAsStringAsync(ct)) as JsonObject;
            return o is not null && o.TryGetValue("signer", out var s) && s is JsonString ss && NodeId.TryParse(ss.Value, out _) ? ss.Value : null;
        }
        catch (Exception e) when (e is HttpRequestException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The reveal of a run: seed, and for each sampled item its canary (with the salt when secret) and the answer, signed
    /// by the auditor; the record travels inside it so one file re-verifies everything.
    /// </summary>
    public static SignedEnvelope Reveal(SignedEnvelope record, JsonObject priv, CanaryStore store, NodeKey key)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(priv);
        if (priv["record_id"].AsString() != record.Id.ToString())
            throw new CanaryStoreException($"the private audit file belongs to record {priv["record_id"].AsString()}, not {record.Id}.");
        var recItems = record.Payload["items"].AsArray();
        var answers = priv["answers"].AsArray();
        var items = new JsonArray();
        for (var i = 0; i < recItems.Count; i++)
        {
            var handle = recItems[i]["handle"].AsString();
            var r = store.Get(handle);
            items.Add(new JsonObject
            {
                ["handle"] = handle,
                ["canary"] = r.Canary.Json,
                ["salt"] = r.Salt is null ? null : Convert.ToHexStringLower(r.Salt),
                ["answer"] = answers[i],
            });
        }
        return SignedEnvelope.Seal(RevealType, new JsonObject
        {
            ["record"] = record.ToJson(),
            ["seed"] = priv["seed"],
            ["items"] = items,
        }, key);
    }
}
