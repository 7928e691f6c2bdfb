using Federation.Registry.Json;

namespace Federation.Canaries.Tests;

internal static class TestCanaries
{
    public static JsonObject Checker(string json) => (JsonObject)CanonicalJson.Parse(json);

    public static Canary Exact(string topic = "math", string expected = "4", double d = 0.5, int lifespan = 3, CanaryVisibility v = CanaryVisibility.Public, string prompt = "What is 2+2? Answer with the number only.") =>
        Canary.Create(topic, CanaryClass.A, prompt, Checker($$"""{"kind":"exact","expected":"{{expected}}"}"""), d, lifespan, v);
}
