using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Federation.Specialists.Gguf;
using Federation.Specialists.Interop;
using Federation.Specialists.Models;
using LLama.Native;
using static Federation.Specialists.Training.Ggml.GgmlNative;

namespace Federation.Specialists.Training.Ggml;

/// <summary>
/// Route 1: trains through the project's own ggml graph (<see cref="GgmlLlama"/>), gradients by
/// <c>ggml_build_backward_expand</c>. <see cref="TrainModel"/> trains every tensor (token_embd, attn_k and attn_v
/// included); <see cref="TrainAdapter"/> trains LoRA A and B on the frozen base (A uniform ±√(3/n_in) seeded, B zero,
/// scale alpha/r). Loss on completion + EOS tokens only; padded batches; AdamW with warmup + cosine, gradient-norm
/// clipping, validation split, early stop, per-epoch checkpoints and bit-exact resume. AdamW runs in C# on the
/// gradients ggml computed: the moments then live in managed arrays a checkpoint can store exactly.
/// </summary>
public sealed class GgmlTrainer : ISpecialistTrainer
{
    public TrainingRoute Route => TrainingRoute.Ggml;

    public TrainingResult TrainModel(string modelPath, IReadOnlyList<TrainingExample> examples, string outputPath, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(modelPath, examples, options);
        using var model = GgmlLlama.Load(modelPath);
        var run = new Run(model, [.. model.Weights], examples, options, Fingerprint(modelPath, examples, options, "model"), progress, cancellationToken);
        var r = run.Execute();
        WriteModel(model, outputPath);
        return r with { OutputPath = Path.GetFullPath(outputPath) };
    }

    public TrainingResult TrainAdapter(string basePath, IReadOnlyList<TrainingExample> examples, string outputPath, int rank, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(basePath, examples, options);
        if (rank < 1) throw new ArgumentException($"rank must be at least 1 (got {rank}).");
        var targets = options.LoraTargets ?? LoraAdapterFactory.DefaultTargets;
        foreach (var t in targets)
            if (!LoraAdapterFactory.AllowedTargets.Contains(t))
                throw new ArgumentException($"unknown LoRA target '{t}'; expected some of: {string.Join(", ", LoraAdapterFactory.AllowedTargets)}.");
        var alpha = options.LoraAlpha ?? rank;
        using var model = GgmlLlama.Load(basePath, rank, targets);
        if (model.Lora.Count == 0) throw new ArgumentException($"{basePath} has no tensors for LoRA targets {string.Join(", ", targets)}.");
        model.SetLoraScale(alpha, rank);
        var pars = new List<GgmlWeight>();
        foreach (var (a, b) in model.Lora.Values)
        {
            var rng = SplitMix64.ForStream(options.Seed, a.Name);
            var limit = (float)Math.Sqrt(3.0 / a.Shape[0]);
            var av = F32(a.Tensor, a.Count);
            for (var i = 0; i < av.Length; i++) av[i] = rng.NextSymmetric(limit);
            F32(b.Tensor, b.Count).Clear();
            pars.Add(a);
            pars.Add(b);
        }
        var fp = Fingerprint(basePath, examples, options, string.Create(CultureInfo.InvariantCulture, $"adapter r={rank} alpha={alpha:R} targets={string.Join(',', targets)}"));
        var run = new Run(model, pars, examples, options, fp, progress, cancellationToken);
        var r = run.Execute();
        WriteAdapter(model, basePath, outputPath, rank, alpha, options.Seed);
        return r with { OutputPath = Path.GetFullPath(outputPath) };
    }

    private static void Check(string path, IReadOnlyList<TrainingExample> examples, TrainingOptions o)
    {
        o.Validate();
        if (!File.Exists(path)) throw new ArgumentException($"model file '{path}' does not exist; give the path of a GGUF base model.");
        if (examples.Count < 2) throw new ArgumentException($"give at least 2 examples (one to train on, one to validate); got {examples.Count}.");
        if (o.BatchSize < 1) throw new ArgumentException($"batch size must be at least 1 (got {o.BatchSize}).");
    }

