using ParameterServer.Fast.Apps.CountMin;
using ParameterServer.Fast.Apps.SparseLR;
using ParameterServer.Fast.Cluster.Nodes;

namespace ParameterServer.Fast.Cli.Commands;

/// <summary>
/// One application with its options, as `psf local` and `psf worker` run it: every worker of a
/// job runs the same choice, passed to child processes as command-line arguments.
/// </summary>
public abstract record AppChoice
{
    public abstract string Name { get; }

    public abstract string Describe();

    /// <summary>Runs this worker's part of the job and sends its final report.</summary>
    public abstract Task RunAsync(WorkerClient client, CancellationToken cancellationToken);

    public abstract IEnumerable<string> ToArguments();

    /// <summary>The summary of a finished job from the workers' final reports: (name, value, unit).</summary>
    public abstract IEnumerable<(string Name, double Value, string Unit)> Summarise(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, double seconds);

    /// <summary>Iterations each worker will report, for the progress bar (0 when unknown).</summary>
    public abstract int IterationsPerWorker(int workers);

    /// <summary>Examples all workers together will report, for the progress bar (0 when unknown: iterations are counted then).</summary>
    public virtual long ExamplesTotal => 0;

    /// <summary>What the app calls the examples it reports.</summary>
    public virtual string ExamplesName => "examples";

    /// <summary>What the objective in the workers' reports is, for the progress bar; null when they report none.</summary>
    public virtual string? ObjectiveName => "minibatch log loss";

    /// <summary>Null when the finished job's summary is acceptable; otherwise why not, and `psf local` exits with 1.</summary>
    public virtual string? Verdict(IReadOnlyList<Bench.BenchResult> summary) => null;

    protected static double Metric(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, int worker, string name) =>
        finals.TryGetValue(worker, out var m) && m.TryGetValue(name, out double v) ? v : double.NaN;

    protected static double Sum(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, string name) =>
        finals.Values.Sum(m => m.TryGetValue(name, out double v) ? v : 0);
}

public sealed record SparseLRChoice(SparseLROptions Options) : AppChoice
{
    public override string Name => "sparse-lr";

    private bool BlockProximal => Options.Algorithm == SparseLRAlgorithm.BlockProximal;

    public override string Describe() => BlockProximal
        ? $"{Options.Data.Describe()}, block proximal gradient: {Options.Epochs} passes over {Options.Blocks} feature blocks, λ₁ {Options.L1:0.###}, λ₂ {Options.L2:0.###}, KKT filter {(Options.KktFilter ? "on" : "off")}, max delay {Delay}"
        : $"{Options.Data.Describe()}, FTRL × {Options.Epochs} epochs, max delay {Delay}";

    private string Delay => Options.MaxDelay == int.MaxValue ? "∞" : Options.MaxDelay.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public override Task RunAsync(WorkerClient client, CancellationToken cancellationToken) =>
        SparseLogisticRegression.RunAndReportAsync(client, Options, cancellationToken);

    public override IEnumerable<string> ToArguments() => AppArguments.ToArguments(Options);

    public override int IterationsPerWorker(int workers) =>
        BlockProximal ? Options.Epochs * Options.Blocks
        : Options.Data is Apps.Data.GeneratedData g ? Options.Epochs * (int)Math.Ceiling(g.Generator.Examples / (double)workers / Options.BatchSize) : 0;

    public override IEnumerable<(string, double, string)> Summarise(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, double seconds)
    {
        double iterations = Sum(finals, "iterations");
        yield return ("objective", Metric(finals, 0, "objective"), BlockProximal ? "log loss + (λ₁‖w‖₁ + λ₂/2‖w‖²)/N" : "log loss + λ₁‖w‖₁/N");
        yield return ("test_logloss", Metric(finals, 0, "test_logloss"), "nats");
        yield return ("auc", Metric(finals, 0, "auc"), "");
        yield return ("accuracy", Metric(finals, 0, "accuracy"), "");
        yield return ("nonzeros", Metric(finals, 0, "nonzeros"), "weights");
        yield return ("seconds", seconds, "s");
        yield return ("examples_per_s", Sum(finals, "examples") / seconds, "examples/s");
        yield return ("worker_bytes_per_iteration", iterations == 0 ? 0 : Sum(finals, "bytes_sent") / iterations, "bytes");
        if (BlockProximal)
            yield return ("active_features", Sum(finals, "active_features"), "features, summed over workers' shards");
    }
}

