using System.Diagnostics.CodeAnalysis;
using Federation.Registry.Crypto;
using Federation.Registry.Json;

namespace Federation.Registry.Envelopes;

/// <summary>Why a <see cref="SignedEnvelope"/> failed verification.</summary>
public enum EnvelopeFailure
{
    /// <summary>Not refused: the envelope verified.</summary>
    None,

    /// <summary>The id is not the CID of the canonical signed bytes (content or id altered).</summary>
    IdMismatch,

    /// <summary>The Ed25519 signature does not verify; <see cref="EnvelopeCheck.Signature"/> says why.</summary>
    SignatureInvalid,
}

/// <summary>The typed result of <see cref="SignedEnvelope.Verify"/>.</summary>
public readonly record struct EnvelopeCheck(EnvelopeFailure Failure, string Message, SignatureCheck Signature)
{
    /// <summary>True when the envelope verified: its id and its signature are both right.</summary>
    public bool IsValid => Failure == EnvelopeFailure.None;

    /// <inheritdoc/>
    public override string ToString() => IsValid ? Message : $"{Failure}: {Message}";
}

/// <summary>
/// A signed statement: <c>{"type","payload","signer","signature","id"}</c>. The signed bytes are the canonical JSON of
/// <c>{"payload","signer","type"}</c>; <c>signature</c> is Ed25519 by <c>signer</c> over those bytes and <c>id</c> is
/// their CID (the Spore convention: sign the canonical bytes, id = SHA-256 of the same bytes). An envelope read from
/// outside is untrusted until <see cref="Verify"/> returns valid.
/// </summary>
public sealed class SignedEnvelope
{
    private SignedEnvelope(string type, JsonValue payload, NodeId signer, byte[] signature, Cid id)
    {
        Type = type;
        Payload = payload;
        Signer = signer;
        SignatureBytes = signature;
        Id = id;
    }

    /// <summary>What the envelope states (e.g. <c>ledger.entry</c>); part of the signed bytes.</summary>
    public string Type { get; }

    /// <summary>The statement itself; part of the signed bytes. Do not mutate it.</summary>
    public JsonValue Payload { get; }

    /// <summary>The claimed signer (public key).</summary>
    public NodeId Signer { get; }

    /// <summary>The 64-byte Ed25519 signature.</summary>
    public ReadOnlyMemory<byte> SignatureBytes { get; }

    /// <summary>The signature as 128 lowercase hex characters.</summary>
    public string Signature => Convert.ToHexStringLower(SignatureBytes.Span);

    /// <summary>The claimed id: CID of the signed bytes.</summary>
    public Cid Id { get; }

