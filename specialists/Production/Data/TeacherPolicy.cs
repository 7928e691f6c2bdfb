using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federation.Specialists.Production.Data;

/// <summary>A teacher model reached through an OpenAI-compatible endpoint; it must declare the licence of its weights.</summary>
public sealed record TeacherSpec(string Name, Uri Endpoint, string Model, string Licence);

/// <summary>A teacher whose licence is not on the allow-list (seed: open licences only).</summary>
public sealed class TeacherLicenceException(string message) : Exception(message);

/// <summary>
/// <c>policies/teachers.yaml</c>: which licences a teacher's weights may have for its outputs to enter a training set
/// (seed §"The specialist production line": open licences only). Default MIT and Apache-2.0. SPDX ids, compared
/// case-insensitively.
/// </summary>
public sealed class TeacherPolicy
{
    /// <summary>The default allow-list when no file is given.</summary>
    public static readonly TeacherPolicy Default = new(["MIT", "Apache-2.0"]);

    public TeacherPolicy(IReadOnlyList<string> allowedLicences) => AllowedLicences = allowedLicences;

    public IReadOnlyList<string> AllowedLicences { get; }

    /// <summary>Loads <c>version: 1</c> + <c>allowed_licences: [..]</c>; errors are <c>file:line:col: message</c>.</summary>
    public static TeacherPolicy Load(string path)
    {
        var yaml = new YamlStream();
        try
        {
            using var r = new StreamReader(path);
            yaml.Load(r);
        }
        catch (YamlException e)
        {
            throw new FormatException($"{path}:{e.Start.Line}:{e.Start.Column}: {e.Message}", e);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new FormatException($"{path}:1:1: expected a mapping with version and allowed_licences.");
        string? version = null;
        List<string>? allowed = null;
        foreach (var (k, v) in root.Children)
        {
            switch (((YamlScalarNode)k).Value)
            {
                case "version": version = (v as YamlScalarNode)?.Value; break;
                case "allowed_licences":
                    if (v is not YamlSequenceNode seq)
                        throw new FormatException($"{path}:{v.Start.Line}:{v.Start.Column}: allowed_licences must be a list of SPDX licence ids.");
                    allowed = seq.Children.Select(c => (c as YamlScalarNode)?.Value
                        ?? throw new FormatException($"{path}:{c.Start.Line}:{c.Start.Column}: a licence must be a plain string.")).ToList();
                    break;
                default:
                    throw new FormatException($"{path}:{k.Start.Line}:{k.Start.Column}: unknown key '{k}'; expected version, allowed_licences.");
            }
        }
        if (version != "1") throw new FormatException($"{path}:{root.Start.Line}:{root.Start.Column}: version must be 1 (found '{version}').");
        if (allowed is null || allowed.Count == 0) throw new FormatException($"{path}:{root.Start.Line}:{root.Start.Column}: allowed_licences must list at least one licence.");
        return new TeacherPolicy(allowed);
    }

    /// <summary>Throws <see cref="TeacherLicenceException"/> unless <paramref name="teacher"/>'s licence is allowed.</summary>
    public void Require(TeacherSpec teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        if (string.IsNullOrWhiteSpace(teacher.Licence))
            throw new TeacherLicenceException($"teacher '{teacher.Name}' declares no licence; a teacher must declare the SPDX licence of its weights (allowed: {string.Join(", ", AllowedLicences)}).");
        if (!AllowedLicences.Contains(teacher.Licence, StringComparer.OrdinalIgnoreCase))
            throw new TeacherLicenceException($"teacher '{teacher.Name}' is licensed '{teacher.Licence}', which policies/teachers.yaml does not allow (allowed: {string.Join(", ", AllowedLicences)}); use a teacher under an allowed licence, or add the licence to allowed_licences after review.");
    }
}

/// <summary>
/// Optional teacher generation: asks a teacher (OpenAI-compatible <c>/v1/chat/completions</c>, temperature 0) to answer
/// questions. The licence is checked before any request is made.
/// </summary>
public sealed class TeacherClient
{
    private readonly HttpClient _http;
    private readonly TeacherSpec _teacher;

    /// <exception cref="TeacherLicenceException">The teacher's licence is not allowed by <paramref name="policy"/>.</exception>
    public TeacherClient(TeacherSpec teacher, TeacherPolicy policy, HttpClient http)
    {
        policy.Require(teacher);
        _teacher = teacher;
        _http = http;
    }

    /// <summary>The teacher's answers to <paramref name="questions"/> as examples of <paramref name="topic"/> (training split).</summary>
    public async Task<IReadOnlyList<TopicExample>> AnswerAsync(string topic, IEnumerable<string> questions, CancellationToken ct = default)
    {
        var list = new List<TopicExample>();
        foreach (var q in questions)
        {
            var body = new JsonObject
            {
                ["model"] = _teacher.Model,
                ["temperature"] = 0,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = q }),
            };
            using var resp = await _http.PostAsJsonAsync(new Uri(_teacher.Endpoint, "v1/chat/completions"), body, ct).ConfigureAwait(false);
            resp.EnsureSuccessStatusCode();
            using var doc = await JsonDocument.ParseAsync(await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), cancellationToken: ct).ConfigureAwait(false);
            var text = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
            list.Add(new TopicExample(topic, q, text.Trim(), DatasetSplit.Train));
        }
        return list;
    }
}

/// <summary>Keeps only the examples a topic's class-A checker passes (issue 9: checker cleaning).</summary>
public static class CheckerCleaning
{
    /// <summary>
    /// The examples for which <paramref name="passes"/>(question, answer) is true, and how many were dropped. The
    /// checker is a delegate so specialists/ does not reference canaries/; the node wires the real checkers.
    /// </summary>
    public static (IReadOnlyList<TopicExample> Kept, int Dropped) Clean(IEnumerable<TopicExample> examples, Func<string, string, bool> passes)
    {
        var kept = new List<TopicExample>();
        var dropped = 0;
        foreach (var e in examples)
        {
            if (passes(e.Question, e.Answer)) kept.Add(e);
            else dropped++;
        }
        return (kept, dropped);
    }
}
