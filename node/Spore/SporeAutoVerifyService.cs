using Federation.Canaries.Spore;
using Federation.Node.Cli;
using Federation.Node.Hosting;

namespace Federation.Node.Spore;

/// <summary>
/// <c>fed serve --spore-listen … --spore-auto-verify</c>: runs <see cref="SporeAutoVerifier"/> with the reference's
/// defaults (spot-check p = 0.05 with the §8 multipliers, poll every 5 s, challenge timeout 1800 s) once the node is ready;
/// each step that publishes something also feeds the reputation book. Off unless asked for (docs/spore.md).
/// </summary>
public sealed class SporeAutoVerifyService(RuntimeHolder holder, SporeHostedService hosted, SporeProposalService proposals, NodeOptions options,
    ILogger<SporeAutoVerifyService> logger) : BackgroundService
{
    /// <summary>Settings of the loop (tests shorten the poll interval).</summary>
    public AutoVerifyOptions Settings { get; init; } = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.SporeAutoVerify) return;
        await holder.Started.WaitAsync(stoppingToken);
        if (holder.Runtime is null || hosted.Node is null) return;
        var verifier = proposals.CreateAutoVerifier(Settings);
        verifier.Log += line => logger.LogInformation("spore auto-verify: {Line}", line);
        using var timer = new PeriodicTimer(Settings.PollInterval);
        try
        {
            do
            {
                try
                {
                    await proposals.AutoStepAsync(verifier, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("spore auto-verify step failed: {Message}", e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
