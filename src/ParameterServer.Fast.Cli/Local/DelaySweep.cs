using System.Globalization;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cli.CommandLine;
using ParameterServer.Fast.Cli.Commands;

namespace ParameterServer.Fast.Cli.Local;

/// <summary>
/// The paper's Figure 13 as a command: `psf local --max-delay 0,1,2,4,8,16 [--straggler MS]` runs
/// the same sparse-LR job once per τ and reports, for each, the wall time, the final objective and
/// the time until the workers' reported objective first reached the target (the τ = 0 run's final
/// objective + 1%, unless --target is given).
/// </summary>
public sealed class DelaySweep(LocalOptions options, IReadOnlyList<int> delays, double? target, TextWriter output)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (options.App is not SparseLRChoice lr)
            throw new UsageException("psf local: a --max-delay sweep runs the sparse-lr app");
        var runs = new List<(int Tau, LocalCluster.RunOutcome Outcome)>();
        foreach (int tau in delays)
        {
            var one = options with { App = new SparseLRChoice(lr.Options with { MaxDelay = tau }), Quiet = true, Json = null, Report = null, Baseline = false };
            output.WriteLine($"== τ = {Name(tau)}");
            runs.Add((tau, await new LocalCluster(one, TextWriter.Null).RunJobAsync(cancellationToken).ConfigureAwait(false)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {runs[^1].Outcome.Seconds:0.0} s, objective {Objective(runs[^1].Outcome):0.0000}"));
        }
        double goal = target ?? Objective(runs[0].Outcome) * 1.01;
        var results = new List<BenchResult>();
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"target objective {goal:0.0000}"));
        output.WriteLine("  τ      seconds   objective   seconds to target");
        foreach ((int tau, LocalCluster.RunOutcome outcome) in runs)
        {
            double reached = TimeToTarget(outcome, options.Workers, goal);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Name(tau),-6} {outcome.Seconds,7:0.00}   {Objective(outcome),9:0.0000}   {reached,10:0.00}"));
            results.Add(new BenchResult($"tau_{Name(tau)}_seconds", outcome.Seconds, "s") { Extra = { ["max_delay"] = tau == int.MaxValue ? -1 : tau } });
            results.Add(new BenchResult($"tau_{Name(tau)}_objective", Objective(outcome), "") { Extra = { ["max_delay"] = tau == int.MaxValue ? -1 : tau } });
            results.Add(new BenchResult($"tau_{Name(tau)}_seconds_to_target", reached, "s") { Extra = { ["target"] = goal } });
        }
        var config = new Dictionary<string, object>
        {
            ["app"] = "sparse-lr", ["servers"] = options.Servers, ["workers"] = options.Workers,
            ["transport"] = options.Transport.ToString().ToLowerInvariant(), ["delays"] = string.Join(',', delays.Select(Name)),
            ["straggler_ms"] = lr.Options.Straggler.TotalMilliseconds, ["target"] = goal,
        };
        if (options.Json is not null)
            JsonReport.Write(options.Json, "local max-delay sweep", config, results);
        if (options.Report is not null)
            Reports.DelayReport.Write(options.Report, config, results, [.. runs.Select(r => (Name(r.Tau), r.Outcome.Seconds, TimeToTarget(r.Outcome, options.Workers, goal)))], output);
        return 0;
    }

    private static string Name(int tau) => tau == int.MaxValue ? "inf" : tau.ToString(CultureInfo.InvariantCulture);

    private static double Objective(LocalCluster.RunOutcome o) => o.Summary.First(r => r.Name == "objective").Value;

    // The first moment the objective reached the goal: with block proximal gradient the sum of the
    // workers' shares after a pass, otherwise the mean of the workers' latest reported objectives.
    private static double TimeToTarget(LocalCluster.RunOutcome o, int workers, double goal)
    {
        if (o.Progress.Any(p => p.Metrics?.ContainsKey(Apps.SparseLR.ObjectiveTrace.ShareMetric) == true))
        {
            var arrived = o.Progress.Where(p => p.Metrics?.ContainsKey("pass") == true)
                .Select(p => (p.Worker, new Apps.SparseLR.TracePoint((int)p.Metrics!["pass"], p.Seconds, p.Metrics[Apps.SparseLR.ObjectiveTrace.ShareMetric])));
            double seconds = Apps.SparseLR.ObjectiveTrace.SecondsToReach(Apps.SparseLR.ObjectiveTrace.Combine(arrived, workers), goal);
            return double.IsNaN(seconds) && Objective(o) <= goal ? o.Seconds : seconds;
        }
        var latest = new Dictionary<int, double>();
        foreach (Reports.ProgressPoint p in o.Progress.OrderBy(p => p.Seconds))
        {
            latest[p.Worker] = p.Objective;
            if (latest.Values.Average() <= goal)
                return p.Seconds;
        }
        return Objective(o) <= goal ? o.Seconds : double.NaN;
    }
}
