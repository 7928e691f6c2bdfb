using Microsoft.Extensions.AI;

namespace Federation.Client;

/// <summary>Reads the typed <c>federation</c> object that <see cref="FederationClient"/> puts on responses.</summary>
public static class FederationExtensions
{
    /// <summary>The answer's <see cref="FederationInfo"/>, or null when the response did not come from a Federation node.</summary>
    public static FederationInfo? GetFederation(this ChatResponse response) =>
        response?.AdditionalProperties?.TryGetValue(FederationInfo.PropertyName, out var v) == true ? v as FederationInfo : null;

    /// <summary>The <see cref="FederationInfo"/> of a stream update (set on the update with the finish reason), or null.</summary>
    public static FederationInfo? GetFederation(this ChatResponseUpdate update) =>
        update?.AdditionalProperties?.TryGetValue(FederationInfo.PropertyName, out var v) == true ? v as FederationInfo : null;
}
