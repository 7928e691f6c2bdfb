using System.CommandLine;
using Federation.Node.Review;
using Federation.Registry.Crypto;
using Federation.Registry.Ledger;

namespace Federation.Node.Cli;

/// <summary>
/// <c>fed review list|show|approve|reject</c>: the T3 review queue from the command line (the same decisions as the
/// /review page, signed with the reviewer's key). When <c>fed serve</c> holds the ledger, the decision is recorded and
/// signed here and the running node ledgers it within a second.
/// </summary>
internal static class ReviewCommands
{
    public static Command Create()
    {
        var review = new Command("review", "List and decide T3 answers waiting for human review.");

        var all = new Option<bool>("--all") { Description = "Also list decided reviews." };
        var list = new Command("list", "List pending reviews (oldest first).") { all };
        list.SetAction(p =>
        {
            var items = Queue(p).List(p.GetValue(all) ? null : ReviewStatus.Pending);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, items.Select(Json));
            else if (items.Count == 0) CliCommon.WriteLine(p, "no reviews waiting");
            else foreach (var i in items)
                    CliCommon.WriteLine(p, $"{i.Id}  {i.Status.ToString().ToLowerInvariant(),-8} {i.Topic,-10} {Short(i.Query)}");
            return ExitCodes.Ok;
        });

        var showId = new Argument<string>("id");
        var show = new Command("show", "Show one review: query, draft, route, decision.") { showId };
        show.SetAction(p =>
        {
            var i = Queue(p).Get(p.GetValue(showId)!) ?? throw new CliException($"no review '{p.GetValue(showId)}'; see 'fed review list'");
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, Json(i));
            else CliCommon.WriteLine(p, $"{i.Id} ({i.Status.ToString().ToLowerInvariant()}, topic {i.Topic})\nquery:\n{i.Query}\ndraft:\n{i.Draft}\nroute: {i.RouteJson}" +
                string.Concat(i.Panel.Select(m => $"\npanel member {m.Specialist}:\n{m.Text}")) +
                (i.Reviewer is null ? "" : $"\ndecided by {i.Reviewer}{(i.Member is null ? "" : $" (member {i.Member})")}: {i.Comment}; final: {i.FinalAnswer}; ledger {i.LedgerIndex}"));
            return ExitCodes.Ok;
        });

        review.Subcommands.Add(list);
        review.Subcommands.Add(show);
        review.Subcommands.Add(Decide("approve", approve: true));
        review.Subcommands.Add(Decide("reject", approve: false));
        return review;
    }

    private static Command Decide(string name, bool approve)
    {
        var id = new Argument<string>("id") { Description = "The review id (rev_…)." };
        var reviewer = new Option<string>("--reviewer") { Description = "Reviewer name (its signing key lives in the data dir).", Required = true };
        var comment = new Option<string?>("--comment") { Description = approve ? "Optional comment." : "Why the answer is rejected.", Required = !approve };
        var answer = new Option<string?>("--answer") { Description = "Approve an edited answer instead of the draft." };
        var member = new Option<string?>("--member") { Description = "Approve this panel member's answer (its specialist id; `fed review show` lists the panel)." };
        var cmd = new Command(name, approve ? "Approve a T3 answer (optionally edited), or one panel member's answer." : "Reject a T3 answer with a comment.") { id, reviewer, comment };
        if (approve)
        {
            cmd.Options.Add(answer);
            cmd.Options.Add(member);
        }
        cmd.SetAction(async (p, ct) =>
        {
            var dataDir = CliCommon.ResolveDataDir(p);
            var queue = Queue(p);
            SqliteLedger? ledger = null;
            try
            {
                ledger = TryOpenLedger(dataDir);
                using var service = new ReviewService(queue, new Hosting.DataDirLayout(dataDir), () => ledger);
                var item = await service.DecideAsync(p.GetValue(id)!, approve, p.GetValue(reviewer)!, approve ? p.GetValue(answer) : null, p.GetValue(comment), ct,
                    approve ? p.GetValue(member) : null);
                if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, Json(item));
                else CliCommon.WriteLine(p, item.LedgerIndex is { } li
                    ? $"{item.Id} {name}d by {item.Reviewer}; ledger entry {li}"
                    : $"{item.Id} {name}d by {item.Reviewer}; the running node will ledger it");
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or ArgumentException)
            {
                throw new CliException(e.Message);
            }
            finally
            {
                if (ledger is not null) await ledger.DisposeAsync();
            }
        });
        return cmd;
    }

    /// <summary>The ledger for writing, or null when a running node holds it.</summary>
    private static SqliteLedger? TryOpenLedger(string dataDir)
    {
        var keys = new NodeKeyStore(dataDir);
        if (!keys.Exists) throw new CliException($"no node identity in {dataDir}; run 'fed init' or 'fed serve' first");
        try
        {
            return SqliteLedger.Open(new Hosting.DataDirLayout(dataDir).LedgerDb, keys.Load());
        }
        catch (LedgerLockedException)
        {
            return null;
        }
    }

    private static ReviewQueue Queue(ParseResult p)
    {
        var layout = CliCommon.Layout(p);
        if (!File.Exists(layout.NodeDb)) throw new CliException($"no node database in {layout.Root}; has 'fed serve' run with this --data-dir?");
        return new ReviewQueue(layout.NodeDb);
    }

    private static string Short(string s) => s.Length <= 60 ? s.ReplaceLineEndings(" ") : s[..57].ReplaceLineEndings(" ") + "...";

    private static object Json(ReviewItem i) => new
    {
        id = i.Id, status = i.Status.ToString().ToLowerInvariant(), topic = i.Topic, query = i.Query, draft = i.Draft,
        final_answer = i.FinalAnswer, reviewer = i.Reviewer, comment = i.Comment, ledger_index = i.LedgerIndex,
        created_at = i.CreatedAt.ToUnixTimeSeconds(), decided_at = i.DecidedAt?.ToUnixTimeSeconds(),
        panel = i.Panel.Select(m => new { specialist = m.Specialist, answer = m.Text }).ToList(), member = i.Member,
    };
}
