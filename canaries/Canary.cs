using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Federation.Registry;
using Federation.Registry.Json;

namespace Federation.Canaries;

/// <summary>Who judges a canary (seed §"Plane B"): A objective (an algorithm), B reference (a signed snapshot), C consensus (a panel).</summary>
public enum CanaryClass
{
    /// <summary>Objective: an algorithmic checker decides (exact, numeric, regex, JSON schema, program).</summary>
    A,

    /// <summary>Reference: the answer is matched against a signed reference snapshot.</summary>
    B,

    /// <summary>Consensus: a weighted panel judges (interface only here).</summary>
    C,
}

/// <summary>Whether a canary is published in clear or only as a salted commitment until it is revealed.</summary>
public enum CanaryVisibility
{
    /// <summary>Published in clear; may be used for reward-bearing scoring.</summary>
    Public,

    /// <summary>Published only as <c>SHA-256(salt ‖ canonical bytes)</c>; used only for blind audits (the secret reserve).</summary>
    Secret,
}

/// <summary>Where a canary came from (seed §"Canary lifecycle": authored, sourced from reality, adversarial bounty).</summary>
public sealed record CanarySource(string Kind, string? By = null, string? Ref = null)
{
    /// <summary>Written by an operator.</summary>
    public const string Authored = "authored";

    /// <summary>A real query whose class-A outcome was verified after the fact.</summary>
    public const string Reality = "reality";

    /// <summary>Submitted by a node under the adversarial bounty.</summary>
    public const string Bounty = "bounty";

    internal JsonObject ToJson()
    {
        var o = new JsonObject { ["kind"] = Kind };
        if (By is not null) o["by"] = By;
        if (Ref is not null) o["ref"] = Ref;
        return o;
    }
}

/// <summary>
/// A control task (seed §"Plane B"). Content-addressed: its id is the CID of its canonical JSON
/// <c>{"v":1,"topic","class","prompt","checker","difficulty","lifespan","visibility","source"?}</c>.
/// Invariants: topic and prompt are non-empty, difficulty ∈ (0,1], lifespan ≥ 1, and the checker's kind fits the class.
/// </summary>
public sealed class Canary
{
    /// <summary>The format version written as <c>"v"</c>.</summary>
    public const int FormatVersion = 1;

    private Canary(string topic, CanaryClass cls, string prompt, JsonObject checker, double difficulty, int lifespan, CanaryVisibility visibility, CanarySource? source)
    {
        Topic = topic;
        Class = cls;
        Prompt = prompt;
        Checker = checker;
        Difficulty = difficulty;
        Lifespan = lifespan;
        Visibility = visibility;
        Source = source;
        Json = BuildJson();
        CanonicalBytes = CanonicalJson.Serialize(Json);
        Cid = Cid.Of(CanonicalBytes);
    }

    /// <summary>The topic the canary tests (a routing-policy topic id).</summary>
    public string Topic { get; }

    /// <summary>Who judges it.</summary>
    public CanaryClass Class { get; }

    /// <summary>What is sent to the audited specialist, as an ordinary user message.</summary>
    public string Prompt { get; }

    /// <summary>The checker specification (<c>{"kind":…}</c>; see docs/canaries.md).</summary>
    public JsonObject Checker { get; }

    /// <summary>Authored difficulty d ∈ (0,1] (the weight of a pass in reputation, seed §9.9).</summary>
    public double Difficulty { get; }

    /// <summary>How many scored reveals the canary survives before it retires (weight → 0).</summary>
    public int Lifespan { get; }

    /// <summary>Public or secret (secret reserve).</summary>
    public CanaryVisibility Visibility { get; }

    /// <summary>Where it came from (null: authored, not recorded).</summary>
    public CanarySource? Source { get; }

    /// <summary>The canary's canonical JSON object (do not mutate).</summary>
    public JsonObject Json { get; }

    /// <summary>The canonical JSON bytes: what the CID and the commitment hash.</summary>
    public byte[] CanonicalBytes { get; }

    /// <summary>The CID of <see cref="CanonicalBytes"/>.</summary>
    public Cid Cid { get; }

    /// <summary>A new canary; throws <see cref="ArgumentException"/> saying which field is wrong.</summary>
    public static Canary Create(string topic, CanaryClass cls, string prompt, JsonObject checker, double difficulty, int lifespan,
        CanaryVisibility visibility = CanaryVisibility.Public, CanarySource? source = null)
    {
        if (!TryValidate(topic, cls, prompt, checker, difficulty, lifespan, out var error))
            throw new ArgumentException(error);
        // Copy the checker through canonical bytes so later changes to the caller's object cannot alter the CID.
        var frozen = (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(checker));
        return new Canary(topic, cls, prompt, frozen, difficulty, lifespan, visibility, source);
    }

