using System.Globalization;
using System.Text;
using Federation.Node.Api;
using Federation.Node.Hosting;
using Federation.Registry.Json;
using Federation.Registry.Ledger;
using static Federation.Node.Explorer.HtmlPage;

namespace Federation.Node.Explorer;

/// <summary>
/// The read-only explorer at <c>/explorer</c> (issue 14): topics with tier, class and rules; specialists with base,
/// adapter and provenance; the ledger's latest signed tree head and its entries, paged; and per entry an inclusion proof
/// that the browser itself verifies with WebCrypto (SHA-256 for the RFC 9162 path, Ed25519 for the tree head's
/// signature) — the server only supplies bytes, so a node that lies about its ledger is caught by the reader's browser.
/// Sections are left for reputation charts and DIIP lifecycles (<c>#reputation</c>, <c>#diips</c>).
/// </summary>
public static class ExplorerPage
{
    /// <summary>Entries per ledger page.</summary>
    public const int PageSize = 20;

    /// <summary>
    /// Test-only: when this environment variable is <c>1</c>, <c>/explorer/ledger/{i}?tamper=1</c> serves the proof with
    /// one bit flipped so a test can see the browser report "failed". Off unless set; never set in production.
    /// </summary>
    public const string TamperHookVariable = "FEDERATION_EXPLORER_TEST_TAMPER";

    /// <summary>Maps the explorer (one line in the host: <c>app.MapExplorer();</c>).</summary>
    public static void MapExplorer(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/explorer").ExcludeFromDescription();

        g.MapGet("", async (HttpContext ctx, RuntimeHolder holder, int? page) =>
        {
            if (await ExplorerAccess.ReaderAsync(ctx) is not { } reader) return Result(ExplorerAccess.LoginHtml(ctx.Request.Query["msg"], "/explorer"));
            if (holder.Runtime is not { } rt) return Result(Layout("Explorer", "<p>The node is still starting; reload in a moment.</p>"), StatusCodes.Status503ServiceUnavailable);
            return Result(await MainHtmlAsync(ctx, rt, reader, page ?? 0));
        });

        g.MapPost("/login", async (HttpContext ctx) =>
        {
            if (!ctx.Request.HasFormContentType)
                return Result(ExplorerAccess.LoginHtml("Sign in with the form.", "/explorer"), StatusCodes.Status415UnsupportedMediaType);
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var back = form["return"].ToString();
            if (!back.StartsWith("/explorer", StringComparison.Ordinal) || back.StartsWith("//", StringComparison.Ordinal)) back = "/explorer";
            if (!ExplorerAccess.SignIn(ctx, form["key"].ToString()))
                return Result(ExplorerAccess.LoginHtml("That key is unknown or revoked. Create one with: fed keys create --name NAME", back), StatusCodes.Status401Unauthorized);
            return Results.Redirect(back);
        }).DisableAntiforgery();   // signing in changes nothing on the node; the session is scoped to read-only pages

        g.MapPost("/logout", (HttpContext ctx) =>
        {
            ExplorerAccess.SignOut(ctx);
            return Results.Redirect("/explorer");
        }).DisableAntiforgery();

        g.MapGet("/ledger/{index:long}", async (HttpContext ctx, long index, RuntimeHolder holder, int? tamper) =>
        {
            if (await ExplorerAccess.ReaderAsync(ctx) is null) return Result(ExplorerAccess.LoginHtml(null, ctx.Request.Path), StatusCodes.Status200OK);
            if (holder.Runtime is not { } rt) return Result(Layout("Ledger entry", "<p>The node is still starting; reload in a moment.</p>"), StatusCodes.Status503ServiceUnavailable);
            if (index < 0 || index >= rt.Ledger.Size)
                return Result(Layout("Ledger entry", $"<p class=\"bad\">Ledger index {index} does not exist; the ledger holds {rt.Ledger.Size} entries. <a href=\"/explorer#ledger\">Back to the ledger</a>.</p>"), StatusCodes.Status404NotFound);
            var tampered = tamper == 1 && Environment.GetEnvironmentVariable(TamperHookVariable) == "1";
            return Result(await EntryHtmlAsync(rt, index, tampered, ctx.RequestAborted));
        });

        g.MapGet("/diips", async (HttpContext ctx) =>
        {
            if (await ExplorerAccess.ReaderAsync(ctx) is null) return Result(ExplorerAccess.LoginHtml(null, "/explorer/diips"));
            return Result(DiipPage.Html(DiipStore.For(ctx.RequestServices)));
        });
    }

