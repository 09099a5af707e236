using System.Globalization;
using ParameterServer.Fast.Cli.Bench;
using ParameterServer.Fast.Cluster.Protocol;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ParameterServer.Fast.Cli.Progress;

/// <summary>
/// Live progress on a terminal with Spectre.Console: one bar per loading stage and one for
/// training, each with its throughput, elapsed time and ETA, the training bar's description
/// carrying the current objective; lines written to <see cref="Log"/> scroll above the bars.
/// The summary is a table drawn once the bars are done.
/// </summary>
internal sealed class LiveJobProgress(IAnsiConsole console) : JobProgress
{
    private const string RateKey = "rate";

    private readonly ConsoleLineWriter _log = new(console);
    private ProgressContext? _context;
    private TrainingTally? _tally;
    private ProgressTask? _training;
    private string _trainingDescription = "training";

    public override TextWriter Log => _log;

    public override async Task<T> RunAsync<T>(Func<Task<T>> job)
    {
        Spectre.Console.Progress progress = console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new SpinnerColumn(),
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new RateColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn());
        return await progress.StartAsync(async context =>
        {
            _context = context;
            try
            {
                return await job().ConfigureAwait(false);
            }
            finally
            {
                _training?.StopTask();
                _context = null;
            }
        }).ConfigureAwait(false);
    }

    public override IProgressStage BeginStage(string description, double total, string unit)
    {
        ProgressTask? task = _context?.AddTask(Markup.Escape(description), autoStart: true, maxValue: total > 0 ? total : 1);
        if (task is not null)
        {
            task.IsIndeterminate = total <= 0;
            task.State.Update<double>(RateKey, _ => 0);
        }
        return new Stage(task);
    }

    public override void BeginTraining(TrainingTally tally, string description)
    {
        _tally = tally;
        _trainingDescription = Markup.Escape(description);
        _training = _context?.AddTask(_trainingDescription, autoStart: true, maxValue: tally.Total > 0 ? tally.Total : 1);
        if (_training is not null)
        {
            _training.IsIndeterminate = tally.Total <= 0;
            _training.State.Update<double>(RateKey, _ => 0);
        }
    }

    public override void OnReport(ProgressReport report, double seconds)
    {
        if (_tally is not { } tally || _training is not { } task)
            return;
        tally.Add(report, seconds);
        TrainingSnapshot s = tally.Snapshot(seconds);
        task.State.Update<double>(RateKey, _ => s.ExamplesPerSecond);
        task.Description = tally.ObjectiveName is { } name && double.IsFinite(s.Objective)
            ? string.Create(CultureInfo.InvariantCulture, $"{_trainingDescription} [grey]{Markup.Escape(name)}[/] {s.Objective:0.0000}")
            : _trainingDescription;
        if (!task.IsIndeterminate)
            task.Value = s.AllDone ? task.MaxValue : Math.Min(task.MaxValue, s.Done);
        else if (s.AllDone)
        {
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
        }
    }

    public override void Summary(string title, IReadOnlyList<BenchResult> results)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)), Border = TableBorder.Rounded };
        table.AddColumn("result");
        table.AddColumn(new TableColumn("value").RightAligned());
        table.AddColumn("unit");
        foreach (BenchResult r in results)
            table.AddRow(Markup.Escape(r.Name), Value(r.Value), Markup.Escape(r.Unit));
        console.WriteLine();
        console.Write(table);
    }

    private static string Value(double v) => !double.IsFinite(v) ? "–"
        : v != 0 && Math.Abs(v) < 1e-3 ? v.ToString("0.###e0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 1000 ? v.ToString("#,0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    private sealed class Stage(ProgressTask? task) : IProgressStage
    {
        public void Report(double done)
        {
            if (task is null || task.IsIndeterminate)
                return;
            task.Value = Math.Min(task.MaxValue, done);
            task.State.Update<double>(RateKey, _ => task.ElapsedTime is { TotalSeconds: > 0 } t ? done / t.TotalSeconds : double.NaN);
        }

        public void Dispose()
        {
            if (task is null)
                return;
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }

    // Throughput of a task in units a second, as its owner put it in the task's state.
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            double rate = task.State.Get<double>(RateKey);
            return new Markup(rate > 0 ? $"[blue]{TrainingSnapshot.Rate(rate)}[/]" : "[grey]–[/]");
        }
    }
}
