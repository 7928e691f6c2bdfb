using System.Text.Json;
using Federation.Node.Answering;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Node.Review;

/// <summary>The payload of a reviewer's signed <c>review.decision</c> envelope (the <c>review</c> of a reviewed answer entry).</summary>
/// <remarks><see cref="Member"/> names the panel member whose answer (or an edit of it) was approved (issue 14); null for
/// rejections and for items without a kept panel.</remarks>
public sealed record ReviewDecision(string ReviewId, string Decision, string Reviewer, string DraftSha256, string? AnswerSha256,
    string? Comment, long DecidedAtMs, string? Member = null)
{
    public const string EnvelopeType = "review.decision";
}

/// <summary>
/// Decides T3 reviews and ledgers them. A decision is (1) recorded in the queue atomically (pending → decided),
/// (2) signed with the reviewer's own Ed25519 key (kept under <c>&lt;data-dir&gt;/reviewers/&lt;name&gt;/identity</c>),
/// (3) appended to the ledger as an <c>answer</c> entry (<see cref="AnswerRecord.Create"/> from the answer's stored
/// facts and the signed decision), and (4) the item is marked with its ledger index, which wakes the waiting client.
/// Steps 3–4 are idempotent and re-run by <see cref="LedgerPendingAsync"/> after a crash, or by the node when a decision
/// was made from the CLI while the node held the ledger.
/// </summary>
public sealed class ReviewService(ReviewQueue queue, DataDirLayout layout, Func<SqliteLedger?> ledger, TimeProvider? time = null) : IDisposable
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _ledgerGate = new(1, 1);

    /// <summary>The reviewer's signing key (created on first use; it never leaves the data dir).</summary>
    public NodeKey ReviewerKey(string reviewer) =>
        new NodeKeyStore(layout.ReviewerDir(ReviewerNames.Require(reviewer))).LoadOrCreate().Key;

    /// <summary>
    /// Decides a pending item. <paramref name="member"/> (approvals only) names the panel member whose answer is released:
    /// <paramref name="edited"/> if given, else that member's answer as it is; it must be one of the item's panel.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="member"/> is not on the item's panel (nothing is changed).</exception>
    public async Task<ReviewItem> DecideAsync(string id, bool approve, string reviewer, string? edited, string? comment, CancellationToken ct, string? member = null)
    {
        ReviewerNames.Require(reviewer);
        if (approve && member is not null)
        {
            var pending = queue.Get(id) ?? throw new KeyNotFoundException($"no review '{id}'; list them with 'fed review list'");
            var chosen = pending.Panel.FirstOrDefault(m => m.Specialist == member)
                ?? throw new ArgumentException($"'{member}' is not a member of review {id}'s panel ({string.Join(", ", pending.Panel.Select(m => m.Specialist))}); approve one of them.");
            edited ??= chosen.Text;
        }
        else if (!approve) member = null;
        var item = queue.Decide(id, approve, reviewer, edited, comment, member);
        using (var key = ReviewerKey(reviewer))
        {
            var decision = new ReviewDecision(item.Id, approve ? "approved" : "rejected", reviewer, AnswerRecord.Sha256(item.Draft),
                item.FinalAnswer is null ? null : AnswerRecord.Sha256(item.FinalAnswer), item.Comment,
                (item.DecidedAt ?? _time.GetUtcNow()).ToUnixTimeMilliseconds(), item.Member);
            var payload = CanonicalJson.FromObject(decision, NodeJson.Options);
            queue.SetDecisionEnvelope(item.Id, SignedEnvelope.Seal(ReviewDecision.EnvelopeType, payload, key).ToJson().ToString());
        }
        await LedgerPendingAsync(ct);
        return queue.Get(id)!;
    }

    /// <summary>Ledgers every decided item that has no ledger entry yet; returns how many were written.</summary>
    public async Task<int> LedgerPendingAsync(CancellationToken ct)
    {
        var l = ledger();
        if (l is null) return 0;
        await _ledgerGate.WaitAsync(ct);
        try
        {
            var n = 0;
            foreach (var (item, factsJson, envelopeJson) in queue.DecidedUnledgered())
            {
                if (envelopeJson is null) continue;
                var envelope = SignedEnvelope.Parse(envelopeJson);
                var check = envelope.Verify();
                if (!check.IsValid) throw new InvalidOperationException($"review {item.Id}: the stored decision signature does not verify ({check}); not ledgered");
                var facts = JsonSerializer.Deserialize(factsJson, NodeJsonContext.Default.AnswerFacts)
                    ?? throw new InvalidOperationException($"review {item.Id}: the stored answer facts are empty; not ledgered");
                var approved = item.Status == ReviewStatus.Approved;
                var record = AnswerRecord.Create(facts, approved ? VerificationStatus.Passed : VerificationStatus.Rejected,
                    approved ? item.FinalAnswer : null, envelope, item.Reviewer);
                var receipt = await l.AppendAsync(AnswerRecord.EntryType, record.ToLedgerPayload(), ct);
                queue.Complete(item.Id, receipt.Index);
                n++;
            }
            return n;
        }
        finally
        {
            _ledgerGate.Release();
        }
    }

    public void Dispose() => _ledgerGate.Dispose();
}
