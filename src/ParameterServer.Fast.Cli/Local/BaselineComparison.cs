using System.Globalization;
using ParameterServer.Fast.Apps.Data;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.Reports;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// The paper's Figure 9 after a block proximal gradient job: runs the same algorithm in this
/// process on one thread (no cluster) on the same data, and adds to the results when the job
/// reached the baseline's final objective against how long the baseline took. Both clocks start
/// when training starts (data loaded and laid out), so neither counts loading.
/// </summary>
internal static class BaselineComparison
{
    public static Convergence Run(SparseLROptions o, IReadOnlyList<ProgressPoint> progress, int workers, List<BenchResult> results, TextWriter output)
    {
        List<ObjectivePoint> job = ObjectiveTrace.Combine(Shares(progress), workers);
        output.WriteLine("running the single-process baseline (the same algorithm on one thread) for comparison");
        (SparseDataset train, SparseDataset test) = o.Data.Load();
        BaselineResult baseline = BlockProximalBaseline.Run(o, train, test);
        double jobSeconds = job.Count > 0 ? job[^1].Seconds : double.NaN;
        double reached = ObjectiveTrace.SecondsToReach(job, baseline.Objective);
        results.Add(new BenchResult("training_seconds", jobSeconds, "s of the job's training (loading excluded)"));
        results.Add(new BenchResult("baseline_seconds", baseline.Seconds, "s of the single-process baseline's training, one thread"));
        results.Add(new BenchResult("baseline_objective", baseline.Objective, "the baseline's final objective"));
        results.Add(new BenchResult("baseline_test_logloss", baseline.TestLogLoss, "nats"));
        results.Add(new BenchResult("seconds_to_baseline_objective", reached, "s until the job's objective reached the baseline's final one, to 0.01% (null: not within its passes)"));
        results.Add(new BenchResult("time_to_baseline_objective_ratio", reached / baseline.Seconds, "job's seconds to the baseline's final objective / the baseline's seconds (target ≤ 1)"));
        results.Add(new BenchResult("convergence", jobSeconds, "s; the objective after each pass, job and baseline (Figure 9)")
        {
            Extra =
            {
                ["pass"] = job.Select(p => p.Pass).ToArray(),
                ["seconds"] = job.Select(p => p.Seconds).ToArray(),
                ["objective"] = job.Select(p => p.Objective).ToArray(),
                ["baseline_seconds"] = baseline.Trace.Select(p => p.Seconds).ToArray(),
                ["baseline_objective"] = baseline.Trace.Select(p => p.Objective).ToArray(),
            },
        });
        return new Convergence(job, string.Create(CultureInfo.InvariantCulture, $"parameter server, {workers} workers"), baseline.Trace);
    }

    /// <summary>The objective shares the workers reported after each pass.</summary>
    public static IEnumerable<(int Worker, TracePoint Point)> Shares(IEnumerable<ProgressPoint> progress) =>
        from p in progress
        where p.Metrics is not null && p.Metrics.ContainsKey(ObjectiveTrace.ShareMetric)
        select (p.Worker, new TracePoint((int)p.Metrics!["pass"], p.Metrics["seconds"], p.Metrics[ObjectiveTrace.ShareMetric]));
}
