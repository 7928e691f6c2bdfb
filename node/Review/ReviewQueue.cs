using System.Collections.Concurrent;
using Federation.Node.Storage;
using Microsoft.Data.Sqlite;

namespace Federation.Node.Review;

/// <summary>State of a T3 review.</summary>
public enum ReviewStatus { Pending, Approved, Rejected }

/// <summary>A T3 answer held for human review, and (once decided) the decision.</summary>
public sealed record ReviewItem(
    string Id,
    DateTimeOffset CreatedAt,
    ReviewStatus Status,
    string Topic,
    string Query,
    string Draft,
    string RouteJson,
    string? FinalAnswer,
    string? Reviewer,
    string? Comment,
    DateTimeOffset? DecidedAt,
    long? LedgerIndex)
{
    /// <summary>Every panel member's answer, in the route's specialist order (empty for items queued before panels were kept).</summary>
    public IReadOnlyList<PanelDraft> Panel { get; init; } = [];

    /// <summary>The panel member whose answer (or an edit of it) the reviewer approved; null otherwise.</summary>
    public string? Member { get; init; }
}

/// <summary>One panel member's answer to a T3 query, kept with the review so the reviewer can weigh them side by side.</summary>
public sealed record PanelDraft(string Specialist, string Text);

/// <summary>
/// The persisted T3 review queue (SQLite, in the node database). A waiting client is woken in-process when a reviewer
/// decides; a restarted node keeps every pending item. A decision is final: deciding twice is refused.
/// </summary>
public sealed class ReviewQueue
{
    private readonly NodeDatabase _db;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ReviewItem>> _waiters = new();

