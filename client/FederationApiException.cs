namespace Federation.Client;

/// <summary>The node answered a request with an error (<c>{"error":{"message","type","param","code"}}</c>, docs/errors.md).</summary>
public sealed class FederationApiException : Exception
{
    /// <summary>An error with the node's fields.</summary>
    public FederationApiException(int statusCode, string? code, string? type, string? param, string message)
        : base($"The node refused the request ({statusCode}{(code is null ? "" : " " + code)}): {message}")
    {
        StatusCode = statusCode;
        Code = code;
        Type = type;
        Param = param;
    }

    /// <summary>An error without node fields.</summary>
    public FederationApiException() : base("The node refused the request.") { }

    /// <summary>An error with a message.</summary>
    public FederationApiException(string message) : base(message) { }

    /// <summary>An error with a message and its cause.</summary>
    public FederationApiException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The HTTP status.</summary>
    public int StatusCode { get; }

    /// <summary>The node's error code, e.g. <c>review.pending</c>.</summary>
    public string? Code { get; }

    /// <summary>The OpenAI error type, e.g. <c>invalid_request_error</c>.</summary>
    public string? Type { get; }

    /// <summary>The request member at fault, when one is.</summary>
    public string? Param { get; }
}
