using System.Net.Http.Headers;
using System.Text;
using Federation.Node.Answering;
using Federation.Node.Hosting;
using Federation.Node.Verification;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;
using Federation.Registry.Merkle;

namespace Federation.Node.Auditing;

/// <summary>A judgement the auditor cannot give, with the reason and what to do (HTTP status chosen by the endpoint).</summary>
public sealed class AuditorException(int status, string code, string message, string? param = null) : Exception(message)
{
    /// <summary>HTTP status to answer with.</summary>
    public int Status { get; } = status;
    /// <summary>Stable error code, e.g. <c>auditor.proof_invalid</c>.</summary>
    public string Code { get; } = code;
    /// <summary>The request field at fault, if one is.</summary>
    public string? Param { get; } = param;
}

/// <summary>
/// The neutral auditor of the challenge game (§9.3; docs/reputation.md "Neutral auditor"): a node other than the one
/// holding the ledger, with its own key. <see cref="JudgeAsync"/> fetches the disputed entry with its inclusion proof from
/// the challenged node over HTTP, verifies the entry's signature and the proof against the node's current tree head,
/// re-judges it from the entry alone with the auditor's own policy and engine (the class-A checkers, else a replay of the
/// recorded request: greedy answers bit for bit) and signs a <c>challenge.verdict</c>. <see cref="Accept"/> is the
/// challenged node's side: a verdict counts only when it verifies, is signed by an auditor its reputation policy lists,
/// and names this node, this ledger index and this entry.
/// </summary>
public static class NeutralAuditor
{
    /// <summary>Envelope type of a signed verdict: payload <c>{"v":1,"node","ledger_index","ledger_entry","tree_size","root","outcome","topic","specialist","detail","checks","time"}</c>.</summary>
    public const string VerdictType = "challenge.verdict";

    /// <summary>Fetches, verifies and judges ledger entry <paramref name="index"/> of the node at <paramref name="node"/>; returns the verdict signed by <paramref name="auditor"/>'s key.</summary>
    /// <exception cref="AuditorException">The node cannot be read, its data does not verify, or the entry cannot be judged.</exception>
    public static async Task<SignedEnvelope> JudgeAsync(NodeRuntime auditor, HttpClient http, Uri node, string? nodeApiKey, long index,
        string? query, string? answer, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(auditor);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(time);
        var sth = await GetAsync(http, node, nodeApiKey, "/v1/federation/ledger/sth", ct);
        var treeSize = Int(sth, "tree_size");
        var signer = Text(sth, "signer");
        if (index < 0 || index >= treeSize)
            throw new AuditorException(404, "ledger.index_out_of_range", $"the node's ledger holds {treeSize} entries; there is no entry {index}.", "ledger_index");
        var proof = await GetAsync(http, node, nodeApiKey, FormattableString.Invariant($"/v1/federation/ledger/{index}/proof?size={treeSize}"), ct);
        if (!proof.TryGetValue("entry", out var ev)) throw Unverified($"its proof of entry {index} carries no entry");
        if (!SignedEnvelope.TryFromJson(ev, out var entry, out var why))
            throw Unverified($"its proof of entry {index} carries no signed envelope ({why})");
        if (!entry.Verify().IsValid) throw Unverified($"entry {index} does not verify against its signer's key");
        if (entry.Signer.ToString() != signer) throw Unverified($"entry {index} is signed by {entry.Signer}, but the tree head by {signer}");
        var root = Hex(Text(sth, "root"));
        if (!root.AsSpan().SequenceEqual(Hex(Text(proof, "root")))) throw Unverified($"the proof's root is not the tree head's root at size {treeSize}");
        var leaf = MerkleHasher.HashLeaf(entry.ToCanonicalBytes());
        var path = proof.TryGetValue("path", out var pv) && pv is JsonArray pa ? pa.OfType<JsonString>().Select(s => Hex(s.Value)).ToList() : [];
        var check = MerkleVerifier.VerifyInclusion(index, treeSize, leaf, path, root);
        if (!check.IsValid) throw Unverified($"the inclusion proof of entry {index} does not verify ({check})");
        if (entry.Type != AnswerRecord.EntryType || entry.Payload is not JsonObject ep)
            throw new AuditorException(400, "challenge.not_an_answer", $"ledger entry {index} is a '{entry.Type}' entry; only answers can be challenged.", "ledger_index");

        ChallengeVerdict verdict;
        try
        {
            try { verdict = ChallengeGame.Judge(ep, index, auditor.Policy, query, answer); }
            catch (ChallengeException e) when (e.Code == "challenge.not_checkable" && ep.ContainsKey("request"))
            {
                verdict = await ChallengeReplay.ReplayAsync(auditor, ep, index, ct);
            }
        }
        catch (ChallengeException e) { throw new AuditorException(400, e.Code, e.Message, e.Param); }

        return SignedEnvelope.Seal(VerdictType, new JsonObject
        {
            ["v"] = 1, ["node"] = signer, ["ledger_index"] = index, ["ledger_entry"] = entry.Id.ToString(),
            ["tree_size"] = treeSize, ["root"] = Text(sth, "root"),
            ["outcome"] = Name(verdict.Outcome), ["topic"] = verdict.Topic, ["specialist"] = verdict.Specialist, ["detail"] = verdict.Detail,
            ["checks"] = new JsonArray(verdict.Checks.Select(c => (JsonValue)new JsonObject { ["checker"] = c.Checker, ["outcome"] = c.Outcome.ToString().ToLowerInvariant(), ["detail"] = c.Detail })),
            ["time"] = time.GetUtcNow().ToUnixTimeSeconds(),
        }, auditor.Key);
    }

