using System.Text.Json;

namespace Federation.Specialists.Training;

/// <summary>Reading training examples: <c>{"prompt","completion"}</c> JSON lines, or a text corpus as one example per line.</summary>
public static class TrainingExamples
{
    /// <summary>
    /// Reads a JSONL file: one object per non-blank line with string fields <c>prompt</c> and <c>completion</c> (other
    /// fields are ignored). Errors name the file and line.
    /// </summary>
    public static List<TrainingExample> ReadJsonl(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"examples file '{path}' does not exist; give a JSONL file with one {{\"prompt\":…,\"completion\":…}} object per line.");
        var list = new List<TrainingExample>();
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new ArgumentException($"{path}:{n}: not valid JSON ({e.Message}); each line must be one {{\"prompt\":…,\"completion\":…}} object."); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{path}:{n}: expected a JSON object with \"prompt\" and \"completion\".");
                string Field(string name) =>
                    doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                        : throw new ArgumentException($"{path}:{n}: field \"{name}\" is missing or not a string.");
                var c = Field("completion");
                if (c.Length == 0) throw new ArgumentException($"{path}:{n}: \"completion\" is empty; every example needs text to learn.");
                list.Add(new TrainingExample(Field("prompt"), c));
            }
        }
        if (list.Count == 0) throw new ArgumentException($"examples file '{path}' has no examples.");
        return list;
    }

    /// <summary>A text corpus for the ggml route: each non-blank line is an example with an empty prompt, so every token of it is trained on.</summary>
    public static List<TrainingExample> FromCorpusLines(string text) =>
        [.. text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).Select(l => new TrainingExample("", l))];
}
