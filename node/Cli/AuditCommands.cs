using System.CommandLine;
using System.Globalization;
using Federation.Canaries.Audit;
using Federation.Canaries.Checkers;
using Federation.Canaries.Storage;
using Federation.Registry.Crypto;
using Federation.Registry.Envelopes;
using Federation.Registry.Json;

namespace Federation.Node.Cli;

/// <summary><c>fed audit run|reveal|verify|rate</c>: blind auditor batteries (docs/canaries.md).</summary>
internal static class AuditCommands
{
    public static Command Create()
    {
        var audit = new Command("audit", "Blind auditor batteries: run canaries against a node's ordinary OpenAI endpoint, reveal, verify.");
        audit.Subcommands.Add(Run());
        audit.Subcommands.Add(Reveal());
        audit.Subcommands.Add(Verify());
        audit.Subcommands.Add(Rate());
        return audit;
    }

    private static Option<FileInfo?> KeyOption() => new("--key") { Description = "The auditor's Ed25519 key file (64 hex characters, the node.key format); default: <data-dir>/identity/node.key." };

    private static Command Run()
    {
        var target = new Option<string>("--target") { Description = "Base URL of the audited node (e.g. http://127.0.0.1:8080).", Required = true };
        var topic = new Option<string>("--topic") { Description = "The topic whose battery is sampled.", Required = true };
        var n = new Option<int>("--n") { Description = "How many canaries to sample.", DefaultValueFactory = _ => 50 };
        var key = KeyOption();
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key for the target (default: $FEDERATION_API_KEY)." };
        var model = new Option<string>("--model") { Description = "The model to ask for, as an ordinary client would.", DefaultValueFactory = _ => AuditRunner.DefaultModel };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "max_tokens of each request (default: the target's default)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for each answer.", DefaultValueFactory = _ => 300 };
        var output = new Option<FileInfo?>("--out") { Description = "Where to write the signed record (default: <data-dir>/audits/<record-id>.json)." };
        var cmd = new Command("run", "Commit to a random seed (its hash is written first), sample the topic's battery with it, ask the target, check, and sign the record.")
        {
            target, topic, n, key, apiKey, model, maxTokens, timeout, output,
        };
        cmd.SetAction(async (p, ct) =>
        {
            if (!Uri.TryCreate(p.GetValue(target), UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
                throw new CliException($"--target '{p.GetValue(target)}' is not an http(s) URL; give the node's base URL, e.g. http://127.0.0.1:8080.", ExitCodes.Usage);
            if (p.GetValue(n) < 1) throw new CliException("--n must be at least 1.", ExitCodes.Usage);
            var dir = CliCommon.ResolveDataDir(p);
            var audits = Path.Combine(dir, "audits");
            Directory.CreateDirectory(audits);
            using var signer = LoadKey(p, key);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(p.GetValue(timeout)) };
            var runner = new AuditRunner(CanaryCommands.Open(p), new CanaryChecker(), signer, http, TimeProvider.System);
            var request = new AuditRequest(url, p.GetValue(topic)!, p.GetValue(n), p.GetValue(model)!,
                p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("FEDERATION_API_KEY"), p.GetValue(maxTokens));
            string? commitmentPath = null;
            AuditRun run;
            try
            {
                run = await runner.RunAsync(request, c =>
            {
                // Published before any canary is sampled or sent (commit first, then draw).
                commitmentPath = Path.Combine(audits, $"seed-{c.Payload["seed_commitment"].AsString()}.json");
                File.WriteAllBytes(commitmentPath, c.ToCanonicalBytes());
                CliCommon.WriteError(p, $"audit: seed commitment {c.Payload["seed_commitment"].AsString()} written to {commitmentPath}");
            }, new LineProgress(i => CliCommon.WriteError(p, $"audit: {i} canaries checked")), ct);
            }
            catch (CanaryStoreException e)
            {
                throw new CliException(e.Message);
            }
            var id = run.Record.Id.ToString();
            var recordPath = p.GetValue(output)?.FullName ?? Path.Combine(audits, id + ".json");
            File.WriteAllBytes(recordPath, run.Record.ToCanonicalBytes());
            WritePrivate(Path.Combine(audits, id + ".private.json"), CanonicalJson.Serialize(run.Private));
            var items = run.Record.Payload["items"].AsArray();
            var scored = items.Where(i => i["status"].AsString() == "scored").ToList();
            var mean = scored.Count == 0 ? (double?)null : scored.Average(i => Canary(i["o"]));
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new
                {
                    record_id = id,
                    record = recordPath,
                    commitment = commitmentPath,
                    seed_commitment = run.Record.Payload["seed_commitment"].AsString(),
                    target_node = run.Record.Payload["target_node"] is JsonString tn ? tn.Value : null,
                    sampled = items.Count,
                    scored = scored.Count,
                    mean_o = mean,
                });
            else
                CliCommon.WriteLine(p, $"audit {id}: {items.Count} canaries sampled, {scored.Count} scored, mean o = {(mean is { } m ? m.ToString("0.###", CultureInfo.InvariantCulture) : "n/a")}; record {recordPath}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Reveal()
    {
        var record = new Argument<string>("record") { Description = "The signed audit record file written by 'fed audit run'." };
        var key = KeyOption();
        var output = new Option<FileInfo?>("--out") { Description = "Where to write the reveal (default: <data-dir>/audits/<record-id>.reveal.json)." };
        var cmd = new Command("reveal", "Publish the seed, the sampled canaries (with salts) and the answers, so anyone can re-derive the sample and re-score.") { record, key, output };
        cmd.SetAction(p =>
        {
            var env = ReadEnvelope(p, p.GetValue(record)!);
            if (env.Type != AuditRunner.RecordType) throw new CliException($"'{p.GetValue(record)}' is a \"{env.Type}\" envelope, not an audit record.", ExitCodes.Usage);
            var audits = Path.Combine(CliCommon.ResolveDataDir(p), "audits");
            var privPath = Path.Combine(audits, env.Id + ".private.json");
            if (!File.Exists(privPath))
                throw new CliException($"no private audit file {privPath}: only the auditor that ran audit {env.Id} (with this --data-dir) holds its seed.");
            using var signer = LoadKey(p, key);
            if (signer.NodeId != env.Signer) throw new CliException($"the record is signed by {env.Signer}, this key is {signer.NodeId}: reveal with the auditor's key.");
            var store = CanaryCommands.Open(p);
            var reveal = CanaryCommands.Wrap(() => AuditRunner.Reveal(env, CanonicalJson.Parse(File.ReadAllBytes(privPath)).AsObject(), store, signer));
            var path = p.GetValue(output)?.FullName ?? Path.Combine(audits, env.Id + ".reveal.json");
            File.WriteAllBytes(path, reveal.ToCanonicalBytes());
            // A reveal is a scored reveal of each canary (lifespan); its outcome updates the pass-rate statistics.
            foreach (var item in env.Payload["items"].AsArray().Where(i => i["status"].AsString() == "scored"))
                store.RecordUse(item["handle"].AsString(), Canary(item["o"]), scoredReveal: true);
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { reveal = path, reveal_id = reveal.Id.ToString(), record_id = env.Id.ToString(), items = reveal.Payload["items"].AsArray().Count });
            else CliCommon.WriteLine(p, $"reveal of audit {env.Id} written to {path}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Verify()
    {
        var file = new Argument<string>("file") { Description = "An audit record, or a reveal (which carries its record)." };
        var cmd = new Command("verify", "Check the signatures; for a reveal also the seed against its commitment, the sample, and every outcome by re-scoring.") { file };
        cmd.SetAction(async (p, ct) =>
        {
            var env = ReadEnvelope(p, p.GetValue(file)!);
            var v = await new AuditVerifier(new CanaryChecker()).VerifyAsync(env.ToJson(), ct);
            if (CliCommon.IsJson(p))
                CliCommon.WriteJson(p, new
                {
                    valid = v.IsValid,
                    signature_valid = v.SignatureValid,
                    revealed = v.Revealed,
                    sample_honest = v.Revealed ? v.SampleHonest : (bool?)null,
                    rescored = v.Rescored,
                    mismatches = v.RescoreMismatches,
                    record_id = v.Record?.Id.ToString(),
                    auditor = v.Record?.Signer.ToString(),
                    problems = v.Problems,
                });
            else
            {
                CliCommon.WriteLine(p, v.IsValid
                    ? v.Revealed ? $"audit {v.Record!.Id} verifies: signature, seed, sample and {v.Rescored} re-scored outcomes agree" : $"audit {v.Record!.Id}: signature verifies (not revealed yet: give the reveal file to check the sample and re-score)"
                    : "audit does NOT verify:");
                foreach (var problem in v.Problems) CliCommon.WriteLine(p, "  " + problem);
            }
            return v.IsValid ? ExitCodes.Ok : ExitCodes.VerificationFailed;
        });
        return cmd;
    }

    private static Command Rate()
    {
        var gain = new Option<double>("--gain") { Description = "What a cheat gains per unaudited answer.", Required = true };
        var penalty = new Option<double>("--penalty") { Description = "What a cheat loses when caught (slashed stake, lost reputation).", Required = true };
        var margin = new Option<double>("--margin") { Description = "Safety factor over the break-even rate (≥ 1).", DefaultValueFactory = _ => 1.5 };
        var cmd = new Command("rate", "The random audit rate that makes cheating a loss: rate > gain / (gain + penalty).") { gain, penalty, margin };
        cmd.SetAction(p =>
        {
            double min, rec;
            try
            {
                min = AuditRate.Minimum(p.GetValue(gain), p.GetValue(penalty));
                rec = AuditRate.Recommended(p.GetValue(gain), p.GetValue(penalty), p.GetValue(margin));
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new CliException(e.Message.Split(Environment.NewLine)[0], ExitCodes.Usage);
            }
            if (CliCommon.IsJson(p)) CliCommon.WriteJson(p, new { minimum = min, recommended = rec });
            else CliCommon.WriteLine(p, $"break-even rate {min.ToString("0.####", CultureInfo.InvariantCulture)}; audit at {rec.ToString("0.####", CultureInfo.InvariantCulture)}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Reports progress on the caller's thread (Progress&lt;T&gt; would post to the pool and interleave with the result).</summary>
    private sealed class LineProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    private static double Canary(JsonValue v) => Federation.Canaries.Canary.TryNumber(v, out var d) ? d : 0;

    private static NodeKey LoadKey(ParseResult p, Option<FileInfo?> key)
    {
        if (p.GetValue(key) is { } f)
        {
            if (!f.Exists) throw new CliException($"key file '{f.FullName}' does not exist; give a file holding a 64-hex-character Ed25519 seed.", ExitCodes.Usage);
            try
            {
                return NodeKey.FromSeedHex(File.ReadAllText(f.FullName).Trim());
            }
            catch (FormatException e)
            {
                throw new CliException($"key file '{f.FullName}': {e.Message}", ExitCodes.Usage);
            }
        }
        try
        {
            return new NodeKeyStore(CliCommon.ResolveDataDir(p)).Load();
        }
        catch (NodeKeyStoreException e)
        {
            throw new CliException(e.Message);
        }
    }

    private static SignedEnvelope ReadEnvelope(ParseResult p, string path)
    {
        try
        {
            return SignedEnvelope.Parse(CliCommon.ReadTextArg(p, path));
        }
        catch (FormatException e)
        {
            throw new CliException($"'{path}' is not a signed envelope: {e.Message}", ExitCodes.Usage);
        }
    }

    private static void WritePrivate(string path, byte[] bytes)
    {
        // The seed and the answers stay private until 'fed audit reveal': owner-only, like the node key.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var fs = new FileStream(path, options);
        fs.Write(bytes);
    }
}
