using Microsoft.Extensions.AI;

namespace Federation.Client;

/// <summary>Reads the typed <c>federation</c> object that <see cref="FederationClient"/> puts on responses.</summary>
public static class FederationExtensions
{
    /// <summary>The answer's <see cref="FederationInfo"/>, or null when the response did not come from a Federation node.</summary>
    /// <remarks>
    /// Looks in the response's <c>AdditionalProperties</c> (where <see cref="FederationClient"/> puts it) and then in its
    /// messages' (where <c>ToChatResponse</c> moves the properties of stream updates).
    /// </remarks>
    public static FederationInfo? GetFederation(this ChatResponse response)
    {
        if (response is null) return null;
        if (Find(response.AdditionalProperties) is { } f) return f;
        for (var i = response.Messages.Count - 1; i >= 0; i--)
            if (Find(response.Messages[i].AdditionalProperties) is { } m) return m;
        return null;
    }

    private static FederationInfo? Find(AdditionalPropertiesDictionary? properties) =>
        properties?.TryGetValue(FederationInfo.PropertyName, out var v) == true ? v as FederationInfo : null;

    /// <summary>The <see cref="FederationInfo"/> of a stream update (set on the update with the finish reason), or null.</summary>
    public static FederationInfo? GetFederation(this ChatResponseUpdate update) =>
        update?.AdditionalProperties?.TryGetValue(FederationInfo.PropertyName, out var v) == true ? v as FederationInfo : null;
}