    /// <summary>
    /// The challenged node's check of a verdict for its entry <paramref name="entry"/> at <paramref name="index"/>:
    /// returns the verdict's outcome, topic, specialist and detail.
    /// </summary>
    /// <exception cref="AuditorException">403 <c>challenge.auditor_not_listed</c> for a key the policy does not list; 400 for a verdict that does not verify or is about something else.</exception>
    public static ChallengeVerdict Accept(SignedEnvelope verdict, NodeId self, long index, SignedEnvelope entry, IReadOnlyList<string> auditors)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(auditors);
        if (verdict.Type != VerdictType)
            throw new AuditorException(400, "challenge.bad_verdict", $"'verdict' is a '{verdict.Type}' envelope; send the '{VerdictType}' an auditor signed.", "verdict");
        var check = verdict.Verify();
        if (!check.IsValid)
            throw new AuditorException(400, "challenge.bad_verdict", $"'verdict' does not verify ({check}); send it exactly as the auditor signed it.", "verdict");
        if (verdict.Signer == self)
            throw new AuditorException(403, "challenge.auditor_not_listed", "'verdict' is signed by this node itself; a challenge must be judged by a neutral auditor the policy lists.", "verdict");
        if (!auditors.Contains(verdict.Signer.ToString(), StringComparer.Ordinal))
            throw new AuditorException(403, "challenge.auditor_not_listed", auditors.Count == 0
                ? $"'verdict' is signed by {verdict.Signer}, but this node's reputation policy lists no auditors; list the auditor's node id under 'auditors' in reputation.yaml, or send the challenge without a verdict."
                : $"'verdict' is signed by {verdict.Signer}, which is not among the auditors this node's reputation policy lists ({string.Join(", ", auditors)}); ask one of those.", "verdict");
        var p = verdict.Payload as JsonObject ?? throw new AuditorException(400, "challenge.bad_verdict", "'verdict' has no payload object.", "verdict");
        if (Text(p, "node") != self.ToString() || Int(p, "ledger_index") != index || Text(p, "ledger_entry") != entry.Id.ToString())
            throw new AuditorException(400, "challenge.verdict_mismatch",
                $"'verdict' judges entry {Text(p, "ledger_entry")} at index {Int(p, "ledger_index")} of node {Text(p, "node")}, not entry {entry.Id} at index {index} of this node ({self}); ask the auditor to judge this entry.", "verdict");
        var outcome = Text(p, "outcome") switch
        {
            "challenger_won" => ChallengeOutcome.ChallengerWon,
            "specialist_won" => ChallengeOutcome.SpecialistWon,
            var o => throw new AuditorException(400, "challenge.bad_verdict", $"'verdict' has outcome '{o}'; expected challenger_won or specialist_won.", "verdict"),
        };
        var checks = p.TryGetValue("checks", out var cv) && cv is JsonArray ca
            ? ca.OfType<JsonObject>().Select(c => new CheckResult(Text(c, "checker"), Text(c, "outcome") switch
            {
                "passed" => CheckOutcome.Passed,
                "failed" => CheckOutcome.Failed,
                _ => CheckOutcome.NotApplicable,
            }, Text(c, "detail"))).ToList()
            : [];
        return new ChallengeVerdict(outcome, Text(p, "topic"), Text(p, "specialist"), checks, $"auditor {verdict.Signer}: {Text(p, "detail")}");
    }

    /// <summary>The wire name of an outcome.</summary>
    public static string Name(ChallengeOutcome o) => o == ChallengeOutcome.ChallengerWon ? "challenger_won" : "specialist_won";

    private static async Task<JsonObject> GetAsync(HttpClient http, Uri node, string? key, string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, path));
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        HttpResponseMessage response;
        try { response = await http.SendAsync(request, ct); }
        catch (HttpRequestException e) { throw new AuditorException(502, "auditor.node_unreachable", $"cannot reach the challenged node at {node}: {e.Message}; check 'node'.", "node"); }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
                throw new AuditorException(502, "auditor.node_refused", $"the challenged node answered {(int)response.StatusCode} to GET {path}: {Shorten(text)}; an API key it accepts goes in 'node_api_key'.", "node");
            try { return CanonicalJson.Parse(text) as JsonObject ?? throw Unverified($"GET {path} did not return a JSON object"); }
            catch (JsonParseException e) { throw Unverified($"GET {path} did not return JSON ({e.Message})"); }
        }
    }

    private static AuditorException Unverified(string what) =>
        new(502, "auditor.proof_invalid", $"the challenged node's ledger data does not verify: {what}. Nothing was judged.", "node");

    private static string Text(JsonObject o, string key) => o.TryGetValue(key, out var v) && v is JsonString s ? s.Value : "";

    private static long Int(JsonObject o, string key) => o.TryGetValue(key, out var v) && v is JsonInt i ? (long)i.Value : -1;

    private static byte[] Hex(string s)
    {
        try { return Convert.FromHexString(s); }
        catch (FormatException) { throw Unverified($"'{Shorten(s)}' is not a hex hash"); }
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "…";

    internal static StringContent JsonBody(JsonObject o) => new(Encoding.UTF8.GetString(CanonicalJson.Serialize(o)), Encoding.UTF8, "application/json");
}
