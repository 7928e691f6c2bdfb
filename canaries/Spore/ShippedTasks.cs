using Federation.Registry.Crypto;

namespace Federation.Canaries.Spore;

/// <summary>The CPU-sized tasks shipped with the project (copied next to the program under <c>spore-tasks/</c>).</summary>
public static class ShippedTasks
{
    /// <summary>The Rosenbrock optimisation artifact (pure Python, deterministic, well under a second; budget 30 s).</summary>
    public static byte[] RosenbrockArtifact()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "spore-tasks", "rosenbrock", "train.py");
        if (!File.Exists(path))
            throw new FileNotFoundException($"the shipped task artifact is missing at {path}; rebuild the project (it is copied from canaries/Spore/tasks/)", path);
        return File.ReadAllBytes(path);
    }

    /// <summary>A signed manifest of the Rosenbrock task (metric <c>loss</c>, minimize, 30 s).</summary>
    public static TaskManifest RosenbrockManifest(NodeKey creator, long timestamp) =>
        TaskManifest.Create("rosenbrock-10d", "Minimise the 10-D Rosenbrock function by gradient descent with momentum; metric = final loss.",
            "optimisation", "python_script", "loss", "minimize", SporeJson.Sha256Hex(RosenbrockArtifact()), "", "", 30, timestamp, creator);
}
