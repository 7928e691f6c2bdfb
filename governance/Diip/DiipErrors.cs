namespace Federation.Governance.Diip;

/// <summary>
/// The typed reasons a DIIP event or input is refused (docs/errors.md, docs/diip.md). Every refusal carries one of these
/// codes and a message saying what was expected, what was found and what to do.
/// </summary>
public static class DiipErrors
{
    /// <summary>The event is not allowed in the proposal's current state.</summary>
    public const string InvalidTransition = "diip.invalid_transition";
    /// <summary>An envelope's id or Ed25519 signature does not verify, or the signer is not who must sign.</summary>
    public const string SignatureInvalid = "diip.signature_invalid";
    /// <summary>The proposal is malformed.</summary>
    public const string ProposalInvalid = "diip.proposal_invalid";
    /// <summary>The event payload is malformed.</summary>
    public const string EventInvalid = "diip.event_invalid";
    /// <summary>No proposal with that id.</summary>
    public const string UnknownProposal = "diip.unknown_proposal";
    /// <summary>A proposal with that id already exists.</summary>
    public const string DuplicateProposal = "diip.duplicate_proposal";
    /// <summary>The bond is below the class minimum.</summary>
    public const string BondInsufficient = "diip.bond_insufficient";
    /// <summary>Recipe or provenance manifest missing.</summary>
    public const string ProvenanceIncomplete = "diip.provenance_incomplete";
    /// <summary>An event's time is earlier than the proposal's previous event.</summary>
    public const string TimeWentBackwards = "diip.time_went_backwards";
    /// <summary>The shadow soak has not lasted the class minimum.</summary>
    public const string SoakTooShort = "diip.soak_too_short";
    /// <summary>The vote period has not ended.</summary>
    public const string VoteStillOpen = "diip.vote_still_open";
    /// <summary>Activation before the time-lock ended.</summary>
    public const string TimeLockActive = "diip.time_lock_active";
    /// <summary>A veto after the veto window closed.</summary>
    public const string VetoWindowClosed = "diip.veto_window_closed";
    /// <summary>Finalization before post-monitoring lasted its minimum.</summary>
    public const string MonitoringTooShort = "diip.monitoring_too_short";
    /// <summary>The same node voted or predicted twice.</summary>
    public const string DuplicateBallot = "diip.duplicate_ballot";
    /// <summary>A signer outside the configured authorities recorded an authority event.</summary>
    public const string NotAuthorized = "diip.not_authorized";
    /// <summary>The DIIP policy is invalid (file:line:col errors).</summary>
    public const string PolicyInvalid = "diip.policy_invalid";
    /// <summary>A stored event log does not replay (tampered or corrupt).</summary>
    public const string LogCorrupt = "diip.log_corrupt";
}

/// <summary>A DIIP input that is refused; <see cref="Code"/> is one of <see cref="DiipErrors"/>.</summary>
public sealed class DiipException(string code, string message) : Exception($"{code}: {message}")
{
    /// <summary>The typed reason (e.g. <c>diip.invalid_transition</c>).</summary>
    public string Code { get; } = code;

    /// <summary>The message without the code.</summary>
    public string Reason { get; } = message;
}
