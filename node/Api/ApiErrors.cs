using System.Text.Json;
using Federation.Node.Telemetry;
using Microsoft.AspNetCore.Diagnostics;

namespace Federation.Node.Api;

/// <summary>
/// An error answered in the OpenAI shape <c>{"error":{"message","type","param","code"}}</c> with an HTTP status. Thrown
/// only by the endpoint layer (request reading and validation, mapping of service outcomes); codes are listed in
/// docs/errors.md; messages say what was wrong and what to do.
/// </summary>
public sealed class ApiException(int status, string type, string code, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string Code { get; } = code;
    public string? Param { get; } = param;

    /// <summary>Seconds a client should wait before retrying (sent as <c>Retry-After</c>), for transient errors.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string code, string message, string? param = null) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    public static ApiException NotFound(string code, string message, string? param = null) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error", code, message, param);

    public ApiErrorResponse ToResponse() => new(new ApiErrorBody(Message, Type, Param, Code));
}

public static class ApiErrors
{
    /// <summary>Writes <paramref name="e"/> as the response (status, Retry-After, error JSON), unless the response has started.</summary>
    public static async Task WriteAsync(HttpContext ctx, ApiException e)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } s) ctx.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(ctx.Response.Body, e.ToResponse(), NodeJsonContext.Default.ApiErrorResponse, ctx.RequestAborted);
    }

    /// <summary>The error of an exception that reached the host: ours as they are, the framework's mapped, the rest 500.</summary>
    public static ApiException From(Exception e) => e switch
    {
        ApiException a => a,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ApiException(413, "invalid_request_error", "request.too_large",
            "The request body is larger than the node accepts; shorten the prompt or split the request."),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => new ApiException(415, "invalid_request_error",
            "request.unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'."),
        BadHttpRequestException { InnerException: JsonException j } => FromJson(j),
        BadHttpRequestException b => ApiException.BadRequest("request.invalid_value",
            $"The request could not be read: {b.Message} Check the path parameters and the query string against docs/api.md."),
        _ => new ApiException(500, "server_error", "node.internal_error",
            "The node failed while answering; the error is logged. Retry, and report it if it repeats."),
    };

    /// <summary>
    /// A body System.Text.Json could not read: broken JSON (the reader's own exception type), a string that is not valid
    /// UTF-8 or holds a lone surrogate, a converter's <see cref="RequestFieldException"/>, or a value of the wrong type.
    /// The parameter is the JSON path without its <c>$.</c>.
    /// </summary>
    public static ApiException FromJson(JsonException e)
    {
        var param = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (e is RequestFieldException f) return ApiException.BadRequest(f.Code, f.Message, param);
        if (e.InnerException is InvalidOperationException or ArgumentException && e.InnerException.Message.Contains("UTF", StringComparison.Ordinal))
            return ApiException.BadRequest("request.invalid_encoding",
                $"{(param is null ? "A string" : $"'{param}'")} is not valid text: strings must be UTF-8 without lone surrogates ({e.InnerException.Message}).", param);
        // Syntax errors come from the reader as a subclass of JsonException; the serializer's own are JsonException itself.
        if (e.GetType() != typeof(JsonException) || e.InnerException is JsonException || param is null)
            return ApiException.BadRequest("request.malformed_json",
                $"The request body is not valid JSON ({e.Message}). Send a JSON object as documented in docs/api.md.");
        return ApiException.BadRequest("request.invalid_value", $"'{param}' has the wrong JSON type; docs/api.md shows the expected shape.", param);
    }

    /// <summary>The exception handler: every error that escapes an endpoint becomes an OpenAI-style body.</summary>
    public static async Task HandleAsync(HttpContext ctx)
    {
        var e = ctx.Features.Get<IExceptionHandlerFeature>()?.Error;
        var error = e is null ? From(new InvalidOperationException("no exception")) : From(e);
        if (error.Status == 500 && e is not null)
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Federation.Node.Api").UnhandledRequestError(e, ctx.Request.Method, ctx.Request.Path);
        await WriteAsync(ctx, error);
    }

    /// <summary>Status-only answers under <c>/v1</c> (no route: 404, wrong method: 405) get an OpenAI-style body too.</summary>
    public static Task StatusCodeAsync(StatusCodeContext sc)
    {
        var ctx = sc.HttpContext;
        if (!ctx.Request.Path.StartsWithSegments("/v1") || ctx.Response.HasStarted || ctx.Response.ContentLength > 0) return Task.CompletedTask;
        var status = ctx.Response.StatusCode;
        var error = status switch
        {
            404 => ApiException.NotFound("request.unknown_endpoint",
                $"There is no endpoint {ctx.Request.Method} {ctx.Request.Path}; GET /openapi/v1.json lists them."),
            405 => new ApiException(405, "invalid_request_error", "request.method_not_allowed",
                $"{ctx.Request.Path} does not accept {ctx.Request.Method}; GET /openapi/v1.json lists the methods it does."),
            413 => new ApiException(413, "invalid_request_error", "request.too_large",
                "The request body is larger than the node accepts; shorten the prompt or split the request."),
            415 => new ApiException(415, "invalid_request_error", "request.unsupported_media_type",
                $"Send the body as JSON with 'Content-Type: application/json'; found '{ctx.Request.ContentType}'."),
            400 => ApiException.BadRequest("request.invalid_value", "The request could not be read; check the body, the path and the query string against docs/api.md."),
            _ => new ApiException(status, status >= 500 ? "server_error" : "invalid_request_error", $"http.{status}", $"The node answered HTTP {status}."),
        };
        return WriteAsync(ctx, error);
    }
}
