using System.Diagnostics.CodeAnalysis;
using System.Text;
using Federation.Registry;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Memory;

/// <summary>
/// A knowledge fragment (issue 10, Model): <c>{"author","content","created_at_ms","metadata","namespace"}</c>. Its CID is
/// the SHA-256 of its canonical JSON bytes, and those 32 raw bytes are its leaf in the namespace's Merkle log.
/// </summary>
/// <remarks>
/// A tombstone is a fragment with empty content and metadata <c>{"tombstone": "&lt;cid&gt;"}</c>: deletion is an append, so
/// the log stays append-only and the tombstone itself has an inclusion proof.
/// </remarks>
public sealed class Fragment
{
    /// <summary>The metadata key that makes a fragment a tombstone; its value is the deleted fragment's CID.</summary>
    public const string TombstoneKey = "tombstone";

    private byte[]? _bytes;

    /// <summary>A fragment; <paramref name="metadata"/> must not be changed afterwards (it is hashed).</summary>
    public Fragment(MemoryNamespace ns, string content, JsonObject metadata, NodeId author, long createdAtMs)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(metadata);
        if (createdAtMs < 0) throw new ArgumentOutOfRangeException(nameof(createdAtMs), $"created_at_ms must not be negative; got {createdAtMs}.");
        Namespace = ns;
        Content = content;
        Metadata = metadata;
        Author = author;
        CreatedAtMs = createdAtMs;
    }

    /// <summary>The namespace the fragment belongs to.</summary>
    public MemoryNamespace Namespace { get; }

    /// <summary>The text.</summary>
    public string Content { get; }

    /// <summary>Free-form JSON metadata (source, title, …).</summary>
    public JsonObject Metadata { get; }

    /// <summary>The contributor: the Ed25519 public key that signs the fragment.</summary>
    public NodeId Author { get; }

    /// <summary>Creation time, milliseconds since the Unix epoch, as the contributor stated it.</summary>
    public long CreatedAtMs { get; }

    /// <summary>The fragment a tombstone deletes, or null when this is not a tombstone.</summary>
    public Cid? TombstoneTarget =>
        Metadata.TryGetValue(TombstoneKey, out var t) && t is JsonString s && Cid.TryParse(s.Value, out var c) ? c : null;

    /// <summary>The fragment as a JSON object (the envelope payload).</summary>
    public JsonObject ToJson() => new()
    {
        ["namespace"] = Namespace.Name,
        ["content"] = Content,
        ["metadata"] = Metadata,
        ["author"] = Author.ToString(),
        ["created_at_ms"] = CreatedAtMs,
    };

    /// <summary>The canonical JSON bytes that the CID hashes.</summary>
    public byte[] CanonicalBytes() => _bytes ??= CanonicalJson.Serialize(ToJson());

    /// <summary>SHA-256 of <see cref="CanonicalBytes"/>.</summary>
    public Cid Cid => Cid.Of(CanonicalBytes());

    /// <summary>UTF-8 length of the content.</summary>
    public int ContentBytes => Encoding.UTF8.GetByteCount(Content);

    /// <summary>Reads a fragment strictly: exactly the five members with the right kinds.</summary>
    public static bool TryFromJson(JsonValue? json, [NotNullWhen(true)] out Fragment? fragment, [NotNullWhen(false)] out string? error)
    {
        fragment = null;
        if (json is not JsonObject o)
        {
            error = "a fragment must be a JSON object {namespace, content, metadata, author, created_at_ms}.";
            return false;
        }
        foreach (var k in o.Keys)
            if (k is not ("namespace" or "content" or "metadata" or "author" or "created_at_ms"))
            {
                error = $"unexpected member \"{k}\" in a fragment; expected only namespace, content, metadata, author, created_at_ms.";
                return false;
            }
        if (!o.TryGetValue("namespace", out var nsv) || nsv is not JsonString nss) { error = "fragment \"namespace\" must be a string."; return false; }
        if (!MemoryNamespace.TryParse(nss.Value, out var ns, out error)) { error = "fragment " + error; return false; }
        if (!o.TryGetValue("content", out var cv) || cv is not JsonString cs) { error = "fragment \"content\" must be a string."; return false; }
        if (!o.TryGetValue("metadata", out var mv) || mv is not JsonObject md) { error = "fragment \"metadata\" must be a JSON object ({} when there is none)."; return false; }
        if (!o.TryGetValue("author", out var av) || av is not JsonString a || !NodeId.TryParse(a.Value, out var author, out var aerr))
        {
            error = "fragment \"author\" must be the contributor's public key as 64 lowercase hex characters.";
            return false;
        }
        _ = aerr;
        if (!o.TryGetValue("created_at_ms", out var tv) || tv is not JsonInt ti || !ti.TryGetInt64(out var t) || t < 0)
        {
            error = "fragment \"created_at_ms\" must be a non-negative integer (milliseconds since the Unix epoch).";
            return false;
        }
        fragment = new Fragment(ns, cs.Value, md, author, t);
        error = null;
        return true;
    }
}