    /// <summary>What a checkpoint must have been made for: base file, examples and every option that changes the result.</summary>
    private static string Fingerprint(string path, IReadOnlyList<TrainingExample> examples, TrainingOptions o, string kind)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            h.AppendData(BitConverter.GetBytes(b.Length));
            h.AppendData(b);
        }
        Add(FileCid.Compute(path).ToString());
        Add(kind);
        Add(string.Create(CultureInfo.InvariantCulture,
            $"{o.Epochs}|{o.LearningRate:R}|{o.WarmupSteps}|{o.Seed}|{o.Threads}|{o.ValidationSplit:R}|{o.Context}|{o.Patience}|{o.MinDelta:R}|{o.BatchSize}|{o.ClipNorm:R}|{o.WeightDecay:R}"));
        foreach (var e in examples)
        {
            Add(e.Prompt);
            Add(e.Completion);
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private static void WriteModel(GgmlLlama model, string outputPath)
    {
        var w = new GgufWriter(model.File.Alignment);
        foreach (var kv in model.File.Metadata)
            w.Set(kv.Key, kv.Value);
        w.Set("general.file_type", GgufValue.UInt32(0)); // every tensor is written as F32
        w.Set("federation.training.route", "ggml");
        foreach (var t in model.Weights)
            w.AddF32(t.Name, [.. t.Shape.Select(d => (ulong)d)], F32(t.Tensor, t.Count).ToArray());
        WriteAtomically(w, outputPath);
    }

    private static void WriteAdapter(GgmlLlama model, string basePath, string outputPath, int rank, float alpha, ulong seed)
    {
        var arch = model.File.GetStringOrNull("general.architecture")!;
        var w = new GgufWriter();
        w.Set("general.architecture", arch)
            .Set("general.type", "adapter")
            .Set("general.name", $"federation-lora-r{rank}")
            .Set("adapter.type", "lora")
            .Set("adapter.lora.alpha", alpha)
            .Set("federation.adapter.base_cid", FileCid.Compute(basePath).ToString())
            .Set("federation.seed", GgufValue.UInt64(seed))
            .Set("federation.training.route", "ggml");
        foreach (var t in model.Weights)
        {
            if (!model.Lora.TryGetValue(t.Name, out var ab)) continue;
            w.AddF32(ab.A.Name, [.. ab.A.Shape.Select(d => (ulong)d)], F32(ab.A.Tensor, ab.A.Count).ToArray());
            w.AddF32(ab.B.Name, [.. ab.B.Shape.Select(d => (ulong)d)], F32(ab.B.Tensor, ab.B.Count).ToArray());
        }
        WriteAtomically(w, outputPath);
    }

    private static void WriteAtomically(GgufWriter w, string outputPath)
    {
        var full = Path.GetFullPath(outputPath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        w.WriteFile(full); // GgufWriter writes a temporary file and renames it
    }

    /// <summary>One example as tokens: BOS + prompt + completion + EOS, and where the completion starts.</summary>
    internal sealed record Sequence(int[] Ids, int PromptLength)
    {
        public int Inputs => Ids.Length - 1;
    }

    /// <summary>Tokenises with the model's own llama.cpp tokenizer (vocabulary only), exactly as the engine does for a prompt (BOS added, no special parsing).</summary>
    internal static List<Sequence> Tokenize(string modelPath, IReadOnlyList<TrainingExample> examples, int context)
    {
        LlamaLibrary.EnsureLoaded();
        var mp = LLamaModelParams.Default();
        mp.n_gpu_layers = 0;
        mp.vocab_only = true;
        using var handle = SafeLlamaModelHandle.LoadFromFile(modelPath, mp);
        var eos = handle.Vocab.EOS is { } e ? (int)e : ByteVocabulary.EosId;
        var list = new List<Sequence>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            var ex = examples[i];
            if (string.IsNullOrEmpty(ex.Completion)) throw new ArgumentException($"example {i + 1} has an empty completion; every example needs text to learn.");
            var p = handle.Tokenize(ex.Prompt, true, false, Encoding.UTF8).Select(t => (int)t).ToArray();
            var c = handle.Tokenize(ex.Completion, false, false, Encoding.UTF8).Select(t => (int)t).ToArray();
            int[] ids = [.. p, .. c, eos];
            if (ids.Length - 1 > context)
                throw new ArgumentException($"example {i + 1} has {ids.Length - 1} tokens, more than the training context {context}; shorten it or raise --context.");
            list.Add(new Sequence(ids, p.Length));
        }
        return list;
    }

    /// <summary>A padded batch of sequences: inputs Ids[0..n-1], labels Ids[1..n] on completion + EOS positions, -1 elsewhere.</summary>
    internal static GgmlBatch MakeBatch(IReadOnlyList<Sequence> seqs)
    {
        var t = seqs.Max(s => s.Inputs);
        var tokens = new int[t * seqs.Count];
        var labels = new int[t * seqs.Count];
        Array.Fill(labels, -1);
        var real = 0;
        for (var b = 0; b < seqs.Count; b++)
        {
            var s = seqs[b];
            for (var i = 0; i < s.Inputs; i++)
            {
                tokens[(b * t) + i] = s.Ids[i];
                if (i + 1 >= s.PromptLength) labels[(b * t) + i] = s.Ids[i + 1];
            }
            for (var i = s.Inputs; i < t; i++) tokens[(b * t) + i] = s.Ids[^1]; // padding: never attended to by a real position, no loss
            real += s.Inputs;
        }
        return new GgmlBatch(t, seqs.Count, tokens, labels) { RealTokens = real };
    }

    /// <summary>SplitMix64 that counts its draws, so a checkpoint can record and restore the shuffle stream exactly.</summary>
    private sealed class CountingRng(ulong seed)
    {
        private readonly SplitMix64 _inner = new(seed);
        public long Draws { get; private set; }

        public ulong Next()
        {
            Draws++;
            return _inner.NextUInt64();
        }

        public void Skip(long n)
        {
            while (Draws < n) Next();
        }
    }

    /// <summary>The state of one run; <see cref="Execute"/> trains and leaves the best-validation weights in the tensors.</summary>
    private sealed class Run(GgmlLlama model, List<GgmlWeight> pars, IReadOnlyList<TrainingExample> examples, TrainingOptions o, string fingerprint,
        IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        private const string Magic = "FEDGGMLCKPT1";
        private float[][] _m = [];
        private float[][] _v = [];
        private float[][]? _best;
        private long _step;
        private int _epochDone;
        private double _initVal = double.NaN, _bestVal = double.PositiveInfinity, _trainSeconds;
        private int _bestEpoch, _sinceBest;
        private bool _stoppedEarly;
        private long _tokensTrained;
        private readonly List<EpochLoss> _epochs = [];
        private CountingRng _rng = new(o.Seed);

        public TrainingResult Execute()
        {
            var seqs = Tokenize(model.File.Path, examples, o.Context);
            var split = new SplitMix64(SplitMix64.ForStream(o.Seed, "validation-split").NextUInt64());
            var idx = Enumerable.Range(0, seqs.Count).ToArray();
            for (var i = idx.Length - 1; i > 0; i--)
            {
                var j = (int)(split.NextUInt64() % (ulong)(i + 1));
                (idx[i], idx[j]) = (idx[j], idx[i]);
            }
            var nVal = Math.Clamp((int)Math.Round(seqs.Count * o.ValidationSplit), 1, seqs.Count - 1);
            var val = idx[..nVal].Order().Select(i => seqs[i]).ToList();
            var train = idx[nVal..].Order().Select(i => seqs[i]).ToList();
            var stepsPerEpoch = (train.Count + o.BatchSize - 1) / o.BatchSize;
            var schedule = new ModelTrainer.ScheduleState(o, o.Epochs * stepsPerEpoch);

            foreach (var p in pars) ggml_set_param(p.Tensor);
            _m = [.. pars.Select(p => new float[p.Count])];
            _v = [.. pars.Select(p => new float[p.Count])];
            using var step = new GgmlStep(model, o.Threads);
            if (o.ResumeFrom is { } resume) Load(resume);
            else
            {
                _initVal = Evaluate(step, val).Loss;
                _bestVal = _initVal;
            }

            var order = Enumerable.Range(0, train.Count).ToArray();
            var sw = new Stopwatch();
            var totalSteps = (long)o.Epochs * stepsPerEpoch;
            for (var epoch = _epochDone + 1; epoch <= o.Epochs; epoch++)
            {
                if (_stoppedEarly || (o.StopAfterEpoch is { } stop && epoch > stop)) break;
                for (var i = 0; i < order.Length; i++) order[i] = i;
                for (var i = order.Length - 1; i > 0; i--)
                {
                    var j = (int)(_rng.Next() % (ulong)(i + 1));
                    (order[i], order[j]) = (order[j], order[i]);
                }
                sw.Restart();
                double lossSum = 0;
                long lossTok = 0, epochTokens = 0;
                for (var s = 0; s < stepsPerEpoch; s++)
                {
                    ct.ThrowIfCancellationRequested();
                    var batch = MakeBatch([.. order.Skip(s * o.BatchSize).Take(o.BatchSize).Select(i => train[i])]);
                    var lr = schedule.LearningRateAt((int)_step);
                    var outp = step.Run(batch, backward: true);
                    Update(step, lr);
                    _step++;
                    lossSum += outp.Loss * outp.LossTokens;
                    lossTok += outp.LossTokens;
                    epochTokens += batch.RealTokens;
                    _tokensTrained += batch.RealTokens;
                    var secs = _trainSeconds + sw.Elapsed.TotalSeconds;
                    var tps = _tokensTrained / Math.Max(secs, 1e-9);
                    var eta = TimeSpan.FromSeconds(secs / Math.Max(1, _step) * Math.Max(0, totalSteps - _step));
                    progress?.Report(new TrainingProgress(epoch, o.Epochs, _step, totalSteps, outp.Loss, tps, eta));
                }
                var epochSecs = sw.Elapsed.TotalSeconds;
                _trainSeconds += epochSecs;
                var ev = Evaluate(step, val);
                _epochs.Add(new EpochLoss(epoch, lossSum / Math.Max(1, lossTok), ev.Loss, ev.Accuracy, schedule.LearningRateAt((int)_step - 1), epochSecs));
                _epochDone = epoch;
                var stop2 = false;
                if (ev.Loss < _bestVal - o.MinDelta)
                {
                    _bestVal = ev.Loss;
                    _bestEpoch = epoch;
                    _sinceBest = 0;
                    _best = [.. pars.Select(p => F32(p.Tensor, p.Count).ToArray())];
                }
                else if (o.Patience > 0 && ++_sinceBest >= o.Patience)
                {
                    _stoppedEarly = epoch < o.Epochs;
                    stop2 = true;
                }
                if (o.CheckpointDir is { } dir) Save(Path.Combine(dir, CheckpointName(epoch)));
                if (stop2) break;
            }
            if (_best is not null)
                for (var i = 0; i < pars.Count; i++) _best[i].CopyTo(F32(pars[i].Tensor, pars[i].Count));
            var trainedPerEpoch = train.Sum(s => (long)s.Inputs);
            return new TrainingResult("", _epochs, _bestEpoch, _initVal, trainedPerEpoch, o.Context, train.Count, val.Count,
                _tokensTrained / Math.Max(_trainSeconds, 1e-9), _stoppedEarly)
            {
                Route = TrainingRoute.Ggml,
                Steps = _step,
                CheckpointPath = o.CheckpointDir is null || _epochDone == 0 ? null : Path.GetFullPath(Path.Combine(o.CheckpointDir, CheckpointName(_epochDone))),
            };
        }

        private (double Loss, double Accuracy) Evaluate(GgmlStep step, List<Sequence> val)
        {
            double sum = 0;
            long n = 0, correct = 0;
            for (var s = 0; s < val.Count; s += o.BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var r = step.Run(MakeBatch(val.Skip(s).Take(o.BatchSize).ToList()), backward: false);
                sum += r.Loss * r.LossTokens;
                n += r.LossTokens;
                correct += r.Correct;
            }
            return (sum / n, (double)correct / n);
        }

        /// <summary>Global-norm clipping, then AdamW (β1 0.9, β2 0.999, ε 1e-8, decoupled weight decay), in a fixed order: deterministic.</summary>
        private void Update(GgmlStep step, float lr)
        {
            double sq = 0;
            var grads = new float[pars.Count][];
            for (var i = 0; i < pars.Count; i++)
            {
                var g = step.Gradient(pars[i]);
                grads[i] = g.IsEmpty ? new float[pars[i].Count] : g.ToArray();
                foreach (var x in grads[i]) sq += (double)x * x;
            }
            var norm = Math.Sqrt(sq);
            var clip = o.ClipNorm > 0 && norm > o.ClipNorm ? (float)(o.ClipNorm / norm) : 1f;
            const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
            var t = _step + 1;
            var c1 = 1f - MathF.Pow(b1, t);
            var c2 = 1f - MathF.Pow(b2, t);
            var wd = o.WeightDecay;
            for (var i = 0; i < pars.Count; i++)
            {
                var w = F32(pars[i].Tensor, pars[i].Count);
                var g = grads[i];
                var m = _m[i];
                var v = _v[i];
                for (var k = 0; k < w.Length; k++)
                {
                    var gk = g[k] * clip;
                    m[k] = (b1 * m[k]) + ((1f - b1) * gk);
                    v[k] = (b2 * v[k]) + ((1f - b2) * gk * gk);
                    var mh = m[k] / c1;
                    var vh = v[k] / c2;
                    w[k] -= lr * ((mh / (MathF.Sqrt(vh) + eps)) + (wd * w[k]));
                }
            }
        }

        private static string CheckpointName(int epoch) => string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:D4}.ckpt");

        private void Save(string path)
        {
            var full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var tmp = full + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            using (var bw = new BinaryWriter(fs, Encoding.UTF8))
            {
                bw.Write(Magic);
                bw.Write(fingerprint);
                bw.Write(_epochDone);
                bw.Write(_step);
                bw.Write(_rng.Draws);
                bw.Write(_initVal);
                bw.Write(_bestVal);
                bw.Write(_bestEpoch);
                bw.Write(_sinceBest);
                bw.Write(_trainSeconds);
                bw.Write(_tokensTrained);
                bw.Write(_stoppedEarly);
                bw.Write(_epochs.Count);
                foreach (var e in _epochs)
                {
                    bw.Write(e.Epoch);
                    bw.Write(e.TrainLoss);
                    bw.Write(e.ValidationLoss);
                    bw.Write(e.ValidationAccuracy);
                    bw.Write(e.LearningRate);
                    bw.Write(e.Seconds);
                }
                bw.Write(pars.Count);
                bw.Write(_best is not null);
                for (var i = 0; i < pars.Count; i++)
                {
                    bw.Write(pars[i].Name);
                    bw.Write(pars[i].Count);
                    WriteFloats(bw, F32(pars[i].Tensor, pars[i].Count));
                    WriteFloats(bw, _m[i]);
                    WriteFloats(bw, _v[i]);
                    if (_best is not null) WriteFloats(bw, _best[i]);
                }
            }
            File.Move(tmp, full, overwrite: true);
        }

        private void Load(string path)
        {
            if (!File.Exists(path)) throw new ArgumentException($"checkpoint '{path}' does not exist; give a file written by --checkpoint-dir (epoch-NNNN.ckpt).");
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);
            using var br = new BinaryReader(fs, Encoding.UTF8);
            string magic;
            try { magic = br.ReadString(); } catch (EndOfStreamException) { magic = ""; }
            if (magic != Magic) throw new ArgumentException($"'{path}' is not a ggml-route training checkpoint (expected header '{Magic}').");
            var fp = br.ReadString();
            if (fp != fingerprint)
                throw new ArgumentException($"checkpoint '{path}' was written for a different base, example set or options (seed, lr, epochs, batch, threads, ...); " +
                    "resume with exactly the inputs of the interrupted run.");
            _epochDone = br.ReadInt32();
            _step = br.ReadInt64();
            var draws = br.ReadInt64();
            _rng = new CountingRng(o.Seed);
            _rng.Skip(draws);
            _initVal = br.ReadDouble();
            _bestVal = br.ReadDouble();
            _bestEpoch = br.ReadInt32();
            _sinceBest = br.ReadInt32();
            _trainSeconds = br.ReadDouble();
            _tokensTrained = br.ReadInt64();
            _stoppedEarly = br.ReadBoolean(); // a run that stopped early has nothing left to train
            var n = br.ReadInt32();
            for (var i = 0; i < n; i++)
                _epochs.Add(new EpochLoss(br.ReadInt32(), br.ReadDouble(), br.ReadDouble(), br.ReadDouble(), br.ReadSingle(), br.ReadDouble()));
            var count = br.ReadInt32();
            if (count != pars.Count) throw new ArgumentException($"checkpoint '{path}' holds {count} tensors, this run trains {pars.Count}.");
            var hasBest = br.ReadBoolean();
            _best = hasBest ? new float[count][] : null;
            for (var i = 0; i < count; i++)
            {
                var name = br.ReadString();
                var len = br.ReadInt64();
                if (name != pars[i].Name || len != pars[i].Count) throw new ArgumentException($"checkpoint '{path}' tensor {i} is '{name}' ({len}), expected '{pars[i].Name}' ({pars[i].Count}).");
                ReadFloats(br, F32(pars[i].Tensor, len));
                ReadFloats(br, _m[i]);
                ReadFloats(br, _v[i]);
                if (_best is not null)
                {
                    _best[i] = new float[len];
                    ReadFloats(br, _best[i]);
                }
            }
        }

        private static void WriteFloats(BinaryWriter bw, ReadOnlySpan<float> f) => bw.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f));

        private static void ReadFloats(BinaryReader br, Span<float> f) => br.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f));
    }
}
