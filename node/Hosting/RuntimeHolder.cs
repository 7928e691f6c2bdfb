namespace Federation.Node.Hosting;

/// <summary>Holds the runtime once it has started (the HTTP host is up before the models are loaded).</summary>
public sealed class RuntimeHolder
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NodeRuntime? Runtime { get; private set; }

    public string? StartError { get; private set; }

    /// <summary>Completes when the runtime is ready or has failed to start (then <see cref="StartError"/> says why).</summary>
    public Task Started => _started.Task;

    public void SetReady(NodeRuntime runtime)
    {
        Runtime = runtime;
        _started.TrySetResult();
    }

    public void SetFailed(string error)
    {
        StartError = error;
        _started.TrySetResult();
    }

    /// <summary>Detaches the runtime at shutdown (the caller disposes it).</summary>
    public NodeRuntime? Detach()
    {
        var rt = Runtime;
        Runtime = null;
        return rt;
    }

    /// <summary>The runtime, or null with the reason it is not there (still loading, or failed to start and why).</summary>
    public bool TryGet(out NodeRuntime runtime, out string notReady)
    {
        runtime = Runtime!;
        notReady = StartError is { } e ? $"The node failed to start: {e}" : "The node is still loading its models; retry in a few seconds.";
        return runtime is not null;
    }
}
