using System.Text;
using Federation.Specialists.Engine;

namespace Federation.Specialists.Tests;

[Collection("engine")]
public class GenerationTests(EngineFixture fx)
{
    private readonly SpecialistEngine _engine = fx.Engine;

    private static GenerationRequest Greedy(string prompt, int max = 24, params AdapterSelection[] adapters) =>
        new() { Prompt = prompt, MaxTokens = max, Adapters = adapters };

    [Fact]
    public async Task Greedy_generation_is_byte_identical_every_time()
    {
        var r1 = await _engine.GenerateAsync(Greedy("The federation"));
        var r2 = await _engine.GenerateAsync(Greedy("The federation"));
        Assert.Equal(24, r1.CompletionTokens);
        Assert.Equal(FinishReason.Length, r1.FinishReason);
        Assert.Equal(r1.TokenIds, r2.TokenIds);
        Assert.Equal(Encoding.UTF8.GetBytes(r1.Text), Encoding.UTF8.GetBytes(r2.Text));
        Assert.Equal(1 + "The federation".Length, r1.PromptTokens); // BOS + one byte token per character
    }

    [Fact]
    public async Task An_adapter_changes_the_output()
    {
        var baseOut = await _engine.GenerateAsync(Greedy("hello"));
        var withA = await _engine.GenerateAsync(Greedy("hello", 24, new AdapterSelection("a")));
        Assert.NotEqual(baseOut.TokenIds, withA.TokenIds);
    }

    [Fact]
    public async Task Removing_the_adapter_restores_the_base_output_bit_exactly()
    {
        var before = await _engine.GenerateAsync(Greedy("restore me"));
        await _engine.GenerateAsync(Greedy("restore me", 24, new AdapterSelection("b")));
        var after = await _engine.GenerateAsync(Greedy("restore me"));
        Assert.Equal(before.TokenIds, after.TokenIds);
        Assert.Equal(before.Text, after.Text);
    }

    [Fact]
    public async Task A_then_B_then_A_reproduces_A()
    {
        var a1 = await _engine.GenerateAsync(Greedy("swap", 24, new AdapterSelection("a")));
        var b = await _engine.GenerateAsync(Greedy("swap", 24, new AdapterSelection("b")));
        var a2 = await _engine.GenerateAsync(Greedy("swap", 24, new AdapterSelection("a")));
        Assert.NotEqual(a1.TokenIds, b.TokenIds);
        Assert.Equal(a1.TokenIds, a2.TokenIds);
    }

    [Fact]
    public async Task A_weighted_mix_differs_from_each_adapter_and_is_reproducible()
    {
        AdapterSelection[] mix = [new("a", 0.5f), new("b", 0.5f)];
        var m1 = await _engine.GenerateAsync(Greedy("mix", 24, mix));
        var a = await _engine.GenerateAsync(Greedy("mix", 24, new AdapterSelection("a")));
        var m2 = await _engine.GenerateAsync(Greedy("mix", 24, [new("b", 0.5f), new("a", 0.5f)])); // order does not matter
        Assert.NotEqual(a.TokenIds, m1.TokenIds);
        Assert.Equal(m1.TokenIds, m2.TokenIds);
    }

    [Fact]
    public async Task Adapter_scale_zero_equals_the_base()
    {
        var baseOut = await _engine.GenerateAsync(Greedy("zero"));
        var scaled = await _engine.GenerateAsync(Greedy("zero", 24, new AdapterSelection("c", 0f)));
        Assert.Equal(baseOut.TokenIds, scaled.TokenIds);
    }