    public ReviewQueue(string dbPath, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _db = NodeDatabase.Create(dbPath, """
            CREATE TABLE IF NOT EXISTS reviews(
              id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, status TEXT NOT NULL, topic TEXT NOT NULL,
              query TEXT NOT NULL, draft TEXT NOT NULL, route_json TEXT NOT NULL, final_answer TEXT,
              reviewer TEXT, comment TEXT, decided_at INTEGER, ledger_index INTEGER,
              entry_json TEXT NOT NULL DEFAULT '{}', decision_envelope TEXT);
            CREATE INDEX IF NOT EXISTS reviews_status ON reviews(status, created_at);
            """);
        // the requesting key (issue 8: a client reads only its own reviews); added in place to databases made before it
        using var c = Open();
        // later additions, in place: the requester (issue 8), every panel member's answer and the approved member (issue 14)
        foreach (var column in new[] { "requester", "panel_json", "member" })
        {
            using var probe = c.CreateCommand();
            probe.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('reviews') WHERE name='{column}'";
            if (Convert.ToInt64(probe.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0) continue;
            using var alter = c.CreateCommand();
            alter.CommandText = $"ALTER TABLE reviews ADD COLUMN {column} TEXT";
            alter.ExecuteNonQuery();
        }
    }

    private SqliteConnection Open() => _db.Open();

    /// <summary>Raised in this process after an item is enqueued (tests and operators wait on it instead of polling).</summary>
    public event Action<ReviewItem>? Enqueued;

    /// <summary>
    /// Queues a draft for review. <paramref name="factsJson"/> is the answer's <see cref="Answering.AnswerFacts"/>, from
    /// which the ledger entry is built once the decision is made.
    /// </summary>
    public ReviewItem Enqueue(string topic, string query, string draft, string routeJson, string factsJson, IReadOnlyList<PanelDraft>? panel = null)
    {
        var id = "rev_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));
        var now = _time.GetUtcNow();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO reviews(id,created_at,status,topic,query,draft,route_json,entry_json,requester,panel_json) VALUES($id,$t,'pending',$topic,$q,$d,$r,$e,$who,$panel)";
        cmd.Parameters.AddWithValue("$panel", panel is { Count: > 0 } ? PanelJson(panel) : DBNull.Value);
        cmd.Parameters.AddWithValue("$who", (object?)ReviewWaitScope.Current?.Requester ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$t", now.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$topic", topic);
        cmd.Parameters.AddWithValue("$q", query);
        cmd.Parameters.AddWithValue("$d", draft);
        cmd.Parameters.AddWithValue("$r", routeJson);
        cmd.Parameters.AddWithValue("$e", factsJson);
        cmd.ExecuteNonQuery();
        var item = Get(id)!;
        ReviewWaitScope.Current?.OnQueued?.Invoke();
        Enqueued?.Invoke(item);
        return item;
    }

    /// <summary>The API key name that asked for the item's answer (null for items queued before it was recorded).</summary>
    public string? RequesterOf(string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT requester FROM reviews WHERE id=$id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>Pending items asked for by <paramref name="requester"/>.</summary>
    public int PendingCount(string requester)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM reviews WHERE status='pending' AND requester=$who";
        cmd.Parameters.AddWithValue("$who", requester);
        return (int)(long)cmd.ExecuteScalar()!;
    }

    public ReviewItem? Get(string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = Select + " WHERE id=$id";
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    public IReadOnlyList<ReviewItem> List(ReviewStatus? status = null, int limit = 200)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = Select + (status is null ? "" : " WHERE status=$s") + " ORDER BY created_at, id LIMIT $l";
        if (status is not null) cmd.Parameters.AddWithValue("$s", StatusText(status.Value));
        cmd.Parameters.AddWithValue("$l", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<ReviewItem>();
        while (r.Read()) list.Add(Read(r));
        return list;
    }

    /// <summary>
    /// Records a decision on a pending item. Returns the updated item; throws <see cref="InvalidOperationException"/>
    /// when the item is unknown or already decided (nothing is changed then).
    /// </summary>
    public ReviewItem Decide(string id, bool approve, string reviewer, string? editedAnswer, string? comment, string? member = null)
    {
        var now = _time.GetUtcNow();
        using (var c = Open())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = """
                UPDATE reviews SET status=$s, final_answer=$a, reviewer=$rv, comment=$c, decided_at=$t, member=$m
                WHERE id=$id AND status='pending'
                """;
            cmd.Parameters.AddWithValue("$m", approve ? (object?)member ?? DBNull.Value : DBNull.Value);
            cmd.Parameters.AddWithValue("$s", approve ? "approved" : "rejected");
            cmd.Parameters.AddWithValue("$a", approve ? (object?)editedAnswer ?? DBNull.Value : DBNull.Value);
            // an approval without an edit releases the draft as it is
            if (approve && editedAnswer is null) cmd.CommandText = cmd.CommandText.Replace("final_answer=$a", "final_answer=draft", StringComparison.Ordinal);
            cmd.Parameters.AddWithValue("$rv", reviewer);
            cmd.Parameters.AddWithValue("$c", (object?)comment ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$t", now.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$id", id);
            if (cmd.ExecuteNonQuery() == 0)
            {
                var existing = Get(id) ?? throw new KeyNotFoundException($"no review '{id}'; list them with 'fed review list'");
                throw new InvalidOperationException($"review '{id}' was already {StatusText(existing.Status)} by {existing.Reviewer}; a decision is final");
            }
        }
        return Get(id)!;
    }

    /// <summary>Stores the reviewer's signed decision (an envelope JSON) on a decided item.</summary>
    public void SetDecisionEnvelope(string id, string envelopeJson)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE reviews SET decision_envelope=$e WHERE id=$id";
        cmd.Parameters.AddWithValue("$e", envelopeJson);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Decided items whose ledger entry is not written yet (a crash, or a CLI decision while the node ran).</summary>
    public IReadOnlyList<(ReviewItem Item, string EntryJson, string? DecisionEnvelope)> DecidedUnledgered()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT " + Columns + ", entry_json, decision_envelope FROM reviews WHERE status<>'pending' AND ledger_index IS NULL ORDER BY decided_at, id";
        using var r = cmd.ExecuteReader();
        var list = new List<(ReviewItem, string, string?)>();
        while (r.Read()) list.Add((Read(r), r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15)));
        return list;
    }

    /// <summary>Stores the ledger index of the decision entry and wakes anyone waiting on the item.</summary>
    public ReviewItem Complete(string id, long ledgerIndex)
    {
        using (var c = Open())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "UPDATE reviews SET ledger_index=$l WHERE id=$id";
            cmd.Parameters.AddWithValue("$l", ledgerIndex);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
        }
        var item = Get(id)!;
        if (_waiters.TryRemove(id, out var tcs)) tcs.TrySetResult(item);
        return item;
    }

    /// <summary>
    /// Waits until the item is decided and ledgered, or the timeout passes (then returns it still pending). Decisions
    /// made in this process wake the waiter at once; decisions made by another process (the CLI) are seen by polling.
    /// </summary>
    public async Task<ReviewItem> WaitAsync(string id, TimeSpan timeout, CancellationToken ct)
    {
        // async mode: the client polls GET /v1/federation/reviews/{id} instead of holding the request open
        if (ReviewWaitScope.Current is { Async: true }) timeout = TimeSpan.Zero;
        var tcs = _waiters.GetOrAdd(id, _ => new TaskCompletionSource<ReviewItem>(TaskCreationOptions.RunContinuationsAsynchronously));
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            var now = Get(id) ?? throw new KeyNotFoundException($"no review '{id}'");
            if (now.Status != ReviewStatus.Pending && now.LedgerIndex is not null) return now;
            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero) return now;
            try
            {
                return await tcs.Task.WaitAsync(left < PollInterval ? left : PollInterval, _time, ct);
            }
            catch (TimeoutException)
            {
                // poll the database again
            }
        }
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private const string Columns = "id,created_at,status,topic,query,draft,route_json,final_answer,reviewer,comment,decided_at,ledger_index,panel_json,member";

    /// <summary>The answer facts stored with the item (<see cref="Answering.AnswerFacts"/> JSON), or null for an unknown id.</summary>
    public string? FactsJson(string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT entry_json FROM reviews WHERE id=$id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>The latest decisions of <paramref name="reviewer"/>, newest first.</summary>
    public IReadOnlyList<ReviewItem> DecidedBy(string reviewer, int limit = 50)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = Select + " WHERE status<>'pending' AND reviewer=$rv ORDER BY decided_at DESC, id LIMIT $l";
        cmd.Parameters.AddWithValue("$rv", reviewer);
        cmd.Parameters.AddWithValue("$l", limit);
        using var r = cmd.ExecuteReader();
        var list = new List<ReviewItem>();
        while (r.Read()) list.Add(Read(r));
        return list;
    }

    /// <summary>How many items are in each state.</summary>
    public (int Pending, int Approved, int Rejected) Counts()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT status, COUNT(*) FROM reviews GROUP BY status";
        using var r = cmd.ExecuteReader();
        int p = 0, a = 0, j = 0;
        while (r.Read())
        {
            var n = (int)r.GetInt64(1);
            switch (r.GetString(0)) { case "pending": p = n; break; case "approved": a = n; break; default: j += n; break; }
        }
        return (p, a, j);
    }

    // canonical JSON [{"specialist","text"}] (registry JSON model: no reflection-based serializer in the node)
    private static string PanelJson(IReadOnlyList<PanelDraft> panel) => Federation.Registry.Json.CanonicalJson.SerializeToString(
        new Federation.Registry.Json.JsonArray(panel.Select(m => (Federation.Registry.Json.JsonValue)new Federation.Registry.Json.JsonObject { ["specialist"] = m.Specialist, ["text"] = m.Text })));

    private static IReadOnlyList<PanelDraft> ParsePanel(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        if (Federation.Registry.Json.CanonicalJson.Parse(json) is not Federation.Registry.Json.JsonArray a) return [];
        return a.OfType<Federation.Registry.Json.JsonObject>()
            .Select(o => new PanelDraft(o["specialist"].AsString(), o["text"].AsString())).ToList();
    }
    private const string Select = "SELECT " + Columns + " FROM reviews";

    private static string StatusText(ReviewStatus s) => s switch
    {
        ReviewStatus.Pending => "pending",
        ReviewStatus.Approved => "approved",
        _ => "rejected",
    };

    private static ReviewItem Read(SqliteDataReader r) => new(
        r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
        r.GetString(2) switch { "pending" => ReviewStatus.Pending, "approved" => ReviewStatus.Approved, _ => ReviewStatus.Rejected },
        r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9),
        r.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)), r.IsDBNull(11) ? null : r.GetInt64(11))
    {
        Panel = ParsePanel(r.IsDBNull(12) ? null : r.GetString(12)),
        Member = r.IsDBNull(13) ? null : r.GetString(13),
    };
}
