using System.CommandLine;
using System.Globalization;
using Federation.Node.Api;
using Federation.Registry.Catalog;
using Federation.Registry.Crypto;
using Federation.Registry.Json;
using Federation.Registry.Ledger;

namespace Federation.Node.Cli;

/// <summary><c>fed catalog list|show</c>: the signed base and adapter records in <c>&lt;data-dir&gt;/ledger.db</c> (issue 9).</summary>
internal static class CatalogCommands
{
    public static Command Create()
    {
        var cmd = new Command("catalog", "The registry catalog: signed base and adapter records in the ledger.");
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Show());
        return cmd;
    }

    private static Command List()
    {
        var cmd = new Command("list", "List the catalog's verified records (a record that does not verify is reported on stderr).");
        cmd.SetAction(p =>
        {
            using var ledger = Open(p);
            var errors = new List<string>();
            var entries = CatalogIndex.Read(ledger, errors);
            foreach (var e in errors) CliCommon.WriteError(p, "warning: " + e);
            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(CatalogJson.List(ledger)));
                return ExitCodes.Ok;
            }
            if (entries.Count == 0)
            {
                CliCommon.WriteLine(p, "the catalog is empty (start the node with 'fed serve --demo full' or run 'fed demo build').");
                return ExitCodes.Ok;
            }
            CliCommon.WriteLine(p, $"{"KIND",-8} {"NAME",-14} {"TOPIC",-10} {"ADMITTED",-8} {"CID",-16} BASE");
            foreach (var e in entries)
            {
                var r = e.Record;
                var admitted = r.Acceptance is JsonObject a && a.TryGetValue("admitted", out var x) ? (x.AsBool() ? "yes" : "no") : "-";
                CliCommon.WriteLine(p, $"{(r.Kind == CatalogKind.Base ? "base" : "adapter"),-8} {r.Name,-14} {r.Topic ?? "-",-10} {admitted,-8} {r.FileCid.ToString()[..16],-16} {(r.BaseCid is { } b ? b.ToString()[..16] : "-")}");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Show()
    {
        var what = new Argument<string>("name-or-cid") { Description = "A record's catalog name, or the CID of its GGUF (a unique prefix of at least 8 hex digits)." };
        var cmd = new Command("show", "Show one record (the latest with that name or CID) with its acceptance results.");
        cmd.Arguments.Add(what);
        cmd.SetAction(p =>
        {
            var q = p.GetValue(what)!;
            using var ledger = Open(p);
            var matches = CatalogIndex.Read(ledger).Where(e => e.Record.Name == q
                || (q.Length >= 8 && e.Record.FileCid.ToString().StartsWith(q, StringComparison.Ordinal))).ToList();
            if (matches.Count == 0)
                throw new CliException($"no catalog record named or with CID '{q}'; 'fed catalog list' shows them.");
            if (matches.Select(m => m.Record.FileCid).Distinct().Count() > 1 && matches.Any(m => m.Record.Name != q))
                throw new CliException($"'{q}' matches {matches.Count} records; give more of the CID.", ExitCodes.Usage);
            var e = matches[^1];
            var o = CatalogJson.Entry(e);
            if (CliCommon.IsJson(p))
            {
                CliCommon.WriteLine(p, CanonicalJson.SerializeToString(o));
                return ExitCodes.Ok;
            }
            foreach (var (k, v) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                CliCommon.WriteLine(p, string.Create(CultureInfo.InvariantCulture, $"{k,-13} {(v is JsonString s ? s.Value : v.ToString())}"));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static SqliteLedger Open(ParseResult p)
    {
        var layout = CliCommon.Layout(p);
        if (!File.Exists(layout.LedgerDb))
            throw new CliException($"no ledger at {layout.LedgerDb}; run 'fed init' and start the node (fed serve --demo full) first.");
        try { return SqliteLedger.Open(layout.LedgerDb, null); }
        catch (LedgerLockedException e) { throw new CliException(e.Message); }
    }
}