    /// <summary>Reads a canary from its JSON object; <paramref name="error"/> names the bad member.</summary>
    public static bool TryFromJson(JsonValue json, [NotNullWhen(true)] out Canary? canary, [NotNullWhen(false)] out string? error)
    {
        canary = null;
        if (json is not JsonObject o)
        {
            error = "expected a canary as a JSON object {\"topic\",\"class\",\"prompt\",\"checker\",\"difficulty\",\"lifespan\",\"visibility\"}.";
            return false;
        }
        foreach (var k in o.Keys)
        {
            if (k is not ("v" or "topic" or "class" or "prompt" or "checker" or "difficulty" or "lifespan" or "visibility" or "source"))
            {
                error = $"unexpected member \"{k}\" in a canary; expected v, topic, class, prompt, checker, difficulty, lifespan, visibility, source.";
                return false;
            }
        }
        if (o.TryGetValue("v", out var v) && !(v is JsonInt vi && vi.Value == FormatVersion))
        {
            error = $"canary \"v\" must be {FormatVersion}, found {v}.";
            return false;
        }
        if (!Str(o, "topic", out var topic, out error) || !Str(o, "class", out var clsText, out error) || !Str(o, "prompt", out var prompt, out error))
            return false;
        if (!TryParseClass(clsText, out var cls))
        {
            error = $"canary \"class\" must be \"A\", \"B\" or \"C\", found \"{clsText}\".";
            return false;
        }
        if (!o.TryGetValue("checker", out var chk) || chk is not JsonObject checker)
        {
            error = "canary \"checker\" must be an object {\"kind\": …}.";
            return false;
        }
        if (!o.TryGetValue("difficulty", out var dv) || !TryNumber(dv, out var difficulty))
        {
            error = "canary \"difficulty\" must be a number in (0,1].";
            return false;
        }
        if (!o.TryGetValue("lifespan", out var lv) || lv is not JsonInt li || !li.TryGetInt64(out var life) || life is < 1 or > int.MaxValue)
        {
            error = "canary \"lifespan\" must be an integer ≥ 1 (the number of scored reveals before it retires).";
            return false;
        }
        var visibility = CanaryVisibility.Public;
        if (o.TryGetValue("visibility", out var visv))
        {
            if (visv is not JsonString vs || !TryParseVisibility(vs.Value, out visibility))
            {
                error = "canary \"visibility\" must be \"public\" or \"secret\".";
                return false;
            }
        }
        CanarySource? source = null;
        if (o.TryGetValue("source", out var sv))
        {
            if (sv is not JsonObject so || !so.TryGetValue("kind", out var kind) || kind is not JsonString ks
                || (so.TryGetValue("by", out var by) && by is not JsonString) || (so.TryGetValue("ref", out var rf) && rf is not JsonString))
            {
                error = "canary \"source\" must be {\"kind\": string, \"by\"?: string, \"ref\"?: string}.";
                return false;
            }
            source = new CanarySource(ks.Value, (by as JsonString)?.Value, (rf as JsonString)?.Value);
        }
        if (!TryValidate(topic, cls, prompt, checker, difficulty, (int)life, out error)) return false;
        canary = new Canary(topic, cls, prompt, (JsonObject)CanonicalJson.Parse(CanonicalJson.Serialize(checker)), difficulty, (int)life, visibility, source);
        return true;
    }

    /// <summary>Reads a canary from JSON text.</summary>
    /// <exception cref="FormatException">The text is not a valid canary; the message says why.</exception>
    public static Canary Parse(string json)
    {
        JsonValue v;
        try
        {
            v = CanonicalJson.Parse(json);
        }
        catch (FormatException e)
        {
            throw new FormatException($"canary is not valid JSON: {e.Message}", e);
        }
        return TryFromJson(v, out var c, out var error) ? c : throw new FormatException(error);
    }

    /// <summary>"A", "B" or "C" (case-sensitive).</summary>
    public static bool TryParseClass(string? text, out CanaryClass cls)
    {
        cls = text switch { "A" => CanaryClass.A, "B" => CanaryClass.B, "C" => CanaryClass.C, _ => (CanaryClass)(-1) };
        return (int)cls >= 0;
    }

    /// <summary>"public" or "secret".</summary>
    public static bool TryParseVisibility(string? text, out CanaryVisibility v)
    {
        v = text == "secret" ? CanaryVisibility.Secret : CanaryVisibility.Public;
        return text is "public" or "secret";
    }

    /// <summary>The same canary with another visibility (a different CID: visibility is part of the content).</summary>
    public Canary WithVisibility(CanaryVisibility visibility) =>
        new(Topic, Class, Prompt, Checker, Difficulty, Lifespan, visibility, Source);

    private static bool TryValidate(string topic, CanaryClass cls, string prompt, JsonObject checker, double difficulty, int lifespan, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(topic)) error = "canary topic must be a non-empty string (a routing-policy topic id).";
        else if (string.IsNullOrWhiteSpace(prompt)) error = "canary prompt must be a non-empty string.";
        else if (!(difficulty > 0 && difficulty <= 1)) error = $"canary difficulty must be in (0,1], found {difficulty.ToString(CultureInfo.InvariantCulture)}.";
        else if (lifespan < 1) error = $"canary lifespan must be ≥ 1 scored reveal, found {lifespan}.";
        else if (checker is null) error = "canary checker is missing.";
        else if (!CheckerSpec.TryValidate(cls, checker, out var e)) error = e;
        return error is null;
    }

    private JsonObject BuildJson()
    {
        var o = new JsonObject
        {
            ["v"] = FormatVersion,
            ["topic"] = Topic,
            ["class"] = Class.ToString(),
            ["prompt"] = Prompt,
            ["checker"] = Checker,
            ["difficulty"] = Difficulty,
            ["lifespan"] = Lifespan,
            ["visibility"] = Visibility == CanaryVisibility.Secret ? "secret" : "public",
        };
        if (Source is not null) o["source"] = Source.ToJson();
        return o;
    }

    private static bool Str(JsonObject o, string key, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? error)
    {
        value = null;
        error = null;
        if (o.TryGetValue(key, out var v) && v is JsonString s)
        {
            value = s.Value;
            return true;
        }
        error = $"canary \"{key}\" must be a string.";
        return false;
    }

    /// <summary>A JSON number (integer or float) as a double; false for anything else.</summary>
    public static bool TryNumber(JsonValue? v, out double d)
    {
        switch (v)
        {
            case JsonFloat f:
                d = f.Value;
                return true;
            case JsonInt i:
                d = (double)i.Value;
                return true;
            default:
                d = double.NaN;
                return false;
        }
    }
}
