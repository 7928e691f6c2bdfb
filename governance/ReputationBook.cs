using System.Globalization;
using System.Text;
using System.Text.Json;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Governance;

/// <summary>A signed record the book refuses, with the reason and what to do.</summary>
public class ReputationRecordException(string message) : Exception(message);

/// <summary>A verifying audit record or bounty credit whose signer the policy does not trust (<c>audit_signers</c>, docs/reputation.md).</summary>
public sealed class UntrustedSignerException(string message) : ReputationRecordException(message);

/// <summary>One class-A canary check with its visibility (public or secret reserve), the Goodhart detector's input.</summary>
public sealed record BookCanaryCheck(string Topic, string Target, bool Secret, double Time, double O, string RecordId);

/// <summary>What one <see cref="ReputationBook.Ingest"/> did: the record id, its type, whether it was new, and the evidence it carries.</summary>
public sealed record IngestResult(string Id, string Type, string Topic, bool Added, int Evidence);

/// <summary>One piece of class-A/B evidence: the topic, the target (<c>node/specialist</c>) and the §9.9 audit triple.</summary>
public sealed record BookEvidence(string Topic, string Target, Audit Audit, string RecordId);

/// <summary>One signed slashing event (§9.5): topic, target, time (days) and its evidence.</summary>
public sealed record BookSlash(string Topic, string Target, double Time, string Reason, string RecordId);

/// <summary>
/// The reputation book: ingests signed <c>audit.record</c> envelopes (canaries, docs/canaries.md) and signed
/// <c>reputation.slash</c> events, and computes a topic's §9.9 table at τ. Every envelope is verified (id and Ed25519
/// signature) before anything in it is used; the table is a pure function of the set of records and τ (records are
/// keyed by CID, so arrival order and duplicates do not matter).
/// </summary>
/// <remarks>
/// Mapping (docs/reputation.md "From audits to the table"): a row is a target <c>&lt;node id&gt;/&lt;specialist&gt;</c>; each
/// audit item with status <c>scored</c> and class A or B gives the triple [t_a, d_a, o_a] with t_a = item time in days
/// (unix seconds / 86400, the policy's unit). Deferred, invalid and unanswered items, class C, and items with no specialist
/// are not evidence. A record with no <c>target_node</c> is refused: reputation is bound to the node key. Stake is not yet
/// bonded anywhere, so stake = 0 (g = 1) for every row.
/// </remarks>
public sealed class ReputationBook
{
    /// <summary>The canaries' audit record type.</summary>
    public const string AuditRecordType = "audit.record";

    /// <summary>A slashing event: payload <c>{"v":1,"topic","node","specialist","time","reason","evidence":[…]}</c>.</summary>
    public const string SlashType = "reputation.slash";

    /// <summary>
    /// Reality feedback (§10.4), signed by the node that released the answer: payload <c>{"v":1,"topic","node",
    /// "specialists":[…],"ledger_index","ledger_entry","verdict":"refuted"|"confirmed","time","reporter"}</c>. A refutation
    /// is class-A evidence o = 0, d = 1 for each specialist; a confirmation is kept but is not evidence (a node's own
    /// client could otherwise farm confirmations).
    /// </summary>
    public const string OutcomeType = "reputation.outcome";

    /// <summary>
    /// A node's re-check of one of its own answers, drawn at the topic's audit rate (docs/reputation.md "Self-audit"),
    /// signed by that node: payload <c>{"v":1,"topic","node","specialist","ledger_index","ledger_entry","class",
    /// "checks":[…],"outcome":"passed"|"failed"|"not_checkable","time"}</c>. A failure is class-A evidence o = 0, d = 1
    /// for the specialist (so the failing-class-A trigger sees it); a pass is kept but is not evidence — a node that picks
    /// what it re-checks could otherwise farm its own passes.
    /// </summary>
    public const string RecheckType = "reputation.recheck";

    /// <summary>
    /// An accepted adversarial bounty (docs/canaries.md), signed by the node that judged it: payload <c>{"canary","topic",
    /// "submitter","incumbents","difficulty","time"}</c>. It counts as one class-A pass [t, d = the canary's difficulty,
    /// o = 1] on the submitter's row <c>&lt;submitter&gt;/bounty</c> (<see cref="BountyRow"/>); a submitter may not credit itself.
    /// </summary>
    public const string BountyCreditType = "canary.bounty_credit";

