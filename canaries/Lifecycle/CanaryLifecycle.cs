using System.Globalization;
using Federation.Canaries.Checkers;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Canaries.Lifecycle;

/// <summary>Knobs of the canary lifecycle (docs/canaries.md gives the formulas they enter).</summary>
public sealed record LifecycleOptions
{
    /// <summary>Beta-prior pseudo-passes a in the smoothed pass rate p̃ = (Σo + a) / (n + a + b).</summary>
    public double PriorPasses { get; init; } = 1;

    /// <summary>Beta-prior pseudo-fails b.</summary>
    public double PriorFails { get; init; } = 1;

    /// <summary>Smallest effective difficulty of a live canary (keeps d_eff inside (0,1]).</summary>
    public double DifficultyFloor { get; init; } = 0.01;

    /// <summary>Goodhart detector: the public − secret pass-rate gap that counts as overfitting (default 0.15).</summary>
    public double GoodhartGap { get; init; } = 0.15;

    /// <summary>Goodhart detector: one-sided z critical value (default 2.326, α = 0.01).</summary>
    public double GoodhartZ { get; init; } = 2.326;

    /// <summary>Goodhart detector: fewest checks on each side before it may flag (default 10).</summary>
    public int GoodhartMinSamples { get; init; } = 10;

    /// <summary>Bounty: an incumbent "passes" a submitted canary when o ≥ this (default 0.5).</summary>
    public double BountyPassMark { get; init; } = 0.5;

    /// <summary>Bounty: largest share of incumbents that may pass for the canary to be accepted (default 0: all must fail).</summary>
    public double BountyMaxPassShare { get; init; }

    /// <summary>Bounty: fewest incumbents that must have been tried (default 1).</summary>
    public int BountyMinIncumbents { get; init; } = 1;
}

/// <summary>What is known about a canary's use so far (kept by the store).</summary>
public readonly record struct CanaryUsage(int ScoredReveals, int Attempts, double PassSum, bool Retired)
{
    /// <summary>The raw pass rate Σo / n (NaN with no attempts).</summary>
    public double PassRate => Attempts == 0 ? double.NaN : PassSum / Attempts;
}

/// <summary>The Goodhart detector's verdict for one specialist (or node) in one topic.</summary>
public sealed record GoodhartVerdict(bool Overfit, double PublicRate, double SecretRate, double Gap, double Z, string Detail);

/// <summary>A verified real case offered as a candidate canary (seed §"Canary lifecycle": sourcing from reality; §10.4).</summary>
public sealed record RealityCase(string Topic, string Prompt, JsonObject Checker, CheckOutcome VerifiedOutcome, string EvidenceRef, DateTimeOffset VerifiedAt,
    double Difficulty = 0.5, int Lifespan = 3);

/// <summary>The decision on an adversarial-bounty submission; <see cref="Credit"/> is the record to sign when accepted.</summary>
public sealed record BountyDecision(bool Accepted, string Reason, Canary? Canary, JsonObject? Credit);

/// <summary>
/// The canary lifecycle as pure functions (no I/O, no clock: times are passed in). Seed §"Canary lifecycle":
/// rotation and expiry, secret reserve, Goodhart detector, difficulty re-weighting, sourcing from reality, adversarial bounty.
/// </summary>
public static class CanaryLifecycle
{
    /// <summary>The envelope type of a bounty credit record.</summary>
    public const string BountyCreditType = "canary.bounty_credit";

    /// <summary>Smoothed pass rate p̃ = (Σo + a) / (n + a + b).</summary>
    public static double SmoothedPassRate(CanaryUsage usage, LifecycleOptions? options = null)
    {
        var o = options ?? new LifecycleOptions();
        return (usage.PassSum + o.PriorPasses) / (usage.Attempts + o.PriorPasses + o.PriorFails);
    }

    /// <summary>
    /// Difficulty re-weighting: d_eff = max(floor, d · min(1, 2·(1 − p̃))). A fresh canary (p̃ = ½ under the default
    /// prior) keeps its authored d; as the pass rate rises toward 1 its weight falls toward the floor, so reward moves
    /// to canaries the models have not mastered; a canary most fail is never weighted above its authored d.
    /// </summary>
    public static double EffectiveDifficulty(Canary canary, CanaryUsage usage, LifecycleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(canary);
        var o = options ?? new LifecycleOptions();
        var p = SmoothedPassRate(usage, o);
        return Math.Max(o.DifficultyFloor, canary.Difficulty * Math.Min(1, 2 * (1 - p)));
    }

