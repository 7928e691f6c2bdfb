using Federation.Bench.Fuzz;

namespace Federation.Hardening.Tests;

/// <summary>
/// The bounded fuzz run of the standing suite (issue 8): each reader of untrusted bytes gets a fixed number of inputs
/// generated from fixed seeds (the same inputs every run) and may only ever answer with its typed error.
/// <c>dotnet run --project bench/Federation.Bench -- fuzz [seconds]</c> runs the same targets for longer.
/// </summary>
public sealed class FuzzTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void A_reader_of_untrusted_bytes_only_ever_raises_its_typed_error(string name)
    {
        var target = FuzzTargets.All.Single(t => t.Name == name);
        foreach (var seed in new[] { 1, 2 })
        {
            var report = Fuzzer.Run(target, seed, maxExecutions: 1500, budget: TimeSpan.FromSeconds(20));
            Assert.True(report.Crashes.Count == 0, string.Join("\n", report.Crashes));
            // the generator must reach the error paths, or the run proves little
            Assert.True(report.Typed > report.Executions / 10, $"{name}: only {report.Typed} of {report.Executions} inputs were refused");
        }
    }

    [Fact]
    public void The_generator_is_deterministic_for_a_seed()
    {
        foreach (var t in FuzzTargets.All)
        {
            var a = new Random(42);
            var b = new Random(42);
            for (var i = 0; i < 50; i++) Assert.Equal(Fuzzer.Mutate(t, a), Fuzzer.Mutate(t, b));
        }
    }
}