    /// <summary>The specialist name of the row that holds a node's bounty credits.</summary>
    public const string BountyRow = "bounty";

    /// <summary>
    /// Who may sign the <c>audit.record</c> and <c>canary.bounty_credit</c> envelopes the book accepts (node id, 64 hex →
    /// trusted); null: any signer whose signature verifies (offline analysis). The node sets it from the policy.
    /// </summary>
    public Func<string, bool>? TrustedAuditSigner { get; init; }

    /// <summary>Seconds per policy time unit (the policy's half-lives are in days).</summary>
    public const double SecondsPerDay = 86400;

    private readonly SortedDictionary<string, SignedEnvelope> _records = new(StringComparer.Ordinal);
    private readonly List<BookEvidence> _evidence = [];
    private readonly List<BookSlash> _slashes = [];
    private readonly List<(string Topic, string Target, string Canary, string Label)> _labels = [];
    private readonly List<BookCanaryCheck> _checks = [];

    /// <summary>Every ingested record, by id (ordinal).</summary>
    public IReadOnlyCollection<SignedEnvelope> Records => _records.Values;

    /// <summary>Topics with any evidence or slashing event, ordered.</summary>
    public IReadOnlyList<string> Topics =>
        _evidence.Select(e => e.Topic).Concat(_slashes.Select(s => s.Topic)).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The class-A checks of a topic whose audit items name their canary's <c>visibility</c> (Goodhart detector input).</summary>
    public IReadOnlyList<BookCanaryCheck> CanaryChecks(string topic) => _checks.Where(c => c.Topic == topic).ToArray();

    /// <summary>All evidence of a topic.</summary>
    public IReadOnlyList<BookEvidence> Evidence(string topic) => _evidence.Where(e => e.Topic == topic).ToArray();

    /// <summary>The earliest and latest evidence or slashing time of a topic (days), or null when it has none.</summary>
    public (double First, double Last)? Span(string topic)
    {
        var times = _evidence.Where(e => e.Topic == topic).Select(e => e.Audit.Time)
            .Concat(_slashes.Where(s => s.Topic == topic).Select(s => s.Time)).ToArray();
        return times.Length == 0 ? null : (times.Min(), times.Max());
    }

    /// <summary>Verifies and adds one record; a record already held (same CID) is accepted again without effect.</summary>
    /// <exception cref="ReputationRecordException">The envelope does not verify, has an unknown type, or its payload is malformed.</exception>
    public IngestResult Ingest(SignedEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var check = envelope.Verify();
        if (!check.IsValid)
            throw new ReputationRecordException($"record {envelope.Id} does not verify ({check}); it was altered or not signed by {envelope.Signer}. Ingest only records as their signer wrote them.");
        var id = envelope.Id.ToString();
        if (envelope.Type is AuditRecordType or BountyCreditType && TrustedAuditSigner is { } trusted && !trusted(envelope.Signer.ToString()))
            throw new UntrustedSignerException($"record {id}: signer {envelope.Signer} is not a trusted audit signer; this node counts {envelope.Type} records only from its own key and the node ids listed under 'auditors' or 'audit_signers' in policies/reputation.yaml. Add the signer there if you trust it.");
        var (topic, evidence, slashes) = envelope.Type switch
        {
            AuditRecordType => ParseAudit(envelope, id),
            SlashType => ParseSlash(envelope, id),
            OutcomeType => ParseOutcome(envelope, id),
            RecheckType => ParseRecheck(envelope, id),
            BountyCreditType => ParseBounty(envelope, id),
            _ => throw new ReputationRecordException($"record {id} has type '{envelope.Type}'; the reputation book takes '{AuditRecordType}' (from 'fed audit run'), '{SlashType}', '{OutcomeType}', '{RecheckType}' or '{BountyCreditType}' envelopes."),
        };
        if (!_records.TryAdd(id, envelope)) return new IngestResult(id, envelope.Type, topic, false, evidence.Count);
        _evidence.AddRange(evidence);
        _slashes.AddRange(slashes);
        if (envelope.Type == AuditRecordType)
        {
            _labels.AddRange(AnswerLabels(envelope, topic));
            _checks.AddRange(evidence.Zip(VisibilityOf(envelope)).Where(x => x.Second is not null)
                .Select(x => new BookCanaryCheck(topic, x.First.Target, x.Second == "secret", x.First.Audit.Time, x.First.Audit.Outcome, id)));
        }
        return new IngestResult(id, envelope.Type, topic, true, evidence.Count);
    }