    [Fact]
    public async Task Unknown_adapter_is_refused_with_a_clear_message()
    {
        var e = await Assert.ThrowsAsync<EngineException>(() => _engine.GenerateAsync(Greedy("x", 4, new AdapterSelection("nope"))));
        Assert.Contains("'nope' is not registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_sequence_ends_generation_before_the_stop_text()
    {
        var full = await _engine.GenerateAsync(Greedy("stop here", 40));
        // Pick a stop string from the middle of the text the model is known to produce.
        var text = full.Text;
        var stop = text.Substring(text.Length / 2, 2);
        var cut = text.IndexOf(stop, StringComparison.Ordinal);
        var stopped = await _engine.GenerateAsync(Greedy("stop here", 40) with { Stop = [stop] });
        Assert.Equal(FinishReason.Stop, stopped.FinishReason);
        Assert.Equal(text[..cut], stopped.Text);
        Assert.True(stopped.CompletionTokens < full.CompletionTokens);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_and_the_seed_matters()
    {
        var req = Greedy("sample", 32) with { Temperature = 1.5f, TopK = 50, TopP = 0.95f, Seed = 42 };
        var s1 = await _engine.GenerateAsync(req);
        var s2 = await _engine.GenerateAsync(req);
        var s3 = await _engine.GenerateAsync(req with { Seed = 43 });
        Assert.Equal(s1.TokenIds, s2.TokenIds);
        Assert.Equal(42u, s1.Seed);
        Assert.NotEqual(s1.TokenIds, s3.TokenIds);
    }

    [Fact]
    public async Task Chat_messages_use_the_plain_template_when_the_model_has_none()
    {
        Assert.False(_engine.Chat.UsesModelTemplate);
        ChatMessage[] msgs = [new("system", "be brief"), new("user", "hi")];
        Assert.Equal("system: be brief\nuser: hi\nassistant:", ChatTemplate.FormatPlain(msgs));
        var chat = await _engine.GenerateAsync(new GenerationRequest { Messages = msgs, MaxTokens = 8 });
        var raw = await _engine.GenerateAsync(Greedy(ChatTemplate.FormatPlain(msgs), 8));
        Assert.Equal(raw.TokenIds, chat.TokenIds);
        Assert.Equal(raw.PromptTokens, chat.PromptTokens);
    }

    [Fact]
    public async Task Streamed_deltas_concatenate_to_the_generated_text()
    {
        var whole = await _engine.GenerateAsync(Greedy("stream", 48, new AdapterSelection("d")));
        var deltas = new List<GenerationDelta>();
        await foreach (var d in _engine.StreamAsync(Greedy("stream", 48, new AdapterSelection("d")))) deltas.Add(d);
        Assert.True(deltas.Count > 1);
        Assert.Equal(whole.Text, string.Concat(deltas.Select(d => d.Text)));
        Assert.Equal(FinishReason.Length, deltas[^1].FinishReason);
        Assert.Equal(whole.TokenIds, deltas[^1].Result!.TokenIds);
        Assert.All(deltas[..^1], d => Assert.Null(d.FinishReason));
        foreach (var d in deltas)
            Assert.True(d.Text.Length == 0 || (!char.IsHighSurrogate(d.Text[^1]) && !char.IsLowSurrogate(d.Text[0])));
    }

    [Fact]
    public async Task Sixteen_concurrent_mixed_adapter_requests_each_equal_their_solo_run()
    {
        var requests = Enumerable.Range(0, 16).Select(i => Greedy($"request {i % 5}", 40 + 4 * i,
            (i % 5) switch
            {
                0 => [],
                1 => [new AdapterSelection("a")],
                2 => [new AdapterSelection("b")],
                3 => [new AdapterSelection("a", 0.7f), new AdapterSelection("c", 0.3f)],
                _ => [new AdapterSelection("d", 2f)],
            })).ToList();
        var solo = new List<GenerationResult>();
        foreach (var r in requests) solo.Add(await _engine.GenerateAsync(r));
        var concurrent = await Task.WhenAll(requests.Select(r => Task.Run(() => _engine.GenerateAsync(r))));
        // Same-set requests really shared a context (otherwise this test would prove nothing about neighbours).
        Assert.True(_engine.PeakGroupSize >= 2, $"peak group size {_engine.PeakGroupSize}");
        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal(solo[i].TokenIds, concurrent[i].TokenIds);
            Assert.Equal(solo[i].Text, concurrent[i].Text);
        }
    }
}

/// <summary>Tests that need their own engine configuration or damage files.</summary>
public class EngineTests
{
    private readonly ModelFiles _files = ModelFiles.Instance;

    [Fact]
    public async Task Mismatched_adapter_is_rejected_and_the_engine_keeps_serving()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1 });
        var before = await engine.GenerateAsync(new GenerationRequest { Prompt = "ok", MaxTokens = 8 });
        var e = Assert.Throws<EngineException>(() => engine.RegisterAdapter("bad", _files.Mismatched));
        Assert.Contains("rejected", e.Message, StringComparison.Ordinal);
        Assert.Contains("mismatched.gguf", e.Message, StringComparison.Ordinal);
        Assert.Contains("adapter.shape_mismatch", e.Message, StringComparison.Ordinal); // AdapterValidator's code
        Assert.Empty(engine.Adapters.Registered);
        var after = await engine.GenerateAsync(new GenerationRequest { Prompt = "ok", MaxTokens = 8 });
        Assert.Equal(before.TokenIds, after.TokenIds);
    }

    [Fact]
    public void Registration_reports_rank_alpha_targets_and_cid()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1 });
        var info = engine.RegisterAdapter("a", _files.Adapters[0].Path);
        Assert.Equal(8, info.Rank);
        Assert.Equal(8f, info.Alpha);
        Assert.Equal(4 * 7, info.TargetTensors);
        Assert.Equal(64, info.Cid.ToString().Length);
        Assert.Equal(info, engine.Adapters.Find("a"));
    }

    [Fact]
    public async Task Corrupt_adapter_files_are_rejected_and_the_engine_keeps_serving()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1 });
        engine.RegisterAdapter("a", _files.Adapters[0].Path);
        var before = await engine.GenerateAsync(new GenerationRequest { Prompt = "ok", MaxTokens = 8, Adapters = [new("a")] });
        Assert.Throws<EngineException>(() => engine.RegisterAdapter("t", _files.Truncated));
        Assert.Throws<EngineException>(() => engine.RegisterAdapter("g", _files.Garbage));
        Assert.Throws<EngineException>(() => engine.RegisterAdapter("m", Path.Combine(_files.Dir, "missing.gguf")));
        Assert.Equal(["a"], engine.Adapters.Registered.Select(a => a.Id));
        var after = await engine.GenerateAsync(new GenerationRequest { Prompt = "ok", MaxTokens = 8, Adapters = [new("a")] });
        Assert.Equal(before.TokenIds, after.TokenIds);
    }

    [Fact]
    public async Task Native_log_lines_reach_the_logger()
    {
        var logger = new ListLogger();
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, Logger = logger });
        await engine.GenerateAsync(new GenerationRequest { Prompt = "log", MaxTokens = 2 });
        lock (logger.Lines)
        {
            Assert.Contains(logger.Lines, l => l.EventId == 3000 && l.Text.Contains("llama", StringComparison.OrdinalIgnoreCase));
            Assert.Contains(logger.Lines, l => l.Text.StartsWith("Engine ready", StringComparison.Ordinal));
        }
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(int EventId, string Text)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add((eventId.Id, formatter(state, exception)));
        }
    }

    [Fact]
    public void Corrupt_base_model_is_refused_with_a_clear_error()
    {
        var e = Assert.Throws<EngineException>(() => SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Garbage }));
        Assert.Contains("garbage.gguf", e.Message, StringComparison.Ordinal);
        Assert.Throws<EngineException>(() => SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Adapters[0].Path }));
    }

    [Fact]
    public async Task Cancellation_ends_the_request_and_frees_the_context()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, SequencesPerContext = 1, ContextSize = 512 });
        var reference = await engine.GenerateAsync(new GenerationRequest { Prompt = "after", MaxTokens = 16 });
        using var cts = new CancellationTokenSource();
        var deltas = 0;
        GenerationDelta? last = null;
        await foreach (var d in engine.StreamAsync(new GenerationRequest { Prompt = "long", MaxTokens = 500 }, cts.Token))
        {
            if (++deltas == 3) await cts.CancelAsync();
            last = d;
        }
        Assert.Equal(FinishReason.Cancelled, last!.FinishReason);
        Assert.True(last.Result!.CompletionTokens < 500, $"{last.Result.CompletionTokens} tokens");
        // The only context is free again and serves the next request exactly as before.
        var next = await engine.GenerateAsync(new GenerationRequest { Prompt = "after", MaxTokens = 16 }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(reference.TokenIds, next.TokenIds);
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_ends_without_waiting_for_a_context()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, SequencesPerContext = 1, ContextSize = 512 });
        using var blockerCts = new CancellationTokenSource();
        var blocker = engine.GenerateAsync(new GenerationRequest { Prompt = "busy", MaxTokens = 500 }, blockerCts.Token);
        using var cts = new CancellationTokenSource();
        var queued = engine.GenerateAsync(new GenerationRequest { Prompt = "queued", MaxTokens = 500 }, cts.Token);
        await cts.CancelAsync();
        var r = await queued.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(FinishReason.Cancelled, r.FinishReason);
        Assert.Equal(0, r.CompletionTokens);
        await blockerCts.CancelAsync();
        Assert.Contains((await blocker).FinishReason, new[] { FinishReason.Cancelled, FinishReason.Length });
    }

    [Fact]
    public async Task Lru_pool_keeps_the_configured_number_resident_and_reloads_evicted_adapters_bit_exactly()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, MaxResidentAdapters = 2 });
        foreach (var (id, path) in _files.Adapters) engine.RegisterAdapter(id, path);
        Assert.Equal(2, engine.Adapters.ResidentIds.Count);
        Assert.Equal(["d", "c"], engine.Adapters.ResidentIds);
        var a1 = await engine.GenerateAsync(new GenerationRequest { Prompt = "lru", MaxTokens = 12, Adapters = [new("a")] });
        Assert.Equal("a", engine.Adapters.ResidentIds[0]);
        await engine.GenerateAsync(new GenerationRequest { Prompt = "lru", MaxTokens = 12, Adapters = [new("b")] });
        await engine.GenerateAsync(new GenerationRequest { Prompt = "lru", MaxTokens = 12, Adapters = [new("c")] });
        Assert.DoesNotContain("a", engine.Adapters.ResidentIds);
        var a2 = await engine.GenerateAsync(new GenerationRequest { Prompt = "lru", MaxTokens = 12, Adapters = [new("a")] });
        Assert.Equal(a1.TokenIds, a2.TokenIds);
        Assert.True(engine.Adapters.Evictions >= 3);
    }

    [Fact]
    public async Task Same_set_requests_share_decodes_and_each_equals_its_solo_run()
    {
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, SequencesPerContext = 4 });
        var reqs = Enumerable.Range(0, 6).Select(i => new GenerationRequest { Prompt = new string('x', 1 + i * 7) + i, MaxTokens = 30 + i }).ToList();
        var together = await Task.WhenAll(reqs.Select(r => engine.GenerateAsync(r)));
        Assert.True(engine.MultiSequenceDecodes > 0);
        for (var i = 0; i < reqs.Count; i++)
        {
            var solo = await engine.GenerateAsync(reqs[i]);
            Assert.Equal(solo.TokenIds, together[i].TokenIds);
            Assert.Equal(solo.Text, together[i].Text);
        }
    }

    [Fact]
    public async Task Same_set_requests_join_the_lone_busy_context_with_every_core_and_each_equals_its_solo_run()
    {
        // SoloThreads above Threads: a lone busy context decodes with 2 threads, so an idle second context hands it
        // same-set requests to join its 8-row decode instead of starting a one-thread decode of its own.
        // (the machine-load check off: this test runs on busy machines too)
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 2, SequencesPerContext = 8, SoloThreads = 2, SoloThreadsMaxOtherLoad = double.PositiveInfinity });
        var first = new GenerationRequest { Prompt = "a long answer", MaxTokens = 400 };
        var reqs = Enumerable.Range(0, 7).Select(i => new GenerationRequest { Prompt = new string('y', 2 + i * 5) + i, MaxTokens = 20 + i }).ToList();
        var running = engine.GenerateAsync(first);
        while (engine.PeakGroupSize == 0 && !running.IsCompleted) await Task.Delay(1);
        var joined = await Task.WhenAll(reqs.Select(r => engine.GenerateAsync(r)));
        var long1 = await running;
        Assert.Equal(400, long1.CompletionTokens); // still running while the others came and went
        Assert.Equal(8, engine.PeakGroupSize);
        Assert.Equal(0, engine.QueueLength);
        Assert.Equal(long1.TokenIds, (await engine.GenerateAsync(first)).TokenIds);
        for (var i = 0; i < reqs.Count; i++)
            Assert.Equal(joined[i].TokenIds, (await engine.GenerateAsync(reqs[i])).TokenIds);
    }

    [Fact]
    public async Task On_a_busy_machine_a_lone_context_keeps_one_thread_and_idle_contexts_take_their_own_requests()
    {
        var busy = new MachineLoad(others: () => 20);
        var quiet = new MachineLoad(others: () => 0.2);
        Assert.Equal(20, busy.Others);
        Assert.Equal(0.2, quiet.Others, 6);
        using (var e = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, SoloThreads = 2, MachineLoad = quiet }))
            Assert.True(e.SoloThreadsAllowed);
        using var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 2, SequencesPerContext = 8, SoloThreads = 2, MachineLoad = busy });
        Assert.False(engine.SoloThreadsAllowed);
        var running = engine.GenerateAsync(new GenerationRequest { Prompt = "a long answer", MaxTokens = 400 });
        while (engine.PeakGroupSize == 0 && !running.IsCompleted) await Task.Delay(1);
        var other = await engine.GenerateAsync(new GenerationRequest { Prompt = "same set, second context", MaxTokens = 5 });
        Assert.False(running.IsCompleted); // the second request ran beside the long one, not after it
        Assert.Equal(0, engine.RequestsHandedToBusyContext);
        await running;
        Assert.Equal(other.TokenIds, (await engine.GenerateAsync(new GenerationRequest { Prompt = "same set, second context", MaxTokens = 5 })).TokenIds);
    }

    [Fact]
    public async Task A_request_on_a_reused_prompt_prefix_equals_its_cold_run_bit_for_bit()
    {
        var system = "system: you are a careful specialist of the federation; answer briefly and cite the ledger entry.\nuser: ";
        GenerationRequest Req(string q) => new() { Prompt = system + q, MaxTokens = 24, TopLogprobs = 3, Adapters = [new AdapterSelection("a")] };
        static IEnumerable<float> Flat(GenerationResult r) => r.Logprobs!.SelectMany(l => l.Top.Select(t => t.Logprob).Prepend(l.Chosen.Logprob));
        var questions = new[] { "what is a spore?", "what is a spore?", "and a ledger?", "x" };
        var warm = new List<GenerationResult>();
        long reused;
        using (var engine = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, SequencesPerContext = 1 }))
        {
            engine.RegisterAdapter("a", _files.Adapters[0].Path);
            foreach (var q in questions) warm.Add(await engine.GenerateAsync(Req(q)));
            reused = engine.PrefixTokensReused;
        }
        Assert.True(reused >= 3 * system.Length, $"only {reused} prompt tokens were reused");
        for (var i = 0; i < questions.Length; i++)
        {
            using var fresh = SpecialistEngine.Open(new EngineOptions { BaseModelPath = _files.Base, Contexts = 1, SequencesPerContext = 1 });
            fresh.RegisterAdapter("a", _files.Adapters[0].Path);
            var cold = await fresh.GenerateAsync(Req(questions[i]));
            Assert.Equal(0, fresh.PrefixTokensReused);
            Assert.Equal(cold.TokenIds, warm[i].TokenIds);
            Assert.Equal(Flat(cold), Flat(warm[i]));
        }
    }
}
