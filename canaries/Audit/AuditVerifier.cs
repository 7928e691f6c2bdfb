using System.Security.Cryptography;
using System.Text;
using Federation.Canaries.Checkers;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Canaries.Audit;

/// <summary>The result of <see cref="AuditVerifier.VerifyAsync"/>: valid when nothing is in <see cref="Problems"/>.</summary>
public sealed record AuditVerification(bool SignatureValid, bool Revealed, bool SampleHonest, int Rescored, int RescoreMismatches, IReadOnlyList<string> Problems, SignedEnvelope? Record)
{
    /// <summary>True when the record's signature holds and, if revealed, the seed, the sample and every re-score agree.</summary>
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// Re-checks an audit record, or a reveal with its record inside: the signatures, SHA-256(seed) against the published
/// commitment, the sample re-derived from the seed and the battery, each revealed canary against its handle (CID, or
/// commitment with the salt), the answer against its hash, and each outcome by running the checker again.
/// </summary>
public sealed class AuditVerifier(CanaryChecker checker)
{
    /// <summary>Verifies <paramref name="file"/>: a signed <c>audit.record</c> or <c>audit.reveal</c> envelope.</summary>
    public async Task<AuditVerification> VerifyAsync(JsonValue file, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        if (!SignedEnvelope.TryFromJson(file, out var env, out var shapeError))
            return new AuditVerification(false, false, false, 0, 0, [$"not a signed envelope: {shapeError}"], null);
        SignedEnvelope record;
        JsonObject? reveal = null;
        if (env.Type == AuditRunner.RevealType)
        {
            var rc = env.Verify();
            if (!rc.IsValid) problems.Add($"reveal: {rc.Message}");
            if (env.Payload is not JsonObject rp || !rp.TryGetValue("record", out var rj) || !SignedEnvelope.TryFromJson(rj, out var inner, out var e2))
                return new AuditVerification(false, true, false, 0, 0, [.. problems, "reveal has no valid \"record\" envelope inside"], null);
            record = inner;
            reveal = rp;
            if (env.Signer != record.Signer) problems.Add($"reveal is signed by {env.Signer} but the record by {record.Signer}: only the auditor can reveal its own seed");
        }
        else if (env.Type == AuditRunner.RecordType)
        {
            record = env;
        }
        else
        {
            return new AuditVerification(false, false, false, 0, 0, [$"expected an envelope of type \"{AuditRunner.RecordType}\" or \"{AuditRunner.RevealType}\", found \"{env.Type}\""], null);
        }
        var check = record.Verify();
        if (!check.IsValid) problems.Add($"record: {check.Message}");
        if (record.Type != AuditRunner.RecordType) problems.Add($"inner envelope has type \"{record.Type}\", expected \"{AuditRunner.RecordType}\"");
        if (reveal is null) return new AuditVerification(check.IsValid, false, false, 0, 0, problems, record);

        int rescored = 0, mismatches = 0;
        var honest = false;
        try
        {
            var p = record.Payload.AsObject();
            var seed = Convert.FromHexString(reveal["seed"].AsString());
            if (AuditSampling.Commitment(seed) != p["seed_commitment"].AsString())
                problems.Add($"seed does not match the published commitment: SHA-256(seed) = {AuditSampling.Commitment(seed)}, committed {p["seed_commitment"].AsString()}");
            var battery = p["battery"].AsArray().Select(h => h.AsString()).ToList();
            var recItems = p["items"].AsArray();
            var expected = AuditSampling.Sample(seed, battery, (int)p["n"].AsInt64());
            var actual = recItems.Select(i => i["handle"].AsString()).ToList();
            honest = expected.SequenceEqual(actual, StringComparer.Ordinal);
            if (!honest)
                problems.Add($"sample is not the one the seed draws: expected [{string.Join(", ", expected.Select(Short))}], the record has [{string.Join(", ", actual.Select(Short))}]");
            var revItems = reveal["items"].AsArray();
            if (revItems.Count != recItems.Count)
                problems.Add($"reveal has {revItems.Count} items, the record {recItems.Count}");
            for (var i = 0; i < Math.Min(revItems.Count, recItems.Count); i++)
            {
                var (ok, mismatch) = await CheckItemAsync(i, recItems[i].AsObject(), revItems[i].AsObject(), p["topic"].AsString(), problems, cancellationToken);
                if (ok) rescored++;
                if (mismatch) mismatches++;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or ArgumentException or OverflowException)
        {
            problems.Add($"malformed record or reveal: {e.Message}");
        }
        return new AuditVerification(check.IsValid, true, honest, rescored, mismatches, problems, record);
    }

    private async Task<(bool Rescored, bool Mismatch)> CheckItemAsync(int i, JsonObject rec, JsonObject rev, string topic, List<string> problems, CancellationToken ct)
    {
        var handle = rec["handle"].AsString();
        if (rev["handle"].AsString() != handle)
        {
            problems.Add($"item {i}: reveal names {Short(rev["handle"].AsString())}, the record {Short(handle)}");
            return (false, true);
        }
        if (!Canary.TryFromJson(rev["canary"], out var canary, out var error))
        {
            problems.Add($"item {i}: revealed canary is malformed: {error}");
            return (false, true);
        }
        var saltValue = rev.TryGetValue("salt", out var sv) ? sv : JsonValue.Null;
        var named = saltValue is JsonString salt ? CanaryCommitment.Compute(Convert.FromHexString(salt.Value), canary) : canary.Cid.ToString();
        if (named != handle)
        {
            problems.Add($"item {i}: revealed canary does not match handle {Short(handle)} ({(saltValue is JsonString ? "SHA-256(salt ‖ canary)" : "its CID")} is {Short(named)})");
            return (false, true);
        }
        if (canary.Topic != topic) problems.Add($"item {i}: canary topic '{canary.Topic}' is not the audited topic '{topic}'");
        if (canary.Class.ToString() != rec["class"].AsString() || !Canary.TryNumber(rec["difficulty"], out var d) || d != canary.Difficulty)
            problems.Add($"item {i}: class or difficulty in the record differ from the revealed canary");
        var answer = rev["answer"].AsString();
        if (Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(answer))) != rec["answer_sha256"].AsString())
        {
            problems.Add($"item {i}: revealed answer does not hash to the recorded answer_sha256");
            return (false, true);
        }
        var status = rec["status"].AsString();
        if (status == "unanswered") return (false, false);
        var outcome = await checker.CheckAsync(canary, answer, ct);
        if (!Canary.TryNumber(rec["o"], out var o) || o != outcome.O || status != outcome.StatusName)
        {
            problems.Add($"item {i}: re-scored o = {outcome.O} ({outcome.StatusName}: {outcome.Detail}), the record says o = {rec["o"]} ({status})");
            return (true, true);
        }
        return (true, false);
    }

    private static string Short(string h) => h.Length > 12 ? h[..12] : h;
}
