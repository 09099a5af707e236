using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cluster.Protocol;
using Spectre.Console;

namespace ParameterServer.Fast.Cli.Progress;

/// <summary>
/// How a job shows its progress: loading stages, training (throughput, ETA and the current
/// objective) and a summary at the end. On a terminal that is live Spectre.Console bars and a
/// table; anywhere else (CI, tests, output redirected to a log) plain lines, a few a second, so
/// logs stay readable. Machine-readable results go to --json either way, untouched by this.
/// </summary>
public abstract class JobProgress
{
    /// <summary>
    /// Live bars only when <paramref name="output"/> is this process's standard output, it is an
    /// interactive terminal, and PSF_PROGRESS is not "plain"; plain lines otherwise.
    /// </summary>
    public static JobProgress For(TextWriter output, bool quiet)
    {
        if (quiet)
            return new PlainJobProgress(output, quiet: true);
        bool live = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected
            && Environment.GetEnvironmentVariable("PSF_PROGRESS") is not "plain"
            && Environment.GetEnvironmentVariable("TERM") is not "dumb"
            && AnsiConsole.Profile.Capabilities.Interactive;
        return live ? new LiveJobProgress(AnsiConsole.Console) : new PlainJobProgress(output, quiet: false);
    }

    /// <summary>Where lines of text go while the job runs (notices, the children's logs): above the bars when live.</summary>
    public abstract TextWriter Log { get; }

    /// <summary>Runs <paramref name="job"/> with the display up (live bars are drawn only inside this).</summary>
    public abstract Task<T> RunAsync<T>(Func<Task<T>> job);

    /// <summary>A loading step: <paramref name="total"/> units to go, or 0 when its size is unknown (a spinner).</summary>
    public abstract IProgressStage BeginStage(string description, double total, string unit);

    /// <summary>Training starts: reports from now on go to <see cref="OnReport"/>.</summary>
    public abstract void BeginTraining(TrainingTally tally, string description);

    /// <summary>A worker's report arrived, <paramref name="seconds"/> after the job started.</summary>
    public abstract void OnReport(ProgressReport report, double seconds);

    /// <summary>The results of the finished job, after <see cref="RunAsync"/> returned.</summary>
    public abstract void Summary(string title, IReadOnlyList<BenchResult> results);
}

/// <summary>One loading step of a job.</summary>
public interface IProgressStage : IDisposable
{
    /// <summary>How much of the stage is done, in its units.</summary>
    void Report(double done);
}