    /// <summary>Expired: retired by hand, or scored-revealed as many times as its lifespan (it may have leaked into training).</summary>
    public static bool IsExpired(Canary canary, CanaryUsage usage) => usage.Retired || usage.ScoredReveals >= canary.Lifespan;

    /// <summary>The weight of a canary in an audit: 0 once expired (rotation), else <see cref="EffectiveDifficulty"/>.</summary>
    public static double Weight(Canary canary, CanaryUsage usage, LifecycleOptions? options = null) =>
        IsExpired(canary, usage) ? 0 : EffectiveDifficulty(canary, usage, options);

    /// <summary>
    /// The weight in reward-bearing scoring: always 0 for the secret reserve (used only for blind audits, so nobody can
    /// train on what earns reward there), else <see cref="Weight"/>.
    /// </summary>
    public static double RewardWeight(Canary canary, CanaryUsage usage, LifecycleOptions? options = null) =>
        canary.Visibility == CanaryVisibility.Secret ? 0 : Weight(canary, usage, options);

    /// <summary>Whether a canary may be drawn into a blind audit battery: public or secret, not expired.</summary>
    public static bool IsAuditable(Canary canary, CanaryUsage usage) => !IsExpired(canary, usage);

    /// <summary>
    /// Goodhart detector. p₁ = Σo/n on public canaries, p₂ on secret ones; pooled p = (Σo₁+Σo₂)/(n₁+n₂);
    /// z = (p₁ − p₂) / √(p(1−p)(1/n₁ + 1/n₂)) (two-proportion z-test, one-sided). Overfit when n₁, n₂ ≥ min samples,
    /// the gap p₁ − p₂ exceeds the threshold AND z ≥ z_crit: a gap that is both large and not explainable by chance.
    /// </summary>
    public static GoodhartVerdict Goodhart(double publicPassSum, int publicN, double secretPassSum, int secretN, LifecycleOptions? options = null)
    {
        var o = options ?? new LifecycleOptions();
        if (publicN < o.GoodhartMinSamples || secretN < o.GoodhartMinSamples)
            return new GoodhartVerdict(false, publicN == 0 ? double.NaN : publicPassSum / publicN, secretN == 0 ? double.NaN : secretPassSum / secretN, double.NaN, double.NaN,
                $"not enough evidence: {publicN} public and {secretN} secret checks, at least {o.GoodhartMinSamples} of each are needed");
        var p1 = publicPassSum / publicN;
        var p2 = secretPassSum / secretN;
        var pooled = (publicPassSum + secretPassSum) / (publicN + secretN);
        var se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / publicN + 1.0 / secretN));
        var gap = p1 - p2;
        var z = se == 0 ? (gap > 0 ? double.PositiveInfinity : 0) : gap / se;
        var overfit = gap > o.GoodhartGap && z >= o.GoodhartZ;
        var f = (double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
        return new GoodhartVerdict(overfit, p1, p2, gap, z, overfit
            ? $"overfit: public pass rate {f(p1)} vs secret {f(p2)} (gap {f(gap)} > {f(o.GoodhartGap)}, z = {f(z)} ≥ {f(o.GoodhartZ)})"
            : $"no overfitting detected: gap {f(gap)} (threshold {f(o.GoodhartGap)}), z = {f(z)} (critical {f(o.GoodhartZ)})");
    }

    /// <summary>
    /// Sourcing from reality: a real query whose class-A checker passed the verified answer (o = 1, scored) becomes a
    /// candidate canary, secret by default (it has never been seen, so it is the least gameable kind).
    /// </summary>
    /// <exception cref="ArgumentException">The checker is not class A, or the outcome is not a verified full pass.</exception>
    public static Canary FromReality(RealityCase c, CanaryVisibility visibility = CanaryVisibility.Secret)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (!CheckerSpec.ClassAKinds.Contains(CheckerSpec.Kind(c.Checker) ?? ""))
            throw new ArgumentException($"only class-A cases can be sourced from reality; checker kind \"{CheckerSpec.Kind(c.Checker)}\" is not one of {string.Join(", ", CheckerSpec.ClassAKinds)}.");
        if (c.VerifiedOutcome.Status != CheckStatus.Scored || c.VerifiedOutcome.O < 1)
            throw new ArgumentException($"a reality case needs a verified full pass of its own checker (o = 1, scored); found o = {c.VerifiedOutcome.O.ToString(CultureInfo.InvariantCulture)} ({c.VerifiedOutcome.StatusName}): {c.VerifiedOutcome.Detail}");
        return Canary.Create(c.Topic, CanaryClass.A, c.Prompt, c.Checker, c.Difficulty, c.Lifespan, visibility,
            new CanarySource(CanarySource.Reality, null, $"{c.EvidenceRef}@{c.VerifiedAt.ToUnixTimeSeconds()}"));
    }

    /// <summary>
    /// Adversarial bounty: a submitted class-A canary is accepted when its own reference answer passes (o = 1, so the
    /// task is solvable, not a trap) and at most <see cref="LifecycleOptions.BountyMaxPassShare"/> of at least
    /// <see cref="LifecycleOptions.BountyMinIncumbents"/> incumbents reach the pass mark. The accepted canary is
    /// re-issued with <c>source = {"kind":"bounty","by":submitter}</c>, and <see cref="BountyDecision.Credit"/> is the
    /// record <c>{"type":"canary.bounty_credit"...}</c> payload to sign into the submitter's reputation record.
    /// </summary>
    public static BountyDecision EvaluateBounty(Canary submitted, NodeId submitter, CheckOutcome referenceOutcome,
        IReadOnlyList<(string Specialist, CheckOutcome Outcome)> incumbents, DateTimeOffset now, LifecycleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(submitted);
        ArgumentNullException.ThrowIfNull(incumbents);
        var o = options ?? new LifecycleOptions();
        if (submitted.Class != CanaryClass.A)
            return new BountyDecision(false, $"bounty canaries must be class A (objectively checkable); this one is class {submitted.Class}", null, null);
        if (referenceOutcome.Status != CheckStatus.Scored || referenceOutcome.O < 1)
            return new BountyDecision(false, $"the submitter's reference answer does not pass the canary's own checker ({referenceOutcome.Detail}); an unsolvable canary earns nothing", null, null);
        var scored = incumbents.Where(i => i.Outcome.Status == CheckStatus.Scored).ToList();
        if (scored.Count < o.BountyMinIncumbents)
            return new BountyDecision(false, $"only {scored.Count} incumbent(s) were scored; at least {o.BountyMinIncumbents} are needed", null, null);
        var passing = scored.Count(i => i.Outcome.O >= o.BountyPassMark);
        var share = (double)passing / scored.Count;
        if (share > o.BountyMaxPassShare)
            return new BountyDecision(false, $"{passing} of {scored.Count} incumbents pass it (share {share.ToString("0.###", CultureInfo.InvariantCulture)} > {o.BountyMaxPassShare.ToString(CultureInfo.InvariantCulture)}): not a blind spot", null, null);
        var credited = Canary.Create(submitted.Topic, submitted.Class, submitted.Prompt, submitted.Checker, submitted.Difficulty, submitted.Lifespan,
            submitted.Visibility, new CanarySource(CanarySource.Bounty, submitter.ToString()));
        var credit = new JsonObject
        {
            ["canary"] = credited.Cid.ToString(),
            ["topic"] = credited.Topic,
            ["submitter"] = submitter.ToString(),
            ["difficulty"] = credited.Difficulty, // the book credits the submitter one class-A pass of this difficulty
            ["incumbents"] = new JsonArray(scored.Select(i => (JsonValue)new JsonObject { ["specialist"] = i.Specialist, ["o"] = i.Outcome.O })),
            ["time"] = now.ToUnixTimeSeconds(),
        };
        return new BountyDecision(true, $"accepted: {scored.Count - passing} of {scored.Count} incumbents fail it", credited, credit);
    }
}
