using System.Text.Encodings.Web;

namespace Federation.Node.Explorer;

/// <summary>Small helpers shared by the server-rendered pages (review, explorer, DIIP): encoding, the layout, the result.</summary>
public static class HtmlPage
{
    /// <summary>HTML-encodes text (null as empty).</summary>
    public static string H(string? s) => HtmlEncoder.Default.Encode(s ?? "");

    /// <summary>A page result with the HTML content type.</summary>
    public static IResult Result(string html, int status = StatusCodes.Status200OK) =>
        Results.Content(html, "text/html; charset=utf-8", statusCode: status);

    /// <summary>The shared layout: title, style and the navigation between the pages.</summary>
    public static string Layout(string title, string body, string extraStyle = "") => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Federation — {{H(title)}}</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:80rem;color:#111}
        nav a{margin-right:1rem}
        table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
        code,.cid{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
        pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5rem}
        .ok{color:#064;font-weight:bold}.bad{color:#a00;font-weight:bold}.muted{color:#666}
        .flash{background:#eef;padding:.5rem;border-radius:4px}
        section{margin:1.5rem 0}
        {{extraStyle}}
        </style></head><body>
        <nav aria-label="pages"><a href="/explorer">Explorer</a><a href="/explorer#ledger">Ledger</a><a href="/explorer/diips">DIIP</a><a href="/review">Review</a></nav>
        <h1>{{H(title)}}</h1>
        {{body}}
        </body></html>
        """;

    /// <summary>A status line (role=status) or nothing.</summary>
    public static string Flash(string? msg) => string.IsNullOrEmpty(msg) ? "" : $"<p class=\"flash\" role=\"status\">{H(msg)}</p>";

    /// <summary>"3 min", "2 h 5 min", "4 d" — an age for people.</summary>
    public static string Age(TimeSpan t) => t.TotalSeconds < 60 ? $"{Math.Max(0, (int)t.TotalSeconds)} s"
        : t.TotalMinutes < 60 ? $"{(int)t.TotalMinutes} min"
        : t.TotalHours < 24 ? $"{(int)t.TotalHours} h {t.Minutes} min"
        : $"{(int)t.TotalDays} d {t.Hours} h";
}
