using System.Diagnostics;
using System.Globalization;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cluster.Protocol;

namespace ParameterServer.Fast.Cli.Progress;

/// <summary>
/// Progress as plain lines, for logs and tests: a loading stage prints where it is at most every
/// 2 s and when it ends; training prints a bar of '#' at most four times a second and always the
/// last report; the summary is one "name value unit" line per result.
/// </summary>
internal sealed class PlainJobProgress(TextWriter output, bool quiet) : JobProgress
{
    private readonly TextWriter _log = TextWriter.Synchronized(output);
    private TrainingTally? _tally;
    private double _lastPrint = double.NegativeInfinity;

    public override TextWriter Log => _log;

    public override Task<T> RunAsync<T>(Func<Task<T>> job) => job();

    public override IProgressStage BeginStage(string description, double total, string unit) =>
        new Stage(quiet ? TextWriter.Null : _log, description, total, unit);

    public override void BeginTraining(TrainingTally tally, string description) => _tally = tally;

    public override void OnReport(ProgressReport report, double seconds)
    {
        TrainingTally? tally = _tally;
        if (tally is null)
            return;
        tally.Add(report, seconds);
        TrainingSnapshot s = tally.Snapshot(seconds);
        lock (this)
        {
            if (quiet || (seconds - _lastPrint < 0.25 && !s.AllDone) || (s.AllDone && _lastPrint == double.PositiveInfinity))
                return;
            _lastPrint = s.AllDone ? double.PositiveInfinity : seconds;
        }
        _log.WriteLine(Line(tally, s));
    }

    public override void Summary(string title, IReadOnlyList<BenchResult> results)
    {
        _log.WriteLine();
        _log.WriteLine(title);
        foreach (BenchResult r in results)
            _log.WriteLine("  " + JsonReport.Format(r));
    }

    /// <summary>"[#######.......] 40 %    3.1s  examples 8000000/20000000  41.2 M/s  ETA 5s".</summary>
    public static string Line(TrainingTally tally, TrainingSnapshot s)
    {
        string objective = tally.ObjectiveName is { } name && double.IsFinite(s.Objective)
            ? string.Create(CultureInfo.InvariantCulture, $"  {name} {s.Objective:0.0000}") : "";
        string rate = double.IsFinite(s.ExamplesPerSecond) ? $"  {TrainingSnapshot.Rate(s.ExamplesPerSecond)}" : "";
        if (double.IsNaN(s.Fraction))
            return string.Create(CultureInfo.InvariantCulture, $"{s.Seconds,6:0.0}s  iterations {s.Iterations}{objective}{rate}");
        int filled = (int)(s.Fraction * 30);
        string eta = double.IsFinite(s.EtaSeconds) ? string.Create(CultureInfo.InvariantCulture, $"  ETA {s.EtaSeconds:0}s") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', 30 - filled)}] {s.Fraction,4:P0}  {s.Seconds,6:0.0}s  {tally.Unit} {s.Done:0}/{s.Total:0}{objective}{rate}{eta}");
    }

    private sealed class Stage(TextWriter log, string description, double total, string unit) : IProgressStage
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _lastPrint;
        private double _done;

        public void Report(double done)
        {
            _done = done;
            double now = _clock.Elapsed.TotalSeconds;
            if (now - _lastPrint < 2)
                return;
            _lastPrint = now;
            log.WriteLine(total > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{description}: {done / total,4:P0} ({done:0}/{total:0} {unit}, {now:0.0}s)")
                : string.Create(CultureInfo.InvariantCulture, $"{description}: {done:0} {unit} ({now:0.0}s)"));
        }

        public void Dispose() =>
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{description}: done in {_clock.Elapsed.TotalSeconds:0.0}s{(_done > 0 ? $" ({_done:0} {unit})" : "")}"));
    }
}