    /// <summary>Parses JSON text as a signed envelope and ingests it (a clear error when it is not an envelope).</summary>
    public IngestResult Ingest(string json)
    {
        JsonValue value;
        try { value = CanonicalJson.Parse(json); }
        catch (JsonParseException e) { throw new ReputationRecordException($"not JSON ({e.Message}); expected a signed audit.record envelope."); }
        if (!SignedEnvelope.TryFromJson(value, out var env, out var error))
            throw new ReputationRecordException($"not a signed envelope ({error}); expected {{\"type\",\"payload\",\"signer\",\"signature\",\"id\"}} as written by 'fed audit run'.");
        return Ingest(env);
    }

    /// <summary>The §9.9 table of <paramref name="topic"/> at τ (days) with the topic's knobs; rows are targets with evidence or slashes.</summary>
    public ReputationTable Table(string topic, double tau, TopicReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(knobs);
        var targets = _evidence.Where(e => e.Topic == topic).Select(e => e.Target)
            .Concat(_slashes.Where(s => s.Topic == topic).Select(s => s.Target)).Distinct().Order(StringComparer.Ordinal);
        var nodes = targets.Select(t => new NodeEvidence(t,
            Slashing.Factor(_slashes.Where(s => s.Topic == topic && s.Target == t).Select(s => s.Time), tau, knobs.RecoveryHalfLife, knobs.SlashFactor),
            0,
            _evidence.Where(e => e.Topic == topic && e.Target == t).Select(e => e.Audit).ToArray())).ToArray();
        // No row with R > 0 (e.g. only slashing events so far, or nodes without evidence): nothing to share out, every
        // weight is 0 (the clip itself refuses n = 0, so the rows are computed here with the same functions).
        var raw = nodes.Select(n =>
        {
            var (en, c) = ReputationMath.Evidence(n.Audits.Where(a => a.Time <= tau), tau, knobs.Math.HalfLife);
            var cHat = ReputationMath.Shrunk(en, c, knobs.Math.Kappa, knobs.Math.C0);
            return new NodeReputation(n.Name, en, c, cHat, ReputationMath.Raw(cHat, en, knobs.Math.Gamma, n.S, ReputationMath.StakeFactor(n.Stake, knobs.Math.Beta, knobs.Math.Stake0, knobs.Math.GMax)), 0);
        }).ToArray();
        if (!raw.Any(n => n.R > 0)) return new ReputationTable(tau, null, raw);
        var unclipped = ReputationMath.Compute(nodes, tau, knobs.Math with { WMax = 1 });
        var positive = unclipped.Nodes.Where(n => n.R > 0).ToArray();
        if (knobs.Math.WMax * positive.Length >= 1) return ReputationMath.Compute(nodes, tau, knobs.Math);
        // Fewer than 1/w_max nodes with R > 0: no weighting keeps every share ≤ w_max. A live table must still answer, so
        // it takes the limit of the clip (θ = the smallest R: equal shares) and says so (CapMet = false).
        var theta = positive.Min(n => n.R);
        return unclipped with { Theta = theta, Nodes = unclipped.Nodes.Select(n => n with { Weight = n.R > 0 ? 1.0 / positive.Length : 0 }).ToArray() };
    }