public sealed record CountMinChoice(CountMinOptions Options) : AppChoice
{
    public override string Name => "countmin";

    public override string Describe() =>
        $"count-min {Options.Depth}×{Options.Width} (ε {Options.Epsilon:0.###e0}, δ {Options.Delta:0.###}), {Options.Items:N0} Zipf items";

    public override Task RunAsync(WorkerClient client, CancellationToken cancellationToken) =>
        CountMinSketch.RunAndReportAsync(client, Options, cancellationToken);

    public override IEnumerable<string> ToArguments() =>
    [
        "--app", "countmin",
        "--width", Options.Width.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--depth", Options.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--items", Options.Items.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--vocabulary", Options.Vocabulary.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--skew", Options.Skew.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--batch", Options.Batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--aggregated-ids", Options.AggregatedIds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--seed", Options.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    public override int IterationsPerWorker(int workers) => (int)Math.Ceiling(Options.Items / (double)workers / CountMinSketch.ReportEvery);

    public override long ExamplesTotal => Options.Items;

    public override string ExamplesName => "items";

    public override string? ObjectiveName => null;

    public override IEnumerable<(string, double, string)> Summarise(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, double seconds)
    {
        double insertSeconds = finals.Values.Max(m => m.TryGetValue("insert_seconds", out double v) ? v : 0);
        yield return ("inserts_per_s", Options.Items / insertSeconds, "items/s");
        yield return ("max_relative_error", Metric(finals, 0, "max_relative_error"), "of the exact count");
        yield return ("max_error_over_n", Metric(finals, 0, "max_error_over_n"), $"of N (bound ε = {Options.Epsilon:0.###e0})");
        yield return ("max_error_over_bound", Metric(finals, 0, "max_error_over_n") / Options.Epsilon, "of ε·N");
        yield return ("bound_violations", Metric(finals, 0, "bound_violations"), $"of {Metric(finals, 0, "queried")} queries");
        // Exact checks of the servers' sketch: each row sums to N (0 when nothing was lost or doubled), and its fingerprint.
        yield return ("row_total_error", Metric(finals, 0, "row_total_error"), "items, largest |row sum − N|");
        yield return ("sketch_digest", Metric(finals, 0, "sketch_digest"), "FNV-1a of the counters, 52 bits");
        yield return ("seconds", seconds, "s");
    }
}

public sealed record MlpChoice(Apps.Mlp.MlpOptions Options) : AppChoice
{
    public override string Name => "mlp";

    public override string Describe() =>
        $"MLP 784-{Options.Hidden}-10 on the IDX files of {Options.DataFolder}, {Options.Epochs} epochs, batch {Options.BatchSize}, {(Options.Optimizer == Core.Updaters.UpdaterKind.Sgd ? "SGD" : "Adam")} {Options.LearningRate}";

    public override Task RunAsync(WorkerClient client, CancellationToken cancellationToken) =>
        Apps.Mlp.MlpTraining.RunAndReportAsync(client, Options, cancellationToken);

    public override IEnumerable<string> ToArguments() =>
    [
        "--app", "mlp",
        "--optimizer", Options.Optimizer == Core.Updaters.UpdaterKind.Sgd ? "sgd" : "adam",
        "--data", Options.DataFolder,
        "--hidden", Options.Hidden.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--epochs", Options.Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--batch-size", Options.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--learning-rate", Options.LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--max-delay", Options.MaxDelay == int.MaxValue ? "inf" : Options.MaxDelay.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--limit", Options.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    public override int IterationsPerWorker(int workers) =>
        Options.Epochs * Math.Max(1, (Options.Limit > 0 ? Options.Limit : 60_000) / workers / Options.BatchSize);

    public override string? ObjectiveName => "minibatch cross-entropy";

    public override IEnumerable<(string, double, string)> Summarise(IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> finals, double seconds)
    {
        yield return ("accuracy", Metric(finals, 0, "accuracy"), "on the 10,000 test images");
        yield return ("test_logloss", Metric(finals, 0, "test_logloss"), "nats");
        yield return ("objective", Metric(finals, 0, "objective"), "test cross-entropy");
        yield return ("seconds", seconds, "s");
        yield return ("examples_per_s", Sum(finals, "examples") / seconds, "examples/s");
    }
}
