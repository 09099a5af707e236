using System.Globalization;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cli.Progress;

/// <summary>
/// The training progress of a job as the workers report it: per worker the latest iteration,
/// examples and objective, summed into how far the job is, its throughput and its ETA. Both
/// progress views read it; reports arrive on the scheduler's thread, views read on their own.
/// </summary>
/// <param name="workers">Workers of the job.</param>
/// <param name="totalIterations">Iterations all workers together will report, 0 when unknown.</param>
/// <param name="totalExamples">Examples (items) all workers together will report, 0 when unknown; preferred over iterations.</param>
/// <param name="objectiveName">What the reported objective is ("minibatch log loss"), or null when the app reports none.</param>
/// <param name="examplesName">What an example is called in this app ("items" for a sketch).</param>
public sealed class TrainingTally(int workers, long totalIterations, long totalExamples, string? objectiveName, string examplesName = "examples")
{
    private readonly long[] _iterations = new long[workers];
    private readonly long[] _examples = new long[workers];
    private readonly double[] _objective = [.. Enumerable.Repeat(double.NaN, workers)];
    private readonly bool[] _done = new bool[workers];
    private readonly object _lock = new();
    // Rates are measured from the first report on (before it the workers were starting and loading
    // data) to the last report that moved the work forward (after it the job is only finishing).
    private double _firstReport = double.NaN, _lastAdvance = double.NaN;
    private long _examplesAtFirst, _iterationsAtFirst;

    public string? ObjectiveName => objectiveName;

    /// <summary>What the progress counts: examples when their total is known, else iterations.</summary>
    public string Unit => totalExamples > 0 ? examplesName : "iterations";

    /// <summary>The total of <see cref="Unit"/>, 0 when unknown.</summary>
    public double Total => totalExamples > 0 ? totalExamples : totalIterations;

    /// <summary>Takes one report; <paramref name="seconds"/> is when it arrived (seconds since the job started).</summary>
    public void Add(ProgressReport r, double seconds)
    {
        if ((uint)r.Worker >= (uint)_iterations.Length)
            return;
        lock (_lock)
        {
            long before = _examples.Sum() + _iterations.Sum();
            // A final report may count differently (batches rather than parts): never go backwards.
            _iterations[r.Worker] = Math.Max(_iterations[r.Worker], r.Iteration);
            _examples[r.Worker] = Math.Max(_examples[r.Worker], r.Examples);
            if (double.IsNaN(_firstReport))
            {
                _firstReport = seconds;
                _examplesAtFirst = _examples.Sum();
                _iterationsAtFirst = _iterations.Sum();
            }
            if (_examples.Sum() + _iterations.Sum() > before)
                _lastAdvance = seconds;
            if (!r.Done && r.Objective > 0)
                _objective[r.Worker] = r.Objective;
            _done[r.Worker] |= r.Done;
        }
    }

    public TrainingSnapshot Snapshot(double seconds)
    {
        lock (_lock)
        {
            long iterations = _iterations.Sum(), examples = _examples.Sum();
            bool allDone = _done.All(d => d);
            double done = totalExamples > 0 ? examples : iterations;
            double total = Total;
            double fraction = total <= 0 ? double.NaN : allDone ? 1 : Math.Min(1, done / total);
            double[] objectives = [.. _objective.Where(double.IsFinite)];
            double objective = objectives.Length > 0 ? objectives.Average() : double.NaN;
            double span = _lastAdvance - _firstReport;
            double rate = span > 0 ? (examples - _examplesAtFirst) / span : double.NaN;
            double unitsDone = totalExamples > 0 ? examples - _examplesAtFirst : iterations - _iterationsAtFirst;
            double unitRate = span > 0 && unitsDone > 0 ? unitsDone / span : double.NaN;
            double eta = allDone ? 0 : total > 0 && double.IsFinite(unitRate) ? Math.Max(0, total - done) / unitRate : double.NaN;
            return new TrainingSnapshot(seconds, done, total, fraction, iterations, examples, rate, objective, eta, _done.Count(d => d), allDone);
        }
    }
}

/// <summary>One moment of a job's training progress.</summary>
public readonly record struct TrainingSnapshot(
    double Seconds, double Done, double Total, double Fraction, long Iterations, long Examples,
    double ExamplesPerSecond, double Objective, double EtaSeconds, int WorkersDone, bool AllDone)
{
    /// <summary>"12.3 M/s": a rate in thousands, millions or billions.</summary>
    public static string Rate(double perSecond) => perSecond switch
    {
        double.NaN => "–",
        >= 1e9 => string.Create(CultureInfo.InvariantCulture, $"{perSecond / 1e9:0.00} G/s"),
        >= 1e6 => string.Create(CultureInfo.InvariantCulture, $"{perSecond / 1e6:0.0} M/s"),
        >= 1e3 => string.Create(CultureInfo.InvariantCulture, $"{perSecond / 1e3:0.0} k/s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{perSecond:0}/s"),
    };
}
