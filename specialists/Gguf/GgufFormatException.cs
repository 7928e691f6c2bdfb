namespace Federation.Specialists.Gguf;

/// <summary>
/// A file is not a well-formed GGUF file (wrong magic, unsupported version, truncated, unknown tensor type, data past
/// the end). The message says what was expected, what was found and, where it helps, at which byte offset.
/// </summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string message) : base(message) { }

    public GgufFormatException(string message, Exception inner) : base(message, inner) { }

    public GgufFormatException() { }
}
