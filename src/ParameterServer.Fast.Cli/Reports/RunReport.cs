using System.Globalization;
using System.Net;
using System.Text;
using ParameterServer.Fast.Cli.Bench;

namespace ParameterServer.Fast.Cli.Reports;

/// <summary>One progress report as it arrived: when, from whom, how far, and the objective then.</summary>
public readonly record struct ProgressPoint(double Seconds, int Worker, long Iteration, double Objective)
{
    /// <summary>The report's named figures (block proximal gradient: the pass, seconds since training started, the worker's objective share).</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}

/// <summary>
/// `--report DIR`: the run's results as JSON, its figures as PNG (drawn with ScottPlot) and one
/// self-contained HTML page that shows them (the images are embedded, so the page can be mailed).
/// <list type="bullet">
///   <item>convergence.png (block proximal gradient): the objective against seconds of training for the
///   job and for the single-process baseline (the paper's Figure 9);</item>
///   <item>objective.png (otherwise): the objective each worker reported against seconds;</item>
///   <item>time.png: per worker, seconds computing and seconds waiting (Figure 10).</item>
/// </list>
/// </summary>
public static class RunReport
{
    public static void Write(string directory, string title, IReadOnlyDictionary<string, object> config, IReadOnlyList<BenchResult> results,
        IReadOnlyList<ProgressPoint> progress, TextWriter output, Convergence? convergence = null)
    {
        Directory.CreateDirectory(directory);
        JsonReport.Write(Path.Combine(directory, "results.json"), "local", config, results);
        var figures = new List<(string File, string Caption)>();
        if (convergence is not null)
        {
            ConvergenceFigure.Save(convergence, Path.Combine(directory, "convergence.png"));
            figures.Add(("convergence.png", "Objective against seconds of training: the job and the single-process baseline of the same algorithm (the paper's Figure 9)"));
        }
        else if (progress.Any(p => double.IsFinite(p.Objective) && p.Objective > 0))
        {
            ObjectivePlot(progress, Path.Combine(directory, "objective.png"));
            figures.Add(("objective.png", "Objective (mean minibatch loss reported) against time, per worker"));
        }
        if (results.Any(r => r.Name.EndsWith("_compute_seconds", StringComparison.Ordinal)))
        {
            TimePlot(results, Path.Combine(directory, "time.png"));
            figures.Add(("time.png", "Where the time goes: seconds computing and waiting, per worker"));
        }
        File.WriteAllText(Path.Combine(directory, "index.html"), Html(directory, title, config, results, figures), new UTF8Encoding(false));
        output.WriteLine($"wrote the report to {Path.Combine(directory, "index.html")}");
    }

    private static void ObjectivePlot(IReadOnlyList<ProgressPoint> progress, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (IGrouping<int, ProgressPoint> worker in progress.Where(p => double.IsFinite(p.Objective) && p.Objective > 0).GroupBy(p => p.Worker).OrderBy(g => g.Key))
        {
            var line = plot.Add.Scatter(worker.Select(p => p.Seconds).ToArray(), worker.Select(p => p.Objective).ToArray());
            line.LegendText = $"worker {worker.Key}";
        }
        plot.Title("Objective against time");
        plot.XLabel("seconds");
        plot.YLabel("objective");
        plot.ShowLegend();
        plot.SavePng(path, 800, 480);
    }

    private static void TimePlot(IReadOnlyList<BenchResult> results, string path)
    {
        var plot = new ScottPlot.Plot();
        var workers = results.Where(r => r.Name.EndsWith("_compute_seconds", StringComparison.Ordinal))
            .Select(r => int.Parse(r.Name.Split('_')[1], CultureInfo.InvariantCulture)).Order().ToList();
        double Get(string name) => results.FirstOrDefault(r => r.Name == name)?.Value ?? 0;
        var bars = new List<ScottPlot.Bar>();
        foreach (int w in workers)
        {
            double compute = Get($"worker_{w}_compute_seconds"), wait = Get($"worker_{w}_wait_seconds");
            bars.Add(new ScottPlot.Bar { Position = w, ValueBase = 0, Value = compute, FillColor = ScottPlot.Colors.SteelBlue });
            bars.Add(new ScottPlot.Bar { Position = w, ValueBase = compute, Value = compute + wait, FillColor = ScottPlot.Colors.Orange });
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "computing", FillColor = ScottPlot.Colors.SteelBlue });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "waiting", FillColor = ScottPlot.Colors.Orange });
        plot.ShowLegend();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. workers.Select(w => new ScottPlot.Tick(w, $"worker {w}"))]);
        plot.Title("Where the time goes");
        plot.YLabel("seconds");
        plot.SavePng(path, 800, 480);
    }

    private static string Html(string directory, string title, IReadOnlyDictionary<string, object> config, IReadOnlyList<BenchResult> results, List<(string File, string Caption)> figures)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title)).Append("</title>");
        html.Append("<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left}td.v{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}</style></head><body>");
        html.Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1><h2>Configuration</h2><table>");
        foreach ((string key, object value) in config)
            html.Append("<tr><th>").Append(WebUtility.HtmlEncode(key)).Append("</th><td>").Append(WebUtility.HtmlEncode(Convert.ToString(value, CultureInfo.InvariantCulture))).Append("</td></tr>");
        html.Append("</table><h2>Results</h2><table><tr><th>name</th><th>value</th><th>unit</th></tr>");
        foreach (BenchResult r in results)
        {
            html.Append("<tr><td>").Append(WebUtility.HtmlEncode(r.Name)).Append("</td><td class=\"v\">")
                .Append(r.Value.ToString("0.####", CultureInfo.InvariantCulture)).Append("</td><td>").Append(WebUtility.HtmlEncode(r.Unit)).Append("</td></tr>");
        }
        html.Append("</table>");
        foreach ((string file, string caption) in figures)
        {
            string data = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(directory, file)));
            html.Append("<figure><img alt=\"").Append(WebUtility.HtmlEncode(caption)).Append("\" src=\"data:image/png;base64,").Append(data)
                .Append("\"><figcaption>").Append(WebUtility.HtmlEncode(caption)).Append("</figcaption></figure>");
        }
        html.Append("</body></html>");
        return html.ToString();
    }
}