    /// <summary>The canonical bytes that are hashed and signed: <c>{"payload":…,"signer":…,"type":…}</c>.</summary>
    public static byte[] SigningBytes(string type, JsonValue payload, NodeId signer)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(payload);
        return CanonicalJson.Serialize(new JsonObject
        {
            ["type"] = type,
            ["payload"] = payload,
            ["signer"] = signer.ToString(),
        });
    }

    /// <summary>Signs <paramref name="payload"/> as <paramref name="type"/> with <paramref name="key"/>.</summary>
    public static SignedEnvelope Seal(string type, JsonValue payload, NodeKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = SigningBytes(type, payload, key.NodeId);
        return new SignedEnvelope(type, payload, key.NodeId, key.Sign(bytes), Cid.Of(bytes));
    }

    /// <summary>Recomputes the id from the content and checks the signature. Nothing in the envelope is trusted before this passes.</summary>
    public EnvelopeCheck Verify()
    {
        // Always recomputed from the current content (never cached), so a payload changed after sealing is caught.
        var bytes = SigningBytes(Type, Payload, Signer);
        var actual = Cid.Of(bytes);
        if (actual != Id)
            return new EnvelopeCheck(EnvelopeFailure.IdMismatch,
                $"id {Id} does not match the content, whose CID is {actual}; the envelope was altered", default);
        var sig = Ed25519Verifier.Verify(Signer, bytes, SignatureBytes.Span);
        return sig.IsValid
            ? new EnvelopeCheck(EnvelopeFailure.None, "envelope verified", sig)
            : new EnvelopeCheck(EnvelopeFailure.SignatureInvalid, $"signature by {Signer} does not verify: {sig.Message}", sig);
    }

    /// <summary>
    /// An envelope from stored parts (e.g. database columns). Like <see cref="FromJson"/>, this checks only the shape:
    /// call <see cref="Verify"/> before trusting it.
    /// </summary>
    public static SignedEnvelope FromParts(string type, JsonValue payload, NodeId signer, ReadOnlySpan<byte> signature, Cid id)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(payload);
        if (signature.Length != NodeKey.SignatureLength)
            throw new ArgumentException($"an Ed25519 signature is {NodeKey.SignatureLength} bytes, found {signature.Length}.", nameof(signature));
        return new SignedEnvelope(type, payload, signer, signature.ToArray(), id);
    }

    /// <summary>The envelope as a JSON object <c>{"id","payload","signature","signer","type"}</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["type"] = Type,
        ["payload"] = Payload,
        ["signer"] = Signer.ToString(),
        ["signature"] = Signature,
        ["id"] = Id.ToString(),
    };

    /// <summary>The envelope's canonical JSON bytes (for storage or the wire).</summary>
    public byte[] ToCanonicalBytes() => CanonicalJson.Serialize(ToJson());

    /// <summary>Reads an envelope's shape (not its validity: call <see cref="Verify"/>).</summary>
    /// <exception cref="FormatException">A member is missing, of the wrong kind, or badly encoded; the message names it.</exception>
    public static SignedEnvelope FromJson(JsonValue json) =>
        TryFromJson(json, out var env, out var error) ? env : throw new FormatException(error);

    /// <summary>Parses JSON text into an envelope's shape (not its validity: call <see cref="Verify"/>).</summary>
    public static SignedEnvelope Parse(string json) => FromJson(CanonicalJson.Parse(json));

    /// <summary>Reads an envelope's shape; on failure <paramref name="error"/> names the bad member.</summary>
    public static bool TryFromJson(JsonValue json, [NotNullWhen(true)] out SignedEnvelope? envelope, [NotNullWhen(false)] out string? error)
    {
        envelope = null;
        if (json is not JsonObject o)
        {
            error = $"expected a signed envelope as a JSON object, found a {json?.Kind.ToString().ToLowerInvariant() ?? "nothing"}.";
            return false;
        }
        foreach (var k in o.Keys)
        {
            if (k is not ("type" or "payload" or "signer" or "signature" or "id"))
            {
                error = $"unexpected member \"{k}\" in a signed envelope; expected only type, payload, signer, signature, id.";
                return false;
            }
        }
        if (!TryString(o, "type", out var type, out error)) return false;
        if (!o.TryGetValue("payload", out var payload))
        {
            error = "signed envelope is missing \"payload\".";
            return false;
        }
        if (!TryString(o, "signer", out var signerHex, out error)) return false;
        if (!NodeId.TryParse(signerHex, out var signer, out var e))
        {
            error = $"signed envelope \"signer\": {e}";
            return false;
        }
        if (!TryString(o, "signature", out var sigHex, out error)) return false;
        var sig = new byte[NodeKey.SignatureLength];
        if (!Hex.TryDecodeLower(sigHex, sig, "Ed25519 signature", out e))
        {
            error = $"signed envelope \"signature\": {e}";
            return false;
        }
        if (!TryString(o, "id", out var idHex, out error)) return false;
        if (!Cid.TryParse(idHex, out var id, out e))
        {
            error = $"signed envelope \"id\": {e}";
            return false;
        }
        envelope = new SignedEnvelope(type, payload, signer, sig, id);
        return true;
    }

    private static bool TryString(JsonObject o, string key, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        error = null;
        if (!o.TryGetValue(key, out var v))
        {
            error = $"signed envelope is missing \"{key}\".";
            return false;
        }
        if (v is not JsonString s)
        {
            error = $"signed envelope \"{key}\" must be a string, found a {v.Kind.ToString().ToLowerInvariant()}.";
            return false;
        }
        value = s.Value;
        return true;
    }
}
