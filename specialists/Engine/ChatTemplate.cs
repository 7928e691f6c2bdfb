using System.Text;
using LLama;
using LLama.Exceptions;

namespace Federation.Specialists.Engine;

/// <summary>
/// Formats chat messages into a prompt: with the model's own chat template (<c>tokenizer.chat_template</c>) when
/// llama.cpp recognises it, otherwise with the plain template: one line <c>"{role}: {content}"</c> per message
/// followed by <c>"assistant:"</c>.
/// </summary>
public sealed class ChatTemplate
{
    private readonly string? _modelTemplate;

    /// <summary>Creates a formatter; <paramref name="modelTemplate"/> null or unknown to llama.cpp selects the plain template.</summary>
    public ChatTemplate(string? modelTemplate)
    {
        _modelTemplate = modelTemplate;
        UsesModelTemplate = modelTemplate is not null && Apply(modelTemplate, [new ChatMessage("user", "x")]) is not null;
    }

    /// <summary>True when the model's own template is used.</summary>
    public bool UsesModelTemplate { get; }

    /// <summary>The prompt for <paramref name="messages"/>, ending where the assistant's reply starts.</summary>
    public string Format(IReadOnlyList<ChatMessage> messages)
    {
        if (UsesModelTemplate)
        {
            var s = Apply(_modelTemplate!, messages);
            if (s is not null) return s;
        }
        return FormatPlain(messages);
    }

    /// <summary>llama.cpp's built-in (non-Jinja) formatter through LLamaSharp's <see cref="LLamaTemplate"/>; null when it does not know the template.</summary>
    private static string? Apply(string template, IReadOnlyList<ChatMessage> messages)
    {
        var t = new LLamaTemplate(template) { AddAssistant = true };
        foreach (var m in messages) t.Add(m.Role, m.Content);
        try
        {
            return Encoding.UTF8.GetString(t.Apply());
        }
        catch (MissingTemplateException)
        {
            return null;
        }
    }

    /// <summary>The plain template.</summary>
    public static string FormatPlain(IReadOnlyList<ChatMessage> messages)
    {
        var sb = new StringBuilder();
        foreach (var m in messages) sb.Append(m.Role).Append(": ").Append(m.Content).Append('\n');
        sb.Append("assistant:");
        return sb.ToString();
    }
}