/// <summary>Why a signed fragment was refused.</summary>
public enum FragmentFailure
{
    /// <summary>Accepted.</summary>
    None,
    /// <summary>The envelope type is neither <c>memory.fragment</c> nor <c>memory.fragment.custodial</c>.</summary>
    WrongType,
    /// <summary>The payload is not a well-formed fragment.</summary>
    Malformed,
    /// <summary>The fragment's author is not the envelope's signer.</summary>
    AuthorMismatch,
    /// <summary>The envelope id does not match its content.</summary>
    EnvelopeIdMismatch,
    /// <summary>The contributor's Ed25519 signature does not verify.</summary>
    SignatureInvalid,
}

/// <summary>A fragment in its signed envelope, checked: <see cref="Fragment.Author"/> equals the signer and the signature verifies.</summary>
public sealed record SignedFragment(SignedEnvelope Envelope, Fragment Fragment, Cid Cid)
{
    /// <summary>Envelope type of a fragment signed by its contributor's own key.</summary>
    public const string OwnType = "memory.fragment";

    /// <summary>Envelope type of a fragment signed by a per-user key the node keeps for an authenticated API-key user.</summary>
    public const string CustodialType = "memory.fragment.custodial";

    /// <summary>Signed by a node-kept per-user key rather than the contributor's own.</summary>
    public bool Custodial => Envelope.Type == CustodialType;

    /// <summary>Signs <paramref name="fragment"/> with <paramref name="key"/>, which must be the author's key.</summary>
    public static SignedFragment Seal(Fragment fragment, NodeKey key, bool custodial = false)
    {
        ArgumentNullException.ThrowIfNull(fragment);
        ArgumentNullException.ThrowIfNull(key);
        if (key.NodeId != fragment.Author)
            throw new ArgumentException($"the fragment's author is {fragment.Author} but the key is {key.NodeId}; a fragment is signed by its author.", nameof(key));
        var env = SignedEnvelope.Seal(custodial ? CustodialType : OwnType, fragment.ToJson(), key);
        return new SignedFragment(env, fragment, fragment.Cid);
    }

    /// <summary>Checks an envelope from outside: type, fragment shape, author = signer, id and signature.</summary>
    public static (SignedFragment? Fragment, FragmentFailure Failure, string Message) Check(SignedEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Type is not (OwnType or CustodialType))
            return (null, FragmentFailure.WrongType, $"envelope type \"{envelope.Type}\" is not a memory fragment; expected \"{OwnType}\" or \"{CustodialType}\".");
        if (!Fragment.TryFromJson(envelope.Payload, out var f, out var error))
            return (null, FragmentFailure.Malformed, error);
        if (f.Author != envelope.Signer)
            return (null, FragmentFailure.AuthorMismatch, $"fragment author {f.Author} did not sign it (signer {envelope.Signer}); a fragment is signed by its contributor.");
        var check = envelope.Verify();
        if (!check.IsValid)
            return (null, check.Failure == EnvelopeFailure.IdMismatch ? FragmentFailure.EnvelopeIdMismatch : FragmentFailure.SignatureInvalid, check.Message);
        return (new SignedFragment(envelope, f, f.Cid), FragmentFailure.None, "fragment verified");
    }
}
