using System.Globalization;
using System.Net;
using System.Text;
using ParameterServer.Fast.Cli.Bench;

namespace ParameterServer.Fast.Cli.Reports;

/// <summary>The report of a bounded-delay sweep: results.json, delay.png and index.html.</summary>
public static class DelayReport
{
    public static void Write(string directory, IReadOnlyDictionary<string, object> config, IReadOnlyList<BenchResult> results,
        IReadOnlyList<(string Tau, double Seconds, double ToTarget)> runs, TextWriter output)
    {
        Directory.CreateDirectory(directory);
        JsonReport.Write(Path.Combine(directory, "results.json"), "local max-delay sweep", config, results);
        var plot = new ScottPlot.Plot();
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < runs.Count; i++)
        {
            bars.Add(new ScottPlot.Bar { Position = (3 * i) + 0, Value = runs[i].Seconds, FillColor = ScottPlot.Colors.SteelBlue });
            if (double.IsFinite(runs[i].ToTarget))
                bars.Add(new ScottPlot.Bar { Position = (3 * i) + 1, Value = runs[i].ToTarget, FillColor = ScottPlot.Colors.Orange });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. runs.Select((r, i) => new ScottPlot.Tick((3 * i) + 0.5, $"τ = {r.Tau}"))]);
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "whole run", FillColor = ScottPlot.Colors.SteelBlue });
        plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "to target objective", FillColor = ScottPlot.Colors.Orange });
        plot.ShowLegend();
        plot.Title("Effect of the maximal delay τ");
        plot.YLabel("seconds");
        string png = Path.Combine(directory, "delay.png");
        plot.SavePng(png, 800, 480);
        var html = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bounded delay sweep</title>");
        html.Append("<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}td,th{padding:4px 12px;text-align:right}</style></head><body><h1>Effect of the maximal delay τ</h1><table><tr><th>τ</th><th>seconds</th><th>seconds to target</th></tr>");
        foreach ((string tau, double seconds, double toTarget) in runs)
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{WebUtility.HtmlEncode(tau)}</td><td>{seconds:0.00}</td><td>{toTarget:0.00}</td></tr>");
        html.Append("</table><img alt=\"delay sweep\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(File.ReadAllBytes(png))).Append("\"></body></html>");
        File.WriteAllText(Path.Combine(directory, "index.html"), html.ToString(), new UTF8Encoding(false));
        output.WriteLine($"wrote the report to {Path.Combine(directory, "index.html")}");
    }
}
