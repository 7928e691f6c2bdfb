using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federation.Node.Api;

/// <summary>
/// An error answered in the OpenAI shape <c>{"error":{"message","type","param","code"}}</c> with an HTTP status.
/// Codes are listed in docs/errors.md; messages say what was wrong and what to do.
/// </summary>
public sealed class ApiException(int status, string type, string code, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string Code { get; } = code;
    public string? Param { get; } = param;

    public static ApiException BadRequest(string code, string message, string? param = null) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    public static ApiException NotFound(string code, string message, string? param = null) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error", code, message, param);
}

/// <summary>The JSON body of an OpenAI-style error.</summary>
public sealed record ApiErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string Code);

public static class ApiErrors
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    /// <summary>Writes <paramref name="e"/> as the response (status + error JSON), unless the response has started.</summary>
    public static async Task WriteAsync(HttpContext ctx, ApiException e)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = e.Status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(Serialize(e), ctx.RequestAborted);
    }

    public static string Serialize(ApiException e) =>
        JsonSerializer.Serialize(new { error = new ApiErrorBody(e.Message, e.Type, e.Param, e.Code) }, Json);

    /// <summary>Middleware that turns <see cref="ApiException"/> (and malformed JSON) into OpenAI-style errors.</summary>
    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        try
        {
            await next(ctx);
        }
        catch (ApiException e)
        {
            await WriteAsync(ctx, e);
        }
        catch (JsonException e)
        {
            await WriteAsync(ctx, ApiException.BadRequest("request.malformed_json",
                $"The request body is not valid JSON ({e.Message}). Send a JSON object as documented in the README."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteAsync(ctx, new ApiException(413, "invalid_request_error", "request.too_large",
                "The request body is larger than the node accepts; shorten the prompt or split the request."));
        }
    });
}
