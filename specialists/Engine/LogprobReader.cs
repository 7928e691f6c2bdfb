namespace Federation.Specialists.Engine;

/// <summary>
/// Log probabilities of one position from the raw logits (before grammar, top-k/top-p or temperature): a log-softmax
/// over the whole vocabulary, in double precision, read before the sampler touches the logits.
/// </summary>
internal sealed class LogprobReader
{
    private readonly EngineContext _ctx;
    private readonly float[] _logits;
    private readonly double _logSum;
    private readonly int _top;

    private LogprobReader(EngineContext ctx, float[] logits, int top)
    {
        _ctx = ctx;
        _logits = logits;
        _top = top;
        var max = double.NegativeInfinity;
        foreach (var l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        _logSum = max + Math.Log(sum);
    }

    public static LogprobReader Read(EngineContext ctx, int outputIndex, int top)
    {
        var logits = new float[ctx.Model.VocabSize];
        ctx.CopyLogits(outputIndex, logits);
        return new LogprobReader(ctx, logits, top);
    }

    private TokenLogprob Of(int token) => new(token, _ctx.Model.TokenToPiece(token), (float)(_logits[token] - _logSum));

    /// <summary>The chosen token's entry and the <c>top</c> most likely tokens (ties broken by the lower id, so the list is deterministic).</summary>
    public TokenLogprobs For(int token)
    {
        var top = new List<TokenLogprob>(_top);
        if (_top > 0)
        {
            var ids = Enumerable.Range(0, _logits.Length).ToArray();
            Array.Sort(ids, (a, b) => _logits[b].CompareTo(_logits[a]) is var c && c != 0 ? c : a.CompareTo(b));
            for (var i = 0; i < Math.Min(_top, ids.Length); i++) top.Add(Of(ids[i]));
        }
        return new TokenLogprobs(Of(token), top);
    }
}
