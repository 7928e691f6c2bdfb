namespace Federation.Client;

/// <summary>Why a receipt did not verify.</summary>
public enum ReceiptFailure
{
    /// <summary>Not refused: the receipt verified.</summary>
    None,

    /// <summary>The response carries no <c>federation.ledger</c> reference (not a Federation answer, or it was stripped).</summary>
    NoReceipt,

    /// <summary>The node's key could not be obtained (unpinned and <c>/health</c> gave no node id).</summary>
    NodeKeyUnavailable,

    /// <summary>The node did not serve the tree head or the proof, or served something malformed.</summary>
    ProofUnavailable,

    /// <summary>The signed tree head is not signed by the trusted node key, or its signature or id is wrong.</summary>
    TreeHeadSignatureInvalid,

    /// <summary>The new tree head does not extend the last one this client verified: the node rewrote its history.</summary>
    ConsistencyFailed,

    /// <summary>The ledger entry's envelope is not signed by the node key, or it is not the entry the answer names.</summary>
    EntryInvalid,

    /// <summary>The inclusion proof does not lead from the entry to the signed root.</summary>
    InclusionProofInvalid,

    /// <summary>The entry records no answer hash (a withheld answer), so nothing ties it to the text.</summary>
    AnswerNotRecorded,

    /// <summary>The SHA-256 of the text received differs from the entry's <c>answer_sha256</c>: the text was changed.</summary>
    AnswerHashMismatch,

    /// <summary>The entry's <c>query_sha256</c> is not the hash of the question the caller asked: the answer is for another query.</summary>
    QueryHashMismatch,
}

/// <summary>How the node key that signed the tree head came to be trusted.</summary>
public enum NodeKeyTrust
{
    /// <summary>The caller pinned it (<see cref="FederationClientOptions.NodeKey"/>): the secure option, a lying node is caught.</summary>
    Pinned,

    /// <summary>
    /// Fetched from the node's <c>/health</c> (trust on first use): proves the node cannot later deny or rewrite what it
    /// ledgered, but not who the node is; a man in the middle or an impostor node could present its own key.
    /// </summary>
    FetchedFromNode,
}

/// <summary>
/// The outcome of <see cref="FederationClient.VerifyReceiptAsync(Microsoft.Extensions.AI.ChatResponse, CancellationToken)"/>:
/// valid, or the first check that failed with a reason in words.
/// </summary>
/// <param name="Failure"><see cref="ReceiptFailure.None"/> when valid.</param>
/// <param name="Reason">What was checked, or what was expected and what was found.</param>
/// <param name="LedgerIndex">The entry checked (null when the response had no receipt).</param>
/// <param name="TreeHead">The signed tree head the proof was checked against (when one was fetched).</param>
/// <param name="KeyTrust">How the node key was trusted.</param>
public sealed record ReceiptVerification(
    ReceiptFailure Failure, string Reason, long? LedgerIndex, TreeHead? TreeHead, NodeKeyTrust KeyTrust)
{
    /// <summary>True when every check passed.</summary>
    public bool IsValid => Failure == ReceiptFailure.None;

    /// <inheritdoc/>
    public override string ToString() => IsValid ? Reason : $"{Failure}: {Reason}";
}

/// <summary>The outcome of a consistency check between two tree heads.</summary>
/// <param name="IsConsistent">True when the newer head extends the older one.</param>
/// <param name="Reason">What was checked, or why it failed.</param>
public sealed record ConsistencyCheck(bool IsConsistent, string Reason);
