using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Federation.Node.Answering;
using Federation.Specialists.Engine;

namespace Federation.Node.Api;

/// <summary>The parts of a chat answer beyond its text: the tool call it makes, and its log probabilities in the OpenAI shape.</summary>
public static class ChatExtras
{
    /// <summary>
    /// The answer's tool call, or null when it is text. The id is derived from the ledger entry
    /// (<c>call_</c> + 24 hex digits of SHA-256 of the entry id), so it names the receipt of the call.
    /// </summary>
    public static ToolCallOut? Call(CompletionRequestIn req, FederatedAnswer a)
    {
        if (req.Structured is not { Kind: "tools" } s) return null;
        var id = "call_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(a.Federation.Ledger.EntryId)))[..24];
        return s.Call(a.Text, id);
    }

    /// <summary><c>{"content":[{"token","logprob","bytes","top_logprobs":[…]}],"refusal":null}</c>, or null when not asked for.</summary>
    public static JsonElement? Logprobs(CompletionRequestIn req, GenerationResult r)
    {
        if (req.TopLogprobs is null || r.Logprobs is not { } list) return null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("content");
            foreach (var t in list)
            {
                w.WriteStartObject();
                Token(w, t.Chosen);
                w.WriteStartArray("top_logprobs");
                foreach (var alt in t.Top)
                {
                    w.WriteStartObject();
                    Token(w, alt);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("refusal");
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    /// <summary>token: the piece as text (an incomplete UTF-8 sequence shows as U+FFFD), bytes: its exact bytes.</summary>
    private static void Token(Utf8JsonWriter w, TokenLogprob t)
    {
        w.WriteString("token", Encoding.UTF8.GetString(t.Bytes));
        w.WriteNumber("logprob", float.IsNegativeInfinity(t.Logprob) ? -9999f : t.Logprob);
        w.WriteStartArray("bytes");
        foreach (var b in t.Bytes) w.WriteNumberValue(b);
        w.WriteEndArray();
    }
}
