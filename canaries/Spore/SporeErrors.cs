namespace Federation.Canaries.Spore;

/// <summary>Why a Spore message, record, task, event or profile was refused (codes listed in docs/spore.md).</summary>
public enum SporeReason
{
    /// <summary>Accepted.</summary>
    None,
    /// <summary><c>spore.not_object</c>: a payload or envelope that is not a JSON object. Closes the connection.</summary>
    NotObject,
    /// <summary><c>spore.schema_unknown_key</c>: a key outside the closed schema. Closes the connection for records, tasks and profiles.</summary>
    UnknownKey,
    /// <summary><c>spore.schema_missing_key</c>: a required key is missing. Closes the connection for records, tasks and profiles.</summary>
    MissingKey,
    /// <summary><c>spore.schema_bad_status</c>: <c>status</c> is not keep/discard/crash. Closes the connection.</summary>
    BadStatus,
    /// <summary><c>spore.schema_type</c>: a value of the wrong JSON type (the reference is lax here; we refuse, keeping the connection).</summary>
    WrongType,
    /// <summary><c>spore.cid_mismatch</c>: the id/task_id is not the SHA-256 of the canonical bytes.</summary>
    CidMismatch,
    /// <summary><c>spore.signature_invalid</c>: the Ed25519 signature does not verify (libsodium rules).</summary>
    SignatureInvalid,
    /// <summary><c>spore.lineage_no_task</c>: no task_id could be worked out.</summary>
    NoTask,
    /// <summary><c>spore.lineage_task_mismatch</c>: the known parent belongs to another task.</summary>
    ParentTaskMismatch,
    /// <summary><c>spore.lineage_second_root</c>: a parentless record for a task that already has records.</summary>
    SecondRoot,
    /// <summary><c>spore.control_type_mismatch</c>: the event's type differs from the message type.</summary>
    EventTypeMismatch,
    /// <summary><c>spore.control_actor_not_signer</c>: the payload's actor (challenger/verifier) is not the signer.</summary>
    ActorNotSigner,
    /// <summary><c>spore.control_payload</c>: a control payload that breaks the §5.2 schema (our check; the reference stores it).</summary>
    BadControlPayload,
    /// <summary><c>spore.duplicate</c>: already seen (silently ignored, as the reference does).</summary>
    Duplicate,
    /// <summary><c>spore.cap_reached</c>: a storage cap (docs/spore.md, "Bounded memory") was reached; the item is dropped.</summary>
    CapReached,
    /// <summary><c>spore.profile_stale</c>: an older (or same) profile than the one held.</summary>
    StaleProfile,
}

/// <summary>A refusal: the reason, a message that says what was wrong, and whether the reference would close the connection.</summary>
public sealed record SporeRejection(SporeReason Reason, string Message, bool ClosesConnection = false)
{
    /// <summary>The stable error code (<c>spore.*</c>).</summary>
    public string Code => Codes(Reason);

    /// <summary>The stable error code of <paramref name="r"/>.</summary>
    public static string Codes(SporeReason r) => r switch
    {
        SporeReason.None => "ok",
        SporeReason.NotObject => "spore.not_object",
        SporeReason.UnknownKey => "spore.schema_unknown_key",
        SporeReason.MissingKey => "spore.schema_missing_key",
        SporeReason.BadStatus => "spore.schema_bad_status",
        SporeReason.WrongType => "spore.schema_type",
        SporeReason.CidMismatch => "spore.cid_mismatch",
        SporeReason.SignatureInvalid => "spore.signature_invalid",
        SporeReason.NoTask => "spore.lineage_no_task",
        SporeReason.ParentTaskMismatch => "spore.lineage_task_mismatch",
        SporeReason.SecondRoot => "spore.lineage_second_root",
        SporeReason.EventTypeMismatch => "spore.control_type_mismatch",
        SporeReason.ActorNotSigner => "spore.control_actor_not_signer",
        SporeReason.BadControlPayload => "spore.control_payload",
        SporeReason.Duplicate => "spore.duplicate",
        SporeReason.CapReached => "spore.cap_reached",
        SporeReason.StaleProfile => "spore.profile_stale",
        _ => "spore.unknown",
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>Thrown by parsers when input is refused; carries the typed <see cref="Rejection"/>.</summary>
public sealed class SporeFormatException(SporeRejection rejection) : FormatException(rejection.ToString())
{
    /// <summary>The typed reason.</summary>
    public SporeRejection Rejection { get; } = rejection;
}
