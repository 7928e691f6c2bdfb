namespace Federation.Governance.Tests;

/// <summary>The <c>defaults:</c> block every reputation-policy test starts from (no trailing newline).</summary>
internal static class ReputationYamlFixture
{
    public const string Defaults = """
        version: 1
        defaults:
          half_life: 30
          kappa: 10
          C0: 0.5
          gamma: 0.5
          beta: 0.5
          stake0: 1000
          g_max: 2
          w_max: 0.15
          slash_factor: 0.1
          recovery_half_life: 120
          exploration_share: 0.1
          newcomer_mass: 5
          independence_prior: 0.5
          independence_min_shared: 10
        """;
}
