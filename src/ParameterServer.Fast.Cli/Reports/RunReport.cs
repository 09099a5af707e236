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
///   <item>time.png: per worker, seconds computing and seconds waiting (Figure 10), and the waiting
///   by cause: network, server, consistency, stragglers.</item>
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
            figures.Add(("time.png", HasWaitCauses(results)
                ? "Where the time goes: per worker, seconds computing and waiting, and beside them the waiting by cause (request times summed, so requests in flight together each count)"
                : "Where the time goes: seconds computing and waiting, per worker"));
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

    // Per worker two bars: its wall time split into computing and waiting, and beside it the
    // waiting by cause (beyond the paper's Figure 10). Causes are request times summed (requests in
    // flight together each count) plus barrier time, so that bar can stand taller than the waiting.
    private static readonly (string Cause, string Label, ScottPlot.Color Color)[] Causes =
    [
        ("network", "network", ScottPlot.Colors.MediumSeaGreen),
        ("server", "server queue + apply", ScottPlot.Colors.Gold),
        ("consistency", "consistency (bounded delay)", ScottPlot.Colors.IndianRed),
        ("straggler", "stragglers (barriers)", ScottPlot.Colors.MediumPurple),
    ];

    private static bool HasWaitCauses(IReadOnlyList<BenchResult> results) =>
        results.Any(r => r.Name.StartsWith("worker_", StringComparison.Ordinal) && r.Name.EndsWith("_network_seconds", StringComparison.Ordinal));

    private static void TimePlot(IReadOnlyList<BenchResult> results, string path)
    {
        var plot = new ScottPlot.Plot();
        var workers = results.Where(r => r.Name.EndsWith("_compute_seconds", StringComparison.Ordinal))
            .Select(r => int.Parse(r.Name.Split('_')[1], CultureInfo.InvariantCulture)).Order().ToList();
        double Get(string name) => results.FirstOrDefault(r => r.Name == name)?.Value ?? 0;
        bool causes = HasWaitCauses(results);
        int stride = causes ? 3 : 1;
        var bars = new List<ScottPlot.Bar>();
        var ticks = new List<ScottPlot.Tick>();
        double top = 0;
        foreach (int w in workers)
        {
            double compute = Get($"worker_{w}_compute_seconds"), wait = Get($"worker_{w}_wait_seconds");
            int at = w * stride;
            bars.Add(new ScottPlot.Bar { Position = at, ValueBase = 0, Value = compute, FillColor = ScottPlot.Colors.SteelBlue });
            bars.Add(new ScottPlot.Bar { Position = at, ValueBase = compute, Value = compute + wait, FillColor = ScottPlot.Colors.Orange });
            ticks.Add(new ScottPlot.Tick(at, $"worker {w}"));
            top = Math.Max(top, compute + wait);
            if (!causes)
                continue;
            double bottom = 0;
            foreach ((string cause, _, ScottPlot.Color color) in Causes)
            {
                double seconds = Get($"worker_{w}_wait_{cause}_seconds");
                bars.Add(new ScottPlot.Bar { Position = at + 1, ValueBase = bottom, Value = bottom + seconds, FillColor = color });
                bottom += seconds;
            }
            ticks.Add(new ScottPlot.Tick(at + 1, $"worker {w}: waits by cause"));
            top = Math.Max(top, bottom);
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "computing", FillColor = ScottPlot.Colors.SteelBlue });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "waiting", FillColor = ScottPlot.Colors.Orange });
        if (causes)
        {
            foreach ((_, string label, ScottPlot.Color color) in Causes)
                plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = label, FillColor = color });
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Title("Where the time goes");
        plot.YLabel("seconds");
        // Head room above the tallest bar for the legend.
        if (top > 0)
            plot.Axes.SetLimitsY(0, top * (causes ? 1.6 : 1.25));
        plot.SavePng(path, 900, 520);
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
