using System.Globalization;
using System.Text;

namespace Federation.Specialists.Training;

/// <summary>
/// Writes a run's loss curve next to its output: <c>OUT.loss.csv</c> (<see cref="TrainingResult.ToCsv"/>) and
/// <c>OUT.loss.svg</c>, a small hand-written chart (train and validation loss per epoch; epoch 0 is the base's
/// validation loss). No timestamps or culture-dependent text: the same result gives the same bytes.
/// </summary>
public static class LossCurve
{
    private const int W = 480, H = 240, Left = 48, Right = 12, Top = 24, Bottom = 32;

    /// <summary>Writes both files and returns their paths.</summary>
    public static (string Csv, string Svg) Write(string outputPath, TrainingResult r)
    {
        var full = Path.GetFullPath(outputPath);
        var csv = full + ".loss.csv";
        var svg = full + ".loss.svg";
        File.WriteAllText(csv, r.ToCsv());
        File.WriteAllText(svg, Svg(r));
        return (csv, svg);
    }

    /// <summary>The SVG chart of <paramref name="r"/>.</summary>
    public static string Svg(TrainingResult r)
    {
        var val = new List<(double X, double Y)> { (0, r.InitialValidationLoss) };
        var train = new List<(double X, double Y)>();
        foreach (var e in r.Epochs)
        {
            if (double.IsFinite(e.ValidationLoss)) val.Add((e.Epoch, e.ValidationLoss));
            if (double.IsFinite(e.TrainLoss)) train.Add((e.Epoch, e.TrainLoss));
        }
        var all = val.Concat(train).Where(p => double.IsFinite(p.Y)).ToList();
        var maxX = Math.Max(1, r.Epochs.Count == 0 ? 1 : r.Epochs.Max(e => e.Epoch));
        var maxY = all.Count == 0 ? 1 : all.Max(p => p.Y);
        var minY = all.Count == 0 ? 0 : Math.Min(0, all.Min(p => p.Y));
        if (maxY <= minY) maxY = minY + 1;
        string Px(double x) => (Left + (x / maxX * (W - Left - Right))).ToString("F1", CultureInfo.InvariantCulture);
        string Py(double y) => (Top + ((maxY - y) / (maxY - minY) * (H - Top - Bottom))).ToString("F1", CultureInfo.InvariantCulture);
        string Line(List<(double X, double Y)> pts) => string.Join(' ', pts.Select(p => Px(p.X) + "," + Py(p.Y)));
        string N(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"14\">loss per epoch ({r.Route}): <tspan fill=\"#1f77b4\">train</tspan>, <tspan fill=\"#d62728\">validation</tspan></text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<path d=\"M{Left},{Top} V{H - Bottom} H{W - Right}\" stroke=\"black\" fill=\"none\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{Py(maxY)}\">{N(maxY)}</text><text x=\"4\" y=\"{Py(minY)}\">{N(minY)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{H - 12}\">0</text><text x=\"{W - Right - 40}\" y=\"{H - 12}\">epoch {maxX}</text>\n");
        if (train.Count > 0) sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{Line(train)}\" stroke=\"#1f77b4\" fill=\"none\" stroke-width=\"1.5\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{Line(val)}\" stroke=\"#d62728\" fill=\"none\" stroke-width=\"1.5\"/>\n");
        foreach (var p in val) sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Px(p.X)}\" cy=\"{Py(p.Y)}\" r=\"2\" fill=\"#d62728\"/>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
