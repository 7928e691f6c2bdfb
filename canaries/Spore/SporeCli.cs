using Federation.Registry.Json;

namespace Federation.Canaries.Spore;

/// <summary>What <c>fed spore show</c> prints and what <c>fed spore send</c> reads; here so tests can use them without the CLI.</summary>
public static class SporeCli
{
    /// <summary>The data directory of the Spore peer under a node data dir.</summary>
    public static string StoreDir(string nodeDataDir) => Path.Combine(nodeDataDir, "spore");

    /// <summary>
    /// Everything the node holds: records, tasks (signed and legacy), control events, profiles, per-task frontier (the
    /// reference rule and our goal-aware view) and Spore's reputation table. Keys are fixed (docs/spore.md).
    /// </summary>
    public static JsonObject Snapshot(SporeGraph g)
    {
        var frontier = new JsonObject();
        foreach (var t in g.Tasks.Keys.Concat(g.Records.Select(r => r.TaskId)).Distinct().Order(StringComparer.Ordinal))
        {
            frontier[t] = new JsonObject
            {
                ["goal"] = g.Tasks.TryGetValue(t, out var row) ? row.Goal : "minimize",
                ["reference"] = new JsonArray(g.Frontier(t).Select(Entry)),
                ["goal_aware"] = new JsonArray(g.GoalAwareFrontier(t).Select(Entry)),
            };
        }
        var rep = new JsonObject();
        foreach (var (id, r) in g.Reputation.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            rep[id] = new JsonObject
            {
                ["score"] = new JsonFloat(r.Score),
                ["experiments_published"] = r.ExperimentsPublished,
                ["experiments_verified"] = r.ExperimentsVerified,
                ["verifications_performed"] = r.VerificationsPerformed,
                ["disputes_won"] = r.DisputesWon,
                ["disputes_lost"] = r.DisputesLost,
            };
        }
        return new JsonObject
        {
            ["records"] = new JsonArray(g.Records.Select(r => (JsonValue)r.Json)),
            ["tasks"] = new JsonArray(g.Tasks.Values.OrderBy(t => t.TaskId, StringComparer.Ordinal).Select(t => (JsonValue)new JsonObject
            {
                ["task_id"] = t.TaskId, ["name"] = t.Name, ["goal"] = t.Goal, ["metric"] = t.Metric,
                ["legacy"] = t.Manifest is null, ["manifest"] = t.Manifest is null ? JsonValue.Null : t.Manifest.Json,
            })),
            ["control_events"] = new JsonArray(g.ControlSince(long.MinValue).Select(e => (JsonValue)e.Json)),
            ["profiles"] = new JsonArray(g.Profiles.Values.OrderBy(p => p.NodeId, StringComparer.Ordinal).Select(p => (JsonValue)p.Json)),
            ["verified"] = new JsonArray(g.Verified.Order(StringComparer.Ordinal).Select(v => (JsonValue)v)),
            ["frontier"] = frontier,
            ["reputation"] = rep,
        };
    }

    private static JsonValue Entry(ExperimentRecord r) => new JsonObject
    {
        ["id"] = r.Id, ["val_bpb"] = new JsonFloat(r.ValBpb), ["node_id"] = r.NodeId, ["gpu_model"] = r.GpuModel,
    };

    /// <summary>
    /// Reads items to send: a JSON value (one item or an array of items) or JSON lines. An item is a message envelope
    /// (<c>{"type","payload"}</c>) or a bare record/task/event/profile, recognised by its keys. Each is parsed and verified;
    /// the first invalid one throws <see cref="SporeFormatException"/> naming its position.
    /// </summary>
    public static IReadOnlyList<SporeMessage> ReadItems(string text)
    {
        List<JsonValue> values;
        try
        {
            var v = JsonReader.Parse(text);
            values = v is JsonArray a ? [.. a] : [v];
        }
        catch (JsonParseException)
        {
            values = [];
            var n = 0;
            foreach (var line in text.Split('\n'))
            {
                n++;
                if (line.Trim().Length == 0) continue;
                try
                {
                    values.Add(JsonReader.Parse(line));
                }
                catch (JsonParseException e)
                {
                    throw new SporeFormatException(new SporeRejection(SporeReason.NotObject, $"line {n} is not JSON: {e.Message}"));
                }
            }
        }
        var result = new List<SporeMessage>();
        for (var i = 0; i < values.Count; i++)
        {
            try
            {
                result.Add(ToMessage(values[i]));
            }
            catch (SporeFormatException e)
            {
                throw new SporeFormatException(e.Rejection with { Message = $"item {i + 1}: {e.Rejection.Message}" });
            }
        }
        return result;
    }

    private static SporeMessage ToMessage(JsonValue v)
    {
        if (v is not JsonObject o) throw new SporeFormatException(new SporeRejection(SporeReason.NotObject, "each item must be a JSON object"));
        SporeMessage m;
        if (o.Count == 2 && o.ContainsKey("type") && o.ContainsKey("payload") && o["type"] is JsonString ts && o["payload"] is JsonObject p)
            m = new SporeMessage(ts.Value, p);
        else if (o.ContainsKey("val_bpb")) m = new SporeMessage(MessageTypes.Experiment, o);
        else if (o.ContainsKey("task_type")) m = new SporeMessage(MessageTypes.Task, o);
        else if (o.TryGetValue("type", out var t) && t is JsonString et && Array.IndexOf(ControlTypes.All, et.Value) >= 0) m = new SporeMessage(et.Value, o);
        else if (o.ContainsKey("schema_version") || o.ContainsKey("display_name")) m = new SporeMessage(MessageTypes.Profile, o);
        else throw new SporeFormatException(new SporeRejection(SporeReason.NotObject,
            "not a message envelope {\"type\",\"payload\"}, experiment record, task manifest, control event or profile"));
        var bad = m.Type switch
        {
            MessageTypes.Experiment => ExperimentRecord.Parse(m.Payload).Verify(),
            MessageTypes.Task => TaskManifest.Parse(m.Payload).Verify(),
            MessageTypes.Profile => NodeProfile.Parse(m.Payload).Verify(),
            _ when Array.IndexOf(ControlTypes.All, m.Type) >= 0 => ControlEvent.Parse(m.Type!, m.Payload).Verify(),
            _ => null, // other catalogue messages (ping, sync requests…) are sent as given
        };
        if (bad is not null) throw new SporeFormatException(bad);
        return m;
    }
}
