using Federation.Node.Hosting;
using Federation.Node.Verification;
using Federation.Registry.Json;
using Federation.Specialists.Engine;

namespace Federation.Node.Answering;

/// <summary>
/// The replay route of the challenge game (§9.3): with <c>--store-bodies</c> a single-specialist answer entry also records
/// the generation request the engine got (<c>request</c>: messages or prompt, max_tokens, stop, temperature, top_p,
/// top_k and the seed actually used), so a judge re-runs it through the real engine with the same base and adapter
/// (CIDs checked) and compares the answer's SHA-256: greedy (and seeded) decoding replays bit for bit.
/// </summary>
public static class ChallengeReplay
{
    /// <summary>The <c>request</c> object of an answer entry: what <paramref name="g"/> asked and the seed <paramref name="r"/> used.</summary>
    public static CanonicalJsonValue From(GenerationRequest g, GenerationResult r)
    {
        var o = new JsonObject();
        if (g.Messages is { } ms)
            o["messages"] = new JsonArray(ms.Select(m => (JsonValue)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }));
        else o["prompt"] = g.Prompt ?? "";
        o["max_tokens"] = g.MaxTokens;
        o["stop"] = new JsonArray(g.Stop.Select(s => (JsonValue)s));
        o["temperature"] = (double)g.Temperature; // float → double → float is exact
        o["top_p"] = (double)g.TopP;
        o["top_k"] = g.TopK;
        if ((r.Seed ?? g.Seed) is { } seed) o["seed"] = (long)seed;
        return new CanonicalJsonValue(o);
    }

    /// <summary>Re-runs the entry's recorded request through <paramref name="rt"/>'s engine and judges the entry by the answer's SHA-256.</summary>
    /// <exception cref="ChallengeException">The entry cannot be replayed here (no request, a panel, another base or adapter, no answer hash).</exception>
    public static async Task<ChallengeVerdict> ReplayAsync(NodeRuntime rt, JsonObject entry, long index, CancellationToken ct)
    {
        if (!entry.TryGetValue("request", out var rv) || rv is not JsonObject req)
            throw new ChallengeException("challenge.not_checkable",
                $"ledger entry {index} has no class-A checker to re-run and records no generation request (the node ran without --store-bodies), so it can be neither re-checked nor replayed.", "ledger_index");
        var specialists = entry.TryGetValue("specialists", out var sv) && sv is JsonArray sa ? sa.OfType<JsonObject>().ToList() : [];
        if (specialists.Count != 1)
            throw new ChallengeException("challenge.not_checkable", $"ledger entry {index} is a panel answer; only single-specialist answers are replayed.", "ledger_index");
        var s = specialists[0];
        var id = Str(s, "id");
        if (!rt.Specialists.TryGetValue(id, out var binding))
            throw new ChallengeException("challenge.model_changed", $"specialist '{id}' of ledger entry {index} is not served here; replay it on a node that serves base {Str(s, "base_cid")} with adapter {Str(s, "adapter_cid")}.", "ledger_index");
        if (binding.BaseCid != Str(s, "base_cid") || binding.AdapterCid != Str(s, "adapter_cid"))
            throw new ChallengeException("challenge.model_changed",
                $"ledger entry {index} was answered by base {Str(s, "base_cid")} with adapter {Str(s, "adapter_cid")}, this node serves '{id}' as base {binding.BaseCid} with adapter {binding.AdapterCid}; replay it where those CIDs are served.", "ledger_index");
        var expected = entry.TryGetValue("answer_sha256", out var ah) && ah is JsonString ahs ? ahs.Value
            : throw new ChallengeException("challenge.not_checkable", $"ledger entry {index} vouches for no answer (rejected by review).", "ledger_index");
        var g = new GenerationRequest
        {
            Messages = req.TryGetValue("messages", out var mv) && mv is JsonArray ma
                ? ma.OfType<JsonObject>().Select(m => new ChatMessage(Str(m, "role"), Str(m, "content"))).ToList() : null,
            Prompt = req.TryGetValue("prompt", out var pv) && pv is JsonString ps ? ps.Value : null,
            Adapters = [new AdapterSelection(id)],
            MaxTokens = (int)Num(req, "max_tokens"),
            Stop = req.TryGetValue("stop", out var stv) && stv is JsonArray sta ? sta.OfType<JsonString>().Select(x => x.Value).ToList() : [],
            Temperature = (float)Num(req, "temperature"),
            TopP = (float)Num(req, "top_p"),
            TopK = (int)Num(req, "top_k"),
            Seed = req.TryGetValue("seed", out var sd) && sd is JsonInt si ? (uint)(long)si.Value : null,
        };
        var result = await rt.EngineFor(id).GenerateAsync(g, ct); // the engine serving that specialist's base
        var got = AnswerRecord.Sha256(result.Text);
        return got == expected
            ? new ChallengeVerdict(ChallengeOutcome.SpecialistWon, TopicOf(entry), id, [],
                $"the recorded request, replayed through the engine with base {binding.BaseCid[..12]}… and adapter {binding.AdapterCid[..12]}…, gives the same answer bit for bit (SHA-256 {got})")
            : new ChallengeVerdict(ChallengeOutcome.ChallengerWon, TopicOf(entry), id, [],
                $"the recorded request, replayed through the engine with the entry's base and adapter, gives an answer with SHA-256 {got}, but ledger entry {index} vouches for {expected}");
    }

    private static string TopicOf(JsonObject entry) => entry.TryGetValue("route", out var r) && r is JsonObject ro ? Str(ro, "topic") : "";

    private static string Str(JsonObject o, string key) => o.TryGetValue(key, out var v) && v is JsonString s ? s.Value : "";

    private static double Num(JsonObject o, string key) => o.TryGetValue(key, out var v) ? v switch
    {
        JsonInt i => (double)i.Value,
        JsonFloat f => f.Value,
        _ => 0,
    } : 0;
}