    /// <summary>
    /// Whether the topic's table at τ satisfies w_max: false when fewer than 1/w_max targets have R &gt; 0 (then every
    /// such target has the equal share 1/n, above w_max).
    /// </summary>
    public static bool CapMet(ReputationTable table, TopicReputationKnobs knobs)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(knobs);
        var n = table.Nodes.Count(r => r.R > 0);
        return n == 0 || knobs.Math.WMax * n >= 1;
    }

    /// <summary>The table as one line of JSON: <c>{"topic","tau","theta","w_max","w_max_met","nodes":{TARGET:{"N","C","C_hat","R","S","weight","audits"}}}</c>.</summary>
    public string TableJson(string topic, double tau, TopicReputationKnobs knobs)
    {
        var table = Table(topic, tau, knobs);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("topic", topic);
            w.WriteNumber("tau", tau);
            if (table.Theta is { } th) w.WriteNumber("theta", th);
            else w.WriteNull("theta");
            w.WriteNumber("w_max", knobs.Math.WMax);
            w.WriteBoolean("w_max_met", CapMet(table, knobs));
            w.WriteStartObject("nodes");
            foreach (var n in table.Nodes)
            {
                w.WriteStartObject(n.Name);
                w.WriteNumber("N", n.N);
                w.WriteNumber("C", n.C);
                w.WriteNumber("C_hat", n.CHat);
                w.WriteNumber("R", n.R);
                w.WriteNumber("S", Slashing.Factor(_slashes.Where(s => s.Topic == topic && s.Target == n.Name).Select(s => s.Time), tau, knobs.RecoveryHalfLife, knobs.SlashFactor));
                w.WriteNumber("weight", n.Weight);
                w.WriteNumber("audits", _evidence.Count(e => e.Topic == topic && e.Target == n.Name && e.Audit.Time <= tau));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>
    /// Each target's weight at <paramref name="points"/> evenly spaced times from the topic's first record to τ, as a
    /// <see cref="SimResult"/> (so <see cref="ReputationSimulation.ToSvg"/> draws it).
    /// </summary>
    public SimResult History(string topic, double tau, TopicReputationKnobs knobs, int points = 20)
    {
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), "at least 2 points");
        var span = Span(topic) ?? throw new ReputationRecordException($"topic '{topic}' has no ingested evidence; ingest audit records with 'fed reputation ingest FILE…' first.");
        var start = Math.Min(span.First, tau);
        var steps = new List<SimStep>();
        for (int i = 0; i < points; i++)
        {
            var t = start + (tau - start) * i / (points - 1);
            var table = Table(topic, t, knobs);
            steps.Add(new SimStep(i, t, table.Theta, 0, [],
                table.Nodes.Select(n => new SimNodeRow(n.Name, 0, n.N, n.CHat, 1, n.R, n.Weight)).ToArray()));
        }
        return new SimResult(knobs, steps);
    }

    private static (string Topic, List<BookEvidence> Evidence, List<BookSlash> Slashes) ParseAudit(SignedEnvelope env, string id)
    {
        var p = env.Payload as JsonObject ?? throw Bad(id, "payload", "expected an object");
        var topic = Str(p, "topic", id);
        if (!p.TryGetValue("target_node", out var tn) || tn is not JsonString tns || tns.Value.Length == 0)
            throw Bad(id, "target_node", "is null or missing: reputation is bound to a node key, so a record must name the audited node (the auditor reads it from the target's signed tree head)");
        if (!p.TryGetValue("items", out var itemsV) || itemsV is not JsonArray items) throw Bad(id, "items", "expected an array of audit items");
        var evidence = new List<BookEvidence>();
        for (int k = 0; k < items.Count; k++)
        {
            var path = $"items[{k}]";
            var item = items[k] as JsonObject ?? throw Bad(id, path, "expected an object");
            if (Str(item, "status", id, path) != "scored") continue;
            var cls = Str(item, "class", id, path);
            if (cls is not ("A" or "B")) continue; // "earned on class A (and B), spent on class C"
            if (!item.TryGetValue("specialist", out var sp) || sp is not JsonString sps || sps.Value.Length == 0) continue;
            var d = Num(item, "difficulty", id, path);
            var o = Num(item, "o", id, path);
            var t = Num(item, "time", id, path);
            if (!(d is > 0 and <= 1)) throw Bad(id, path + ".difficulty", $"expected d in (0, 1], found {Fmt(d)}");
            if (!(o is >= 0 and <= 1)) throw Bad(id, path + ".o", $"expected o in [0, 1], found {Fmt(o)}");
            evidence.Add(new BookEvidence(topic, Target(tns.Value, sps.Value), new Audit(t / SecondsPerDay, d, o), id));
        }
        return (topic, evidence, []);
    }

    // The visibility of each item ParseAudit turned into evidence, in the same order (null: class B or not named).
    private static IEnumerable<string?> VisibilityOf(SignedEnvelope env)
    {
        foreach (var item in ((JsonArray)((JsonObject)env.Payload)["items"]).OfType<JsonObject>())
        {
            if (item["status"] is not JsonString { Value: "scored" } || item["class"] is not JsonString { Value: "A" or "B" } cls
                || !item.TryGetValue("specialist", out var sp) || sp is not JsonString { Value.Length: > 0 }) continue;
            yield return cls.Value == "A" && item.TryGetValue("visibility", out var v) && v is JsonString { Value: "public" or "secret" } vs ? vs.Value : null;
        }
    }

    private static (string Topic, List<BookEvidence> Evidence, List<BookSlash> Slashes) ParseBounty(SignedEnvelope env, string id)
    {
        var p = env.Payload as JsonObject ?? throw Bad(id, "payload", "expected an object");
        var topic = Str(p, "topic", id);
        var submitter = Str(p, "submitter", id);
        if (submitter == env.Signer.ToString())
            throw Bad(id, "submitter", "a bounty credit must be signed by the node that judged the submission, not by the submitter itself");
        Str(p, "canary", id);
        var d = Num(p, "difficulty", id, "");
        if (!(d is > 0 and <= 1)) throw Bad(id, "difficulty", $"expected the canary's difficulty d in (0, 1], found {Fmt(d)}");
        var time = Num(p, "time", id, "");
        return (topic, [new BookEvidence(topic, Target(submitter, BountyRow), new Audit(time / SecondsPerDay, d, 1), id)], []);
    }

    private static (string Topic, List<BookEvidence> Evidence, List<BookSlash> Slashes) ParseSlash(SignedEnvelope env, string id)
    {
        var p = env.Payload as JsonObject ?? throw Bad(id, "payload", "expected an object");
        var topic = Str(p, "topic", id);
        var node = Str(p, "node", id);
        var specialist = Str(p, "specialist", id);
        var time = Num(p, "time", id, "");
        var reason = Str(p, "reason", id);
        if (!p.TryGetValue("evidence", out var ev) || ev is not JsonArray eva || eva.Count == 0)
            throw Bad(id, "evidence", "a slashing event needs a non-empty 'evidence' array (record ids, ledger indexes) so anyone can check it");
        return (topic, [], [new BookSlash(topic, Target(node, specialist), time / SecondsPerDay, reason, id)]);
    }

    private static (string Topic, List<BookEvidence> Evidence, List<BookSlash> Slashes) ParseOutcome(SignedEnvelope env, string id)
    {
        var p = env.Payload as JsonObject ?? throw Bad(id, "payload", "expected an object");
        var topic = Str(p, "topic", id);
        var node = Str(p, "node", id);
        var verdict = Str(p, "verdict", id);
        if (verdict is not ("refuted" or "confirmed")) throw Bad(id, "verdict", $"expected \"refuted\" or \"confirmed\", found \"{verdict}\"");
        var time = Num(p, "time", id, "");
        if (!p.TryGetValue("specialists", out var sv) || sv is not JsonArray sa || sa.Count == 0 || sa.Any(x => x is not JsonString { Value.Length: > 0 }))
            throw Bad(id, "specialists", "expected a non-empty array of specialist ids");
        var evidence = verdict == "refuted"
            ? sa.Select(x => new BookEvidence(topic, Target(node, ((JsonString)x).Value), new Audit(time / SecondsPerDay, 1, 0), id)).ToList()
            : [];
        return (topic, evidence, []);
    }

    private static (string Topic, List<BookEvidence> Evidence, List<BookSlash> Slashes) ParseRecheck(SignedEnvelope env, string id)
    {
        var p = env.Payload as JsonObject ?? throw Bad(id, "payload", "expected an object");
        var topic = Str(p, "topic", id);
        var node = Str(p, "node", id);
        if (node != env.Signer.ToString())
            throw Bad(id, "node", $"a re-check is about the signer's own answers, but it names node {node} and is signed by {env.Signer}");
        var specialist = Str(p, "specialist", id);
        var outcome = Str(p, "outcome", id);
        if (outcome is not ("passed" or "failed" or "not_checkable")) throw Bad(id, "outcome", $"expected \"passed\", \"failed\" or \"not_checkable\", found \"{outcome}\"");
        var time = Num(p, "time", id, "");
        return (topic, outcome == "failed" ? [new BookEvidence(topic, Target(node, specialist), new Audit(time / SecondsPerDay, 1, 0), id)] : [], []);
    }

    /// <summary>
    /// Independence input (§10.2): per target, the answers it gave to audited canaries as labels — canary key
    /// <c>&lt;auditor key&gt;/&lt;handle&gt;</c> → the answer's SHA-256 — over every class (agreement is measured on
    /// whatever both answered). Targets ordered by name; a canary answered twice keeps the later record's label.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> AnswerLabels(string topic)
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var g in _labels.Where(l => l.Topic == topic).GroupBy(l => l.Target))
        {
            var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var l in g) d[l.Canary] = l.Label;
            result[g.Key] = d;
        }
        return result;
    }

    /// <summary>The slashing events of <paramref name="topic"/> (for triggers that must not fire twice on the same evidence).</summary>
    public IReadOnlyList<BookSlash> Slashes(string topic) => _slashes.Where(s => s.Topic == topic).ToArray();

    private static IEnumerable<(string, string, string, string)> AnswerLabels(SignedEnvelope env, string topic)
    {
        var p = (JsonObject)env.Payload;
        var node = ((JsonString)p["target_node"]).Value;
        foreach (var item in ((JsonArray)p["items"]).OfType<JsonObject>())
            if (item.TryGetValue("specialist", out var sp) && sp is JsonString { Value.Length: > 0 } sps
                && item.TryGetValue("handle", out var h) && h is JsonString hs
                && item.TryGetValue("answer_sha256", out var a) && a is JsonString answer
                && item.TryGetValue("status", out var st) && st is JsonString { Value: not "unanswered" })
                yield return (topic, Target(node, sps.Value), env.Signer + "/" + hs.Value, answer.Value);
    }

    /// <summary>The row name of a target: <c>&lt;node id&gt;/&lt;specialist&gt;</c>.</summary>
    public static string Target(string node, string specialist) => node + "/" + specialist;

    private static ReputationRecordException Bad(string id, string field, string message) =>
        new($"record {id}: {field}: {message}.");

    private static string Str(JsonObject o, string key, string id, string path = "") =>
        o.TryGetValue(key, out var v) && v is JsonString s && s.Value.Length > 0 ? s.Value
            : throw Bad(id, path.Length == 0 ? key : $"{path}.{key}", "expected a non-empty string");

    private static double Num(JsonObject o, string key, string id, string path) =>
        o.TryGetValue(key, out var v) ? v switch
        {
            JsonFloat f when double.IsFinite(f.Value) => f.Value,
            JsonInt i => (double)i.Value,
            _ => throw Bad(id, path.Length == 0 ? key : $"{path}.{key}", "expected a number"),
        } : throw Bad(id, path.Length == 0 ? key : $"{path}.{key}", "missing number");

    private static string Fmt(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// Append-only JSONL of the book's records (<c>&lt;data-dir&gt;/reputation/records.jsonl</c>, one canonical envelope a
/// line), idempotent by CID; every line is verified again on load (a file on disk is not trusted either).
/// </summary>
public static class ReputationBookLog
{
    /// <summary>The log's path under a data dir.</summary>
    public static string PathIn(string dataDir) => System.IO.Path.Combine(dataDir, "reputation", "records.jsonl");

    /// <summary>Loads every record of the log into a new book (an absent log is an empty book).</summary>
    /// <exception cref="ReputationRecordException">A line does not verify (the log was edited): names the line.</exception>
    public static ReputationBook Load(string dataDir) => Load(dataDir, null);

    /// <summary>
    /// As <see cref="Load(string)"/>, with the trusted audit signers: a logged record from a signer no longer trusted is
    /// skipped (kept in the file, not counted), so narrowing the list never damages the log.
    /// </summary>
    public static ReputationBook Load(string dataDir, Func<string, bool>? trustedAuditSigner)
    {
        var book = new ReputationBook { TrustedAuditSigner = trustedAuditSigner };
        var path = PathIn(dataDir);
        if (!File.Exists(path)) return book;
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0) continue;
            try { book.Ingest(text); }
            catch (UntrustedSignerException) { }
            catch (ReputationRecordException e) { throw new ReputationRecordException($"{path}:{line}: {e.Message}"); }
        }
        return book;
    }

    /// <summary>Ingests into <paramref name="book"/> and appends to the log when the record is new.</summary>
    public static IngestResult Append(string dataDir, ReputationBook book, SignedEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(envelope);
        var result = book.Ingest(envelope);
        if (result.Added)
        {
            var path = PathIn(dataDir);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.AppendAllText(path, Encoding.UTF8.GetString(envelope.ToCanonicalBytes()) + "\n");
        }
        return result;
    }
}
