using ParameterServer.Fast.Apps.SparseLR;

namespace ParameterServer.Fast.Cli.Reports;

/// <summary>The objective after each pass against seconds of training, for a job and for the single-process baseline.</summary>
public sealed record Convergence(IReadOnlyList<ObjectivePoint> Job, string JobLabel, IReadOnlyList<ObjectivePoint> Baseline);

/// <summary>
/// The paper's Figure 9 as a PNG: objective against seconds for the parameter server and for the
/// baseline. The y axis starts above the first point (log 2 at w = 0 would flatten the rest).
/// </summary>
public static class ConvergenceFigure
{
    public static void Save(Convergence c, string path)
    {
        var plot = new ScottPlot.Plot();
        var job = plot.Add.Scatter(c.Job.Select(p => p.Seconds).ToArray(), c.Job.Select(p => p.Objective).ToArray());
        job.LegendText = c.JobLabel;
        var baseline = plot.Add.Scatter(c.Baseline.Select(p => p.Seconds).ToArray(), c.Baseline.Select(p => p.Objective).ToArray());
        baseline.LegendText = "single process, one thread";
        double low = c.Job.Concat(c.Baseline).Min(p => p.Objective);
        double second = c.Job.Concat(c.Baseline).Where(p => p.Pass == 1).Select(p => p.Objective).DefaultIfEmpty(low + 0.1).Max();
        plot.Axes.SetLimitsY(low - ((second - low) * 0.05), second + ((second - low) * 0.05));
        plot.Title("Sparse logistic regression: objective against time");
        plot.XLabel("seconds of training");
        plot.YLabel("objective (log loss + λ₁‖w‖₁/N)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 800, 480);
    }
}
