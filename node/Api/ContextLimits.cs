using Federation.Node.Hosting;
using Federation.Specialists.Engine;

namespace Federation.Node.Api;

/// <summary>
/// The engine context the node opens and the checks that keep requests inside it. A prompt is counted in tokens with
/// the engine's own tokenizer (<see cref="SpecialistEngine.Tokenize"/>, chat template and BOS included), before any
/// routing or generation, and refused with 400 <c>context_length_exceeded</c> naming both numbers. The policy's
/// <c>max_query_chars</c> is a character bound the router applies to everything it classifies; with the tiny model's
/// byte vocabulary one character costs at most 4 tokens, so a query of <see cref="GuaranteedChars"/> characters always fits.
/// </summary>
public static class ContextLimits
{
    /// <summary>KV cells per sequence the node opens (<see cref="EngineOptions.ContextSize"/>): prompt plus answer.</summary>
    public const int ContextTokens = 512;

    /// <summary>Upper bound of tokens per UTF-16 character of the byte vocabulary (a UTF-8 sequence is at most 4 bytes).</summary>
    public const int MaxTokensPerChar = 4;

    /// <summary>Prompt tokens the chat template and BOS may add (measured on the plain template, with margin).</summary>
    public const int TemplateReserve = 32;

    /// <summary>Characters of text that always fit the context, whatever they are.</summary>
    public static int GuaranteedChars => (ContextTokens - TemplateReserve) / MaxTokensPerChar;

    /// <summary>Refuses a completion prompt that does not fit the context (the engine needs at least one free cell to answer).</summary>
    public static int CheckPrompt(NodeRuntime rt, CompletionRequestIn req, string param)
    {
        var (messages, prompt) = req.ForEngine(); // what the engine will read: the retrieved memory block included
        var tokens = rt.Engine.Tokenize(new GenerationRequest
        {
            Prompt = prompt,
            Messages = messages?.Select(m => new ChatMessage(m.Role, m.Content)).ToList(),
        }).Length;
        if (tokens >= ContextTokens)
            throw Exceeded($"The prompt is {tokens} tokens but the model's context holds {ContextTokens} (prompt and answer together); shorten it.", param);
        return tokens;
    }

    /// <summary>Refuses an embeddings input longer than the context; returns the total tokens.</summary>
    public static int CheckEmbeddingInputs(NodeRuntime rt, IReadOnlyList<string> inputs)
    {
        var total = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var n = rt.Engine.Tokenize(new GenerationRequest { Prompt = inputs[i] }).Length;
            if (n > ContextTokens)
                throw Exceeded($"'input[{i}]' is {n} tokens but the model's context holds {ContextTokens}; shorten or split it.", $"input[{i}]");
            total += n;
        }
        return total;
    }

    private static ApiException Exceeded(string message, string param) =>
        ApiException.BadRequest("context_length_exceeded", message, param);
}