    private static string Num(double d) => d.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static async Task<string> MainHtmlAsync(HttpContext ctx, NodeRuntime rt, string reader, int page)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p>Signed in as <b>{H(reader)}</b> (read-only). Node <code>{H(rt.Key.Id.ToString())}</code>, policy <code>{H(rt.Policy.Cid)}</code>. ");
        sb.Append("<form method=\"post\" action=\"/explorer/logout\" style=\"display:inline\"><button>Sign out</button></form></p>");
        sb.Append("<nav aria-label=\"sections\"><a href=\"#topics\">Topics</a><a href=\"#specialists\">Specialists</a><a href=\"#ledger\">Ledger</a><a href=\"#reputation\">Reputation</a><a href=\"#diips\">DIIP</a></nav>");

        sb.Append("<section id=\"topics\"><h2>Topics</h2><table><thead><tr><th>topic</th><th>tier</th><th>class</th><th>champion</th><th>rules (kind, pattern, weight)</th></tr></thead><tbody>");
        foreach (var t in rt.Policy.Topics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr data-topic=\"{H(t.Id)}\"><td><b>{H(t.Id)}</b><br><span class=\"muted\">{H(t.Description)}</span></td><td class=\"tier\">{t.Tier}</td><td class=\"class\">{t.Class}</td><td>{H(t.Champion)}</td><td><ul>");
            foreach (var r in t.Rules) sb.Append(CultureInfo.InvariantCulture, $"<li><code>{H(r.Id)}</code>: {H(r.Kind.ToString().ToLowerInvariant())} “{H(r.Pattern)}” ×{Num(r.Weight)}</li>");
            sb.Append("</ul></td></tr>");
        }
        sb.Append("</tbody></table></section>");

        sb.Append("<section id=\"specialists\"><h2>Specialists</h2><table><thead><tr><th>specialist</th><th>topics</th><th>base CID</th><th>adapter CID</th><th>lineage</th><th>jurisdiction</th><th>provenance manifest</th></tr></thead><tbody>");
        foreach (var id in rt.Specialists.Keys.Order(StringComparer.Ordinal))
        {
            var p = SpecialistProvenance.Of(rt, id)!;
            var topics = rt.Policy.SpecialistsById.TryGetValue(id, out var sr) ? string.Join(", ", sr.Topics) : "";
            sb.Append(CultureInfo.InvariantCulture, $"<tr data-specialist=\"{H(id)}\"><td><b>{H(id)}</b></td><td>{H(topics)}</td><td class=\"cid\">{H(p.BaseCid)}</td><td class=\"cid\">{H(p.AdapterCid)}</td><td>{H(p.Lineage)}</td><td>{H(p.Jurisdiction)}</td>");
            sb.Append(p.Signed ? $"<td class=\"cid\">{H(p.ManifestCid)} signed by {H(p.ManifestSigner)}</td></tr>" : $"<td class=\"muted\">{SpecialistProvenance.NotSignedYet} ({H(p.Source)})</td></tr>");
        }
        sb.Append("</tbody></table></section>");

        var size = rt.Ledger.Size;
        sb.Append("<section id=\"ledger\"><h2>Ledger</h2>");
        if (size == 0) sb.Append("<p>The ledger is empty.</p>");
        else
        {
            var sth = await rt.TreeHeads.CurrentAsync(ctx.RequestAborted);
            sb.Append(CultureInfo.InvariantCulture, $"<p id=\"sth\">Latest signed tree head: size <b>{sth.TreeSize}</b>, root <code>{Convert.ToHexStringLower(sth.Root)}</code>, {Time(sth.TimestampMs)}, signed by <code>{H(sth.Signer.ToString())}</code>.</p>");
            var pages = (int)((size + PageSize - 1) / PageSize);
            page = Math.Clamp(page, 0, pages - 1);
            var top = size - 1 - (long)page * PageSize;
            sb.Append("<table><thead><tr><th>index</th><th>type</th><th>entry id</th><th>proof</th></tr></thead><tbody>");
            for (var i = top; i >= 0 && i > top - PageSize; i--)
            {
                var e = rt.Ledger.GetEntry(i);
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{i}</td><td>{H(e.Envelope.Type)}</td><td class=\"cid\">{H(e.Envelope.Id.ToString())}</td><td><a href=\"/explorer/ledger/{i}\">entry {i} and its proof</a></td></tr>");
            }
            sb.Append(CultureInfo.InvariantCulture, $"</tbody></table><p>Page {page + 1} of {pages} (newest first). ");
            if (page > 0) sb.Append(CultureInfo.InvariantCulture, $"<a href=\"/explorer?page={page - 1}#ledger\">newer</a> ");
            if (page < pages - 1) sb.Append(CultureInfo.InvariantCulture, $"<a href=\"/explorer?page={page + 1}#ledger\">older</a>");
            sb.Append("</p>");
        }
        sb.Append("</section>");

        sb.Append("<section id=\"reputation\"><h2>Reputation</h2><p class=\"muted\">Charts come with a later issue; today read <code>GET /v1/federation/reputation/{topic}</code>.</p></section>");
        var diips = DiipCount(ctx);
        sb.Append(CultureInfo.InvariantCulture, $"<section id=\"diips\"><h2>DIIP</h2><p>{diips} <a href=\"/explorer/diips\">DIIP proposals: lifecycle and gauntlet numbers</a>.</p></section>");
        return Layout("Explorer", sb.ToString());
    }

    private static string DiipCount(HttpContext ctx)
    {
        try
        {
            var n = DiipStore.For(ctx.RequestServices).Read().Proposals.Count;
            return n == 1 ? "1 proposal." : $"{n} proposals.";
        }
        catch (ApiException e)
        {
            return $"The DIIP book cannot be read ({H(e.Message)}).";
        }
    }

    private static async Task<string> EntryHtmlAsync(NodeRuntime rt, long index, bool tampered, CancellationToken ct)
    {
        var sth = await rt.TreeHeads.CurrentAsync(ct);
        var entry = rt.Ledger.GetEntry(index);
        var proof = rt.Ledger.Prove(index, sth.TreeSize);
        var path = proof.Path.Select(p => (byte[])p.Clone()).ToList();
        var leaf = (byte[])entry.LeafData.Clone();
        if (tampered)
        {
            if (path.Count > 0) path[0][0] ^= 1;
            else leaf[^2] ^= 1;   // a one-entry tree has no path: change the entry instead (inside its JSON)
        }
        var data = new JsonObject
        {
            ["entry_id"] = entry.Envelope.Id.ToString(),
            ["leaf_index"] = proof.LeafIndex,
            ["tree_size"] = proof.TreeSize,
            ["leaf_data"] = Convert.ToBase64String(leaf),
            ["path"] = new JsonArray(path.Select(p => (JsonValue)Convert.ToHexStringLower(p))),
            ["sth"] = new JsonObject
            {
                ["signed_bytes"] = Convert.ToBase64String(Registry.Envelopes.SignedEnvelope.SigningBytes(sth.Envelope.Type, sth.Envelope.Payload, sth.Envelope.Signer)),
                ["signature"] = sth.Envelope.Signature,
                ["signer"] = sth.Signer.ToString(),
            },
        };
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p><a href=\"/explorer#ledger\">← ledger</a></p><section id=\"entry\"><h2>Entry {index}</h2><table>");
        sb.Append(CultureInfo.InvariantCulture, $"<tr><th>type</th><td>{H(entry.Envelope.Type)}</td></tr><tr><th>entry id</th><td class=\"cid\">{H(entry.Envelope.Id.ToString())}</td></tr>");
        sb.Append(CultureInfo.InvariantCulture, $"<tr><th>signed by</th><td class=\"cid\">{H(entry.Envelope.Signer.ToString())}</td></tr><tr><th>leaf hash</th><td class=\"cid\">{Convert.ToHexStringLower(entry.LeafHash)}</td></tr></table>");
        sb.Append(CultureInfo.InvariantCulture, $"<h3>Payload</h3><pre>{H(CanonicalJson.SerializeToString(entry.Envelope.Payload))}</pre></section>");
        sb.Append(CultureInfo.InvariantCulture, $"<section id=\"proof\"><h2>Inclusion proof</h2><p>Leaf {proof.LeafIndex} in the tree of {proof.TreeSize} entries; {path.Count} path hash(es); tree head signed by <code>{H(sth.Signer.ToString())}</code>.</p>");
        sb.Append("<p>This browser recomputes the leaf hash and the root from the entry's bytes and the path (SHA-256, RFC 9162), then checks the tree head's Ed25519 signature over the root (WebCrypto). The node is not trusted for the result.</p>");
        sb.Append("<p id=\"proof-status\" role=\"status\" data-result=\"pending\">Verifying in this browser…</p>");
        sb.Append("<noscript><p class=\"bad\">Verification runs in the browser: turn JavaScript on, or verify with <code>fed ledger verify</code> or Federation.Client.</p></noscript>");
        sb.Append(CultureInfo.InvariantCulture, $"<script type=\"application/json\" id=\"proof-data\">{data.ToString().Replace("</", "<\\/", StringComparison.Ordinal)}</script>");
        sb.Append("<script>").Append(VerifyScript).Append("</script></section>");
        return Layout($"Ledger entry {index}", sb.ToString());
    }

    // Inline, no build step. RFC 9162 §2.1.3.2 as in registry/Merkle/MerkleVerifier.cs; signed bytes of the tree head
    // are the canonical {"payload","signer","type"} (registry/Envelopes/SignedEnvelope.cs), checked against the claim.
    private const string VerifyScript = """
        (async () => {
          const out = document.getElementById('proof-status');
          const done = (ok, msg) => { out.textContent = msg; out.className = ok ? 'ok' : 'bad'; out.dataset.result = ok ? 'verified' : 'failed'; };
          const fail = m => done(false, 'failed: ' + m);
          const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
          const unhex = h => { if (typeof h !== 'string' || !/^([0-9a-f]{2})*$/.test(h)) throw new Error('not lowercase hex: ' + h);
            const a = new Uint8Array(h.length / 2); for (let i = 0; i < a.length; i++) a[i] = parseInt(h.substr(2 * i, 2), 16); return a; };
          const b64 = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
          const sha = async (...parts) => { const n = parts.reduce((s, p) => s + p.length, 0); const buf = new Uint8Array(n); let o = 0;
            for (const p of parts) { buf.set(p, o); o += p.length; } return new Uint8Array(await crypto.subtle.digest('SHA-256', buf)); };
          try {
            if (!window.crypto || !crypto.subtle) return fail('this browser has no WebCrypto (crypto.subtle); open the page over http://127.0.0.1 or https');
            const d = JSON.parse(document.getElementById('proof-data').textContent);
            const leaf = b64(d.leaf_data);
            let entry;
            try { entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf)); } catch { return fail('the leaf bytes are not the entry JSON'); }
            if (entry.id !== d.entry_id) return fail('the leaf is not entry ' + d.entry_id);
            let r = await sha(new Uint8Array([0]), leaf);
            let fn = BigInt(d.leaf_index), sn = BigInt(d.tree_size) - 1n;
            if (fn < 0n || fn > sn) return fail('leaf index ' + d.leaf_index + ' is outside a tree of ' + d.tree_size);
            for (const h of d.path) {
              const p = unhex(h);
              if (p.length !== 32) return fail('a path hash is not 32 bytes');
              if (sn === 0n) return fail('the path is longer than the tree is deep');
              if ((fn & 1n) === 1n || fn === sn) {
                r = await sha(new Uint8Array([1]), p, r);
                if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
              } else {
                r = await sha(new Uint8Array([1]), r, p);
              }
              fn >>= 1n; sn >>= 1n;
            }
            if (sn !== 0n) return fail('the path is shorter than the tree is deep');
            const signed = b64(d.sth.signed_bytes);
            const head = JSON.parse(new TextDecoder().decode(signed));
            if (head.type !== 'ledger.sth' || head.signer !== d.sth.signer || head.payload.tree_size !== d.tree_size)
              return fail('the signed tree head is not for a tree of ' + d.tree_size + ' entries');
            if (head.payload.root !== hex(r)) return fail('the recomputed root ' + hex(r) + ' is not the signed root ' + head.payload.root);
            const key = await crypto.subtle.importKey('raw', unhex(d.sth.signer), { name: 'Ed25519' }, false, ['verify']);
            if (!await crypto.subtle.verify({ name: 'Ed25519' }, key, unhex(d.sth.signature), signed))
              return fail('the tree head signature by ' + d.sth.signer + ' does not verify');
            done(true, 'verified against tree head ' + d.tree_size + ' signed by ' + d.sth.signer);
          } catch (e) {
            fail(e && e.message ? e.message : String(e));
          }
        })();
        """;
}
